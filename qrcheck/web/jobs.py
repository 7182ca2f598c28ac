"""Photo checks off the request thread: a pool of worker processes, results kept in memory.

A batch is the photos of one upload (one board). Each photo is one job: `check_photo` runs in a
worker process, followed (unless the server runs offline) by the live check of the photo's
links, as `qrcheck check` does; so a slow photo or a slow portal never holds up the web server.
When it finishes the result is recorded in the history database exactly like `qrcheck check`
records it.

A worker that dies (the out-of-memory killer, a `kill -9`) breaks the whole pool: the pool is
then replaced, so later uploads are checked as usual, and each photo that was in it is checked
once more, alone in a process of its own, so that only the photo that kills its worker again is
given up on, with a sentence. An uploaded photo is kept only while the history refers to it
(`checks.photo`, which `qrcheck history` reads again): one that could not be checked, or that was
recorded before (the same photo sent twice), is removed once its result is known.
"""

from __future__ import annotations

import logging
import multiprocessing
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from qrcheck import __version__
from qrcheck.board.check import check_photo, refresh_annotations
from qrcheck.board.results import CheckReport, PhotoResult
from qrcheck.board.run import live_check_report
from qrcheck.board.store import Store
from qrcheck.errors import QrcheckError
from qrcheck.links.cache import LinkCache
from qrcheck.links.model import LiveOptions
from qrcheck.workers import worker_pool

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    photo: Path
    annotated: Path
    #: the file name the phone sent, for messages only (never used as a path)
    name: str = ""
    future: Future | None = None
    result: PhotoResult | None = None
    #: what the worker is given (kept until the result is known, for a retry)
    args: tuple = ()


@dataclass
class Batch:
    id: str
    owner: str
    location: str
    lang: str
    run: str
    created: float
    jobs: list[Job] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(job.result is not None for job in self.jobs)


def _crashed(job: Job, location: str, exc: BaseException) -> PhotoResult:
    reason = f"{type(exc).__name__}: {exc}"[:200]
    return PhotoResult(
        job.photo, location=location, error=QrcheckError("check.failed", reason=reason)
    )


def _worker_died(job: Job, location: str) -> PhotoResult:
    """The photo whose checking process died twice (most likely the out-of-memory killer)."""
    return PhotoResult(job.photo, location=location, error=QrcheckError("web.worker_died"))


def check_and_verify(
    photo: Path,
    view,  # type: ignore[no-untyped-def]
    center,  # type: ignore[no-untyped-def]
    location: str,
    annotated: Path,
    lang: str,
    history: tuple,
    live: LiveOptions | None,
    link_cache: Path | None,
) -> PhotoResult:
    """One photo in a worker process: checked, then its links checked online (unless `live` is
    None), with the annotated copy drawn again where a live answer changed an action."""
    result = check_photo(photo, view, center, location, annotated, lang, history=history)
    if live is None or result.error is not None:
        return result
    report = CheckReport((result,))

    def open_cache() -> LinkCache:
        try:
            return LinkCache(link_cache)
        except Exception:  # an unusable cache file costs only the caching
            return LinkCache(None)

    checked, _ = live_check_report(report, live, open_cache)
    refresh_annotations(report, checked, lang)
    return checked.photos[0]


