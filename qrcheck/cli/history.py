"""`qrcheck todo`, `qrcheck reprint` and `qrcheck report`: what the history says."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from qrcheck.cli.common import (
    CODE_WIDTH,
    AsOfOpt,
    CatalogOpt,
    Context,
    DaysOpt,
    DbOpt,
    LangOpt,
    _setup,
    _system_user,
    err,
    fail,
    fmt_date,
    open_store,
    open_valid_catalog,
    out,
    parse_day,
    tr,
)
from qrcheck.cli.render import reason_sentence


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
        rows = [item.as_json(Context.lang) for item in items]
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
