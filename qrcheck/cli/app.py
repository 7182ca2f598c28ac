"""The command line: thin commands over the library, speaking the user's language.

Each command parses its options, calls one library function and renders the typed result with
rich. Exit status: 0 done, 1 done but something needs attention (catalog errors, a posting that
failed), 2 the command could not run (bad usage, unreadable input).
"""

import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qrcheck import __version__
from qrcheck.catalog.diff import CatalogDiff, diff_views
from qrcheck.catalog.load import (
    catalog_fingerprint,
    date_in_range,
    group_issues,
    history_rows,
    load_catalog,
)
from qrcheck.catalog.model import EARLIEST_DATE, LATEST_DATE, Catalog, Issue
from qrcheck.errors import CatalogInvalid, QrcheckError
from qrcheck.i18n import resolve_language, t

if TYPE_CHECKING:  # generation pulls in numpy, Pillow and the PDF writer: imported when used
    from qrcheck.printing.generate import GenerateOptions, GenerateResult

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class Context:
    """What every command shares: the language it speaks."""

    lang = "vi"


def _system_user() -> str:
    """Who runs the command, for the history ("" when the system cannot tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


#: the width of a procedure code ("1.001193"): table columns holding one never get narrower
CODE_WIDTH = 8


def tr(key: str, **params: object) -> str:
    """The message in the current language, escaped so rich prints it as written."""
    return escape(t(key, Context.lang, **params))


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]{tr('cli.error_prefix')}[/] {message}")
    raise typer.Exit(code)


def fmt_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def parse_day(value: str | None) -> date:
    """--as-of: ISO (2027-03-01) or day/month/year (01/03/2027); today when absent."""
    if not value:
        return date.today()
    value = value.strip()
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", value)
    day: date | None = None
    try:
        if match:
            d, m, y = (int(g) for g in match.groups())
            day = date(y, m, d)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
    except ValueError:
        pass
    if day is None:
        fail(tr("cli.bad_date", value=value))
    if not date_in_range(day):
        earliest, latest = fmt_date(EARLIEST_DATE), fmt_date(LATEST_DATE)
        fail(tr("cli.date_out_of_range", value=value, earliest=earliest, latest=latest))
    return day


def default_catalog() -> Path:
    return Path(os.environ.get("QRCHECK_CATALOG", "catalog"))


def open_catalog(location: Path) -> Catalog:
    return load_catalog(location)


def open_valid_catalog(location: Path | None, refusal: str = "check.catalog_invalid") -> Catalog:
    """The catalog, or its errors printed and exit 2: nothing is judged by a broken one."""
    cat = open_catalog(location or default_catalog())
    if cat.errors:
        print_issues(cat.errors)
        fail(tr(refusal, path=str(cat.path)))
    return cat


def issue_message(issue: Issue) -> str:
    return tr(issue.key, **issue.params)


def print_issues(issues: Sequence[Issue]) -> None:
    if not issues:
        return
    table = Table(show_lines=False, header_style="bold")
    table.add_column(tr("cli.col_where"), no_wrap=False)
    table.add_column(tr("cli.col_column"))
    table.add_column(tr("cli.col_level"))
    table.add_column(tr("cli.col_problem"), overflow="fold")
    for members, issue in group_issues(issues):
        level = tr("cli.level_error") if issue.is_error else tr("cli.level_warning")
        style = "red" if issue.is_error else "yellow"
        name = Path(issue.file).name
        if len(members) == 1:
            where = f"{name}:{issue.line}"
        else:
            where = tr("cli.lines", file=name, lines=", ".join(str(m.line) for m in members))
        table.add_row(where, issue.column_label, f"[{style}]{level}[/]", issue_message(issue))
    out.print(table)


# ---------------------------------------------------------------------------------------------
# catalog commands

LangOpt = Annotated[
    str | None, typer.Option("--lang", help="vi | en (QRCHECK_LANG)", show_default=False)
]
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalog folder (QRCHECK_CATALOG; default: ./catalog)", show_default=False
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD or DD/MM/YYYY (default: today)", show_default=False),
]


WorkersOpt = Annotated[int, typer.Option("--workers", help="Processes to use")]
DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="History database (QRCHECK_DB; default: ./data/qrcheck.sqlite)",
        show_default=False,
    ),
]
DaysOpt = Annotated[
    int | None,
    typer.Option("--days", help="Scheduled changes due within this many days (center.toml)"),
]
NoRecordOpt = Annotated[
    bool, typer.Option("--no-record", help="Do not record the results in the history database")
]


def open_store(path: Path | None):  # type: ignore[no-untyped-def]
    """The history database (exit 2 with a sentence when it cannot be used)."""
    from qrcheck.board.store import Store, StoreError, default_db_path

    try:
        return Store(path or default_db_path())
    except StoreError as exc:
        fail(tr(exc.key, **exc.params))


def _setup(lang: str | None) -> None:
    Context.lang = resolve_language(lang)


def cmd_validate(catalog: CatalogOpt = None, as_of: AsOfOpt = None, lang: LangOpt = None) -> None:
    _setup(lang)
    when = parse_day(as_of)
    cat = open_catalog(catalog or default_catalog())
    print_issues(cat.issues)
    errors, warnings = len(cat.errors), len(cat.warnings)
    if errors:
        summary = tr("validate.failed", errors=errors, warnings=warnings, path=str(cat.path))
        out.print(f"[bold red]{summary}[/]")
        raise typer.Exit(1)
    view = cat.as_of(when)
    out.print(
        "[bold green]"
        + tr(
            "validate.ok",
            path=str(cat.path),
            rows=len(cat.rows),
            active=len(view.active()),
            ended=len(view.ended()),
            date=fmt_date(when),
            warnings=warnings,
        )
        + "[/]"
    )
    print_upcoming(view.upcoming, when)


def print_upcoming(changes: Sequence, when: date, days: int | None = None) -> None:
    if not changes:
        return
    title = (
        tr("upcoming.title", date=fmt_date(when))
        if days is None
        else tr("upcoming.title_days", days=days)
    )
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(tr("cli.col_date"), no_wrap=True)
    table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
    table.add_column(tr("cli.col_change"))
    for change in changes:
        table.add_row(
            fmt_date(change.when),
            change.code,
            tr(f"change.{change.kind}", successor=change.successor, decision=change.decision),
        )
    out.print(table)


def cmd_diff(
    old: Annotated[Path, typer.Argument(help="Old catalog (folder or CSV)", show_default=False)],
    new: Annotated[Path, typer.Argument(help="New catalog (folder or CSV)", show_default=False)],
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
) -> None:
    _setup(lang)
    when = parse_day(as_of)
    catalogs = []
    for location in (old, new):
        cat = open_catalog(location)
        if cat.errors:
            print_issues(cat.errors)
            fail(tr("diff.invalid", path=str(cat.path)))
        catalogs.append(cat)
    result = diff_views(catalogs[0].as_of(when), catalogs[1].as_of(when))
    print_diff(result, catalogs[1], when)


def print_diff(result: CatalogDiff, new: Catalog, when: date) -> None:
    if result.empty:
        out.print(tr("diff.none", date=fmt_date(when)))
        return
    view = new.as_of(when)
    table = Table(
        title=tr("diff.title", date=fmt_date(when)), title_justify="left", header_style="bold"
    )
    table.add_column(tr("cli.col_change"), no_wrap=True)
    table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
    table.add_column(tr("cli.col_detail"), overflow="fold")
    for proc in result.added:
        table.add_row(f"[green]{tr('diff.added')}[/]", proc.code, escape(proc.name))
    for change in result.changed:
        detail = tr("diff.fields", fields=", ".join(change.fields))
        detail += " — " + (tr("diff.reprint") if change.reprint else tr("diff.no_reprint"))
        table.add_row(f"[yellow]{tr('diff.changed')}[/]", change.code, detail)
    for proc in result.replaced:
        successor = view.procedures.get(proc.replaced_by)
        detail = tr(
            "diff.replaced_detail",
            successor=proc.replaced_by,
            name=successor.name if successor else "",
        )
        table.add_row(f"[magenta]{tr('diff.replaced')}[/]", proc.code, detail)
    for proc in result.abolished:
        table.add_row(f"[red]{tr('diff.abolished')}[/]", proc.code, escape(proc.name))
    for proc in result.removed:
        table.add_row(
            f"[red]{tr('diff.removed')}[/]", proc.code, tr("diff.removed_detail", name=proc.name)
        )
    for change in result.scheduled:
        detail = tr(f"change.{change.kind}", successor=change.successor, decision=change.decision)
        table.add_row(
            f"[cyan]{tr('diff.scheduled')}[/]", change.code, f"{fmt_date(change.when)}: {detail}"
        )
    out.print(table)
    out.print(tr("diff.summary", **result.counts()))


def cmd_import(
    file: Annotated[
        Path, typer.Argument(help="National-portal export (.xlsx or .csv)", show_default=False)
    ],
    catalog: CatalogOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff, change nothing")
    ] = False,
    missing: Annotated[
        str, typer.Option("--missing", help="keep | abolish: procedures absent from the file")
    ] = "keep",
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    from qrcheck.catalog.importer import apply_import, prepare_import

    _setup(lang)
    when = parse_day(as_of)
    if missing not in ("keep", "abolish"):
        fail(tr("import.bad_missing", value=missing))
    target = catalog or default_catalog()
    current = open_catalog(target)
    if current.damaged:  # nothing can be merged into a file that cannot be read: say where
        print_issues(current.errors)
        line = current.errors[0].line if current.errors else 1
        fail(tr("importer.current_broken", path=str(current.path), line=line))
    prepared = prepare_import(file, current, when, abolish_missing=(missing == "abolish"))
    for key, params in prepared.notes:
        out.print(f"[yellow]{tr(key, **params)}[/]")
    print_diff(prepared.diff, prepared.catalog, when)
    if prepared.catalog.errors:
        print_issues(prepared.catalog.issues)
        out.print(f"[bold red]{tr('import.invalid', errors=len(prepared.catalog.errors))}[/]")
        raise typer.Exit(1)
    if dry_run:
        out.print(tr("import.dry_run"))
        return
    if prepared.diff.empty and not prepared.changed_rows:
        out.print(tr("import.nothing"))
        return
    saved = apply_import(prepared)
    if not no_record:
        store = open_store(db)
        try:
            counts = prepared.diff.counts()
            record_catalog(store, open_catalog(target), file.name, counts)
        finally:
            store.close()
    out.print(f"[bold green]{tr('import.done', path=str(current.path), backup=str(saved))}[/]")


# ---------------------------------------------------------------------------------------------
# generate


def cmd_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("output"),
    all_: Annotated[
        bool, typer.Option("--all", help="Regenerate every posting, changed or not")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Only these codes (repeat, or separate with commas)", show_default=False
        ),
    ] = None,
    paper: Annotated[
        str | None,
        typer.Option("--paper", help="A5 | A4 (default: center.toml)", show_default=False),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Announce scheduled changes this many days ahead")
    ] = None,
    workers: WorkersOpt = 0,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    from qrcheck.printing.generate import GenerateOptions, default_workers, generate

    _setup(lang)
    when = parse_day(as_of)
    cat = open_catalog(catalog or default_catalog())
    chosen = paper.upper() if paper else cat.center.paper
    if chosen not in ("A5", "A4"):
        fail(tr("generate.bad_paper", value=paper))
    codes = tuple(c.strip() for item in (only or []) for c in item.split(",") if c.strip())
    options = GenerateOptions(
        out=out_dir,
        as_of=when,
        paper=chosen,
        only=codes,
        force=all_,
        announce_days=cat.center.announce_days if days is None else days,
        workers=workers or default_workers(),
    )
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(tr("generate.progress"), total=None)

            def progress(code: str, done: int, total: int) -> None:
                bar.update(
                    task,
                    completed=done,
                    total=total,
                    description=f"{tr('generate.progress')} {code}",
                )

            result = generate(cat, options, progress)
    except CatalogInvalid as exc:
        print_issues([i for i in exc.issues if i.is_error])
        fail(tr("generate.catalog_invalid", path=str(cat.path)))
    print_generate(result, options)
    if result.generated and not no_record:
        record_generated(result, db, cat)
    if result.failures:
        raise typer.Exit(1)


def record_catalog(store, cat: Catalog, source: str = "", changes: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    """Note in the history which catalog version a run used (once per version)."""
    store.record_catalog(catalog_fingerprint(cat), str(cat.path), len(cat.rows), source, changes)


def record_generated(result: "GenerateResult", db: Path | None, cat: Catalog) -> None:
    """What the run printed, from its manifest entries, into the history."""
    from qrcheck.board.store import PrintRecord, now

    store = open_store(db)
    try:
        record_catalog(store, cat)
        store.record_prints(
            PrintRecord(e.code, e.tag, e.payload, e.print_date, now(), "", "manifest")
            for e in result.generated
        )
    finally:
        store.close()


def print_generate(result: "GenerateResult", options: "GenerateOptions") -> None:
    if result.interrupted is not None:
        key = "generate.took_over" if result.interrupted else "generate.took_over_unknown"
        err.print(f"[yellow]{tr(key, pid=result.interrupted)}[/]")
    if result.generated:
        table = Table(
            title=tr("generate.made_title", count=len(result.generated)),
            title_justify="left",
            header_style="bold",
        )
        table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
        table.add_column(tr("cli.col_reason"), overflow="fold")
        table.add_column(tr("cli.col_version"), no_wrap=True, min_width=6)
        table.add_column(tr("cli.col_name"), overflow="fold", ratio=1)
        for entry in result.generated:
            table.add_row(
                entry.code,
                tr(f"reason.{result.reasons.get(entry.code, 'new')}"),
                entry.tag,
                escape(entry.name),
            )
        out.print(table)
    if result.take_down:
        table = Table(
            title=tr("generate.takedown_title"), title_justify="left", header_style="bold red"
        )
        table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
        table.add_column(tr("cli.col_detail"), overflow="fold")
        for item in result.take_down:
            key = f"takedown.{item.state}" + ("" if item.printed_here else "_catalog")
            table.add_row(
                item.code,
                tr(
                    key,
                    name=item.name,
                    successor=item.successor,
                    successor_name=item.successor_name,
                ),
            )
        out.print(table)
    for failure in result.failures:
        err.print(f"[red]{failure.code}: {tr(failure.error.key, **failure.error.params)}[/]")
    if result.announce:
        table = Table(
            title=tr("generate.announce_title", days=options.announce_days),
            title_justify="left",
            header_style="bold cyan",
        )
        table.add_column(tr("cli.col_date"), no_wrap=True)
        table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
        table.add_column(tr("cli.col_detail"), overflow="fold")
        for change in result.announce:
            table.add_row(
                fmt_date(change.when),
                change.code,
                tr(
                    f"announce.{change.kind}",
                    code=change.code,
                    successor=change.successor,
                    date=fmt_date(change.when),
                ),
            )
        out.print(table)
    if result.wrote_nothing and not result.failures:
        out.print(tr("generate.nothing", count=len(result.unchanged), out=str(options.out)))
    else:
        out.print(
            tr(
                "generate.summary",
                made=len(result.generated),
                unchanged=len(result.unchanged),
                takedown=len(result.take_down),
                failed=len(result.failures),
                out=str(options.out),
            )
        )
    if result.sheet:
        out.print(tr("posting_sheet.generated", path=str(result.sheet)))


# ---------------------------------------------------------------------------------------------
# check


LinkCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="Live-check cache file (QRCHECK_LINK_CACHE; default: the user's cache folder)",
        show_default=False,
    ),
]
CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle", help="CA certificates (PEM) to verify TLS with", show_default=False
    ),
]
ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        envvar="QRCHECK_PROXY",
        help="Send live checks through this HTTP proxy, e.g. http://proxy.local:3128 "
        "(QRCHECK_PROXY; the system's proxy variables are never used)",
        show_default=False,
    ),
]


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

    from qrcheck.board.check import check_photos, refresh_annotations
    from qrcheck.printing.generate import default_workers
    from qrcheck.reports.check_json import report_json

    _setup(lang)
    when = parse_day(as_of)
    live = None if offline else live_options(ca_bundle, proxy)  # bad settings: said first
    cat = open_valid_catalog(catalog)
    store = None if no_record else open_store(db)
    if store is not None:
        record_catalog(store, cat)
    run = uuid.uuid4().hex
    recorded: dict[str, int] = {}
    skipped = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(tr("check.progress"), total=None)

        def progress(result, done: int, total: int) -> None:  # type: ignore[no-untyped-def]
            nonlocal skipped
            bar.update(
                task,
                completed=done,
                total=total,
                description=f"{tr('check.progress')} {result.path.name}",
            )
            if store is not None and result.error is None:
                # one transaction per photo, as soon as it is checked: a crash loses only it
                check_id = store.record_photo(result, run, f"qrcheck {__version__}")
                if check_id is None:
                    skipped += 1
                else:
                    recorded[result.sha256] = check_id

        report = check_photos(
            paths,
            cat.as_of(when),
            cat.center,
            location=location,
            workers=workers or default_workers(),
            annotate_dir=annotate_dir,
            lang=Context.lang,
            progress=progress,
            history=history_rows(cat),
        )
    if live is not None:
        checked = live_check_report(report, cache, live)
        refresh_annotations(report, checked, Context.lang)
        report = checked
    if store is not None:
        if recorded and not offline:
            store.update_links(report, recorded)
        store.close()
        if recorded:
            err.print(tr("store.recorded", count=len(recorded), path=str(store.path)))
        if skipped:
            err.print(f"[yellow]{tr('store.skipped', count=skipped)}[/]")
    if json_:
        sys.stdout.write(
            json.dumps(report_json(report, Context.lang), ensure_ascii=False, indent=2) + "\n"
        )
        unreadable_note(report, strict, err)  # stdout holds the JSON only
    else:
        names = {code: p.name for code, p in cat.as_of(when).procedures.items()}
        print_check(report, strict, names)
    raise typer.Exit(report.exit_status(strict))


def unreadable_note(report, strict: bool, console: Console) -> None:  # type: ignore[no-untyped-def]
    """How many photos could not be read, and what that does to the exit status."""
    unreadable = len(report.photos) - report.readable_photos
    if unreadable:
        key = "check.unreadable_strict" if strict else "check.unreadable_photos"
        console.print(f"[red]{tr(key, count=unreadable, photos=len(report.photos))}[/]")


#: the console width from which the check table has a column for the procedure's title
NAME_COLUMN_WIDTH = 120


def print_check(  # type: ignore[no-untyped-def]
    report,
    strict: bool = False,
    names: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> None:
    """The check table: where each code is on its board (row and column, not pixels), the
    procedure and, on a console of 120 columns or more, its title from `names`; then a line per
    code that needs something done, never cut inside a link."""
    from qrcheck.board.annotate import grid_positions

    console = console or out
    names = names or {}
    wide = console.width >= NAME_COLUMN_WIDTH
    table = Table(header_style="bold")
    keys = ["col_photo", "col_position", "col_code", "col_grade", "col_status", "col_action"]
    if wide:
        keys.insert(3, "col_name")
    for key in keys:
        # a procedure code is never cut (other columns wrap first)
        width = CODE_WIDTH if key == "col_code" else None
        heading = tr("web_todo.col_where") if key == "col_position" else tr(f"cli.{key}")
        table.add_column(heading, overflow="fold", min_width=width)
    styles = {
        "ok": "green",
        "monitor": "yellow",
        "reprint": "red",
        "remove": "magenta",
        "investigate": "bold red",
        "retake": "blue",
    }
    blank = [""] * (len(keys) - 2)
    notes: list[str] = []
    for photo in report.photos:
        name = escape(photo.path.name)
        if photo.error is not None:
            table.add_row(name, *blank, f"[red]{tr('check.photo_error')}[/]")
            notes.append(f"[red]{name}[/]: {tr(photo.error.key, **photo.error.params)}")
            continue
        if not photo.codes:
            table.add_row(name, *blank, tr("check.no_codes"))
        places = grid_positions(
            [code.located.center for code in photo.codes],
            [code.located.side for code in photo.codes],
        )
        for code, (row, column) in zip(photo.codes, places, strict=True):
            where = tr("web_todo.where", row=row, column=column)
            verdict = code.verdict
            action = f"[{styles[code.action]}]{tr(f'action.{code.action}')}[/]"
            cells = [
                name,
                where,
                verdict.procedure or "—",
                code.grade.grade,
                tr(f"status.{verdict.status}"),
                action,
            ]
            if wide:
                cells.insert(3, escape(names.get(verdict.procedure or "", "")))
            table.add_row(*cells)
            if code.action not in ("ok",) and verdict.detail_key:
                from qrcheck.links.verdict import describe

                detail = escape(describe(verdict, Context.lang))
                # "no network" is said once for the whole run, not on every line
                quiet = ("ok", "redirected")
                if (
                    code.live is not None
                    and code.live.status not in quiet
                    and code.live.detail_key != "links.live_no_network"
                ):
                    live = code.live
                    detail += " " + tr(live.detail_key, **live.detail_params)
                if code.reason:
                    detail += " " + tr(code.reason)
                notes.append(f"{name} ({where}): {detail}")
    console.print(table)
    for note in notes:
        # the terminal wraps these lines itself: a link in them is never cut in two
        console.print(f"• {note}", soft_wrap=True)
    by_action = report.by_action()
    counts = ", ".join(f"{tr(f'action.{a}')}: {n}" for a, n in sorted(by_action.items()))
    console.print(
        tr(
            "check.summary",
            photos=len(report.photos),
            codes=len(report.codes),
            counts=counts or "—",
        )
    )
    unreadable_note(report, strict, console)
    annotated = [p.annotated for p in report.photos if p.annotated]
    if annotated:
        console.print(tr("check.annotated", path=str(annotated[0].parent), count=len(annotated)))


# ---------------------------------------------------------------------------------------------
# live link checks


def live_options(ca_bundle: Path | None, proxy: str | None = None):  # type: ignore[no-untyped-def]
    from urllib.parse import urlsplit

    from qrcheck.links.model import LiveOptions

    if ca_bundle is not None and not ca_bundle.is_file():
        fail(tr("photos.not_found", path=str(ca_bundle)))
    if proxy:
        try:
            parts = urlsplit(proxy)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port that is not a number
            valid = False
        if not valid:
            fail(tr("links.proxy_invalid", proxy=proxy))
    return LiveOptions(ca_bundle=ca_bundle, proxy=proxy or None)


def open_link_cache(path: Path | None):  # type: ignore[no-untyped-def]
    """The live-check cache (see qrcheck/links/live.py); in memory when the file cannot be used."""
    import sqlite3

    from qrcheck.links.cache import LinkCache, default_cache_path

    try:
        return LinkCache(path or default_cache_path())
    except (OSError, sqlite3.Error):
        return LinkCache(None)


def live_check_report(report, cache: Path | None, options):  # type: ignore[no-untyped-def]
    """The report with every distinct decoded link checked online once."""
    from qrcheck.board.decide import apply_live, links_to_check
    from qrcheck.links.live import check_urls

    urls = links_to_check(report)
    if not urls:
        return report
    store = open_link_cache(cache)
    try:
        results, network_down = check_urls(urls, options, store)
    finally:
        store.close()
    if network_down:
        err.print(f"[yellow]{tr('links.network_down')}[/]")
    return apply_live(report, results)


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
    bad = ("dead", "soft_404")
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
    problems = sum(1 for r in rows if r["live"] and r["live"]["status"] in bad)
    if json_:
        sys.stdout.write(json.dumps({"links": rows}, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table(header_style="bold")
        for key in ("col_code", "col_live", "col_http", "col_detail"):
            table.add_column(tr(f"links.{key}"), overflow="fold")
        for row in rows:
            live = row["live"] or {}
            status = live.get("status", "—")
            style = "red" if status in bad else ("green" if status in ("ok", "redirected") else "")
            table.add_row(
                row["code"],
                f"[{style}]{status}[/]" if style else status,
                str(live.get("http_status") or ""),
                escape(live.get("detail") or row["link"]),
            )
        out.print(table)
        ok = sum(1 for r in rows if r["live"] and r["live"]["status"] in ("ok", "redirected"))
        out.print(tr("links.summary", checked=len(rows), ok=ok, problems=problems))
    raise typer.Exit(1 if problems else 0)


# ---------------------------------------------------------------------------------------------
# history: reprint list and report


def reason_sentence(reasons) -> str:  # type: ignore[no-untyped-def]
    return " ".join(r.text(Context.lang) for r in reasons)


def cmd_todo(
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", help="Write the list as an Excel workbook", show_default=False),
    ] = None,
    days: DaysOpt = None,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
) -> None:
    from qrcheck.board.todo import KIND_KEYS, board_todo, todo_xlsx
    from qrcheck.files import atomic_write_bytes

    _setup(lang)
    when = parse_day(as_of)
    cat = open_valid_catalog(catalog)
    store = open_store(db)
    try:
        tasks = board_todo(store, cat.as_of(when), cat.center, Context.lang, days)
    finally:
        store.close()
    if not tasks:
        out.print(tr("todo.none"))
    else:
        table = Table(title=tr("todo.title"), title_justify="left", header_style="bold")
        table.add_column(tr("todo.col_board"), overflow="fold")
        table.add_column(tr("todo.col_task"), overflow="fold")
        table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
        table.add_column(tr("todo.col_why"), overflow="fold", ratio=1)
        for task in tasks:
            table.add_row(
                escape(task.location) or tr("store.nowhere"),
                tr(KIND_KEYS[task.kind]),
                task.code or "—",
                escape(task.sentence),
            )
        out.print(table)
    if xlsx is not None:
        title = f"{cat.center.name} · {tr('todo.title')} · {fmt_date(when)}"
        try:
            atomic_write_bytes(xlsx, todo_xlsx(tasks, Context.lang, title))
        except OSError as exc:
            fail(tr("generate.write_failed", path=str(xlsx), reason=exc.strerror))
        out.print(tr("todo.written", path=str(xlsx), count=len(tasks)))


def cmd_reprint(
    days: DaysOpt = None,
    sheet: Annotated[
        Path | None,
        typer.Option("--sheet", help="Write one print sheet (PDF) of the list", show_default=False),
    ] = None,
    done: Annotated[
        str | None,
        typer.Option(
            "--done", help="Record that a new posting of CODE was put up", show_default=False
        ),
    ] = None,
    location: Annotated[
        str, typer.Option("--location", help="Where the posting of --done was put up")
    ] = "",
    json_: Annotated[bool, typer.Option("--json", help="Print the list as JSON")] = False,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
) -> None:
    import json

    from qrcheck.board.reprint import record_done, reprint_list, sheet_pdf

    _setup(lang)
    when = parse_day(as_of)
    cat = open_valid_catalog(catalog)
    view = cat.as_of(when)
    store = open_store(db)
    try:
        if done is not None:
            code = done.strip()
            if not record_done(store, view, code, location.strip(), when, who=_system_user()):
                fail(tr("store.unknown_code", code=code))
            # stdout carries only the JSON document with --json
            (err if json_ else out).print(
                tr("store.done", code=code, location=location.strip() or "—")
            )
        window = cat.center.announce_days if days is None else days
        items = reprint_list(store, view, cat.center, window)
    finally:
        store.close()
    if json_:
        rows = [
            {
                "location": i.location,
                "code": i.code or None,
                "posting": i.posting,
                "text": i.text,
                "last_seen": i.last_seen or None,
                "due": i.due.isoformat() if i.due else None,
                "reasons": [{"kind": r.kind, "text": r.text(Context.lang)} for r in i.reasons],
            }
            for i in items
        ]
        sys.stdout.write(json.dumps({"items": rows}, ensure_ascii=False, indent=2) + "\n")
    elif items:
        table = Table(
            title=tr("store.reprint_title", count=len(items)),
            title_justify="left",
            header_style="bold",
        )
        table.add_column(tr("store.col_location"), overflow="fold")
        table.add_column(tr("cli.col_code"), no_wrap=True, min_width=CODE_WIDTH)
        table.add_column(tr("cli.col_reason"), overflow="fold")
        for item in items:
            table.add_row(
                escape(item.location) or tr("store.nowhere"),
                item.code or tr("status.unreadable"),
                reason_sentence(item.reasons),
            )
        out.print(table)
    else:
        out.print(tr("store.reprint_none"))
    if sheet is not None:
        from qrcheck.files import atomic_write_bytes

        say = err if json_ else out

        pdf, count = sheet_pdf(cat, items, when)
        if not count:
            say.print(tr("store.sheet_empty"))
        else:
            try:
                atomic_write_bytes(sheet, pdf)
            except OSError as exc:
                fail(tr("generate.write_failed", path=str(sheet), reason=exc.strerror))
            say.print(tr("store.sheet", path=str(sheet), count=count))


def cmd_report(
    format_: Annotated[str, typer.Option("--format", help="html | csv | json")] = "html",
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write to this file (html: default output/report.html; csv, json: print)",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only checks from this date on", show_default=False),
    ] = None,
    unseen_days: Annotated[
        int,
        typer.Option(
            "--unseen-days", min=0, help="Procedures not seen on any board in this many days"
        ),
    ] = 90,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
) -> None:
    import json

    from qrcheck.board.reprint import posting_states
    from qrcheck.reports.export import history_csv, history_json

    _setup(lang)
    when = parse_day(as_of)
    start = parse_day(since) if since else None
    kind = format_.strip().lower()
    if kind not in ("html", "csv", "json"):
        fail(tr("history.bad_format", value=format_))
    cat = open_valid_catalog(catalog)
    view = cat.as_of(when)
    store = open_store(db)
    try:
        states = posting_states(store, view, cat.center)
        if start is not None:
            day = start.isoformat()
            states = [s for s in states if s.last_seen >= day]
        if kind == "html":
            from qrcheck.reports.history_html import history_html

            text = history_html(
                store, states, view, cat.center, Context.lang, when, start, unseen_days
            )
            if out_file is None:
                out_file = Path("output/report.html")
    finally:
        store.close()
    if kind == "csv":
        text = history_csv(states)
    elif kind == "json":
        text = json.dumps(history_json(states), ensure_ascii=False, indent=2) + "\n"
    if out_file is None:
        sys.stdout.write(text)
        return
    from qrcheck.files import atomic_write_bytes

    data = text.encode("utf-8-sig" if kind == "csv" else "utf-8")
    try:
        atomic_write_bytes(out_file, data)
    except OSError as exc:
        fail(tr("generate.write_failed", path=str(out_file), reason=exc.strerror))
    if kind == "html":
        places = len({s.location for s in states})
        out.print(tr("history.written", path=str(out_file), postings=len(states), locations=places))


# ---------------------------------------------------------------------------------------------
# the web application: accounts and the server


PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


def cmd_user_add(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    admin: Annotated[bool, typer.Option("--admin", help="Administrator (users, catalog)")] = False,
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    from qrcheck.board.store import StoreError
    from qrcheck.web.security import MIN_PASSWORD, USER_NAME, hash_password

    _setup(lang)
    if not USER_NAME.fullmatch(name):
        fail(tr("user.bad_name", name=name))
    password = read_new_password(password_stdin, MIN_PASSWORD)
    role = "admin" if admin else "staff"
    store = open_store(db)
    try:
        store.add_user(name, hash_password(password), role)
    except StoreError as exc:
        fail(tr(exc.key, **exc.params))
    finally:
        store.close()
    out.print(tr("user.added", name=name, role=role))


def read_new_password(from_stdin: bool, shortest: int) -> str:
    """A new password: one line of standard input, or asked twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(tr("user.password"), hide_input=True)
        if typer.prompt(tr("user.password_again"), hide_input=True) != password:
            fail(tr("user.password_mismatch"))
    if len(password) < shortest:
        fail(tr("user.password_short", length=shortest))
    return password


