"""Reading the province's export (an .xlsx or .csv from the national portal): the header found by
its labels, each row's cells read as text, codes and dates, every problem located by sheet row
and column."""

from __future__ import annotations

import io
import re
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import from_excel

from qrcheck.catalog.csv_text import (
    CsvDamaged,
    column_letter,
    decode_bytes,
    is_formula,
    iter_records,
)
from qrcheck.errors import ImportFailed, os_reason
from qrcheck.payload import clean_text

#: The header row is looked for in this many rows at the top of each sheet.
HEADER_SCAN_ROWS = 20


#: The most procedure rows an export may have. A commune's export lists some hundreds of
#: procedures and the whole national database about 6,000; the 40 MB upload limit alone would
#: let through 1.6 million rows (minutes of work and gigabytes of memory). Rows are read one by
#: one and reading stops at the first row over the limit, with nothing changed.
MAX_EXPORT_ROWS = 20_000


#: This many empty rows in a row end the table (sheets formatted down to row 1,048,576).
END_BLANK_ROWS = 1_000


#: Fields the file may set on a row that the catalog already has.
PORTAL_FIELDS = (
    "name",
    "field",
    "level",
    "formality_id",
    "url",
    "decision",
    "status",
    "effective_from",
)


ACTIVE_WORDS = frozenset(
    {"", "đã công khai", "công khai", "đang áp dụng", "còn hiệu lực", "active"}
)


ABOLISHED_WORDS = frozenset({"bãi bỏ", "đã bãi bỏ", "hết hiệu lực", "abolished"})


_PORTAL_LINK = re.compile(
    r"^https?://(?:www\.)?dichvucong\.gov\.vn/thu-tuc-hanh-chinh/([0-9a-fA-F-]{36})/?$"
)


_LOCAL_CODE = re.compile(r"^(\d\.\d{6})\.\d{3}\.\d{2}\.\d{2}\.H\d{2}$")


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


_COLUMN_NUMBER = re.compile(r"^\(?\d{1,2}\)?$")


_ZIP = b"PK\x03\x04"


def normalise_label(value: object) -> str:
    """A header cell as compared with the aliases: NFC, case-folded, spaces folded."""
    text = clean_text(str(value)) if value is not None else ""
    return clean_text(re.sub(r"\s*/\s*", "/", text).casefold())


def label_field(value: object) -> str | None:
    """The field a header cell names (a key of ALIASES), or None for a column to ignore."""
    return _LABELS.get(normalise_label(value)) if isinstance(value, str) else None


@dataclass(frozen=True)
class ExportRow:
    """One procedure row of the export: its row number in the sheet (or CSV line) and the
    catalog values it sets. A key is present only when the file sets it (see the merge rules)."""

    row: int
    values: Mapping[str, str]

    @property
    def code(self) -> str:
        return self.values.get("code", "")


@dataclass(frozen=True)
class ExportTable:
    """What was read from an export: where its header is and the procedure rows below it."""

    file: Path
    #: the sheet read (None for a CSV file)
    sheet: str | None
    header_row: int
    #: catalog field → the header label it was read from
    columns: Mapping[str, str]
    rows: tuple[ExportRow, ...]
    notes: tuple[tuple[str, dict[str, object]], ...] = ()
    #: the file's name as the user knows it (the uploaded name, not the server's copy)
    name: str = ""
    #: codes of rows left out because a cell looked like a spreadsheet formula
    refused_codes: tuple[str, ...] = ()


def read_export(
    file: Path, name: str | None = None, max_rows: int = MAX_EXPORT_ROWS
) -> ExportTable:
    """Read a national-portal export (.xlsx or .csv); raise ImportFailed saying how to fix it.

    `name` is the file's name as the user knows it, for messages (the web page passes the
    uploaded file's name: `file` is the server's copy). At most `max_rows` procedure rows are
    read (rows are read one at a time): a file with more is refused.
    """
    name = name or file.name
    suffix = file.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls", ".csv"):
        raise ImportFailed("importer.unsupported", file=name)
    try:
        raw = file.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFailed("importer.not_found", path=name) from exc
    except OSError as exc:
        reason = os_reason(exc)
        raise ImportFailed("importer.unreadable", path=name, reason=reason) from exc
    if not raw.strip():
        raise ImportFailed("importer.empty_file", file=name)
    if raw.startswith(_OLE2):  # Excel 97-2003, or a password-protected workbook
        raise ImportFailed("importer.xls_legacy", file=name)
    if raw.startswith(_ZIP):
        return _read_xlsx(file, name, raw, max_rows)
    if suffix == ".csv":
        return _read_csv(file, name, raw, max_rows)
    if suffix == ".xls":
        raise ImportFailed("importer.xls_legacy", file=name)
    raise ImportFailed("importer.xlsx_corrupt", file=name)


