"""Worker processes that never outlive the run that started them.

`worker_pool` is a `ProcessPoolExecutor` whose workers end as soon as their parent does, however
it ends (`kill -9`, the OOM killer, a power button): on Linux the kernel kills them
(`PR_SET_PDEATHSIG`), and everywhere a watchdog thread in each worker ends it within a second
of noticing that its parent changed. Without this, a killed `generate` left its workers running
under PID 1, holding the output folder's lock for ever.

Workers forked from a process that holds a lock (see `generate._exclusive`) also let go of the
lock file as their first act (`parent_only`): a file lock belongs to the open file, which a
forked child shares, so a worker left alive would otherwise keep the folder locked.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from multiprocessing.context import BaseContext

#: how often a worker's watchdog looks at its parent (seconds)
WATCH_EVERY = 0.25
_PR_SET_PDEATHSIG = 1

#: descriptors this process holds that its forked workers must not keep open (lock files)
_PARENT_ONLY: set[int] = set()
_GUARD = threading.Lock()


def parent_only(fd: int) -> None:
    """Mark `fd` as this process's own: a forked worker replaces it with /dev/null at start."""
    with _GUARD:
        _PARENT_ONLY.add(fd)


def release_parent_only(fd: int) -> None:
    with _GUARD:
        _PARENT_ONLY.discard(fd)


def default_workers() -> int:
    """Processes to use when the user names none: one a core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


def worker_pool(max_workers: int, context: BaseContext | None = None) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process (call it in the thread that submits);
    `context` is multiprocessing's start method (default: the platform's)."""
    context = context or multiprocessing.get_context()
    # fork and spawn start workers as children of this process; forkserver's are its server's
    direct = context.get_start_method() in ("fork", "spawn")
    in_main_thread = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), direct, in_main_thread),
    )


def _start_worker(creator: int, direct: bool, in_main_thread: bool) -> None:
    """Runs first in every worker: let go of the parent's locks, then die with the parent."""
    # filled only in a forked child (a spawned one starts with an empty set); no lock taken:
    # another thread of the parent may have held it at the fork, and this child is alone
    inherited = sorted(_PARENT_ONLY)
    _PARENT_ONLY.clear()
    if inherited:
        null = os.open(os.devnull, os.O_RDONLY)
        for fd in inherited:
            with suppress(OSError):
                os.dup2(null, fd)  # the number stays taken, the lock's open file is dropped
        os.close(null)
    parent = os.getppid()
    if direct and parent != creator:
        os._exit(1)  # the creator died before this worker got going (a spawned one takes ~1 s)
    # the kernel's signal follows the thread that forked: only safe when that is the main one
    if in_main_thread:
        _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watchdog still ends the worker


def _watch(parent: int) -> None:
    while True:
        time.sleep(WATCH_EVERY)
        if os.getppid() != parent:
            os._exit(1)
