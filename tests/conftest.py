"""Shared test helpers: small catalog folders written to disk, and Excel-like encodings.

Plain helper functions come first (tests import them with `from conftest import ...`), then
fixtures built on them. Add new helpers and fixtures anywhere below: nothing here depends on the
order of definitions.
"""

from __future__ import annotations

import csv
import io
import itertools
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from qrcheck.catalog.model import COLUMNS, Catalog

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
BUNDLED_CATALOG = REPO_ROOT / "catalog"
BUNDLED_CENTER = BUNDLED_CATALOG / "center.toml"

#: A real formalityId (đăng ký khai sinh) and a second one, for rows that need a valid UUID.
FORMALITY_ID = "019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7"
OTHER_FORMALITY_ID = "019d2bfd-3fac-7489-b53b-9c6c958f2da4"

Rows = Iterable[Mapping[str, str] | Sequence[str]]


def procedure_row(
    code: str = "1.001193", name: str = "Thủ tục đăng ký khai sinh", **values: str
) -> dict[str, str]:
    """A valid, active catalog row with every contract column; `values` override any of them."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        code=code,
        name=name,
        field="Hộ tịch",
        level="Cấp xã",
        formality_id=FORMALITY_ID,
        status="active",
    )
    row.update(values)
    return row


def csv_text(
    rows: Rows = (),
    header: Sequence[str] = COLUMNS,
    delimiter: str = ",",
    newline: str = "\n",
) -> str:
    """CSV text with `header` and `rows` (mappings by column name, or lists of cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        if isinstance(row, Mapping):
            writer.writerow([row.get(name, "") for name in header])
        else:
            writer.writerow(row)
    return buffer.getvalue()


def write_catalog(
    folder: Path,
    rows: Rows = (),
    *,
    header: Sequence[str] = COLUMNS,
    text: str | None = None,
    data: bytes | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    center: str | None = None,
) -> Path:
    """A catalog folder: the repo's center.toml (or `center` text) and a procedures.csv.

    The CSV is `data` as is, else `text` encoded with `encoding`, else `rows` under `header`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if center is None:
        shutil.copyfile(BUNDLED_CENTER, folder / "center.toml")
    else:
        (folder / "center.toml").write_text(center, encoding="utf-8")
    if data is None:
        if text is None:
            text = csv_text(rows, header, delimiter)
        data = text.encode(encoding)
    (folder / "procedures.csv").write_bytes(data)
    return folder


#: Marks that make a Vietnamese base letter (ă â ê ô ơ ư): precomposed in Windows-1258.
_BASE_MARKS = {"\u0302", "\u0306", "\u031b"}


def excel_cp1258(text: str) -> bytes:
    """`text` encoded the way Excel saves Vietnamese in Windows-1258.

    The code page holds the base letters ă â ê ô ơ ư đ precomposed but tone marks (grave, acute,
    hook above, tilde, dot below) only as combining characters following the letter.
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        base = decomposed[0] + "".join(m for m in decomposed[1:] if m in _BASE_MARKS)
        tones = "".join(m for m in decomposed[1:] if m not in _BASE_MARKS)
        out.append(unicodedata.normalize("NFC", base) + tones)
    return "".join(out).encode("cp1258")


def issue_tuples(catalog: Catalog) -> list[tuple[int, str, str, str]]:
    """Every issue of `catalog` as (line, column name, message key, severity)."""
    return [(i.line, i.column, i.key, i.severity) for i in catalog.issues]


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def make_catalog(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `make_catalog(rows, **write_catalog options)` → a new catalog folder."""
    counter = itertools.count(1)

    def make(rows: Rows = (), **options: object) -> Path:
        return write_catalog(tmp_path / f"catalog-{next(counter)}", rows, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def bundled_catalog() -> Path:
    """The repository's own catalog folder."""
    return BUNDLED_CATALOG


@pytest.fixture(autouse=True)
def history_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test records into its own history database, never `data/` in the repository."""
    path = tmp_path / "history" / "qrcheck.sqlite"
    monkeypatch.setenv("QRCHECK_DB", str(path))
    return path


def board_image(payloads: Sequence[str], module_px: int = 6, columns: int = 4) -> np.ndarray:
    """Sharp codes (printing.symbol.make_symbol bitmaps) on a light grey board, one per cell."""
    from qrcheck.printing.symbol import make_symbol

    tiles = [make_symbol(p).bitmap(module_px) for p in payloads]
    cell = max(t.shape[0] for t in tiles) + 40
    rows = -(-len(tiles) // columns)
    canvas = np.full((rows * cell + 40, columns * cell + 40), 225, dtype=np.uint8)
    for index, tile in enumerate(tiles):
        y, x = 20 + (index // columns) * cell, 20 + (index % columns) * cell
        canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return canvas


def save_photo(image: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def run_cli(args: list[str]) -> int:
    """Run the `qrcheck` command line in-process; its exit status."""
    import pytest

    from qrcheck.cli.app import main

    with pytest.raises(SystemExit) as caught:
        main(args)
    return int(caught.value.code or 0)