Record = tuple[int, Sequence[object]]


def _read_xlsx(file: Path, name: str, raw: bytes, max_rows: int) -> ExportTable:
    sheets: list[str] = []
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it drops; none of it matters here
            warnings.simplefilter("ignore")
            # read_only: the sheet is parsed as it is read, row by row, never held whole.
            # Not data_only: a formula cell gives its formula, which the import refuses; its
            # cached result may be stale, or missing in files other tools wrote.
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
            try:
                for sheet in book.worksheets:
                    if not hasattr(sheet, "iter_rows"):
                        continue
                    # exports from other tools often declare a wrong sheet size: read it all
                    if hasattr(sheet, "reset_dimensions"):
                        sheet.reset_dimensions()
                    sheets.append(sheet.title)
                    rows = sheet.iter_rows(values_only=True)
                    numbered = enumerate(rows, 1)
                    head = list(islice(numbered, HEADER_SCAN_ROWS))
                    found = _find_header(head)
                    if found is None:
                        rows.close()
                        continue
                    records = chain(head, numbered)
                    try:
                        return _table(file, name, sheet.title, records, found, (), max_rows)
                    finally:
                        rows.close()
            finally:
                book.close()
    except ImportFailed:
        raise
    except Exception as exc:  # openpyxl raises anything on a damaged file
        raise ImportFailed("importer.xlsx_corrupt", file=name) from exc
    raise ImportFailed(
        "importer.no_header", file=name, rows=HEADER_SCAN_ROWS, sheets=", ".join(sheets)
    )


#: CsvDamaged.key → the message saying it of an export
_CSV_DAMAGE = {
    "quote_unclosed": "importer.quote_unclosed",
    "nul_byte": "importer.nul_byte",
    "csv_damaged": "importer.csv_damaged",
}


def _read_csv(file: Path, name: str, raw: bytes, max_rows: int) -> ExportTable:
    source = decode_bytes(raw)
    if source.fatal:
        raise ImportFailed("importer.csv_encoding", file=name)
    notes = tuple((key, dict(params)) for key, params, _ in source.notes)
    numbered = ((r.line, r.cells) for r in iter_records(source.text))
    try:
        head = list(islice(numbered, HEADER_SCAN_ROWS))
        found = _find_header(head)
        if found is None:
            raise ImportFailed("importer.no_header_csv", file=name, rows=HEADER_SCAN_ROWS)
        return _table(file, name, None, chain(head, numbered), found, notes, max_rows)
    except CsvDamaged as exc:
        raise ImportFailed(_CSV_DAMAGE[exc.key], file=name, line=exc.line) from exc


