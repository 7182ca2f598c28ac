"""Import a national-portal export (.xlsx or .csv) into the catalog.

`prepare_import` reads the export, finds its header row, maps its columns onto the catalog's,
merges it with the current catalog and validates the result in memory: nothing is written, so
`--dry-run` and a refused import cost nothing. `apply_import` then keeps a copy of the current
`procedures.csv` under `history/`, replaces the file atomically and logs the import.

Merge rules (rows are matched by code):

- portal-owned columns (name, field, level, formality_id, url, decision, status and, when the
  file has them, effective_from) come from the file; an empty cell in the file never erases a
  value the catalog already has (exports often leave cells blank);
- center-owned columns (replaced_by and any extra column: source_url, confidence, note) are
  kept from the current row;
- codes only in the file are added at the end; codes only in the catalog are kept (and listed
  in a note), or marked abolished as of the import date with `abolish_missing`;
- `scheduled` rows of the catalog are always kept;
- a row with a cell the import reads that begins like a spreadsheet formula (`=`, `+`, `-`,
  `@`, tab, carriage return; plain numbers such as `-2` are data) is left out with a warning
  naming its file, row and cell: its procedure stays as the catalog has it, and is not counted
  as missing from the file.

An export is read one row at a time (openpyxl's read-only mode; the csv reader) and at most
MAX_EXPORT_ROWS procedure rows are taken: a larger file is refused with nothing changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from qrcheck.catalog.csv_text import (
    csv_text,
)
from qrcheck.catalog.diff import CatalogDiff, diff_views
from qrcheck.catalog.export import (
    MAX_EXPORT_ROWS,
    PORTAL_FIELDS,
    ExportRow,
    ExportTable,
    _short_list,
    read_export,
)
from qrcheck.catalog.load import parse_catalog
from qrcheck.catalog.model import COLUMNS, Catalog
from qrcheck.errors import ImportFailed, os_reason

HISTORY_DIR = "history"
IMPORT_LOG = "imports.log"


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class PreparedImport:
    """An import computed in memory, ready to be shown (dry run) or applied."""

    source: Path
    current: Catalog
    #: the catalog as it will be written, validated like any catalog file
    catalog: Catalog
    diff: CatalogDiff
    #: message keys and parameters the user should read before deciding
    notes: list[tuple[str, dict[str, object]]]
    #: False when the rows would be written exactly as they are now
    changed_rows: bool
    when: date
    table: ExportTable
    #: line of the new catalog → row of the export it comes from
    source_rows: Mapping[int, int] = field(default_factory=dict)
    #: codes of the catalog that the file does not list
    missing: tuple[str, ...] = ()
    #: SHA-256 of procedures.csv when the import was prepared ("" when it did not exist)
    current_digest: str = ""
    #: the export's name as the user knows it (for messages and the import log)
    source_name: str = ""

    def source_row(self, line: int) -> int | None:
        """The export row a line of the new catalog was read from, if it came from the file."""
        return self.source_rows.get(line)


# ---------------------------------------------------------------------------------------------
# Merging


def _key(code: str, status: str, effective: str) -> tuple[str, str]:
    """Rows are matched on the code, and scheduled versions also on their date."""
    return code, (effective if status == "scheduled" else "")


def _merge(
    current: Catalog,
    header: Sequence[str],
    table: ExportTable,
    when: date,
    abolish_missing: bool,
) -> tuple[list[dict[str, str]], list[int | None], list[str], list[int]]:
    """(rows, export row of each row, codes missing from the file, duplicate export rows)."""
    rows: list[dict[str, str]] = [{c: r.get(c) for c in header} for r in current.rows]
    origin: list[int | None] = [None] * len(rows)
    index: dict[tuple[str, str], int] = {}
    for position, row in enumerate(current.rows):
        if row.code:
            index.setdefault(_key(row.code, row.status, row.get("effective_from")), position)

    matched: dict[tuple[str, str], ExportRow] = {}
    duplicates: list[int] = []
    for item in table.rows:
        key = _key(item.code, item.values.get("status", ""), item.values.get("effective_from", ""))
        if item.code and key in matched:
            if matched[key].values == item.values:
                duplicates.append(item.row)
                continue
            position = None  # a second, different row: kept, so validation reports the duplicate
        else:
            position = index.get(key) if item.code else None
        if position is None:
            rows.append(_new_row(header, item, table.name or table.file.name))
            origin.append(item.row)
        else:
            rows[position] = _updated_row(rows[position], item, when)
            origin[position] = item.row
        if item.code:
            matched.setdefault(key, item)

    missing: list[str] = []
    refused = set(table.refused_codes)  # in the file, but left out: neither missing nor ended
    for position, row in enumerate(current.rows):
        key = _key(row.code, row.status, row.get("effective_from"))
        if not row.code or row.status in ("scheduled", "abolished") or key in matched:
            continue
        if row.code in refused:
            continue
        if key[0] not in missing:
            missing.append(row.code)
        if abolish_missing:
            rows[position]["status"] = "abolished"
            rows[position]["effective_from"] = when.isoformat()
    return rows, origin, missing, duplicates


def _updated_row(row: dict[str, str], item: ExportRow, when: date) -> dict[str, str]:
    updated = dict(row)
    for name in PORTAL_FIELDS:
        if name in item.values and name in updated:
            updated[name] = item.values[name]
    before, after = row.get("status", ""), updated.get("status", "")
    if (
        "effective_from" not in item.values
        and before != after
        and "abolished" in (before, after)
        and "effective_from" in updated
    ):
        # the file ends (or revives) the procedure without a date: it does so as of the import
        updated["effective_from"] = when.isoformat()
    return updated


def _new_row(header: Sequence[str], item: ExportRow, source_name: str) -> dict[str, str]:
    row = {c: "" for c in header}
    for name, value in item.values.items():
        if name in row:
            row[name] = value
    if not row.get("status"):
        row["status"] = "active"
    if "source_url" in row:
        row["source_url"] = source_name
    return row


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """The CSV exactly as `qrcheck.catalog.csv_text.write_csv` writes it (cells neutralised)."""
    return csv_text(header, rows).encode("utf-8-sig")


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def prepare_import(
    file: Path,
    current: Catalog,
    when: date,
    abolish_missing: bool = False,
    *,
    display_name: str | None = None,
    max_rows: int = MAX_EXPORT_ROWS,
) -> PreparedImport:
    """Read `file`, merge it into `current` and validate the result; write nothing.

    `display_name` is the export's name as the user knows it (the uploaded file's name when
    `file` is the server's copy), used in messages, in `source_url` and in the import log.
    """
    name = display_name or file.name
    if current.damaged:  # merging into it would drop every row it holds
        first = current.errors[0].line if current.errors else 1
        raise ImportFailed("importer.current_broken", path=str(current.path), line=first)
    table = read_export(file, name, max_rows)
    notes: list[tuple[str, dict[str, object]]] = list(table.notes)

    header = list(current.header) if current.header else []
    header += [c for c in COLUMNS if c not in header]
    rows, origin, missing, duplicates = _merge(current, header, table, when, abolish_missing)

    raw = _csv_bytes(header, ([row.get(c, "") for c in header] for row in rows))
    new = parse_catalog(raw, current.path, current.center, current.directory)
    diff = diff_views(current.as_of(when), new.as_of(when))

    source_rows: dict[int, int] = {}
    if len(new.rows) == len(origin):
        source_rows = {r.line: o for r, o in zip(new.rows, origin, strict=True) if o is not None}
    if duplicates:
        params = {"count": len(duplicates), "rows": _short_list(str(n) for n in duplicates)}
        notes.append(("importer.duplicates", params))
    if missing:
        params: dict[str, object] = {"count": len(missing), "codes": _short_list(missing)}
        if abolish_missing:
            notes.append(("importer.missing_abolished", {**params, "date": f"{when:%d/%m/%Y}"}))
        else:
            notes.append(("importer.missing_kept", params))
    noted: set[int] = set()
    for issue in new.errors:
        row = source_rows.get(issue.line)
        if row is None or issue.line in noted:
            continue
        noted.add(issue.line)
        params = {"line": issue.line, "row": row, "file": name}
        if table.sheet is None:
            notes.append(("importer.source_row_csv", params))
        else:
            notes.append(("importer.source_row_sheet", {**params, "sheet": table.sheet}))

    def cells(catalog: Catalog) -> list[tuple[str, ...]]:
        return [tuple(r.get(c) for c in catalog.header) for r in catalog.rows]

    changed_rows = new.header != current.header or cells(new) != cells(current)
    return PreparedImport(
        source=file,
        current=current,
        catalog=new,
        diff=diff,
        notes=notes,
        changed_rows=changed_rows,
        when=when,
        table=table,
        source_rows=source_rows,
        missing=tuple(missing),
        current_digest=_digest(current.path),
        source_name=name,
    )


# ---------------------------------------------------------------------------------------------
# Applying


def history_dir(catalog: Catalog) -> Path:
    """Where previous versions of the catalog and the import log are kept."""
    return (catalog.directory or catalog.path.parent) / HISTORY_DIR


def _save_backup(path: Path, history: Path, data: bytes) -> Path:
    """Copy `data` to a new, never existing file in `history` and return its path."""
    history.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        backup = history / f"{path.stem}-{stamp}{suffix}{path.suffix}"
        try:
            with backup.open("xb") as handle:  # "x": fails rather than overwrite
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except FileExistsError:
            continue
        except BaseException:
            backup.unlink(missing_ok=True)
            raise
        return backup
    raise FileExistsError(str(history / f"{path.stem}-{stamp}{path.suffix}"))


def apply_import(prepared: PreparedImport) -> Path:
    """Replace the catalog with the prepared one; return where the previous file was saved.

    Refuses an import whose result has errors or whose catalog file changed since it was
    prepared. The previous file goes to `history/` first; the new one is then written to a
    temporary file and renamed over `procedures.csv`, so a failure at any step leaves the
    current catalog as it was.
    """
    new = prepared.catalog
    if new.errors:
        raise ImportFailed("importer.apply_invalid", errors=len(new.errors))
    path = prepared.current.path
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    digest = hashlib.sha256(current).hexdigest() if current is not None else ""
    if digest != prepared.current_digest:
        raise ImportFailed("importer.changed_since", path=str(path))

    history = history_dir(prepared.current)
    try:
        backup = _save_backup(path, history, current or b"")
    except OSError as exc:
        reason = os_reason(exc)
        raise ImportFailed("importer.backup_failed", path=str(history), reason=reason) from exc
    try:
        new.write(path)
    except OSError as exc:
        reason = os_reason(exc)
        raise ImportFailed(
            "importer.write_failed", path=str(path), reason=reason, backup=str(backup)
        ) from exc

    counts = " ".join(f"{k}={v}" for k, v in prepared.diff.counts().items())
    stamp = datetime.now().isoformat(timespec="seconds")
    source = " ".join((prepared.source_name or prepared.source.name).split())  # one line
    line = f"{stamp}\t{source}\t{backup.name}\t{counts}\n"
    log = history / IMPORT_LOG
    try:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as exc:
        reason = os_reason(exc)
        raise ImportFailed(
            "importer.log_failed", path=str(log), reason=reason, backup=str(backup)
        ) from exc
    return backup