def cmd_user_password(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    from qrcheck.web.security import MIN_PASSWORD, hash_password

    _setup(lang)
    store = open_store(db)
    try:
        account = store.account(name) or fail(tr("web_users.no_such", name=name))
        password = read_new_password(password_stdin, MIN_PASSWORD)
        store.set_password_hash(account.name, hash_password(password))
        store.end_sessions(account.name)  # it logs in again, with the new password
    finally:
        store.close()
    out.print(tr("user.password_set", name=account.name))


def cmd_user_list(db: DbOpt = None, lang: LangOpt = None) -> None:
    _setup(lang)
    store = open_store(db)
    try:
        accounts = store.accounts()
    finally:
        store.close()
    if not accounts:
        out.print(tr("serve.no_users"))
        return
    for account in accounts:
        role = tr("web.role_admin" if account.role == "admin" else "web.role_staff")
        state = tr("web_users.state_disabled" if account.disabled else "web_users.state_active")
        out.print(f"{account.name}\t{role}\t{state}\t{account.created_at}")


def cmd_user_disable(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again")] = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    _setup(lang)
    store = open_store(db)
    try:
        account = store.account(name) or fail(tr("web_users.no_such", name=name))
        store.set_disabled(account.name, not enable)
        if not enable:
            store.end_sessions(account.name)
    finally:
        store.close()
    key = "web_users.enabled" if enable else "web_users.disabled"
    out.print(tr(key, name=account.name))


def cmd_serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 8000,
    data: Annotated[
        Path,
        typer.Option("--data", help="Folder for uploaded and annotated photos"),
    ] = Path("data/web"),
    workers: Annotated[int, typer.Option("--workers", help="Processes checking photos")] = 0,
    offline: Annotated[
        bool, typer.Option("--offline", help="No live link checks (catalog comparison only)")
    ] = False,
    ca_bundle: CaBundleOpt = None,
    proxy: ProxyOpt = None,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    lang: LangOpt = None,
) -> None:
    import uvicorn

    from qrcheck.board.store import default_db_path
    from qrcheck.web import WebConfig, create_app

    _setup(lang)
    live = None if offline else live_options(ca_bundle, proxy)  # bad settings: said first
    cat = open_valid_catalog(catalog)
    db_path = db or default_db_path()
    store = open_store(db_path)
    try:
        record_catalog(store, cat)
        has_users = store.db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
    finally:
        store.close()
    if not has_users:
        err.print(f"[yellow]{tr('serve.no_users')}[/]")
    config = WebConfig(
        db=db_path,
        catalog=catalog or default_catalog(),
        data=data,
        live=live,
    )
    if workers > 0:
        config.workers = workers
    app = create_app(config)
    out.print(tr("serve.listening", host=host, port=port))
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")


# ---------------------------------------------------------------------------------------------
# the application


def version_callback(value: bool) -> None:
    if value:
        out.print(f"qrcheck {__version__}")
        raise typer.Exit()


def build_app(lang: str) -> typer.Typer:
    """The typer application with help texts in `lang`."""

    def h(key: str) -> str:
        return t(key, lang)

    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help=h("help.app"),
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=version_callback, is_eager=True, help=h("help.version")
            ),
        ] = False,
    ) -> None:
        pass

    catalog_app = typer.Typer(no_args_is_help=True, help=h("help.catalog"), rich_markup_mode=None)
    catalog_app.command("validate", help=h("help.validate"))(cmd_validate)
    catalog_app.command("diff", help=h("help.diff"))(cmd_diff)
    catalog_app.command("import", help=h("help.import"))(cmd_import)
    app.add_typer(catalog_app, name="catalog")
    app.command("generate", help=h("help.generate"))(cmd_generate)
    app.command("check", help=h("help.check"))(cmd_check)
    app.command("links", help=h("links.help"))(cmd_links)
    app.command("reprint", help=h("store.help_reprint"))(cmd_reprint)
    app.command("todo", help=h("todo.help"))(cmd_todo)
    app.command("report", help=h("history.help_report"))(cmd_report)
    user_app = typer.Typer(no_args_is_help=True, help=h("user.help"), rich_markup_mode=None)
    user_app.command("add", help=h("user.help_add"))(cmd_user_add)
    user_app.command("password", help=h("user.help_password"))(cmd_user_password)
    user_app.command("list", help=h("user.help_list"))(cmd_user_list)
    user_app.command("disable", help=h("user.help_disable"))(cmd_user_disable)
    app.add_typer(user_app, name="user")
    app.command("serve", help=h("serve.help"))(cmd_serve)
    return app


def _argv_language(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `qrcheck` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    Context.lang = resolve_language(_argv_language(args))
    app = build_app(Context.lang)
    try:
        app(args=args, prog_name="qrcheck", standalone_mode=True)
    except QrcheckError as exc:
        err.print(f"[bold red]{tr('cli.error_prefix')}[/] {tr(exc.key, **exc.params)}")
        sys.exit(2)


if __name__ == "__main__":
    main()
