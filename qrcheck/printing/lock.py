"""One generate run at a time per output folder: an exclusive lock that names its holder, and
which a lock left by a crashed run does not block."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from qrcheck.errors import GenerationError
from qrcheck.workers import parent_only, release_parent_only

LOCK_FILE = ".qrcheck.lock"


#: seconds the leftover processes of a dead run get to let go of its lock before they are ended
STALE_GRACE = 3.0


@contextmanager
def _exclusive(out: Path) -> Iterator[int | None]:
    """Hold a lock on the output folder: two runs at once would interleave their manifests.

    Yields None, or the PID (0 when not known) of a dead run whose lock was taken over.
    """
    path = out / LOCK_FILE
    try:
        handle = path.open("a")
    except OSError as exc:
        raise GenerationError("generate.write_failed", path=str(out), reason=exc.strerror) from exc
    with handle:
        took_over = _acquire(handle.fileno(), path)
        parent_only(handle.fileno())  # forked workers let go of it as they start
        try:
            yield took_over
        finally:
            release_parent_only(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(fd: int, path: Path) -> int | None:
    """Take the folder's lock; a lock a live run holds is never taken.

    The kernel lets go of a `flock` when every process sharing it has ended, so a run that was
    killed normally leaves a free lock. When it is still held, the kernel says which process
    took it (`/proc/locks`, Linux): a live one is another run (busy). A dead one left processes
    that share its lock (workers of an older version, which did not die with their run): they get
    STALE_GRACE seconds to end by themselves, are then ended, and the lock is taken over.
    Elsewhere (no `/proc`) a held lock is always reported busy.
    """
    owner: int | None = None
    deadline = 0.0
    ended: list[int] | None = None
    misses = 0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return owner
        except BlockingIOError:
            pass
        holder = _lock_owner(path)
        if holder == -1 and misses < 20:  # let go of just now: try again
            misses += 1
            time.sleep(0.05)
            continue
        if holder is None or holder == -1 or (holder and _alive(holder)):
            raise GenerationError("generate.busy", path=str(path.parent))
        now = time.monotonic()
        if owner is None:
            owner, deadline = holder, now + STALE_GRACE
        elif now >= deadline:
            if ended is not None:
                raise GenerationError("generate.busy_stale", path=str(path.parent))
            ended = _lock_sharers(path, holder)
            for pid in ended:
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            deadline = now + STALE_GRACE
        time.sleep(0.05)


def _file_id(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return os.major(st.st_dev), os.minor(st.st_dev), st.st_ino


def _flock_pid(line: str, ident: tuple[int, int, int]) -> int | None:
    """The PID in a `/proc/locks` (or fdinfo `lock:`) line for a FLOCK on the file `ident`."""
    fields = line.split()
    if "->" in fields or "FLOCK" not in fields:
        return None  # a waiter, or another kind of lock
    try:
        at = fields.index("FLOCK")
        pid, where = int(fields[at + 3]), fields[at + 4]
        major, minor, inode = where.split(":")
        found = (int(major, 16), int(minor, 16), int(inode))
    except (IndexError, ValueError):
        return None
    return pid if found == ident else None


def _lock_owner(path: Path) -> int | None:
    """The PID that took the flock on `path` (0: a process that has ended), -1 when none is
    listed, None when this system does not say (no `/proc/locks`)."""
    try:
        ident = _file_id(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        pid = _flock_pid(line, ident)
        if pid is not None:
            return pid
    return -1


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, ended but not yet reaped, is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _lock_sharers(path: Path, holder: int) -> list[int]:
    """Processes holding the very lock that the ended process `holder` took on `path`."""
    try:
        ident = _file_id(path)
        entries = list(Path("/proc").iterdir())
    except OSError:
        return []
    found: list[int] = []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            for info in (entry / "fdinfo").iterdir():
                lines = info.read_text().splitlines()
                if any(
                    _flock_pid(line[5:], ident) == holder
                    for line in lines
                    if line.startswith("lock:")
                ):
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return found