def _find_header(records: Iterable[Record]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    """(row number, field → cell index, field → label) of the first row naming code and name."""
    for number, cells in records:
        columns: dict[str, int] = {}
        labels: dict[str, str] = {}
        for index, cell in enumerate(cells):
            name = label_field(cell)
            if name and name not in columns:
                columns[name] = index
                labels[name] = clean_text(str(cell))
        if "code" in columns and "name" in columns:
            return number, columns, labels
    return None


def _table(
    file: Path,
    file_name: str,
    sheet: str | None,
    records: Iterable[Record],
    found: tuple[int, dict[str, int], dict[str, str]],
    notes: tuple[tuple[str, dict[str, object]], ...],
    max_rows: int = MAX_EXPORT_ROWS,
) -> ExportTable:
    """The procedure rows of `records` below the header, read one at a time (see
    MAX_EXPORT_ROWS and END_BLANK_ROWS)."""
    header_row, columns, labels = found
    rows: list[ExportRow] = []
    skipped: list[int] = []
    numbers: list[int] = []
    refused: list[tuple[int, str, dict[str, object]]] = []
    notes_out = list(notes)
    filled_rows = blank_run = 0
    for number, cells in records:
        if number <= header_row:
            continue

        def cell(name: str, cells: Sequence[object] = cells) -> object:
            index = columns.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        texts = [_text(c) for c in cells]
        if not any(texts):
            blank_run += 1
            if blank_run >= END_BLANK_ROWS:
                break  # the table has ended: the rest is formatting
            continue
        blank_run = 0
        filled_rows += 1
        if filled_rows > max_rows:
            raise ImportFailed("importer.too_many_rows", file=file_name, limit=max_rows, row=number)
        formula = _formula_cell(cells, columns, labels)
        if formula is not None:
            refused.append((number, _code(cell("code")), formula))
            continue
        code_cell = cell("code")
        code = _code(code_cell)
        if label_field(code_cell) == "code":
            continue  # the header repeated (printed exports repeat it on every page)
        filled = [t for t in texts if t]
        if len(filled) >= 3 and all(_COLUMN_NUMBER.match(t) for t in filled):
            continue  # the "(1) (2) (3) ..." row some exports put under the header
        name = _text(cell("name"))
        if not code and not name:
            skipped.append(number)
            continue
        if isinstance(code_cell, (int, float)) and not isinstance(code_cell, bool):
            numbers.append(number)
        rows.append(ExportRow(number, _row_values(code, name, cell, columns)))
    for number, _, where in refused[:_LIST_LIMIT]:
        params = {"file": file_name, "row": number, **where}
        if sheet is None:
            notes_out.append(("importer.formula_row_csv", params))
        else:
            notes_out.append(("importer.formula_row_sheet", {**params, "sheet": sheet}))
    if len(refused) > _LIST_LIMIT:
        more = [str(number) for number, _, _ in refused[_LIST_LIMIT:]]
        params = {"count": len(more), "rows": _short_list(more)}
        notes_out.append(("importer.formula_rows_more", params))
    if not rows and not refused:
        raise ImportFailed("importer.no_rows", file=file_name, row=header_row)

    if sheet is None:
        notes_out.append(
            ("importer.read_csv", {"file": file_name, "row": header_row, "count": len(rows)})
        )
    else:
        params = {"file": file_name, "sheet": sheet, "row": header_row, "count": len(rows)}
        notes_out.append(("importer.read_sheet", params))
    absent = [
        label
        for label, names in (
            ("Link truy cập", ("link", "formality_id")),
            ("Số/Ngày quyết định", ("decision", "decision_no", "decision_date")),
            ("Lĩnh vực", ("field",)),
            ("Cấp thực hiện", ("level",)),
            ("Trạng thái", ("status",)),
        )
        if not any(n in columns for n in names)
    ]
    if absent:
        notes_out.append(("importer.columns_absent", {"columns": ", ".join(absent)}))
    if numbers:
        params = {"count": len(numbers), "rows": _short_list(str(n) for n in numbers)}
        notes_out.append(("importer.code_numbers", params))
    if skipped:
        params = {"count": len(skipped), "rows": _short_list(str(n) for n in skipped)}
        notes_out.append(("importer.skipped_rows", params))
    return ExportTable(
        file,
        sheet,
        header_row,
        labels,
        tuple(rows),
        tuple(notes_out),
        file_name,
        tuple(code for _, code, _ in refused if code),
    )


def _formula_cell(
    cells: Sequence[object], columns: Mapping[str, int], labels: Mapping[str, str]
) -> dict[str, object] | None:
    """Where a cell the import reads looks like a spreadsheet formula (`=HYPERLINK(...)`,
    `@SUM(...)`, `-2+3+cmd|...`), as message parameters; None when no cell does.

    Such a row is left out of the import: no procedure's name, code or link begins with `=`, so
    the cell was tampered with or computed in Excel, and the catalog must never hold it (it
    would run as a formula when the catalog is opened in Excel, and print on the postings).
    """
    for field_name, index in sorted(columns.items(), key=lambda item: item[1]):
        if index >= len(cells) or not isinstance(cells[index], str):
            continue
        text = _text(cells[index])
        if is_formula(text.lstrip("'")):
            return {
                "column": column_letter(index),
                "label": labels.get(field_name, field_name),
                "value": text[:40],
            }
    return None


def _row_values(
    code: str, name: str, cell: Callable[[str], object], columns: Mapping[str, int]
) -> dict[str, str]:
    """The catalog values one export row sets (keys only for what the file says)."""
    values = {"code": code}
    if name:
        values["name"] = name
    for key in ("field", "level", "replaced_by"):
        text = _text(cell(key))
        if text:
            values[key] = text if key != "replaced_by" else _code(text)
    if "formality_id" in columns:
        formality = "".join(_text(cell("formality_id")).split()).lower()
        if formality:
            values["formality_id"] = formality
    link = "".join(_text(cell("link")).split())
    if link:
        portal = _PORTAL_LINK.match(link)
        bare = _uuid(link)
        if portal and _uuid(portal.group(1)):
            values["formality_id"] = portal.group(1).lower()
            values["url"] = ""
        elif bare:
            values["formality_id"] = bare
            values["url"] = ""
        else:
            values["url"] = link
    decision = _text(cell("decision"))
    if not decision:
        number = _text(cell("decision_no"))
        day = _dmy_date(cell("decision_date"))
        decision = f"{number} ngày {day}" if number and day else number or day
    if decision:
        values["decision"] = decision
    if "status" in columns:
        values["status"] = _status(_text(cell("status")))
    effective = _iso_date(cell("effective_from"))
    if effective:
        values["effective_from"] = effective
    return values


def _text(value: object) -> str:
    """A cell as catalog text: NFC, white space folded, numbers without a spurious `.0`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return clean_text(str(value))


def _code(value: object) -> str:
    """A procedure code as written. A number stays the text Excel made of it (1.00119), so
    validation can say that Excel dropped its trailing zero; the local form
    `1.001193.000.00.00.H36` is shortened to the national code."""
    text = "".join(_text(value).split())
    local = _LOCAL_CODE.match(text)
    return local.group(1) if local else text


def _uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text)) if len(text) == 36 else ""
    except ValueError:
        return ""


def _as_date(value: object) -> date | None:
    """A date cell, a day/month/year text, an ISO text or an Excel serial number, as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # a date Excel kept as its serial number (1954-2119)
            return from_excel(value).date()
        return None
    text = _text(value)
    try:
        if match := _DMY.match(text):
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        if match := _ISO.match(text):
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def _iso_date(value: object) -> str:
    """A date for `effective_from` (YYYY-MM-DD); text that is no date is kept for validation."""
    day = _as_date(value)
    return day.isoformat() if day else _text(value)


def _dmy_date(value: object) -> str:
    """A date as Vietnamese administrative texts write it (Nghị định 30/2020/NĐ-CP): a zero
    before days under 10 and before months 1 and 2 only, so 01/02/2026 but 08/9/2026."""
    day = _as_date(value)
    if day is None:
        return _text(value)
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}/{month}/{day.year}"


