"""Hostile and damaged inputs of the catalog, its import and the spreadsheets qrcheck writes.

The cases of issue 17's sweep, kept here so that a later change cannot quietly undo them:
damaged catalog files (an unclosed quote, NUL bytes, binary files, bad center.toml) are a
sentence with file and line in every command and on the web, and the web server keeps serving
the last valid catalog; replacement cycles are refused; formula-like cells never reach a CSV
as formulas; an export is read row by row and bounded; absurd dates are refused.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import (
    BUNDLED_CATALOG,
    FORMALITY_ID,
    board_image,
    csv_text,
    procedure_row,
    run_cli,
    save_photo,
    write_catalog,
)
from openpyxl import Workbook, load_workbook
from xlsx_fixture import AMENDED_CODE, AMENDED_NAME, HEADER, NEW_CODE, build_export

from qrcheck.catalog.csv_text import is_formula, neutralise, unneutralise, write_csv
from qrcheck.catalog.export import read_export
from qrcheck.catalog.importer import prepare_import
from qrcheck.catalog.load import load_catalog, parse_catalog
from qrcheck.catalog.model import COLUMNS, EARLIEST_DATE, LATEST_DATE, MAX_CELL_CHARS
from qrcheck.center import DEFAULT_CENTER
from qrcheck.errors import CatalogError, ImportFailed
from qrcheck.i18n import messages, t
from qrcheck.reports.export import HISTORY_COLUMNS, history_csv

WHEN = date(2026, 11, 27)
KHAI_SINH = "Thủ tục đăng ký khai sinh"


def sentence(key: str, /, **params: object) -> None:
    """`key` reads as a whole sentence in both languages, every placeholder filled."""
    for lang in ("vi", "en"):
        assert key in messages(lang), key
        text = t(key, lang, **params)
        assert "{" not in text and len(text.split()) >= 6, text


def rows_text(count: int, start: int = 1) -> list[dict[str, str]]:
    return [procedure_row(f"1.{start + i:06d}", f"Thủ tục số {start + i}") for i in range(count)]


def damaged_issues(folder: Path) -> list[tuple[int, str]]:
    catalog = load_catalog(folder)
    assert catalog.damaged and catalog.rows == ()
    return [(i.line, i.key) for i in catalog.errors]


# ---------------------------------------------------------------------------------------------
# damaged catalog files: one error with its line, the file marked damaged, never an exception


def unclosed_quote_big() -> bytes:
    """The sweep's file: a quote opened on line 4 and never closed, with enough rows after it
    that the csv module hits its field limit (`_csv.Error: field larger than field limit`)."""
    text = csv_text(rows_text(2))
    text += '1.000003,"Thủ tục bị cắt,Hộ tịch,Cấp xã,,,,,active,\n'
    text += csv_text(rows_text(2000, start=4)).split("\n", 1)[1]
    assert len(text) > 131072
    return text.encode()


def unclosed_quote_at_end() -> bytes:
    text = csv_text(rows_text(3)) + '1.000004,"Thủ tục cuối,Hộ tịch,Cấp xã,,,,,active,\n'
    return text.encode()


def quote_closed_rows_later() -> bytes:
    """A quote left open on line 3 that the next quoted cell (line 6) closes: the rows between
    would silently become one cell."""
    rows = rows_text(5)
    text = csv_text(rows[:1]) + '1.000002,"Thủ tục hai,Hộ tịch,Cấp xã,,,,,active,\n'
    text += csv_text(rows[2:4]).split("\n", 1)[1]
    text += csv_text([procedure_row("1.000005", "Tên, có dấu phẩy")]).split("\n", 1)[1]
    return text.encode()


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def xlsx_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "export.xlsx"
    build_export(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: unclosed_quote_big(), [(4, "catalog.quote_unclosed")]),
        (lambda tmp: unclosed_quote_at_end(), [(5, "catalog.quote_unclosed")]),
        (lambda tmp: quote_closed_rows_later(), [(3, "catalog.quote_unclosed")]),
        (
            lambda tmp: csv_text(rows_text(3)).replace("số 2", "số\x002").encode(),
            [(3, "catalog.nul_byte")],
        ),
        # the PNG signature holds two line feeds before its first NUL
        (lambda tmp: png_bytes(), [(3, "catalog.nul_byte")]),
        (lambda tmp: xlsx_bytes(tmp), [(1, "catalog.xlsx_as_csv")]),
        (
            # 0x81 is no character in UTF-8 nor in Windows-1258: the encoding is unknown
            lambda tmp: csv_text(rows_text(4)).encode().replace(b"s\xe1\xbb\x91 3", b"s\x81 3"),
            [(4, "encoding.unknown")],
        ),
    ],
    ids=["quote-field-limit", "quote-at-end", "quote-closed-later", "nul", "png", "xlsx", "utf8"],
)
def test_a_damaged_catalog_file_is_one_error_with_its_line(tmp_path: Path, make, expected):
    folder = write_catalog(tmp_path / "catalog", data=make(tmp_path))
    assert damaged_issues(folder) == expected
    for _, key in expected:
        sentence(key)


def test_any_other_csv_refusal_has_its_sentence() -> None:
    """The csv module's other errors: none is known to reach Python 3.11's lenient reader
    (NUL and field-limit errors are said above), but one would be said, not raised."""
    sentence("catalog.csv_damaged")
    sentence("importer.csv_damaged", file="TTHC.csv", line=7)


def test_the_line_of_an_unclosed_quote_counts_multiline_cells_above(tmp_path: Path) -> None:
    rows = [procedure_row("1.000001", "Tên\ntrên\nba dòng"), *rows_text(1, start=2)]
    text = csv_text(rows) + '1.000003,"Thủ tục cuối,Hộ tịch,Cấp xã,,,,,active,\n'
    folder = write_catalog(tmp_path / "catalog", data=text.encode())
    assert damaged_issues(folder) == [(6, "catalog.quote_unclosed")]


def test_a_stray_quote_inside_a_cell_is_still_read(tmp_path: Path) -> None:
    """Not every odd quote is damage: Excel users type 5" in unquoted cells."""
    text = csv_text(rows_text(2)) + '1.000003,Màn hình 5" rộng,Hộ tịch,Cấp xã,,,,,active,\n'
    catalog = load_catalog(write_catalog(tmp_path / "catalog", data=text.encode()))
    assert not catalog.damaged and catalog.errors == []
    assert catalog.rows[-1].get("name") == 'Màn hình 5" rộng'


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_an_empty_catalog_file(tmp_path: Path, data: bytes) -> None:
    catalog = load_catalog(write_catalog(tmp_path / "catalog", data=data))
    assert [(i.line, i.key) for i in catalog.errors] == [(1, "catalog.empty")]


