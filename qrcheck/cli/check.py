"""`qrcheck check` (photos of the boards) and `qrcheck links` (the catalog's links, live)."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qrcheck import __version__
from qrcheck.cli.common import (
    AsOfOpt,
    CaBundleOpt,
    CatalogOpt,
    Context,
    DbOpt,
    LangOpt,
    LinkCacheOpt,
    NoRecordOpt,
    ProxyOpt,
    WorkersOpt,
    _setup,
    err,
    live_options,
    open_link_cache,
    open_store,
    open_valid_catalog,
    out,
    parse_day,
    record_catalog,
    tr,
)
from qrcheck.cli.render import print_check, unreadable_note
from qrcheck.links.model import BROKEN, REACHED


def cmd_check(
    paths: Annotated[list[Path], typer.Argument(help="Photos or folders", show_default=False)],
    json_: Annotated[bool, typer.Option("--json", help="Print the JSON report")] = False,
    annotate_dir: Annotated[
        Path | None,
        typer.Option("--annotate", help="Write annotated photos here", show_default=False),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="No live link checks")] = False,
    location: Annotated[
        str, typer.Option("--location", help="Board or counter (default: the photo's folder)")
    ] = "",
    workers: WorkersOpt = 0,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 2 when any photo could not be read (by default only when none could)",
        ),
    ] = False,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    cache: LinkCacheOpt = None,
    ca_bundle: CaBundleOpt = None,
    proxy: ProxyOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    import json
    import uuid

    from qrcheck.board.run import run_check
    from qrcheck.reports.check_json import report_json
    from qrcheck.workers import default_workers

    _setup(lang)
    when = parse_day(as_of)
    live = None if offline else live_options(ca_bundle, proxy)  # bad settings: said first
    cat = open_valid_catalog(catalog)
    store = None if no_record else open_store(db)
    if store is not None:
        record_catalog(store, cat)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = bar.add_task(tr("check.progress"), total=None)

    def progress(result, done: int, total: int) -> None:  # type: ignore[no-untyped-def]
        bar.update(
            task,
            completed=done,
            total=total,
            description=f"{tr('check.progress')} {result.path.name}",
        )

    bar.start()
    done = run_check(
        paths,
        cat,
        when,
        location=location,
        workers=workers or default_workers(),
        annotate_dir=annotate_dir,
        lang=Context.lang,
        store=store,
        run=uuid.uuid4().hex,
        version=f"qrcheck {__version__}",
        live=live,
        open_cache=lambda: open_link_cache(cache),
        on_progress=progress,
        on_photos_done=bar.stop,
    )
    report = done.report
    if done.network_down:
        err.print(f"[yellow]{tr('links.network_down')}[/]")
    if store is not None:
        store.close()
        if done.recorded:
            err.print(tr("store.recorded", count=len(done.recorded), path=str(store.path)))
        if done.skipped:
            err.print(f"[yellow]{tr('store.skipped', count=done.skipped)}[/]")
    if json_:
        sys.stdout.write(
            json.dumps(report_json(report, Context.lang), ensure_ascii=False, indent=2) + "\n"
        )
        unreadable_note(report, strict, err)  # stdout holds the JSON only
    else:
        names = {code: p.name for code, p in cat.as_of(when).procedures.items()}
        print_check(report, strict, names)
    raise typer.Exit(report.exit_status(strict))


def cmd_links(
    json_: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only list the links, no live checks")
    ] = False,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    cache: LinkCacheOpt = None,
    ca_bundle: CaBundleOpt = None,
    proxy: ProxyOpt = None,
) -> None:
    import json

    from qrcheck.links.live import check_urls

    _setup(lang)
    when = parse_day(as_of)
    live = None if offline else live_options(ca_bundle, proxy)  # bad settings: said first
    cat = open_valid_catalog(catalog, "links.catalog_invalid")
    procedures = cat.as_of(when).active()
    results: dict = {}
    network_down = False
    if live is not None:
        store = open_link_cache(cache)
        try:
            results, network_down = check_urls([p.link for p in procedures], live, store)
        finally:
            store.close()
    if network_down:
        err.print(f"[yellow]{tr('links.network_down')}[/]")
    rows = []
    for proc in procedures:
        live = results.get(proc.link)
        rows.append(
            {
                "code": proc.code,
                "link": proc.link,
                "state": proc.state,
                "live": live.to_json(Context.lang) if live is not None else None,
            }
        )
    problems = sum(1 for r in rows if r["live"] and r["live"]["status"] in BROKEN)
    if json_:
        sys.stdout.write(json.dumps({"links": rows}, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table(header_style="bold")
        for key in ("col_code", "col_live", "col_http", "col_detail"):
            table.add_column(tr(f"links.{key}"), overflow="fold")
        for row in rows:
            live = row["live"] or {}
            status = live.get("status", "—")
            style = "red" if status in BROKEN else ("green" if status in REACHED else "")
            table.add_row(
                row["code"],
                f"[{style}]{status}[/]" if style else status,
                str(live.get("http_status") or ""),
                escape(live.get("detail") or row["link"]),
            )
        out.print(table)
        ok = sum(1 for r in rows if r["live"] and r["live"]["status"] in REACHED)
        out.print(tr("links.summary", checked=len(rows), ok=ok, problems=problems))
    raise typer.Exit(1 if problems else 0)
