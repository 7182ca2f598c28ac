"""Printing what the library returns: catalog issues, upcoming changes, diffs, generation and
check results.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qrcheck.catalog.diff import CatalogDiff
from qrcheck.catalog.model import Catalog
from qrcheck.cli.common import CODE_WIDTH, Context, err, fmt_date, out, tr

if TYPE_CHECKING:  # generation pulls in numpy, Pillow and the PDF writer: imported when used
    from qrcheck.printing.generate import GenerateOptions, GenerateResult


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
                from qrcheck.reports.explain import code_sentences

                detail = escape(" ".join(code_sentences(code, Context.lang)))
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
# history: reprint list and report
def reason_sentence(reasons) -> str:  # type: ignore[no-untyped-def]
    return " ".join(r.text(Context.lang) for r in reasons)