def test_a_huge_cell_is_an_error(tmp_path: Path) -> None:
    rows = [procedure_row(), procedure_row("1.000656", "x" * (MAX_CELL_CHARS + 1))]
    catalog = load_catalog(write_catalog(tmp_path / "catalog", rows))
    assert [(i.line, i.column, i.key) for i in catalog.errors] == [
        (3, "name", "catalog.cell_too_long")
    ]
    sentence("catalog.cell_too_long", length=MAX_CELL_CHARS + 1, limit=MAX_CELL_CHARS)


@pytest.mark.parametrize(
    ("center", "key", "params"),
    [
        ("[center\nname = 'x'\n", "center.bad_toml_at", {"line": "1", "column": "8"}),
        ("a = ", "center.bad_toml", {}),
        ('center = "Phường"\n', "center.not_a_table", {"key": "center"}),
        ("[center]\nname = 'x'\n[links]\nmode = 'x\x00'\n", "center.bad_toml_at", {"line": "4"}),
    ],
)
def test_a_malformed_center_toml_is_a_sentence(tmp_path: Path, center, key, params) -> None:
    folder = write_catalog(tmp_path / "catalog", [procedure_row()], center=center)
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    assert caught.value.key == key
    assert caught.value.params["path"] == str(folder / "center.toml")
    for name, value in params.items():
        assert caught.value.params[name] == value
    sentence(key, **caught.value.params)


def test_an_unreadable_center_toml_is_a_sentence(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "catalog", [procedure_row()])
    (folder / "center.toml").unlink()
    (folder / "center.toml").mkdir()  # root reads any file: a folder is what cannot be read
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    assert caught.value.key == "center.unreadable"
    assert caught.value.params["reason"]
    sentence("center.unreadable", **caught.value.params)


def test_a_missing_center_toml_means_the_default_settings(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "catalog", [procedure_row()])
    (folder / "center.toml").unlink()
    catalog = load_catalog(folder)
    assert catalog.center == DEFAULT_CENTER and catalog.errors == []


def test_a_damaged_history_copy_is_passed_over(tmp_path: Path) -> None:
    from qrcheck.catalog.load import history_rows

    folder = write_catalog(tmp_path / "catalog", [procedure_row()])
    (folder / "history").mkdir()
    (folder / "history" / "procedures-20260101T000000.csv").write_bytes(unclosed_quote_big())
    catalog = load_catalog(folder)
    assert history_rows(catalog) == catalog.rows


# ---------------------------------------------------------------------------------------------
# every command that reads the catalog says it, with file and line; none prints a traceback


@pytest.fixture
def broken_catalog(tmp_path: Path) -> Path:
    folder = Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )
    (folder / "procedures.csv").write_bytes(unclosed_quote_big())
    return folder


