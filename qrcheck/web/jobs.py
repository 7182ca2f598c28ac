"""Photo checks off the request thread: a pool of worker processes, results kept in memory.

A batch is the photos of one upload (one board). Each photo is one job: `check_photo` runs in a
worker process, so a slow photo never holds up the web server, and when it finishes the result
is recorded in the history database exactly like `qrcheck check` records it.
"""

from __future__ import annotations

import logging
import multiprocessing
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qrcheck import __version__
from qrcheck.check import PhotoResult, check_photo
from qrcheck.errors import QrcheckError
from qrcheck.store import Store

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    photo: Path
    annotated: Path
    future: Future | None = None
    result: PhotoResult | None = None


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


class Checker:
    """The worker pool and the batches it works on (kept for `keep` seconds)."""

    def __init__(
        self, db: Path, workers: int, context: Callable[[], tuple], keep: float = 6 * 3600
    ) -> None:
        self.db = db
        #: () -> (catalog view, center settings, history rows), read when a photo is submitted
        self.context = context
        self.keep = keep
        self.pool = ProcessPoolExecutor(
            max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
        )
        self.batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def submit(
        self, owner: str, location: str, lang: str, photos: list[tuple[Path, Path]]
    ) -> Batch:
        """Start checking `photos` (stored file, where its annotated copy goes)."""
        view, center, history = self.context()
        batch = Batch(
            secrets.token_urlsafe(16), owner, location, lang, uuid.uuid4().hex, time.time()
        )
        for photo, annotated in photos:
            job = Job(secrets.token_urlsafe(12), photo, annotated)
            batch.jobs.append(job)
        with self._lock:
            self._forget_old()
            self.batches[batch.id] = batch
        for job in batch.jobs:
            future = self.pool.submit(
                check_photo, job.photo, view, center, location, job.annotated, lang, history=history
            )
            job.future = future
            future.add_done_callback(lambda f, j=job: self._finished(batch, j, f))
        return batch

    def _finished(self, batch: Batch, job: Job, future: Future) -> None:
        try:
            result = future.result()
        except Exception as exc:  # a crashed worker costs that photo only
            result = _crashed(job, batch.location, exc)
        if result.error is None:
            try:
                with Store(self.db) as store:
                    store.record_photo(
                        result, batch.run, f"qrcheck {__version__} web:{batch.owner}"
                    )
            except Exception:  # the result is still shown; only the history misses it
                log.exception("recording the check of %s failed", job.photo)
        job.result = result

    def get(self, batch_id: str) -> Batch | None:
        with self._lock:
            return self.batches.get(batch_id)

    def _forget_old(self) -> None:
        limit = time.time() - self.keep
        for key in [k for k, b in self.batches.items() if b.created < limit and b.done]:
            del self.batches[key]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
