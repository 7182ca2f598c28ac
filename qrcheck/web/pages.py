"""What the board, reprint and catalog pages show, read from the library (never recomputed here).

- boards: `reprint.posting_states` (latest grade, verdict, action, last seen) and the stable-link
  scans of `store.scan_counts`;
- reprint list and print sheet: `reprint.reprint_list` and `reprint.sheet_pdf`, exactly as
  `qrcheck reprint --sheet` does;
- catalog: the upcoming changes of the catalog view and the versions recorded in the store;
- catalog import (admins): `importer.prepare_import`, then `importer.apply_import`.

Every method runs in a worker thread (blocking I/O) and returns values ready for a template,
each sentence already in the reader's language.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from qrcheck.board.reprint import (
    lost_postings,
    lost_reason,
    posting_states,
    reprint_list,
    sheet_pdf,
)
from qrcheck.board.store import Store
from qrcheck.board.todo import DONE_KEYS, KIND_KEYS, board_todo, close_task, todo_xlsx
from qrcheck.catalog.importer import PreparedImport, apply_import, prepare_import
from qrcheck.catalog.load import catalog_fingerprint, group_issues, load_catalog
from qrcheck.catalog.model import Catalog
from qrcheck.i18n import t

if TYPE_CHECKING:
    from qrcheck.web.config import WebConfig

IMPORT_SUFFIXES = (".xlsx", ".csv")
#: import notes whose command-line wording names a flag: the page says its own control instead
#: catalog columns read from an export column of another name (importer.read_export)
FROM_EXPORT = {
    "url": "link",
    "formality_id": "link",
    "decision": "decision_no",
    "effective_from": "decision_date",
}
WEB_NOTES = {"importer.missing_kept": "web_todo.missing_kept"}


def field_word(column: str, lang: str) -> str:
    """A catalog column as staff call it ("tên thủ tục" for `name`); the column itself when
    there is no word for it."""
    from qrcheck.links.verdict import FIELD_KEYS

    key = FIELD_KEYS.get(column)
    return t(key, lang) if key else column


class _Source(Protocol):
    def get(self) -> tuple[Catalog, tuple]: ...


#: how pressing each action is (lower first): a possible fake sticker, then what to take down or
#: reprint (the same visit to the board), a photo to take again, a posting to watch
URGENCY = {"investigate": 0, "remove": 1, "reprint": 1, "retake": 2, "monitor": 3, "ok": 4}


def urgency(actions: list[str]) -> tuple[int, ...]:
    """A sort key putting first the board with the most pressing work: minus the count of each
    urgency level, the most pressing level compared first."""
    levels = max(URGENCY.values()) + 1
    counts = [0] * levels
    for action in actions:
        counts[URGENCY.get(action, levels - 1)] += 1
    return tuple(-n for n in counts[: levels - 1])


def day(stamp: str) -> str:
    """An ISO date or timestamp as day/month/year; "—" when there is none."""
    try:
        return date.fromisoformat(stamp[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return stamp or "—"


#: what a task without a procedure code shows instead (a strange code; a posting nobody named)
NO_CODE_KEYS = {
    "investigate": "todo.strange_code",
    "take_down": "todo.strange_code",
    "print": "status.unreadable",
}


class StatusPages:
    def __init__(self, config: WebConfig, source: _Source, uploads_dir: Path) -> None:
        self.config = config
        self.source = source
        self.uploads = uploads_dir
        self.uploads.mkdir(parents=True, exist_ok=True)

    @property
    def today(self) -> Callable[[], date]:
        return self.config.today

    # -----------------------------------------------------------------------------------------
    # boards

    def boards(self, lang: str) -> tuple[list[dict], list[dict], bool]:
        """The boards, the most to do first, each posting named, the most pressing first; the
        stable-link scans per procedure; whether to show them (a center that prints stable
        links, or scans counted all the same)."""
        catalog, _ = self.source.get()
        view = catalog.as_of(self.today())
        with Store(self.config.db) as store:
            states = posting_states(store, view, catalog.center)
            scans = store.scan_counts()
            lost = lost_postings(store, catalog.center.round_minutes)
        unreadable: dict[str, list[dict]] = {}
        for posting in lost:
            reason = lost_reason(posting)
            unreadable.setdefault(posting.location, []).append(
                {
                    "procedure": posting.code or t("status.unreadable", lang),
                    "name": view.procedures[posting.code].name
                    if posting.code in view.procedures
                    else "",
                    "sentence": reason.text(lang),
                    "crop": None if posting.code else f"/crop/{posting.code_id}.jpg",
                }
            )
        boards: dict[str, list[dict]] = {name: [] for name in unreadable}
        for state in states:
            boards.setdefault(state.location, []).append(
                {
                    "procedure": state.procedure or t(f"status.{state.status}", lang),
                    "name": view.procedures[state.procedure].name
                    if state.procedure in view.procedures
                    else "",
                    "grade": state.grade,
                    "status": t(f"status.{state.status}", lang),
                    "action": state.action,
                    "action_word": t(f"action.{state.action}", lang),
                    "last_seen": day(state.last_seen),
                    "scans": scans.get(state.procedure or "", 0),
                    "sightings": state.sightings,
                }
            )
        listed = []
        for name, postings in boards.items():
            postings.sort(key=lambda p: URGENCY.get(p["action"], len(URGENCY)))
            lost = unreadable.get(name, [])
            actions = [p["action"] for p in postings] + ["reprint"] * len(lost)
            listed.append(
                {
                    "location": name or t("history.no_location", lang),
                    "postings": postings,
                    # postings of the board's latest round whose code no reader decodes any more
                    "unreadable": lost,
                    "urgency": urgency(actions),
                    "named": name != "",
                }
            )
        # the board with the most to do first: a possible fake sticker before anything else,
        # then postings to take down or reprint, photos to retake, postings to watch
        listed.sort(key=lambda b: (b["urgency"], not b["named"], b["location"]))
        scan_rows = [
            {
                "code": code,
                "name": view.procedures[code].name if code in view.procedures else "",
                "count": count,
            }
            for code, count in sorted(scans.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        show_scans = catalog.center.link_mode == "stable" or bool(scan_rows)
        return listed, scan_rows, show_scans

    # -----------------------------------------------------------------------------------------
    # reprint list and sheet

    def _items(self) -> tuple[Catalog, list]:
        catalog, _ = self.source.get()
        view = catalog.as_of(self.today())
        with Store(self.config.db) as store:
            items = reprint_list(store, view, catalog.center, catalog.center.announce_days)
        return catalog, items

    def reprint_items(self, lang: str) -> list[dict]:
        catalog, items = self._items()
        view = catalog.as_of(self.today())
        return [
            {
                "location": item.location or t("store.nowhere", lang),
                "code": item.code or t("status.unreadable", lang),
                "name": view.procedures[item.code].name if item.code in view.procedures else "",
                "reason": " ".join(r.text(lang) for r in item.reasons),
                "last_seen": day(item.last_seen) if item.last_seen else "",
                "due": item.due.strftime("%d/%m/%Y") if item.due else "",
                "crop": f"/crop/{item.crop}.jpg" if item.crop is not None else None,
            }
            for item in items
        ]

    # -----------------------------------------------------------------------------------------
    # to-do list

    def todo(self, lang: str) -> list[dict]:
        """Each board's open tasks (`todo.board_todo`), boards in order, tasks most urgent first."""
        catalog, _ = self.source.get()
        view = catalog.as_of(self.today())
        with Store(self.config.db) as store:
            tasks = board_todo(store, view, catalog.center, lang)
        boards: dict[str, list[dict]] = {}
        for task in tasks:
            boards.setdefault(task.location, []).append(
                {
                    "kind": task.kind,
                    "kind_word": t(KIND_KEYS[task.kind], lang),
                    "done_word": t(DONE_KEYS[task.kind], lang),
                    "code": task.code or t(NO_CODE_KEYS[task.kind], lang),
                    "name": task.name,
                    "sentence": task.sentence,
                    "subject": task.subject,
                    "location": task.location,
                    "crop": f"/crop/{task.crop}.jpg" if task.crop is not None else None,
                    "due": task.due.strftime("%d/%m/%Y") if task.due else "",
                }
            )
        return [
            {"location": name or t("store.nowhere", lang), "tasks": items}
            for name, items in boards.items()
        ]

    def close_task(self, kind: str, location: str, subject: str, who: str) -> bool:
        catalog, _ = self.source.get()
        view = catalog.as_of(self.today())
        with Store(self.config.db) as store:
            return close_task(store, view, kind, location, subject, who, self.today())

    def todo_xlsx(self, lang: str) -> tuple[bytes, str]:
        catalog, _ = self.source.get()
        when = self.today()
        view = catalog.as_of(when)
        with Store(self.config.db) as store:
            tasks = board_todo(store, view, catalog.center, lang)
        title = f"{catalog.center.name} · {t('todo.title', lang)} · {when:%d/%m/%Y}"
        return todo_xlsx(tasks, lang, title), f"viec-can-lam-{when.isoformat()}.xlsx"

    def crop(self, code_id: int) -> bytes | None:
        with Store(self.config.db) as store:
            return store.crop(code_id)

    def sheet(self) -> tuple[bytes, str] | None:
        """The print sheet of the list as `qrcheck reprint --sheet` makes it, and a file name."""
        catalog, items = self._items()
        when = self.today()
        pdf, count = sheet_pdf(catalog, items, when)
        if not count:
            return None
        return pdf, f"reprint-{when.isoformat()}.pdf"

    # -----------------------------------------------------------------------------------------
    # catalog

    def catalog_changes(self, lang: str) -> tuple[list[dict], list[dict]]:
        catalog, _ = self.source.get()
        view = catalog.as_of(self.today())
        upcoming = [
            {
                "date": change.when.strftime("%d/%m/%Y"),
                "code": change.code,
                "kind": change.kind,
                "name": view.procedures[change.code].name if change.code in view.procedures else "",
                "sentence": t(
                    f"change.{change.kind}",
                    lang,
                    successor=change.successor,
                    decision=change.decision,
                ),
            }
            for change in sorted(view.upcoming, key=lambda c: (c.when, c.code))
        ]
        with Store(self.config.db) as store:
            recorded = store.catalog_versions()
        versions = []
        for version in reversed(recorded[-20:]):
            changes = version["changes"] or {}
            keys = ("added", "changed", "replaced", "abolished", "removed", "scheduled")
            summary = t("diff.summary", lang, **changes) if all(k in changes for k in keys) else ""
            versions.append(
                {
                    "date": day(version["recorded_at"]),
                    "source": version["source"] or Path(version["path"]).name,
                    "rows": version["rows"],
                    "summary": summary,
                }
            )
        return upcoming, versions

    # -----------------------------------------------------------------------------------------
    # catalog import (admins)

    def upload_target(self, suffix: str) -> Path:
        """A new file for an uploaded export, under a generated name (never the client's)."""
        return self.uploads / f"{secrets.token_urlsafe(18)}{suffix}"

    def prepare(
        self, file: Path, missing: str, source: str, lang: str
    ) -> tuple[dict, PreparedImport]:
        """The import of `file` computed (nothing written) and what the preview page shows."""
        current = load_catalog(self.config.catalog)
        when = self.today()
        prepared = prepare_import(
            file, current, when, abolish_missing=missing == "abolish", display_name=source
        )
        new = prepared.catalog
        view = new.as_of(when)
        diff = prepared.diff
        rows: list[dict] = []
        for proc in diff.added:
            rows.append({"kind": t("diff.added", lang), "code": proc.code, "detail": proc.name})
        for change in diff.changed:
            fields = ", ".join(field_word(f, lang) for f in change.fields)
            detail = t("diff.fields", lang, fields=fields) + " — "
            detail += t("diff.reprint" if change.reprint else "diff.no_reprint", lang)
            rows.append({"kind": t("diff.changed", lang), "code": change.code, "detail": detail})
        for proc in diff.replaced:
            successor = view.procedures.get(proc.replaced_by)
            detail = t(
                "diff.replaced_detail",
                lang,
                successor=proc.replaced_by,
                name=successor.name if successor else "",
            )
            rows.append({"kind": t("diff.replaced", lang), "code": proc.code, "detail": detail})
        for proc in diff.abolished:
            rows.append({"kind": t("diff.abolished", lang), "code": proc.code, "detail": proc.name})
        for proc in diff.removed:
            detail = t("diff.removed_detail", lang, name=proc.name)
            rows.append({"kind": t("diff.removed", lang), "code": proc.code, "detail": detail})
        for change in diff.scheduled:
            sentence = t(
                f"change.{change.kind}", lang, successor=change.successor, decision=change.decision
            )
            rows.append(
                {
                    "kind": t("diff.scheduled", lang),
                    "code": change.code,
                    "detail": f"{change.when:%d/%m/%Y}: {sentence}",
                }
            )
        problems = []
        table = prepared.table
        for members, issue in group_issues(new.issues):
            level = t("cli.level_error" if issue.is_error else "cli.level_warning", lang)
            # where the problem is in the file the admin uploaded (its rows and column heading),
            # when every line comes from it; the new catalog's lines otherwise
            export_rows = [prepared.source_rows.get(m.line) for m in members]
            heading = table.columns.get(issue.column) or table.columns.get(
                FROM_EXPORT.get(issue.column, ""), ""
            )
            if export_rows and all(export_rows) and heading:
                where = t(
                    "web_todo.import_where_sheet" if table.sheet else "web_todo.import_where_csv",
                    lang,
                    rows=", ".join(str(r) for r in export_rows),
                    column=heading,
                    sheet=table.sheet or "",
                )
            else:
                where = t(
                    "web_pages.import_where",
                    lang,
                    lines=", ".join(str(m.line) for m in members),
                    column=field_word(issue.column, lang) if issue.column else issue.column_label,
                )
            problems.append(
                {
                    "error": issue.is_error,
                    "where": where,
                    "level": level,
                    "message": t(issue.key, lang, **issue.params),
                }
            )
        nothing = diff.empty and not prepared.changed_rows
        preview = {
            "source": source,
            "date": when.strftime("%d/%m/%Y"),
            # the page's own checkbox, not the command line's --missing abolish
            "notes": [t(WEB_NOTES.get(key, key), lang, **params) for key, params in prepared.notes],
            "rows": rows,
            "summary": "" if diff.empty else t("diff.summary", lang, **diff.counts()),
            "none": t("diff.none", lang, date=when.strftime("%d/%m/%Y")) if diff.empty else "",
            "problems": problems,
            "errors": len(new.errors),
            "nothing": nothing,
            "can_apply": not new.errors and not nothing,
        }
        return preview, prepared

    def apply(self, prepared: PreparedImport, source: str) -> Path:
        """Write the prepared catalog (the previous one is kept) and note it in the history."""
        backup = apply_import(prepared)
        with Store(self.config.db) as store:
            written = load_catalog(self.config.catalog)
            store.record_catalog(
                catalog_fingerprint(written),
                str(written.path),
                len(written.rows),
                source,
                prepared.diff.counts(),
            )
        return backup