def command_args(command: str, catalog: Path, tmp_path: Path) -> list[str]:
    photo = save_photo(board_image(["https://dichvucong.gov.vn/"]), tmp_path / "p" / "a.png")
    export = tmp_path / "TTHC.xlsx"
    build_export(export)
    at = ["--catalog", str(catalog)]
    return {
        "validate": ["catalog", "validate", *at],
        "diff": ["catalog", "diff", str(BUNDLED_CATALOG), str(catalog)],
        "import": ["catalog", "import", str(export), *at],
        "generate": ["generate", "--out", str(tmp_path / "out"), *at],
        "check": ["check", str(photo), "--offline", *at],
        "links": ["links", "--offline", *at],
        "reprint": ["reprint", *at],
        "report": ["report", "--format", "csv", *at],
        "serve": ["serve", "--port", "9", *at],
    }[command]


COMMANDS = ("validate", "diff", "import", "generate", "check", "links", "reprint", "report")


@pytest.mark.parametrize("command", [*COMMANDS, "serve"])
def test_every_command_says_where_the_catalog_csv_is_broken(
    command: str, broken_catalog: Path, tmp_path: Path, capsys
) -> None:
    before = (broken_catalog / "procedures.csv").read_bytes()
    status = run_cli(command_args(command, broken_catalog, tmp_path))
    said = capsys.readouterr()
    text = said.out + said.err
    assert status == (1 if command == "validate" else 2), text
    assert "procedures.csv:4" in text
    assert "Dấu ngoặc kép" in text  # the quote_unclosed sentence, in Vietnamese by default
    assert "Traceback" not in text and "_csv.Error" not in text
    assert (broken_catalog / "procedures.csv").read_bytes() == before
    if command == "import":
        assert "bị hỏng từ dòng 4" in text
        assert not (broken_catalog / "history").exists()  # nothing merged, nothing written


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_says_where_center_toml_is_broken(
    command: str, broken_catalog: Path, tmp_path: Path, capsys
) -> None:
    shutil.copyfile(BUNDLED_CATALOG / "procedures.csv", broken_catalog / "procedures.csv")
    (broken_catalog / "center.toml").write_text("[center\nname = 'x'\n", encoding="utf-8")
    status = run_cli([*command_args(command, broken_catalog, tmp_path), "--lang", "en"])
    said = capsys.readouterr()
    text = " ".join((said.out + said.err).split())
    assert status == 2, text
    assert "is not valid TOML at line 1, column 8. Correct that line" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("value", ["0001-01-01", "01/01/1900", "2101-01-01", "31/12/9999"])
