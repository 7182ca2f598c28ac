"""One to-do list per board: what staff must do there, each task closable when done.

Three kinds of task, from the history and today's catalog:

- `print`: a posting to print and put up (every item of the reprint list, `reprint.py`);
  closed by recording the print (`reprint.record_done`, as `qrcheck reprint --done` does);
- `take_down`: a posting of an abolished procedure, or a replaced one whose successor already
  hangs sound beside it (`reprint.posting_states` says `remove`);
- `investigate`: a code that leads to a non-official address or an unknown procedure, a
  possible fake sticker pasted over an official code.

A take-down or investigate task concerns a posting of the board's latest round of photos; it is
closed by `close_task` (who and when go to the history) and comes back if a later round still
shows that posting after it was closed. Tasks are sorted by urgency: fake stickers first.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from qrcheck.board.reprint import (
    lost_postings,
    posting_states,
    record_done,
    reprint_list,
    sound_postings,
    successor_hangs,
)
from qrcheck.board.store import Store, latest_state
from qrcheck.catalog.csv_text import neutralise
from qrcheck.catalog.model import CatalogView
from qrcheck.center import CenterSettings
from qrcheck.i18n import t
from qrcheck.links.verdict import describe, judge

KINDS = ("investigate", "take_down", "print")
#: the words of each kind and of its closing button (literal keys: test_i18n checks them)
KIND_KEYS = {
    "investigate": "todo.kind_investigate",
    "take_down": "todo.kind_take_down",
    "print": "todo.kind_print",
}
DONE_KEYS = {
    "investigate": "todo.done_investigate",
    "take_down": "todo.done_take_down",
    "print": "todo.done_print",
}


@dataclass(frozen=True)
class Task:
    """One thing to do at one board."""

    location: str
    kind: str
    #: the procedure concerned (to print, or whose posting to take down); None when unknown
    code: str | None
    name: str
    #: why, as a sentence in the list's language
    sentence: str
    #: what closing it refers to: the procedure code to print, or the posting's text ('' for a
    #: posting nobody could name: it leaves the list when a later round no longer shows it)
    subject: str
    last_seen: str = ""
    #: for a posting nobody could name: the stored code whose crop shows it
    crop: int | None = None
    due: date | None = field(default=None)


def board_todo(
    store: Store, view: CatalogView, center: CenterSettings, lang: str, days: int | None = None
) -> list[Task]:
    """Every open task of every board, most urgent first, then by board."""
    days = center.announce_days if days is None else days
    # read the history once: the boards' latest rounds and every sighting
    rounds = store.latest_rounds(center.round_minutes)
    observations = store.observations()
    lost = lost_postings(store, center.round_minutes, rounds)
    tasks: list[Task] = []
    for item in reprint_list(store, view, center, days, lost=lost, observations=observations):
        proc = view.procedures.get(item.code) if item.code else None
        tasks.append(
            Task(
                item.location,
                "print",
                item.code or None,
                proc.name if proc is not None else "",
                " ".join(r.text(lang) for r in item.reasons),
                # a posting nobody could name leaves the list with the next round of photos
                item.code,
                item.last_seen,
                item.crop,
                item.due,
            )
        )
    seen = {
        location: {c.text for photo in photos for c in photo.codes if c.text is not None}
        for location, photos in rounds.items()
    }
    closed: dict[tuple[str, str, str], str] = {}
    for done in store.tasks_done():
        key = (done.kind, done.location, done.subject)
        closed[key] = max(closed.get(key, ""), done.done_at)
    by_id = {p.id: p for p in store.postings()}
    postings = {(p.location, p.text): p for p in by_id.values()}
    sound = sound_postings(by_id, latest_state(observations), view, center)
    for state in posting_states(store, view, center, observations):
        if state.action not in ("remove", "investigate"):
            continue
        if state.text not in seen.get(state.location, set()):
            continue  # the board's latest round no longer shows it: taken down already
        kind = "take_down" if state.action == "remove" else "investigate"
        if closed.get((kind, state.location, state.text), "") >= state.last_seen:
            continue
        verdict = judge(state.text, view, center)
        sentence = describe(verdict, lang)
        successor = str(verdict.detail_params.get("successor", ""))
        posting = postings.get((state.location, state.text))
        if (
            kind == "take_down"
            and posting is not None
            and successor_hangs(posting, successor, sound)
        ):
            sentence += " " + t("round.successor_on_board", lang)
        proc = view.procedures.get(state.procedure or "")
        tasks.append(
            Task(
                state.location,
                kind,
                state.procedure,
                proc.name if proc is not None else "",
                sentence,
                state.text,
                state.last_seen,
            )
        )
    order = {kind: i for i, kind in enumerate(KINDS)}
    tasks.sort(key=lambda k: (k.location == "", k.location, order[k.kind], k.code or "~"))
    return tasks


def close_task(
    store: Store, view: CatalogView, kind: str, location: str, subject: str, who: str, when: date
) -> bool:
    """Close a task: a print is recorded as put up (as `reprint --done`), a take-down or a
    check goes to the history with who and when. False when there is nothing to close (an
    unknown kind, or a print of a code the catalog does not know)."""
    if kind == "print":
        return record_done(store, view, subject, location, when, who=who)
    if kind not in KINDS or not subject:
        return False
    store.record_task_done(kind, location, subject, who)
    return True


#: the columns of the Excel download (literal keys: test_i18n checks them)
XLSX_COLUMNS = (
    "todo.col_board",
    "todo.col_task",
    "todo.col_code",
    "todo.col_name",
    "todo.col_why",
    "todo.col_last_seen",
    "todo.col_done",
)


def todo_xlsx(tasks: Sequence[Task], lang: str, title: str) -> bytes:
    """The to-do list as an Excel workbook for the office: one row per task, a blank column
    to tick when done. Cells that look like formulas are neutralised (as every CSV we write)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = t("todo.sheet", lang)[:31]
    sheet.append([neutralise(title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([t(key, lang) for key in XLSX_COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for task in tasks:
        sheet.append(
            [
                neutralise(task.location or t("store.nowhere", lang)),
                t(KIND_KEYS[task.kind], lang),
                neutralise(task.code or t("status.unreadable", lang)),
                neutralise(task.name),
                neutralise(task.sentence),
                task.last_seen[:10],
                "",
            ]
        )
    for letter, width in zip("ABCDEFG", (18, 16, 12, 40, 60, 12, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