def _status(text: str) -> str:
    word = normalise_label(text)
    if word in ACTIVE_WORDS:
        return "active"
    if word in ABOLISHED_WORDS:
        return "abolished"
    if word == "scheduled":
        return "scheduled"
    return text  # validation says which values are allowed


#: How many codes or row numbers a note lists before it shortens the list.
_LIST_LIMIT = 10


#: Header labels recognised for each field (compared case-insensitively, spaces folded).
ALIASES: Mapping[str, tuple[str, ...]] = {
    "code": (
        "Mã TTHC",
        "Mã",
        "Mã thủ tục",
        "Mã thủ tục hành chính",
        "Mã số TTHC",
        "MA_THU_TUC",
        "MaTTHC",
        "code",
    ),
    "name": (
        "Tên TTHC",
        "Tên",
        "Tên thủ tục",
        "Tên thủ tục hành chính",
        "TEN_THU_TUC",
        "TenTTHC",
        "name",
    ),
    "link": ("Link truy cập", "Cổng DVC quốc gia", "Citizen URL", "Liên kết", "Đường dẫn", "url"),
    "formality_id": ("formality_id", "formalityId"),
    "decision": ("Số/Ngày quyết định", "Quyết định công bố", "decision"),
    "decision_no": ("Số QĐ", "Số quyết định"),
    "decision_date": ("Ngày QĐ", "Ngày quyết định", "Ngày ban hành"),
    "field": ("Lĩnh vực", "field"),
    "level": ("Cấp thực hiện", "level"),
    "status": ("Trạng thái", "TRANG_THAI_TT", "Tình trạng", "status"),
    "effective_from": ("Ngày hiệu lực", "Ngày có hiệu lực", "effective_from"),
    "replaced_by": ("replaced_by",),
}


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


_LABELS: dict[str, str] = {
    normalise_label(alias): name for name, aliases in ALIASES.items() for alias in aliases
}


def _short_list(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (", …" if len(items) > _LIST_LIMIT else "")
