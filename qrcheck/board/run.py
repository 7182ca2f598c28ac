"""A check run, as the command line runs it: the photos checked (each recorded in the history as
soon as it is checked), their links checked live, the annotations redrawn, the links recorded.

Moved out of `qrcheck check` (issue 15) as it was; printing stays with the caller, which
is told of each photo (`on_progress`), of the end of the photos (`on_photos_done`) and gets
back whether the network was down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrcheck.board.results import CheckReport, PhotoResult
    from qrcheck.board.store import Store
    from qrcheck.catalog.model import Catalog
    from qrcheck.links.cache import LinkCache
    from qrcheck.links.model import LiveOptions


@dataclass
class CheckRun:
    """What a run did: the report, the history's check ids by photo sha256, the photos the
    history already held, and whether the network was down for the live checks."""

    report: CheckReport
    recorded: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    network_down: bool = False


def live_check_report(
    report: CheckReport, options: LiveOptions, open_cache: Callable[[], LinkCache]
) -> tuple[CheckReport, bool]:
    """The report with every distinct decoded link checked online once, and whether the network
    was down (the link cache is opened only when there is a link to check)."""
    from qrcheck.board.decide import apply_live, links_to_check
    from qrcheck.links.live import check_urls

    urls = links_to_check(report)
    if not urls:
        return report, False
    store = open_cache()
    try:
        results, network_down = check_urls(urls, options, store)
    finally:
        store.close()
    return apply_live(report, results), network_down


def run_check(
    paths: Sequence[Path],
    cat: Catalog,
    when: date,
    *,
    location: str,
    workers: int,
    annotate_dir: Path | None,
    lang: str,
    store: Store | None,
    run: str,
    version: str,
    live: LiveOptions | None,
    open_cache: Callable[[], LinkCache],
    on_progress: Callable[[PhotoResult, int, int], None] | None = None,
    on_photos_done: Callable[[], None] | None = None,
) -> CheckRun:
    """Check the photos, record each in `store` (when given), check the links live (when `live`
    is given), redraw the annotations and record the links."""
    from qrcheck.board.check import check_photos, refresh_annotations
    from qrcheck.catalog.load import history_rows

    recorded: dict[str, int] = {}
    skipped = 0

    def progress(result, done: int, total: int) -> None:  # type: ignore[no-untyped-def]
        nonlocal skipped
        if on_progress is not None:
            on_progress(result, done, total)
        if store is not None and result.error is None:
            # one transaction per photo, as soon as it is checked: a crash loses only it
            check_id = store.record_photo(result, run, version)
            if check_id is None:
                skipped += 1
            else:
                recorded[result.sha256] = check_id

    try:
        report = check_photos(
            paths,
            cat.as_of(when),
            cat.center,
            location=location,
            workers=workers,
            annotate_dir=annotate_dir,
            lang=lang,
            progress=progress,
            history=history_rows(cat),
        )
    finally:
        if on_photos_done is not None:
            on_photos_done()
    network_down = False
    if live is not None:
        checked, network_down = live_check_report(report, live, open_cache)
        refresh_annotations(report, checked, lang)
        report = checked
    if store is not None and recorded and live is not None:
        store.update_links(report, recorded)
    return CheckRun(report, recorded, skipped, network_down)