class Checker:
    """The worker pool and the batches it works on (kept for `keep` seconds)."""

    def __init__(
        self,
        db: Path,
        workers: int,
        context: Callable[[], tuple],
        keep: float = 6 * 3600,
        live: LiveOptions | None = None,
        link_cache: Path | None = None,
    ) -> None:
        self.db = db
        #: settings of the live link checks (None: offline, the catalog comparison only)
        self.live = live
        self.link_cache = link_cache
        #: () -> (catalog view, center settings, history rows), read when a photo is submitted
        self.context = context
        self.keep = keep
        self.workers = max(1, workers)
        self._mp = multiprocessing.get_context("spawn")
        self.pool = self._new_pool()
        self.batches: dict[str, Batch] = {}
        self._lock = threading.Lock()
        #: photos checked again after their worker died, one at a time (memory may be short)
        self._alone = threading.Semaphore(1)
        self._alone_pools: set[ProcessPoolExecutor] = set()
        self._closed = False

    def _new_pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        # workers that end with the server, however it ends (kill -9, the OOM killer)
        return worker_pool(workers or self.workers, self._mp)

    def submit(
        self,
        owner: str,
        location: str,
        lang: str,
        photos: list[tuple[Path, Path, str]],
        refused: dict[int, QrcheckError] | None = None,
    ) -> Batch:
        """Start checking `photos` (stored file, where its annotated copy goes, the name the
        phone gave it). `refused` gives, by position, the photos refused before any check:
        their result is that error, and their file is removed."""
        view, center, history = self.context()
        batch = Batch(
            secrets.token_urlsafe(16), owner, location, lang, uuid.uuid4().hex, time.time()
        )
        for photo, annotated, name in photos:
            job = Job(secrets.token_urlsafe(12), photo, annotated, name)
            job.args = (
                photo,
                view,
                center,
                location,
                annotated,
                lang,
                history,
                self.live,
                self.link_cache,
            )
            batch.jobs.append(job)
        with self._lock:
            self._forget_old()
            self.batches[batch.id] = batch
        for index, job in enumerate(batch.jobs):
            error = (refused or {}).get(index)
            if error is not None:
                self._complete(job, PhotoResult(job.photo, location=location, error=error), batch)
            else:
                self._start(batch, job)
        return batch

    def _start(self, batch: Batch, job: Job) -> None:
        """Hand `job` to the pool, replacing a pool found broken (a worker died while idle)."""
        for _ in range(2):
            with self._lock:
                pool = self.pool
            try:
                future = pool.submit(check_and_verify, *job.args)
            except BrokenProcessPool:
                self._replace(pool)
                continue
            except RuntimeError:  # shut down: the server is stopping, or it was just replaced
                if self._closed:
                    self._complete(job, _worker_died(job, batch.location), batch)
                    return
                continue
            job.future = future
            future.add_done_callback(lambda f, p=pool: self._finished(batch, job, f, p))
            return
        self._retry_alone(batch, job)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool instead of `broken` (once, however many photos find it broken)."""
        with self._lock:
            if self.pool is not broken or self._closed:
                return
            self.pool = self._new_pool()
        log.warning("a photo-checking process stopped; the worker pool was started again")
        broken.shutdown(wait=False, cancel_futures=True)

    def _finished(self, batch: Batch, job: Job, future: Future, pool: ProcessPoolExecutor) -> None:
        try:
            result = future.result()
        except BrokenProcessPool:  # a worker died: this photo may or may not be the cause
            self._replace(pool)
            self._retry_alone(batch, job)
            return
        except CancelledError:  # the server is shutting down
            result = _worker_died(job, batch.location)
        except Exception as exc:  # a crashed check costs that photo only
            result = _crashed(job, batch.location, exc)
        self._complete(job, result, batch)

    def _retry_alone(self, batch: Batch, job: Job) -> None:
        """Check `job` again in a process of its own (from a thread: this runs in the pool's
        own thread, which must not wait)."""
        threading.Thread(
            target=self._run_alone, args=(batch, job), name="qrcheck-retry", daemon=True
        ).start()

    def _run_alone(self, batch: Batch, job: Job) -> None:
        with self._alone:
            pool = None
            with self._lock:
                if not self._closed:
                    pool = self._new_pool(1)
                    self._alone_pools.add(pool)
            if pool is None:
                result = _worker_died(job, batch.location)
            else:
                try:
                    result = pool.submit(check_and_verify, *job.args).result()
                except (BrokenProcessPool, CancelledError, RuntimeError):
                    log.warning("the checking process of %s stopped twice; given up", job.photo)
                    result = _worker_died(job, batch.location)
                except Exception as exc:
                    result = _crashed(job, batch.location, exc)
                finally:
                    pool.shutdown(wait=True, cancel_futures=True)
                    with self._lock:
                        self._alone_pools.discard(pool)
        self._complete(job, result, batch)

    def _complete(self, job: Job, result: PhotoResult, batch: Batch) -> None:
        """Record the result; remove the uploaded photo unless the history now refers to it."""
        recorded = False
        if result.error is None:
            try:
                with Store(self.db) as store:
                    recorded = (
                        store.record_photo(
                            result,
                            batch.run,
                            f"qrcheck {__version__} web:{batch.owner}",
                            name=job.name,
                        )
                        is not None
                    )
            except Exception:  # the result is still shown; only the history misses it
                log.exception("recording the check of %s failed", job.photo)
        if not recorded:  # nothing reads it again: not checked, or recorded before
            try:
                job.photo.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove the uploaded photo %s", job.photo)
        job.args = ()
        job.result = result

    def get(self, batch_id: str) -> Batch | None:
        with self._lock:
            return self.batches.get(batch_id)

    def _forget_old(self) -> None:
        limit = time.time() - self.keep
        for key in [k for k, b in self.batches.items() if b.created < limit and b.done]:
            del self.batches[key]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools = [self.pool, *self._alone_pools]
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
