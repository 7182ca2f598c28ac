"""`qrcheck catalog import`: national-portal exports (.xlsx, .csv) merged into the catalog.

Every test works on a copy of the bundled catalog folder and on real files written with
openpyxl or as bytes; nothing inside qrcheck is replaced.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import excel_cp1258
from hypothesis import given
from hypothesis import strategies as st
from xlsx_fixture import (
    ABOLISHED_CODE,
    ABOLISHED_DECISION,
    AMENDED_CODE,
    AMENDED_NAME,
    DATE_CODE,
    DATE_DECISION,
    DEFAULT_ROWS,
    FILE_CODES,
    NEW_CODE,
    NEW_FORMALITY,
    NEW_NAME,
    NO_LINK_CODE,
    NUMBER_CODE,
    SHEET,
    UNCHANGED_CODE,
    build_export,
)

from qrcheck.catalog.export import ALIASES, label_field, read_export
from qrcheck.catalog.importer import apply_import, prepare_import
from qrcheck.catalog.load import load_catalog
from qrcheck.catalog.model import Catalog
from qrcheck.cli.app import main
from qrcheck.errors import ImportFailed
from qrcheck.i18n import messages, placeholders, t

BUNDLED_CATALOG = Path(__file__).resolve().parent.parent / "catalog"
#: the importer: reading the export (export.py), merging it into the catalog (importer.py)
IMPORTER_SOURCES = [
    Path(__file__).resolve().parent.parent / "qrcheck" / "catalog" / name
    for name in ("export.py", "importer.py")
]
WHEN = date(2026, 11, 27)
EXTRA = ("source_url", "confidence", "note", "replaced_by")


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    return Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "TTHC_capxa.xlsx"
    build_export(path)
    return path


def procedures(directory: Path) -> Path:
    return directory / "procedures.csv"


def by_code(catalog: Catalog) -> dict[str, dict[str, str]]:
    """The current (non-scheduled) row of each code."""
    return {r.code: dict(r.values) for r in catalog.rows if r.status != "scheduled"}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def assert_sentence(exc: ImportFailed) -> None:
    """The error reads as a sentence in both languages, every placeholder filled."""
    for lang in ("vi", "en"):
        text = t(exc.key, lang, **exc.params)
        assert text != exc.key
        assert exc.key in messages(lang)
        assert "{" not in text
        assert len(text.split()) >= 6


# ---------------------------------------------------------------------------------------------
# Reading the export


def test_header_found_below_title_rows(export: Path) -> None:
    table = read_export(export)
    assert table.sheet == SHEET
    assert table.header_row == 3
    assert table.columns == {
        "code": "Mã TTHC",
        "name": "Tên TTHC",
        "link": "Link truy cập",
        "decision_no": "Số QĐ",
        "decision_date": "Ngày QĐ",
        "field": "Lĩnh vực",
        "level": "Cấp thực hiện",
        "status": "Trạng thái",
    }
    # the group title and the repeated header are not procedures; data starts on row 4
    assert [r.code for r in table.rows] == [
        UNCHANGED_CODE,
        DATE_CODE,
        AMENDED_CODE,
        NUMBER_CODE,
        ABOLISHED_CODE,
        "1.012568",
        NO_LINK_CODE,
        NEW_CODE,
    ]
    assert table.rows[0].row == 4
    keys = [key for key, _ in table.notes]
    assert "importer.code_numbers" in keys
    assert "importer.skipped_rows" in keys


def test_field_mapping_and_formality_id(catalog_dir: Path, export: Path) -> None:
    where = build_export(export)
    current = load_catalog(catalog_dir)
    prepared = prepare_import(export, current, WHEN)
    rows = by_code(prepared.catalog)

    new = rows[NEW_CODE]
    assert new["name"] == NEW_NAME
    assert new["field"] == "Giáo dục"
    assert new["level"] == "Cấp xã"
    assert new["formality_id"] == NEW_FORMALITY
    assert new["url"] == ""
    assert new["decision"] == "5012/QĐ-BGDĐT ngày 20/10/2026"
    assert new["status"] == "active"
    assert new["effective_from"] == ""
    assert new["source_url"] == export.name
    assert new["replaced_by"] == new["confidence"] == new["note"] == ""

    # an Excel date cell and a text date both end up in the decision reference
    assert rows[DATE_CODE]["decision"] == DATE_DECISION
    assert rows[ABOLISHED_CODE]["decision"] == ABOLISHED_DECISION
    assert rows[ABOLISHED_CODE]["status"] == "abolished"
    assert rows[ABOLISHED_CODE]["effective_from"] == WHEN.isoformat()
    assert rows[AMENDED_CODE]["name"] == AMENDED_NAME
    # a code stored as a number that kept its six digits matches its row, once
    assert [r.code for r in prepared.catalog.rows].count(NUMBER_CODE) == 1
    assert rows[NUMBER_CODE] == by_code(current)[NUMBER_CODE]
    # no link in the file: the catalog's (empty) link is kept, the decision matches as written
    assert rows[NO_LINK_CODE] == by_code(current)[NO_LINK_CODE]

    assert prepared.catalog.errors == []
    assert prepared.catalog.header == current.header
    new_line = next(r.line for r in prepared.catalog.rows if r.code == NEW_CODE)
    assert prepared.source_row(new_line) == where[NEW_CODE]


def test_diff_counts_are_exact(catalog_dir: Path, export: Path) -> None:
    current = load_catalog(catalog_dir)
    prepared = prepare_import(export, current, WHEN)
    diff = prepared.diff
    assert diff.counts() == {
        "added": 1,
        "removed": 0,
        "changed": 2,
        "replaced": 0,
        "abolished": 1,
        "scheduled": 0,
    }
    assert [p.code for p in diff.added] == [NEW_CODE]
    assert {c.code: c.fields for c in diff.changed} == {
        DATE_CODE: ("decision",),
        AMENDED_CODE: ("name",),
    }
    # a new decision alone changes nothing a posting shows: no reprint (issue 16)
    assert {c.code: c.reprint for c in diff.changed} == {DATE_CODE: False, AMENDED_CODE: True}
    assert [p.code for p in diff.abolished] == [ABOLISHED_CODE]
    assert prepared.changed_rows
    in_force = {p.code for p in current.as_of(WHEN).active()}
    assert set(prepared.missing) == in_force - FILE_CODES
    kept = dict(prepared.notes)["importer.missing_kept"]
    assert kept["count"] == len(in_force - FILE_CODES)


@given(
    alias=st.sampled_from([(f, a) for f, aliases in ALIASES.items() for a in aliases]),
    cases=st.lists(st.booleans(), min_size=40, max_size=40),
    space=st.sampled_from([" ", "  ", "\n", " \n ", "\t", "\xa0"]),
    form=st.sampled_from(["NFC", "NFD"]),
    pad=st.sampled_from(["", " ", "\n", "  "]),
)
def test_header_labels_are_matched_tolerantly(
    alias: tuple[str, str], cases: list[bool], space: str, form: str, pad: str
) -> None:
    name, label = alias
    varied = "".join(c.upper() if up else c.lower() for c, up in zip(label, cases, strict=False))
    varied += label[len(cases) :]
    varied = pad + varied.replace(" ", space) + pad
    assert label_field(unicodedata.normalize(form, varied)) == name


def test_header_variants_in_a_real_file(catalog_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "older-export.xlsx"
    header = ("STT", "MÃ  TTHC", "Tên\nthủ tục", "Liên kết", "Số / Ngày quyết định")
    header += (unicodedata.normalize("NFD", "Lĩnh vực"), "CẤP THỰC HIỆN", "Trạng thái ")
    header += ("Ngày hiệu lực",)
    rows = [
        [
            "2.000913",
            "Chứng thực việc sửa đổi, bổ sung, hủy bỏ giao dịch",
            "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-8e59-72ab-ae1a-a2985865d253",
            "123/QĐ-UBND ngày 01/02/2026",
            "Chứng thực",
            "Cấp xã",
            "Hết hiệu lực",
            "15/02/2026",
        ]
    ]
    build_export(path, rows, header=header, title_rows=5)
    current = load_catalog(catalog_dir)
    prepared = prepare_import(path, current, WHEN)
    assert prepared.table.header_row == 6
    row = by_code(prepared.catalog)["2.000913"]
    assert row["decision"] == "123/QĐ-UBND ngày 01/02/2026"
    assert row["status"] == "abolished"
    assert row["effective_from"] == "2026-02-15"
    assert [p.code for p in prepared.diff.abolished] == ["2.000913"]


# ---------------------------------------------------------------------------------------------
# Applying


def test_prepare_and_dry_run_change_nothing(
    catalog_dir: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(catalog_dir)
    prepare_import(export, load_catalog(catalog_dir), WHEN, abolish_missing=True)
    assert snapshot(catalog_dir) == before

    args = ["catalog", "import", str(export), "--catalog", str(catalog_dir), "--dry-run"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--as-of", "2026-11-27", "--lang", "en"])
    assert exit_info.value.code == 0
    assert snapshot(catalog_dir) == before
    out = " ".join(capsys.readouterr().out.split())
    assert t("import.dry_run", "en") in out
    assert NEW_CODE in out


def test_apply_writes_the_prepared_catalog(catalog_dir: Path, export: Path) -> None:
    original = procedures(catalog_dir).read_bytes()
    procedures(catalog_dir).chmod(0o644)
    current = load_catalog(catalog_dir)
    prepared = prepare_import(export, current, WHEN)

    backup = apply_import(prepared)

    # the file keeps its permissions (a temporary file is created private, then renamed)
    assert stat.S_IMODE(procedures(catalog_dir).stat().st_mode) == 0o644

    assert backup.parent == catalog_dir / "history"
    assert re.fullmatch(r"procedures-\d{8}T\d{6}\.csv", backup.name)
    assert backup.read_bytes() == original
    written = load_catalog(catalog_dir)
    assert written.errors == []
    assert written.header == current.header
    assert [dict(r.values) for r in written.rows] == [dict(r.values) for r in prepared.catalog.rows]

    # center-owned columns of every matched code are kept
    before, after = by_code(current), by_code(written)
    for code in FILE_CODES - {NEW_CODE}:
        assert {c: after[code][c] for c in EXTRA} == {c: before[code][c] for c in EXTRA}
    assert after[NO_LINK_CODE]["note"] == "HP 3626/QĐ-UBND 10/9/2026"
    # scheduled rows are kept as they were, including the one of a code in the file
    scheduled = [dict(r.values) for r in current.rows if r.status == "scheduled"]
    assert [dict(r.values) for r in written.rows if r.status == "scheduled"] == scheduled
    assert UNCHANGED_CODE in {row["code"] for row in scheduled}
    # every row the file does not mention is untouched
    for code, row in before.items():
        if code not in FILE_CODES:
            assert after[code] == row

    log = (catalog_dir / "history" / "imports.log").read_text(encoding="utf-8").splitlines()
    assert len(log) == 1
    assert export.name in log[0]
    assert backup.name in log[0]
    assert "added=1" in log[0]
    assert "changed=2" in log[0]
    assert "abolished=1" in log[0]


def test_second_import_of_the_same_file_changes_nothing(catalog_dir: Path, export: Path) -> None:
    first = apply_import(prepare_import(export, load_catalog(catalog_dir), WHEN))
    again = prepare_import(export, load_catalog(catalog_dir), WHEN)
    assert again.diff.empty
    assert not again.changed_rows
    # applying anyway never overwrites an earlier copy, even within the same second
    second = apply_import(again)
    assert second != first
    assert first.exists()
    assert second.exists()
    assert len(list((catalog_dir / "history").glob("procedures-*.csv"))) == 2


def test_invalid_import_changes_nothing(
    catalog_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.xlsx"
    rows = [
        *DEFAULT_ROWS,
        # Excel turned 1.013950 into the number 1.01395
        [1.01395, "Chuyển hình thức giao đất, cho thuê đất.", None, None, None, "Đất đai"],
        ["1.0011933", "Mã thừa một chữ số", None, None, None, "Hộ tịch"],
    ]
    build_export(path, rows)
    original = procedures(catalog_dir).read_bytes()
    current = load_catalog(catalog_dir)

    prepared = prepare_import(path, current, WHEN)
    errors = {i.key: i for i in prepared.catalog.errors}
    assert set(errors) == {"catalog.code_excel_number", "catalog.code_malformed"}
    assert errors["catalog.code_excel_number"].params["value"] == "1.01395"
    # each error's line is a line of the new CSV, and leads back to the export's row
    number_line = errors["catalog.code_excel_number"].line
    assert next(r for r in prepared.catalog.rows if r.line == number_line).code == "1.01395"
    assert prepared.source_row(number_line) == 14
    assert prepared.source_row(errors["catalog.code_malformed"].line) == 15
    sources = [p for k, p in prepared.notes if k == "importer.source_row_sheet"]
    assert [p["row"] for p in sources] == [14, 15]

    with pytest.raises(ImportFailed) as failure:
        apply_import(prepared)
    assert failure.value.key == "importer.apply_invalid"
    assert_sentence(failure.value)

    with pytest.raises(SystemExit) as exit_info:
        main(["catalog", "import", str(path), "--catalog", str(catalog_dir), "--lang", "en"])
    assert exit_info.value.code == 1
    out = " ".join(capsys.readouterr().out.split())
    assert t("import.invalid", "en", errors=2) in out

    assert procedures(catalog_dir).read_bytes() == original
    assert not (catalog_dir / "history").exists()


def test_missing_abolish_ends_absent_procedures(catalog_dir: Path, export: Path) -> None:
    current = load_catalog(catalog_dir)
    view = current.as_of(WHEN)
    missing = {p.code for p in view.active()} - FILE_CODES
    successors = {c for c in missing if view.procedures[c].replaced_by}
    assert successors  # the bundled catalog has codes with a successor

    prepared = prepare_import(export, current, WHEN, abolish_missing=True)

    assert prepared.catalog.errors == []
    assert set(prepared.missing) == missing
    after = by_code(prepared.catalog)
    for code in missing:
        assert after[code]["status"] == "abolished"
        assert after[code]["effective_from"] == WHEN.isoformat()
    # rows that already ended, and codes known only by a scheduled row, are left alone
    before = by_code(current)
    for code, row in before.items():
        if row["status"] == "abolished":
            assert after[code] == row
    scheduled = [dict(r.values) for r in current.rows if r.status == "scheduled"]
    assert [dict(r.values) for r in prepared.catalog.rows if r.status == "scheduled"] == scheduled

    diff = prepared.diff
    assert {p.code for p in diff.abolished} == (missing - successors) | {ABOLISHED_CODE}
    assert {p.code for p in diff.replaced} == successors
    assert [p.code for p in diff.added] == [NEW_CODE]
    assert diff.removed == ()
    notes = dict(prepared.notes)
    assert notes["importer.missing_abolished"]["count"] == len(missing)
    assert notes["importer.missing_abolished"]["date"] == "27/11/2026"


# ---------------------------------------------------------------------------------------------
# CSV exports


def test_csv_export_with_semicolons_in_cp1258(catalog_dir: Path, tmp_path: Path) -> None:
    lines = [
        "DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ;;;;;;;",
        "STT;Mã TTHC;Tên TTHC;Lĩnh vực;Cấp thực hiện;Cổng DVC quốc gia;Trạng thái;Ngày hiệu lực",
        "1;1.001193;Thủ tục đăng ký khai sinh;Hộ tịch;Cấp xã;;Đang áp dụng;",
        "2;1.116951;Đăng ký khai sinh lưu động cho trẻ em ở vùng sâu;Hộ tịch;Cấp xã;"
        "https://dichvucong.lamdong.gov.vn/vi/procedure/detail/6650f1a2b3c4d5e6f7a8b9c0;"
        "Còn hiệu lực;01/12/2026",
        "3;2.001263;Đăng ký việc nuôi con nuôi trong nước;Nuôi con nuôi;Cấp xã;;Tạm dừng;",
        "4;2.001008;Chứng thực chữ ký người dịch;Chứng thực;Cấp xã;;Đã bãi bỏ;30/11/2026",
    ]
    raw = excel_cp1258("\r\n".join(lines) + "\r\n")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    path = tmp_path / "export.csv"
    path.write_bytes(raw)
    current = load_catalog(catalog_dir)

    prepared = prepare_import(path, current, WHEN)

    assert prepared.table.sheet is None
    assert prepared.table.header_row == 2
    assert "encoding.cp1258" in dict(prepared.notes)
    rows = by_code(prepared.catalog)
    assert rows["1.001193"] == by_code(current)["1.001193"]
    new = rows["1.116951"]
    assert new["name"] == "Đăng ký khai sinh lưu động cho trẻ em ở vùng sâu"
    assert unicodedata.is_normalized("NFC", new["name"])
    assert new["url"].startswith("https://dichvucong.lamdong.gov.vn/")
    assert new["formality_id"] == ""
    assert new["effective_from"] == "2026-12-01"
    assert rows["2.001008"]["status"] == "abolished"
    assert rows["2.001008"]["effective_from"] == "2026-11-30"
    # an unknown status is kept so that validation names it, at the line of the new CSV
    (error,) = prepared.catalog.errors
    assert error.key == "catalog.status_unknown"
    assert error.params["value"] == "Tạm dừng"
    assert prepared.source_row(error.line) == 5
    assert ("importer.source_row_csv", {"line": error.line, "row": 5, "file": "export.csv"}) in (
        prepared.notes
    )


def test_catalog_csv_imports_as_itself(catalog_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "procedures-copy.csv"
    shutil.copyfile(procedures(catalog_dir), copy)
    prepared = prepare_import(copy, load_catalog(catalog_dir), WHEN, abolish_missing=True)
    assert prepared.diff.empty
    assert not prepared.changed_rows
    assert prepared.missing == ()


# ---------------------------------------------------------------------------------------------
# Files that cannot be imported


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("random.xlsx", os.urandom(4096), "importer.xlsx_corrupt"),
        ("scan.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "importer.unsupported"),
        ("list.txt", "Mã TTHC\tTên TTHC\n1.001193\tKhai sinh\n".encode(), "importer.unsupported"),
        ("old.xls", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(512), "importer.xls_legacy"),
        ("empty.csv", b"", "importer.empty_file"),
        ("notes.csv", "Ghi chú;Ngày\nHọp giao ban;01/12/2026\n".encode(), "importer.no_header_csv"),
    ],
)
def test_unusable_files_fail_with_a_sentence(
    catalog_dir: Path, tmp_path: Path, name: str, content: bytes, key: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as failure:
        prepare_import(path, load_catalog(catalog_dir), WHEN)
    assert failure.value.key == key
    assert_sentence(failure.value)


def test_truncated_xlsx_fails_with_a_sentence(
    catalog_dir: Path, export: Path, tmp_path: Path
) -> None:
    data = export.read_bytes()
    for size in (len(data) // 2, len(data) - 30):
        path = tmp_path / f"partial-{size}.xlsx"
        path.write_bytes(data[:size])
        with pytest.raises(ImportFailed) as failure:
            prepare_import(path, load_catalog(catalog_dir), WHEN)
        assert failure.value.key == "importer.xlsx_corrupt"
        assert_sentence(failure.value)


def test_xlsx_with_a_damaged_sheet_fails_with_a_sentence(
    catalog_dir: Path, export: Path, tmp_path: Path
) -> None:
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(export) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    with pytest.raises(ImportFailed) as failure:
        prepare_import(path, load_catalog(catalog_dir), WHEN)
    assert failure.value.key == "importer.xlsx_corrupt"


def test_workbook_without_header_and_missing_file(catalog_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    build_export(path, [["x"] * 9], header=("Họ tên", "Ngày", "Ghi chú"))
    with pytest.raises(ImportFailed) as failure:
        prepare_import(path, load_catalog(catalog_dir), WHEN)
    assert failure.value.key == "importer.no_header"
    assert SHEET in failure.value.params["sheets"]
    assert_sentence(failure.value)

    with pytest.raises(ImportFailed) as failure:
        prepare_import(tmp_path / "nowhere.xlsx", load_catalog(catalog_dir), WHEN)
    assert failure.value.key == "importer.not_found"
    assert_sentence(failure.value)


def test_cli_reports_an_unreadable_file(
    catalog_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(SystemExit) as exit_info:
        main(["catalog", "import", str(path), "--catalog", str(catalog_dir)])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert " ".join(t("importer.xlsx_corrupt", "vi", file=path.name).split()) in err


# ---------------------------------------------------------------------------------------------
# End to end, and failures while applying


def test_cli_imports_end_to_end(
    catalog_dir: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = procedures(catalog_dir).read_bytes()
    args = ["catalog", "import", str(export), "--catalog", str(catalog_dir)]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--as-of", "27/11/2026", "--lang", "en"])
    assert exit_info.value.code == 0
    assert procedures(catalog_dir).read_bytes() != original
    (backup,) = (catalog_dir / "history").glob("procedures-*.csv")
    assert backup.read_bytes() == original
    out = " ".join(capsys.readouterr().out.split())
    assert NEW_CODE in out
    assert AMENDED_CODE in out
    assert (
        t("diff.summary", "en", added=1, changed=2, replaced=0, abolished=1, removed=0, scheduled=0)
        in out
    )
    assert load_catalog(catalog_dir).errors == []

    # the same file again: nothing new, nothing written
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--as-of", "2026-11-27", "--lang", "en"])
    assert exit_info.value.code == 0
    assert t("import.nothing", "en") in " ".join(capsys.readouterr().out.split())
    assert len(list((catalog_dir / "history").glob("procedures-*.csv"))) == 1


def test_failed_write_leaves_the_catalog_intact(catalog_dir: Path, export: Path) -> None:
    """A real write failure (the file-size limit, as on a full disk) during the replacement."""
    resource = pytest.importorskip("resource")
    signal = pytest.importorskip("signal")
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("no SIGXFSZ on this system")
    original = procedures(catalog_dir).read_bytes()
    listing = [p.name for p in catalog_dir.iterdir()]
    prepared = prepare_import(export, load_catalog(catalog_dir), WHEN)
    probe = catalog_dir.parent / "probe.csv"
    prepared.catalog.write(probe)
    new_size = probe.stat().st_size
    probe.unlink()
    assert len(original) < new_size  # the backup fits under the limit, the new file does not
    limit = (len(original) + new_size) // 2

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        with pytest.raises(ImportFailed) as failure:
            apply_import(prepared)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)

    assert failure.value.key == "importer.write_failed"
    assert_sentence(failure.value)
    assert procedures(catalog_dir).read_bytes() == original
    assert sorted(p.name for p in catalog_dir.iterdir()) == sorted([*listing, "history"])
    assert not (catalog_dir / "history" / "imports.log").exists()
    # the copy taken before the failure is complete
    (backup,) = (catalog_dir / "history").glob("procedures-*.csv")
    assert backup.read_bytes() == original


def test_failed_backup_leaves_the_catalog_intact(catalog_dir: Path, export: Path) -> None:
    original = procedures(catalog_dir).read_bytes()
    prepared = prepare_import(export, load_catalog(catalog_dir), WHEN)
    (catalog_dir / "history").write_text("a file where the history folder should be\n")
    with pytest.raises(ImportFailed) as failure:
        apply_import(prepared)
    assert failure.value.key == "importer.backup_failed"
    assert_sentence(failure.value)
    assert procedures(catalog_dir).read_bytes() == original


def test_catalog_changed_since_prepare_is_not_overwritten(catalog_dir: Path, export: Path) -> None:
    prepared = prepare_import(export, load_catalog(catalog_dir), WHEN)
    edited = procedures(catalog_dir).read_bytes() + b"\n"
    procedures(catalog_dir).write_bytes(edited)
    with pytest.raises(ImportFailed) as failure:
        apply_import(prepared)
    assert failure.value.key == "importer.changed_since"
    assert procedures(catalog_dir).read_bytes() == edited
    assert not (catalog_dir / "history").exists()


# ---------------------------------------------------------------------------------------------
# Messages


def test_importer_messages_exist_in_both_languages() -> None:
    vi, en = messages("vi"), messages("en")
    keys = {k for k in vi if k.startswith("importer.")}
    assert keys == {k for k in en if k.startswith("importer.")}
    for key in keys:
        assert placeholders(vi[key]) == placeholders(en[key]), key
    source = "".join(path.read_text(encoding="utf-8") for path in IMPORTER_SOURCES)
    used = set(re.findall(r'"(importer\.[a-z_]+)"', source))
    assert used <= keys
    assert used  # the pattern still finds the keys
    for key in ("bad_missing", "invalid", "dry_run", "nothing", "done"):
        assert f"import.{key}" in vi
        assert f"import.{key}" in en