def test_an_absurd_as_of_date_is_refused(value: str, capsys) -> None:
    args = ["catalog", "validate", "--catalog", str(BUNDLED_CATALOG), "--as-of", value]
    assert run_cli([*args, "--lang", "en"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f'"{value}" is outside the plausible range 02/09/1945 to 31/12/2100' in err


@pytest.mark.parametrize("value", ["1945-09-02", "31/12/2100"])
def test_the_ends_of_the_date_window_are_accepted(value: str, capsys) -> None:
    args = ["catalog", "validate", "--catalog", str(BUNDLED_CATALOG), "--as-of", value]
    assert run_cli(args) == 0


# ---------------------------------------------------------------------------------------------
# the web server keeps serving the last valid catalog; import errors name the uploaded file


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    from test_web import running_server

    root = tmp_path_factory.mktemp("hostile-web")
    catalog = Path(
        shutil.copytree(BUNDLED_CATALOG, root / "catalog", ignore=shutil.ignore_patterns("history"))
    )
    with running_server(root, catalog) as running:
        yield {**running, "catalog": catalog}


def import_form(http, name: str, data: bytes):  # type: ignore[no-untyped-def]
    from test_web import csrf_of

    token = csrf_of(http.get("/catalog/import").text)
    files = [("export", (name, data, "application/octet-stream"))]
    return http.post("/catalog/import", data={"csrf": token}, files=files)


def test_the_web_keeps_serving_the_last_valid_catalog(web: dict, tmp_path: Path) -> None:
    from test_web import SOUND, client, login, text_of

    csv_path, center = web["catalog"] / "procedures.csv", web["catalog"] / "center.toml"
    good_csv, good_center = csv_path.read_bytes(), center.read_bytes()
    export = tmp_path / "TTHC.xlsx"
    build_export(export)
    with client(web) as citizen, client(web) as staff, client(web) as admin:
        link = citizen.get(f"/p/{SOUND}")
        assert link.status_code == 302
        login(staff)
        login(admin, "admin")
        assert staff.get("/boards").status_code == 200
        try:
            for broken in (unclosed_quote_big(), b"code,name\n1.001193,\x00\x00\x00\n"):
                csv_path.write_bytes(broken)
                again = citizen.get(f"/p/{SOUND}")
                assert again.status_code == 302, again.text
                assert again.headers["location"] == link.headers["location"]
                assert citizen.get("/p/9.999999").status_code == 404
                assert staff.get("/boards").status_code == 200
                assert staff.get("/reprint").status_code == 200
                assert staff.get("/catalog").status_code == 200
                answer = import_form(admin, "TTHC.xlsx", export.read_bytes())
                assert answer.status_code == 400, answer.text
                said = text_of(answer.text)
                assert "procedures.csv" in said and "bị hỏng từ dòng" in said
                assert csv_path.read_bytes() == broken  # nothing merged into it
            # a damaged center.toml: the file changes, the settings cannot be read
            csv_path.write_bytes(good_csv + b"\n")
            center.write_text("[center\nname = 'x'\n", encoding="utf-8")
            assert citizen.get(f"/p/{SOUND}").headers["location"] == link.headers["location"]
            assert staff.get("/boards").status_code == 200
            answer = import_form(admin, "TTHC.xlsx", export.read_bytes())
            assert answer.status_code == 400
            assert "center.toml sai cú pháp TOML ở dòng 1, cột 8" in text_of(answer.text)
        finally:
            csv_path.write_bytes(good_csv)
            center.write_bytes(good_center)
        assert citizen.get(f"/p/{SOUND}").status_code == 302


def test_web_import_messages_name_the_uploaded_file(web: dict, tmp_path: Path) -> None:
    from test_web import client, login, text_of

    with client(web) as admin:
        login(admin, "admin")
        broken = csv_text([{"Mã TTHC": "1.001193", "Tên TTHC": KHAI_SINH}], ("Mã TTHC", "Tên TTHC"))
        broken += '1.000656,"Thủ tục đăng ký khai tử\n'
        answer = import_form(admin, "Danh mục xã.csv", broken.encode())
        assert answer.status_code == 400
        said = text_of(answer.text)
        assert "Danh mục xã.csv" in said and "dòng 3" in said
        stored = [p.name for p in (web["data"] / "imports").iterdir()]
        assert not any(name in said for name in stored)  # never the server's own copy

        export = tmp_path / "x.xlsx"
        build_export(export)
        book = load_workbook(export)
        sheet = book.active
        sheet.cell(row=6, column=3).value = '=HYPERLINK("https://evil.example","Bấm")'
        book.save(export)
        preview = import_form(admin, "TTHC xã.xlsx", export.read_bytes())
        assert preview.status_code == 200, preview.text
        said = text_of(preview.text)
        assert 'Dòng 6 (trang "TTHC2-CAPXA") của file TTHC xã.xlsx: ô C6' in " ".join(said.split())


def test_a_web_import_keeps_the_uploaded_name(tmp_path: Path) -> None:
    """The new rows' source_url and the import log say which export they came from."""
    from test_web import client, csrf_of, login, running_server

    catalog = Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )
    export = tmp_path / "x.xlsx"
    build_export(export)
    with running_server(tmp_path / "server", catalog) as running, client(running) as admin:
        login(admin, "admin")
        preview = import_form(admin, "TTHC xã 2026.xlsx", export.read_bytes())
        assert preview.status_code == 200
        pending = re.search(r'name="token" value="([^"]+)"', preview.text)
        assert pending
        token = csrf_of(preview.text)
        done = admin.post("/catalog/import/apply", data={"csrf": token, "token": pending[1]})
        assert done.status_code == 200, done.text
    new = {r.code: r for r in load_catalog(catalog).rows}[NEW_CODE]
    assert new.get("source_url") == "TTHC xã 2026.xlsx"
    log = (catalog / "history" / "imports.log").read_text(encoding="utf-8")
    assert "\tTTHC xã 2026.xlsx\t" in log


# ---------------------------------------------------------------------------------------------
# replacement cycles


def replacing(*pairs: tuple[str, str], scheduled: str = "") -> list[dict[str, str]]:
    rows = []
    for code, successor in pairs:
        rows.append(procedure_row(code, f"Thủ tục {code}", replaced_by=successor))
    if scheduled:
        rows.append(
            procedure_row(
                scheduled.split(">")[0],
                "Bản mới",
                status="scheduled",
                effective_from="2027-03-01",
                replaced_by=scheduled.split(">")[1],
            )
        )
    return rows


def cycle_issues(rows: list[dict[str, str]], tmp_path: Path) -> list[tuple[int, str, str]]:
    catalog = load_catalog(write_catalog(tmp_path / "catalog", rows))
    return [
        (i.line, i.column, str(i.params.get("cycle", "")))
        for i in catalog.errors
        if i.key in ("catalog.replaced_cycle", "catalog.replaced_by_self")
    ]


def test_two_procedures_replacing_each_other_are_refused(tmp_path: Path) -> None:
    rows = replacing(("1.000001", "1.000002"), ("1.000002", "1.000001"))
    assert cycle_issues(rows, tmp_path) == [(3, "replaced_by", "1.000002 → 1.000001 → 1.000002")]
    sentence("catalog.replaced_cycle", cycle="1.000002 → 1.000001 → 1.000002")


def test_a_longer_cycle_is_refused_on_the_row_that_closes_it(tmp_path: Path) -> None:
    rows = [
        procedure_row("1.000009", "Không liên quan"),
        *replacing(("1.000003", "1.000001"), ("1.000001", "1.000002"), ("1.000002", "1.000003")),
    ]
    assert cycle_issues(rows, tmp_path) == [
        (5, "replaced_by", "1.000002 → 1.000003 → 1.000001 → 1.000002")
    ]


def test_a_cycle_closed_by_a_scheduled_row(tmp_path: Path) -> None:
    rows = replacing(("1.000001", "1.000002"), ("1.000002", ""), scheduled="1.000002>1.000001")
    assert cycle_issues(rows, tmp_path) == [(4, "replaced_by", "1.000002 → 1.000001 → 1.000002")]


def test_two_separate_cycles_are_each_said(tmp_path: Path) -> None:
    rows = replacing(
        ("1.000001", "1.000002"),
        ("1.000002", "1.000001"),
        ("1.000003", "1.000004"),
        ("1.000004", "1.000003"),
    )
    assert [line for line, _, _ in cycle_issues(rows, tmp_path)] == [3, 5]


def test_self_replacement_is_refused(tmp_path: Path) -> None:
    assert cycle_issues(replacing(("1.000001", "1.000001")), tmp_path) == [(2, "replaced_by", "")]


def test_a_chain_is_no_cycle_and_a_long_one_is_checked_in_linear_time(tmp_path: Path) -> None:
    count = 4000
    codes = [f"1.{i:06d}" for i in range(1, count + 1)]
    # written bottom up, the worst order for a search started from each row
    pairs = [(codes[i], codes[i + 1]) for i in reversed(range(count - 1))] + [(codes[-1], "")]
    started = time.perf_counter()
    assert cycle_issues(replacing(*pairs), tmp_path) == []
    closed = replacing(*pairs[:-1], (codes[-1], codes[0]))
    found = cycle_issues(closed, tmp_path / "closed")
    assert time.perf_counter() - started < 5
    assert len(found) == 1 and found[0][0] == count + 1
    assert found[0][2].startswith(f"{codes[-1]} → {codes[0]} → {codes[1]} → ")


# ---------------------------------------------------------------------------------------------
# formula injection: every CSV qrcheck writes shows formula-like text as text


HOSTILE = [
    '=HYPERLINK("https://evil.example","Bấm vào đây")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+1+1",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_like_text_is_neutralised(value: str) -> None:
    assert is_formula(value)
    assert neutralise(value) == "'" + value
    assert unneutralise(neutralise(value)) == value


@pytest.mark.parametrize(
    "value",
    ["-2", "+3.5", "-1,5", "-1e3", "1.001193", "2026-11-27", "", "Thủ tục", "'text", "a=b"],
)
def test_data_is_written_as_it_is(value: str) -> None:
    assert not is_formula(value)
    assert neutralise(value) == value and unneutralise(value) == value


def test_apostrophes_round_trip_exactly() -> None:
    for value in ("'=1", "''=1", "'-x", "'"):
        assert unneutralise(neutralise(value)) == value


LOCATIONS = ["=cmd|x", "Quầy 1", "@A1", "+x", "-y", "\tz", "\rw"]


def test_the_history_csv_neutralises_every_cell() -> None:
    blank = dict.fromkeys(HISTORY_COLUMNS, "")
    states = [
        SimpleNamespace(**{**blank, "location": where, "text": text, "score": -1.5})
        for where, text in zip(LOCATIONS, HOSTILE, strict=True)
    ]
    rows = list(csv.reader(io.StringIO(history_csv(states), newline="")))
    assert rows[0] == list(HISTORY_COLUMNS)
    for row in rows[1:]:
        for cell in row:
            assert not is_formula(cell), row
    texts = {row[HISTORY_COLUMNS.index("text")] for row in rows[1:]}
    assert texts == {"'" + value for value in HOSTILE}
    assert {row[HISTORY_COLUMNS.index("score")] for row in rows[1:]} == {"-1.5"}


def test_report_csv_of_hostile_stickers(tmp_path: Path, capsys) -> None:
    """The sweep's case, end to end: stickers holding formulas, checked and recorded by the
    real `qrcheck check`, then exported by `qrcheck report --format csv`."""
    texts = HOSTILE[:4]
    photo = save_photo(board_image(texts), tmp_path / "photos" / "board.png")
    db = tmp_path / "h.sqlite"
    common = ["--db", str(db), "--catalog", str(BUNDLED_CATALOG), "--as-of", "2026-11-27"]
    args = ["check", str(photo), "--offline", "--location", "=cmd|' /C calc'!A0", *common]
    assert run_cli(args) == 1
    capsys.readouterr()
    assert run_cli(["report", "--format", "csv", *common]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    found = {row[HISTORY_COLUMNS.index("text")] for row in rows[1:]}
    assert found == {"'" + text for text in texts}
    assert {row[0] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    for row in rows:
        assert not any(is_formula(cell) for cell in row)


def test_the_catalog_round_trips_through_neutralised_cells(tmp_path: Path) -> None:
    header = (*COLUMNS, "note")
    notes = ["=SUM(A1)", "@x", "-2", "'=already", "+84 912 345 678", "Ghi chú"]
    rows = [
        {
            **procedure_row(f"1.{i:06d}", f"Thủ tục {i}", effective_from="2026-01-0" + str(i)),
            "note": n,
        }
        for i, n in enumerate(notes, 1)
    ]
    folder = tmp_path / "catalog"
    folder.mkdir()
    write_csv(folder / "procedures.csv", header, [[r[c] for c in header] for r in rows])
    first = load_catalog(folder)
    assert [r.get("note") for r in first.rows] == notes
    first.write()
    written = (folder / "procedures.csv").read_text(encoding="utf-8-sig")
    assert "'=SUM(A1)" in written and "\n1.000003," in written and ",-2\n" in written
    assert "2026-01-01" in written and "''=already" in written
    again = load_catalog(folder)
    assert again.errors == []
    assert [r.get("note") for r in again.rows] == notes
    assert [dict(r.values) for r in again.rows] == [dict(r.values) for r in first.rows]
    before = (folder / "procedures.csv").read_bytes()
    again.write()
    assert (folder / "procedures.csv").read_bytes() == before


@pytest.mark.parametrize("column", ["name", "field", "level", "decision"])
def test_a_catalog_text_cell_may_not_begin_like_a_formula(tmp_path: Path, column: str) -> None:
    rows = [procedure_row(), {**procedure_row("1.000656", "Khai tử"), column: HOSTILE[0]}]
    catalog = load_catalog(write_catalog(tmp_path / "catalog", rows))
    assert [(i.line, i.column, i.key) for i in catalog.errors] == [
        (3, column, "catalog.formula_text")
    ]
    sentence("catalog.formula_text", char="=")


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    return Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )


def formula_export(path: Path) -> Path:
    """The default export with a formula cell (the amended name) and two formula-like texts
    (the new procedure's name, a link)."""
    build_export(path)
    book = load_workbook(path)
    sheet = book.active
    rows = {sheet.cell(row=r, column=2).value: r for r in range(1, sheet.max_row + 1)}
    sheet.cell(
        row=rows[AMENDED_CODE], column=3
    ).value = f'=HYPERLINK("https://evil.example","{AMENDED_NAME}")'
    text = sheet.cell(row=rows[NEW_CODE], column=3)
    text.value = "@SUM(1+1)*cmd|' /C calc'!A0"
    text.data_type = "s"  # text, as a tampered export would hold it
    link = sheet.cell(row=rows["1.012568"], column=4)
    link.value = "-2+3+cmd|' /C calc'!A0"
    link.data_type = "s"
    book.save(path)
    return path


def test_an_import_leaves_out_rows_with_formula_cells(catalog_dir: Path, tmp_path: Path) -> None:
    export = formula_export(tmp_path / "TTHC.xlsx")
    current = load_catalog(catalog_dir)
    prepared = prepare_import(export, current, WHEN, abolish_missing=True)
    notes = {key for key, _ in prepared.notes}
    assert "importer.formula_row_sheet" in notes
    said = [p for k, p in prepared.notes if k == "importer.formula_row_sheet"]
    assert [(p["row"], p["column"], p["file"]) for p in said] == [
        (6, "C", "TTHC.xlsx"),  # the amended name, a formula cell
        (11, "D", "TTHC.xlsx"),  # a link, text
        (13, "C", "TTHC.xlsx"),  # the new procedure's name, text
    ]
    for params in said:
        sentence("importer.formula_row_sheet", **params)
    new = {r.code: r for r in prepared.catalog.rows if r.status != "scheduled"}
    old = {r.code: r for r in current.rows if r.status != "scheduled"}
    assert NEW_CODE not in new
    assert new[AMENDED_CODE].get("name") == old[AMENDED_CODE].get("name")
    # present in the file, only refused: not abolished as missing from it
    assert new[AMENDED_CODE].status == old[AMENDED_CODE].status == "active"
    assert new["1.012568"].values == old["1.012568"].values
    for row in prepared.catalog.rows:
        assert not any(is_formula(v) for v in row.values.values())


def test_a_csv_import_leaves_out_rows_with_formula_cells(catalog_dir: Path, tmp_path: Path):
    header = ("Mã TTHC", "Tên TTHC", "Lĩnh vực")
    rows = [
        {"Mã TTHC": "1.001193", "Tên TTHC": KHAI_SINH, "Lĩnh vực": "+Hộ tịch"},
        {"Mã TTHC": NEW_CODE, "Tên TTHC": "Thủ tục mới", "Lĩnh vực": "-2"},
    ]
    path = tmp_path / "TTHC.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    prepared = prepare_import(path, load_catalog(catalog_dir), WHEN, display_name="Xã A.csv")
    said = [p for k, p in prepared.notes if k == "importer.formula_row_csv"]
    assert [(p["row"], p["column"], p["label"], p["file"]) for p in said] == [
        (2, "C", "Lĩnh vực", "Xã A.csv")
    ]
    new = {r.code: r for r in prepared.catalog.rows}
    assert new[NEW_CODE].get("field") == "-2"  # a plain number is data
    assert new["1.001193"].get("field") == "Hộ tịch"


# ---------------------------------------------------------------------------------------------
# bounded, lazy reading of exports


def big_export(path: Path, count: int) -> Path:
    """An export as Excel writes it: its sheet's size declared at the top (openpyxl reads a
    sheet without that declaration through once to find its size, in time but not memory)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "TTHC2-CAPXA"
    sheet.append(list(HEADER))
    for i in range(count):
        sheet.append([i + 1, f"1.{900000 + i:06d}", f"Thủ tục thử {i}", None, None, None, None,
                      "Hộ tịch", "Cấp xã", None, "Đã công khai"])  # fmt: skip
    book.save(path)
    return path


def test_an_export_over_the_row_limit_is_refused(catalog_dir: Path, tmp_path: Path) -> None:
    export = big_export(tmp_path / "big.xlsx", 6)
    with pytest.raises(ImportFailed) as caught:
        prepare_import(export, load_catalog(catalog_dir), WHEN, display_name="Lớn.xlsx", max_rows=5)
    assert caught.value.key == "importer.too_many_rows"
    assert caught.value.params == {"file": "Lớn.xlsx", "limit": 5, "row": 7}
    sentence("importer.too_many_rows", **caught.value.params)
    assert len(read_export(export, max_rows=6).rows) == 6


def truncated(path: Path, at_row: int) -> Path:
    """The workbook with its sheet's XML cut short at `at_row`, as a download cut off."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/sheet"))
    xml = members[sheet]
    members[sheet] = xml[: xml.index(f'<row r="{at_row}"'.encode())]
    cut = path.with_name("cut-" + path.name)
    with zipfile.ZipFile(cut, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return cut


def test_an_export_is_read_row_by_row(tmp_path: Path) -> None:
    """The limit is hit before the damage further down: the sheet is never read whole."""
    export = truncated(big_export(tmp_path / "big.xlsx", 3000), 2500)
    with pytest.raises(ImportFailed) as caught:
        read_export(export, max_rows=100)
    assert caught.value.key == "importer.too_many_rows"
    with pytest.raises(ImportFailed) as caught:
        read_export(export, max_rows=10_000)
    assert caught.value.key == "importer.xlsx_corrupt"


def test_a_csv_export_is_read_row_by_row(tmp_path: Path) -> None:
    header = ("Mã TTHC", "Tên TTHC")
    rows = [{"Mã TTHC": f"1.{900000 + i}", "Tên TTHC": f"Thủ tục {i}"} for i in range(50)]
    path = tmp_path / "TTHC.csv"
    path.write_text(csv_text(rows, header) + '1.999999,"không đóng\n', encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        read_export(path, max_rows=20)
    assert caught.value.key == "importer.too_many_rows"
    with pytest.raises(ImportFailed) as caught:
        read_export(path)
    assert caught.value.key == "importer.quote_unclosed"
    assert caught.value.params == {"file": "TTHC.csv", "line": 52}
    sentence("importer.quote_unclosed", **caught.value.params)


def test_a_nul_in_a_csv_export(tmp_path: Path) -> None:
    path = tmp_path / "TTHC.csv"
    path.write_text("Mã TTHC,Tên TTHC\n1.001193,Khai\x00sinh\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        read_export(path, name="Xã.csv")
    assert (caught.value.key, caught.value.params) == (
        "importer.nul_byte",
        {"file": "Xã.csv", "line": 2},
    )


def test_a_long_run_of_empty_rows_ends_the_table(tmp_path: Path) -> None:
    path = big_export(tmp_path / "gap.xlsx", 3)
    book = load_workbook(path)
    sheet = book.active
    for row in range(5, 1300):
        sheet.cell(row=row, column=12).value = ""  # formatting Excel leaves below a table
    sheet.cell(row=1300, column=2).value = "1.999999"
    sheet.cell(row=1300, column=3).value = "Dưới bảng"
    book.save(path)
    assert [r.code for r in read_export(path).rows] == ["1.900000", "1.900001", "1.900002"]


# ---------------------------------------------------------------------------------------------
# absurd dates


@pytest.mark.parametrize("value", ["0001-01-01", "1945-09-01", "2101-01-01", "9999-12-31"])
def test_an_absurd_effective_date_is_refused(tmp_path: Path, value: str) -> None:
    rows = [procedure_row(), procedure_row("1.000656", "Khai tử", effective_from=value)]
    catalog = load_catalog(write_catalog(tmp_path / "catalog", rows))
    assert [(i.line, i.column_label, i.key) for i in catalog.errors] == [
        (3, "H (effective_from)", "catalog.date_out_of_range")
    ]
    params = catalog.errors[0].params
    assert params["earliest"] == f"{EARLIEST_DATE:%d/%m/%Y}" == "02/09/1945"
    assert params["latest"] == f"{LATEST_DATE:%d/%m/%Y}" == "31/12/2100"
    sentence("catalog.date_out_of_range", **params)


@pytest.mark.parametrize("value", ["1945-09-02", "2100-12-31"])
def test_the_ends_of_the_window_are_plausible(tmp_path: Path, value: str) -> None:
    rows = [procedure_row(effective_from=value)]
    assert load_catalog(write_catalog(tmp_path / "catalog", rows)).errors == []


def test_an_import_with_an_absurd_date_says_the_row(catalog_dir: Path, tmp_path: Path) -> None:
    header = ("Mã TTHC", "Tên TTHC", "formality_id", "Ngày hiệu lực")
    rows = [{"Mã TTHC": NEW_CODE, "Tên TTHC": "Mới", "formality_id": FORMALITY_ID.replace("7", "8"),
             "Ngày hiệu lực": "01/01/0001"}]  # fmt: skip
    path = tmp_path / "TTHC.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    prepared = prepare_import(path, load_catalog(catalog_dir), WHEN)
    errors = [i for i in prepared.catalog.errors if i.key == "catalog.date_out_of_range"]
    assert len(errors) == 1 and errors[0].params["value"] == "0001-01-01"
    assert ("importer.source_row_csv", {"line": errors[0].line, "row": 2, "file": "TTHC.csv"}) in (
        prepared.notes
    )


def test_parse_catalog_never_raises_on_random_damage() -> None:
    """Cut the bundled catalog anywhere, or flip a byte to a quote or NUL: always issues."""
    raw = (BUNDLED_CATALOG / "procedures.csv").read_bytes()
    from qrcheck.center import load_center

    center = load_center(BUNDLED_CATALOG / "center.toml")
    for step, cut in enumerate(range(0, len(raw), max(1, len(raw) // 60))):
        for damaged in (raw[:cut], raw[:cut] + b'"' + raw[cut:], raw[:cut] + b"\0" + raw[cut:]):
            catalog = parse_catalog(damaged, Path(f"p{step}.csv"), center)
            assert catalog.issues or catalog.rows


# ---------------------------------------------------------------------------------------------
# a catalog link is read as a phone's browser reads it (issue 17: the fake sticker's spellings)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        (
            "https://evil.example\\@dichvucong.gov.vn/thu-tuc-hanh-chinh/" + FORMALITY_ID,
            "evil.example",
        ),
        (
            "https://nguoi:mk@dichvucong.gov.vn/thu-tuc-hanh-chinh/" + FORMALITY_ID,
            "dichvucong.gov.vn",
        ),
        (
            "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x/../../redirect?to=https://evil.example",
            "dichvucong.gov.vn",
        ),
    ],
)
def test_a_catalog_link_that_hides_where_it_leads_is_refused(tmp_path: Path, url, host) -> None:
    folder = write_catalog(tmp_path / "catalog", [procedure_row(url=url)])
    catalog = load_catalog(folder)
    found = [(i.line, i.column, i.key, i.severity, i.params.get("host")) for i in catalog.issues]
    assert (2, "url", "catalog.url_disguised", "error", host) in found
    assert run_cli(["generate", "--catalog", str(folder), "--out", str(tmp_path / "out")]) != 0
    assert not (tmp_path / "out" / "qr").exists()  # nothing printed from such a catalog
