"""Reading and writing the catalog's CSV text safely: encodings, delimiters, atomic writes.

Files come from Excel on Vietnamese Windows: UTF-8 with or without a BOM, Windows-1258 (where
tone marks are separate combining characters), UTF-16 "Unicode Text", and `;` as the list
separator because the Vietnamese locale writes decimals with a comma. This module reads all of
them into NFC text, and says what it did so the user can save a cleaner file next time.

Damage is said, never raised as a csv error: a quote left open, a NUL character (CsvDamaged,
with the line where it starts).

Every CSV qrcheck writes goes through `csv_text`, which neutralises formula-like cells as OWASP
advises against CSV injection: a cell beginning with = + - @ tab or carriage return (or their
full-width forms) gets a `'` in front, so Excel shows `=HYPERLINK(...)` as text instead of
running it. Plain numbers (`-2`, `+3.5`) are data and are written as they are; procedure codes
(`1.001193`) and dates (`2026-11-27`) begin with a digit and are never touched. The catalog
reader takes the `'` off again (`unneutralise`), so a catalog survives any number of writes.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qrcheck.files import _UMASK, atomic_writer

#: Vietnamese letters that only exist with diacritics; used to recognise Vietnamese text.
_VIETNAMESE = re.compile(
    r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]"
)
#: UTF-8 read as Windows-1252 leaves these behind ("Thá»§ tá»¥c").
_MOJIBAKE = re.compile(r"(Ã.|Ä.|Æ.|á»|áº)")


@dataclass(frozen=True)
class TextSource:
    """Decoded text of a file, with what was noticed while decoding it."""

    text: str
    encoding: str
    #: (message key, params, line) for each thing the user should know about the encoding.
    notes: tuple[tuple[str, dict[str, object], int], ...] = ()
    fatal: bool = False


def decode_bytes(raw: bytes) -> TextSource:
    """Decode a CSV file's bytes, trying what Excel on Vietnamese Windows produces."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = unicodedata.normalize("NFC", raw.decode("utf-16"))
        except UnicodeDecodeError as exc:  # cut short or corrupted: say where, do not crash
            text = raw.decode("utf-16", errors="replace")
            line = raw[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            return TextSource(text, "unknown", (("encoding.unknown", {}, line),), fatal=True)
        return TextSource(text, "utf-16", (("encoding.utf16", {}, 1),))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        text = unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace"))
        if "\ufffd" not in text and _VIETNAMESE.search(text):
            return TextSource(text, "cp1258", (("encoding.cp1258", {}, line),))
        return TextSource(text, "unknown", (("encoding.unknown", {}, line),), fatal=True)
    nfc = unicodedata.normalize("NFC", text)
    notes: tuple[tuple[str, dict[str, object], int], ...] = ()
    if nfc != text:
        notes = (("encoding.nfd", {}, 1),)
    return TextSource(nfc, "utf-8", notes)


def unmangle(value: str) -> str | None:
    """If `value` is UTF-8 text that was read as Windows-1252 and saved again, the original."""
    if not _MOJIBAKE.search(value):
        return None
    try:
        fixed = value.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if fixed != value and _VIETNAMESE.search(fixed) else None


def sniff_delimiter(text: str) -> str:
    """`,`, `;` or tab, whichever the header line uses most."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(frozen=True)
class RawRow:
    """One CSV record: the line it starts on and its cells, in header order."""

    line: int
    cells: tuple[str, ...]


class CsvDamaged(ValueError):
    """The CSV text cannot be split into records from `line` on.

    `key` names the message (in the `catalog` and `importer` sections of the message catalog):
    `quote_unclosed` (a quoted cell never ends, so the rest of the file would be one cell),
    `nul_byte` (a NUL character: a damaged or binary file) or `csv_damaged` (anything else).
    """

    def __init__(self, key: str, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def iter_records(text: str, delimiter: str | None = None) -> Iterator[RawRow]:
    """Every CSV record of `text` (the header first), read lazily, blank records included.

    Raises CsvDamaged, with the line where the trouble starts, for a NUL character, a quote
    that is never closed (at the end of the file, or swallowing whole rows below it) and any
    other record the csv module refuses (e.g. a cell longer than its field limit).
    """
    nul = text.find("\0")
    if nul >= 0:
        raise CsvDamaged("nul_byte", _line_of(text, nul))
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    width = 0
    last: RawRow | None = None
    while True:
        start = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            key = "quote_unclosed" if "field limit" in str(exc) else "csv_damaged"
            raise CsvDamaged(key, start) from exc
        previous_end = reader.line_num
        width = width or len(cells)
        last = RawRow(start, tuple(cells))
        _check_swallowed(last, delimiter, width)
        yield last
    if last is not None and _ends_inside_quotes(text, delimiter):
        before = sum(c.count("\n") for c in last.cells[:-1])
        raise CsvDamaged("quote_unclosed", last.line + before)


def _check_swallowed(record: RawRow, delimiter: str, width: int) -> None:
    """A cell holding whole lines of cells is rows swallowed by a quote opened and not closed
    in time (the next quote of the file closed it): say where that cell starts."""
    enough = max(3, width // 2)
    before = 0
    for cell in record.cells:
        if "\n" in cell:
            inner = cell.split("\n")[1:]
            if any(line.count(delimiter) >= enough for line in inner):
                raise CsvDamaged("quote_unclosed", record.line + before)
            before += cell.count("\n")


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    """True when the text ends inside a quoted cell (the lenient reader says nothing then)."""
    if text.count('"') % 2 == 0:
        # a closed quoted cell holds an even number of quotes, so an open one makes the count
        # odd (unless stray quotes even it out; rows swallowed show in `_check_swallowed`)
        return False
    strict = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        try:
            next(strict)
        except StopIteration:
            return False
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return True
            # a stray quote (tolerated by the lenient reader): go on with the next line


def read_rows(text: str) -> tuple[str, list[str], list[RawRow]]:
    """Split CSV text into (delimiter, header, rows), with each row's starting line number.

    Raises CsvDamaged when the text cannot be split into records (see `iter_records`).
    """
    delimiter = sniff_delimiter(text)
    header: list[str] = []
    rows: list[RawRow] = []
    for record in iter_records(text, delimiter):
        if not header:
            header = [c.strip() for c in record.cells]
            continue
        if not any(c.strip() for c in record.cells):
            continue  # blank lines (Excel leaves them at the end) are not records
        rows.append(record)
    return delimiter, header, rows


#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
#: (OWASP, "CSV Injection"), with their full-width forms, which some versions also accept.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
#: A plain number (`-2`, `+3.5`, `1,5`, `-1e3`) is data, not a formula: it is written as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def is_formula(value: str) -> bool:
    """True when a spreadsheet would run `value` as a formula (and it is not a plain number)."""
    return bool(value) and value[0] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(value: str) -> str:
    """`value` made safe for a spreadsheet cell: a formula-like text gets a `'` in front
    (OWASP's advice; Excel then shows the text as it is). A value that already starts with
    `'` before formula-like text gets one more, so that `unneutralise` gives it back exactly."""
    return "'" + value if is_formula(value.lstrip("'")) else value


def unneutralise(value: str) -> str:
    """The value `neutralise` was given: the `'` it added removed (other values unchanged)."""
    return value[1:] if value.startswith("'") and is_formula(value.lstrip("'")) else value


def column_letter(index: int) -> str:
    """Excel's name for a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


os.umask(_UMASK)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], newline: str = "\n") -> str:
    """CSV text of `header` and `rows`, every cell neutralised (see `neutralise`): a text that
    Excel would run as a formula (`=HYPERLINK(...)`) is shown as text when the file is opened."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    for cells in itertools.chain((header,), rows):
        writer.writerow([neutralise("" if c is None else str(c)) for c in cells])
    return buffer.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a UTF-8 CSV (with a BOM, so Excel opens Vietnamese text correctly), atomically;
    cells are neutralised as `csv_text` says."""
    with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as handle:
        handle.write(csv_text(header, rows))
