"""Reading and writing the catalog's CSV text safely: encodings, delimiters, atomic writes.

Files come from Excel on Vietnamese Windows: UTF-8 with or without a BOM, Windows-1258 (where
tone marks are separate combining characters), UTF-16 "Unicode Text", and `;` as the list
separator because the Vietnamese locale writes decimals with a comma. This module reads all of
them into NFC text, and says what it did so the user can save a cleaner file next time.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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


def read_rows(text: str) -> tuple[str, list[str], list[RawRow]]:
    """Split CSV text into (delimiter, header, rows), with each row's starting line number."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    rows: list[RawRow] = []
    previous_end = 0
    for cells in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not header:
            header = [c.strip() for c in cells]
            continue
        if not any(c.strip() for c in cells):
            continue  # blank lines (Excel leaves them at the end) are not records
        rows.append(RawRow(start, tuple(cells)))
    return delimiter, header, rows


def column_letter(index: int) -> str:
    """Excel's name for a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


#: The process's umask, read once (reading it means setting it), for the mode of new files.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _mode_for(path: Path) -> int:
    """The permission bits a rewritten file should have: the old file's, else the default."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


@contextmanager
def atomic_writer(path: Path, mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """Write to a temporary file beside `path`, then rename it over `path`.

    A crash before the rename leaves the old file untouched; readers never see half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with suppress(OSError):  # mkstemp makes it private (0600): give the usual rights
            os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a UTF-8 CSV (with a BOM, so Excel opens Vietnamese text correctly), atomically."""
    with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
