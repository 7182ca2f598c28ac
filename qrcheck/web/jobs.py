"""Photo checks off the request thread: a pool of worker processes, results kept in memory.

A batch is the photos of one upload (one board). Each photo is one job: `check_photo` runs in a
worker process, followed (unless the server runs offline) by the live check of the photo's
links, as `qrcheck check` does; so a slow photo or a slow portal never holds up the web server.
When it finishes the result is recorded in the history database exactly like `qrcheck check`
records it.
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
from qrcheck.check import CheckReport, PhotoResult, check_photo, refresh_annotations
from qrcheck.errors import QrcheckError
from qrcheck.links.live import LinkCache, LiveOptions, apply_live, check_urls, links_to_check
from qrcheck.store import Store

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
    urls = links_to_check(report)
    if not urls:
        return result
    try:
        cache = LinkCache(link_cache)
    except Exception:  # an unusable cache file costs only the caching
        cache = LinkCache(None)
    try:
        results, _ = check_urls(urls, live, cache)
    finally:
        cache.close()
    checked = apply_live(report, results)
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
        self.pool = ProcessPoolExecutor(
            max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
        )
        self.batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def submit(
        self, owner: str, location: str, lang: str, photos: list[tuple[Path, Path, str]]
    ) -> Batch:
        """Start checking `photos` (stored file, where its annotated copy goes, the name the
        phone gave it)."""
        view, center, history = self.context()
        batch = Batch(
            secrets.token_urlsafe(16), owner, location, lang, uuid.uuid4().hex, time.time()
        )
        for photo, annotated, name in photos:
            job = Job(secrets.token_urlsafe(12), photo, annotated, name)
            batch.jobs.append(job)
        with self._lock:
            self._forget_old()
            self.batches[batch.id] = batch
        for job in batch.jobs:
            future = self.pool.submit(
                check_and_verify,
                job.photo,
                view,
                center,
                location,
                job.annotated,
                lang,
                history,
                self.live,
                self.link_cache,
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
