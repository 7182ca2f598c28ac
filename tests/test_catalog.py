"""Loading and validating a catalog folder: every issue from a real file on disk."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

import pytest
from conftest import (
    BUNDLED_CENTER,
    FORMALITY_ID,
    OTHER_FORMALITY_ID,
    csv_text,
    excel_cp1258,
    issue_tuples,
    procedure_row,
)

import qrcheck
from qrcheck.catalog.csv_text import column_letter, read_rows
from qrcheck.catalog.load import load_catalog
from qrcheck.catalog.model import COLUMNS, Catalog, Issue
from qrcheck.center import DEFAULT_CENTER, load_center
from qrcheck.errors import CatalogError, CatalogInvalid
from qrcheck.files import atomic_writer
from qrcheck.i18n import t

KHAI_SINH = "Thủ tục đăng ký khai sinh"
KHAI_TU = "Thủ tục đăng ký khai tử"
#: Names with every kind of Vietnamese letter: base letters, all five tones, upper case, đ.
NAMES = [
    "Đăng ký kết hôn có yếu tố nước ngoài",
    "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
    "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng",
    "Xác nhận thông tin hộ tịch; cấp bản sao trích lục",
    "CẤP XÃ: ỨNG DỤNG ĐỊNH DANH, ỦY QUYỀN, ĐỔI GIẤY, ẢNH, ỢT",
]


def load(make_catalog, rows=(), **options) -> Catalog:
    return load_catalog(make_catalog(rows, **options))


def only_issue(catalog: Catalog) -> Issue:
    assert len(catalog.issues) == 1, issue_tuples(catalog)
    return catalog.issues[0]


# ---------------------------------------------------------------------------------------------
# A valid catalog, and the bundled one


def test_valid_catalog_has_no_issues(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193", KHAI_SINH),
            procedure_row("1.000656", KHAI_TU, formality_id=OTHER_FORMALITY_ID),
        ],
    )
    assert catalog.issues == ()
    assert catalog.errors == [] and catalog.warnings == []
    assert catalog.require_valid() is catalog
    assert catalog.header == COLUMNS
    assert [(r.line, r.code, r.get("name")) for r in catalog.rows] == [
        (2, "1.001193", KHAI_SINH),
        (3, "1.000656", KHAI_TU),
    ]
    assert catalog.encoding == "utf-8"
    assert catalog.center.name == "Trung tâm Phục vụ hành chính công phường Nam Gia Nghĩa"
    assert catalog.directory is not None and catalog.path.name == "procedures.csv"


def test_bundled_catalog_loads_without_errors(bundled_catalog):
    catalog = load_catalog(bundled_catalog)
    assert catalog.errors == [], issue_tuples(catalog)
    assert len(catalog.rows) == 98
    assert catalog.encoding == "utf-8"
    # the only warnings allowed are the search links of procedures without a known formalityId
    assert {i.key for i in catalog.warnings} <= {"catalog.search_fallback"}
    # every contract column is there, extra columns (sources) are kept
    assert set(COLUMNS) <= set(catalog.header)
    assert "source_url" in catalog.header


def test_extra_columns_are_kept(make_catalog):
    header = (*COLUMNS, "note", "source_url")
    row = procedure_row(note="ghi chú", source_url="https://example.org/qd.pdf")
    catalog = load(make_catalog, [row], header=header)
    assert catalog.issues == ()
    assert catalog.rows[0].get("note") == "ghi chú"
    assert catalog.rows[0].get("source_url") == "https://example.org/qd.pdf"


def test_cells_are_trimmed_and_names_cleaned(make_catalog):
    row = procedure_row(" 1.001193 ", "  Thủ tục   đăng ký\tkhai sinh ", status=" active ")
    catalog = load(make_catalog, [row])
    assert catalog.issues == ()
    assert catalog.rows[0].code == "1.001193"
    assert catalog.rows[0].get("name") == KHAI_SINH
    assert catalog.rows[0].status == "active"


def test_csv_file_given_directly_uses_center_beside_it(make_catalog):
    folder = make_catalog([procedure_row()])
    catalog = load_catalog(folder / "procedures.csv")
    assert catalog.directory is None
    assert catalog.center.name.endswith("Nam Gia Nghĩa")
    assert catalog.issues == ()


def test_folder_without_center_toml_uses_defaults(make_catalog):
    folder = make_catalog([procedure_row()])
    (folder / "center.toml").unlink()
    catalog = load_catalog(folder)
    assert catalog.center == DEFAULT_CENTER
    assert catalog.issues == ()


def test_missing_catalog_is_an_error(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "nowhere")
    assert caught.value.key == "catalog.not_found"
    assert caught.value.params == {"path": str(tmp_path / "nowhere")}


def test_folder_without_procedures_is_an_error(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert caught.value.key == "catalog.no_procedures"
    assert caught.value.params == {"path": str(tmp_path / "procedures.csv")}


def test_unreadable_procedures_file_is_an_error(tmp_path):
    (tmp_path / "procedures.csv").mkdir()  # exists, but cannot be read as a file
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert caught.value.key == "catalog.unreadable"
    assert caught.value.params["path"] == str(tmp_path / "procedures.csv")
    assert caught.value.params["reason"]


def test_require_valid_raises_with_every_issue(make_catalog):
    catalog = load(make_catalog, [procedure_row(code=""), procedure_row(name="", status="x")])
    with pytest.raises(CatalogInvalid) as caught:
        catalog.require_valid()
    assert caught.value.key == "catalog.invalid"
    assert caught.value.params == {"count": 3}
    assert [i.key for i in caught.value.issues] == [
        "catalog.code_empty",
        "catalog.name_empty",
        "catalog.status_unknown",
    ]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n", b",,,\n"])
def test_empty_file(make_catalog, data):
    catalog = load(make_catalog, data=data)
    assert issue_tuples(catalog) == [(1, "", "catalog.empty", "error")]
    assert catalog.rows == ()


def test_header_only_is_valid_and_empty(make_catalog):
    catalog = load(make_catalog, [])
    assert catalog.issues == ()
    assert catalog.rows == ()


# ---------------------------------------------------------------------------------------------
# Header


@pytest.mark.parametrize("column", ["status", "formality_id", "replaced_by"])
def test_missing_column(make_catalog, column):
    header = [c for c in COLUMNS if c != column]
    catalog = load(make_catalog, [procedure_row(code="bad code")], header=header)
    issue = only_issue(catalog)  # rows are not checked when the header is incomplete
    assert (issue.line, issue.column, issue.key, issue.severity) == (
        1,
        column,
        "catalog.missing_column",
        "error",
    )
    assert issue.params == {"columns": ", ".join(COLUMNS)}
    assert issue.column_index is None and issue.column_label == column


def test_missing_columns_each_reported(make_catalog):
    catalog = load(make_catalog, [], header=["code", "name"])
    missing = [c for c in COLUMNS if c not in ("code", "name")]
    assert issue_tuples(catalog) == [(1, c, "catalog.missing_column", "error") for c in missing]


def test_duplicate_column(make_catalog):
    header = [*COLUMNS, "name"]
    row = [*procedure_row().values(), "Tên khác"]
    catalog = load(make_catalog, [row], header=header)
    issue = only_issue(catalog)
    assert (issue.line, issue.column, issue.key, issue.severity) == (
        1,
        "name",
        "catalog.duplicate_column",
        "error",
    )
    assert issue.params == {"first": "B"}
    assert issue.column_index == len(COLUMNS)
    assert issue.column_label == "K (name)"
    assert catalog.rows[0].get("name") == KHAI_SINH  # the first column wins


def test_trailing_unnamed_columns_from_excel_are_fine(make_catalog):
    header = [*COLUMNS, "", ""]
    catalog = load(make_catalog, [[*procedure_row().values(), "", ""]], header=header)
    assert catalog.issues == ()
    assert catalog.rows[0].code == "1.001193"


def test_header_names_are_trimmed(make_catalog):
    text = csv_text([list(procedure_row().values())], header=[f" {c} " for c in COLUMNS])
    catalog = load(make_catalog, text=text)
    assert catalog.issues == ()
    assert catalog.header == COLUMNS


# ---------------------------------------------------------------------------------------------
# Cells and rows


def test_extra_cells(make_catalog):
    row = [*procedure_row().values(), "Cấp xã"]
    catalog = load(make_catalog, [procedure_row("1.000656", KHAI_TU), row])
    issue = only_issue(catalog)
    assert (issue.line, issue.column, issue.key, issue.severity) == (
        3,
        "",
        "catalog.extra_cells",
        "error",
    )
    assert issue.params == {"expected": len(COLUMNS), "found": len(COLUMNS) + 1}
    assert issue.column_index == len(COLUMNS)
    assert issue.column_label == "K"  # the first cell beyond the header, as Excel names it


def test_empty_extra_cells_are_ignored(make_catalog):
    row = [*procedure_row().values(), "", " "]
    catalog = load(make_catalog, [row])
    assert catalog.issues == ()


def test_short_rows_are_padded(make_catalog):
    row = list(procedure_row().values())[:5]  # ends after formality_id
    catalog = load(make_catalog, [row])
    # status is empty then: that is the only problem
    assert issue_tuples(catalog) == [(2, "status", "catalog.status_unknown", "error")]
    assert catalog.rows[0].get("replaced_by") == ""


def test_code_empty(make_catalog):
    catalog = load(make_catalog, [procedure_row(code="")])
    assert issue_tuples(catalog) == [(2, "code", "catalog.code_empty", "error")]
    assert catalog.issues[0].params == {}
    assert catalog.issues[0].column_label == "A (code)"


@pytest.mark.parametrize(
    "code", ["1-001193", "01.001193", "1.0011930", "1,001193", "A.001193", "1001193", "1.00119x"]
)
def test_code_malformed(make_catalog, code):
    catalog = load(make_catalog, [procedure_row(code=code)])
    assert issue_tuples(catalog) == [(2, "code", "catalog.code_malformed", "error")]
    assert catalog.issues[0].params == {"value": code}


@pytest.mark.parametrize("code", ["1.00119", "2.0029", "1.1", "1.11691"])
def test_code_excel_number(make_catalog, code):
    catalog = load(make_catalog, [procedure_row(code=code)])
    assert issue_tuples(catalog) == [(2, "code", "catalog.code_excel_number", "error")]
    assert catalog.issues[0].params == {"value": code}


def test_code_duplicate(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193", KHAI_SINH),
            procedure_row("1.000656", KHAI_TU),
            procedure_row("1.001193", KHAI_SINH, field="Tư pháp"),
        ],
    )
    assert issue_tuples(catalog) == [(4, "code", "catalog.code_duplicate", "error")]
    assert catalog.issues[0].params == {"value": "1.001193", "first": 2}


def test_abolished_row_of_a_current_code_is_a_duplicate(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193"),
            procedure_row("1.001193", status="abolished", effective_from="2027-01-01"),
        ],
    )
    assert issue_tuples(catalog) == [(3, "code", "catalog.code_duplicate", "error")]


def test_scheduled_row_with_later_date_is_not_a_duplicate(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193", effective_from="2025-07-01"),
            procedure_row("1.001193", status="scheduled", effective_from="2027-03-01"),
            procedure_row("1.001193", status="scheduled", effective_from="2028-01-01"),
        ],
    )
    assert catalog.issues == ()


def test_scheduled_rows_with_the_same_date_are_duplicates(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193"),
            procedure_row("1.001193", status="scheduled", effective_from="2027-03-01"),
            procedure_row(
                "1.001193", status="scheduled", effective_from="2027-03-01", decision="99/QĐ"
            ),
        ],
    )
    assert issue_tuples(catalog) == [(4, "code", "catalog.code_duplicate", "error")]
    assert catalog.issues[0].params == {"value": "1.001193", "first": 3}


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_name_empty(make_catalog, name):
    catalog = load(make_catalog, [procedure_row(name=name)])
    assert issue_tuples(catalog) == [(2, "name", "catalog.name_empty", "error")]


@pytest.mark.parametrize("status", ["", "retired", "Active", "đang hiệu lực"])
def test_status_unknown(make_catalog, status):
    catalog = load(make_catalog, [procedure_row(status=status)])
    assert issue_tuples(catalog) == [(2, "status", "catalog.status_unknown", "error")]
    assert catalog.issues[0].params == {"value": status, "allowed": "active, abolished, scheduled"}
    assert catalog.issues[0].column_label == "I (status)"


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("01/03/2027", "2027-03-01"),
        ("1/3/2027", "2027-03-01"),
        ("15.12.2026", "2026-12-15"),
        ("31-12-2026", "2026-12-31"),
    ],
)
def test_date_day_month_year(make_catalog, value, iso):
    catalog = load(make_catalog, [procedure_row(effective_from=value)])
    assert issue_tuples(catalog) == [(2, "effective_from", "catalog.date_dmy", "error")]
    assert catalog.issues[0].params == {"value": value, "iso": iso}


@pytest.mark.parametrize(
    "value",
    ["2027-13-01", "2027-02-30", "2027-3-1", "next year", "2027/03/01", "31/02/2027", "1/13/2027"],
)
def test_date_malformed(make_catalog, value):
    # a day/month/year that is no real date gets no "write it as ..." suggestion
    catalog = load(make_catalog, [procedure_row(effective_from=value)])
    assert issue_tuples(catalog) == [(2, "effective_from", "catalog.date_malformed", "error")]
    assert catalog.issues[0].params == {"value": value}


def test_scheduled_without_date(make_catalog):
    catalog = load(make_catalog, [procedure_row(status="scheduled")])
    assert issue_tuples(catalog) == [(2, "effective_from", "catalog.scheduled_needs_date", "error")]


@pytest.mark.parametrize("scheduled", ["2026-01-01", "2026-06-01"])
def test_scheduled_before_current(make_catalog, scheduled):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.000656", KHAI_TU),
            procedure_row("1.001193", effective_from="2026-06-01"),
            procedure_row("1.001193", status="scheduled", effective_from=scheduled),
        ],
    )
    assert issue_tuples(catalog) == [
        (4, "effective_from", "catalog.scheduled_before_current", "error")
    ]
    assert catalog.issues[0].params == {"line": 3}


def test_scheduled_row_without_current_row_is_fine(make_catalog):
    catalog = load(
        make_catalog, [procedure_row("1.116910", status="scheduled", effective_from="2027-03-01")]
    )
    assert catalog.issues == ()


def test_replaced_by_self(make_catalog):
    catalog = load(make_catalog, [procedure_row(status="abolished", replaced_by="1.001193")])
    assert issue_tuples(catalog) == [(2, "replaced_by", "catalog.replaced_by_self", "error")]


def test_replaced_by_unknown(make_catalog):
    catalog = load(make_catalog, [procedure_row(status="abolished", replaced_by="1.116910")])
    assert issue_tuples(catalog) == [(2, "replaced_by", "catalog.replaced_by_unknown", "error")]
    assert catalog.issues[0].params == {"value": "1.116910"}


@pytest.mark.parametrize("successor", ["1.11691", "1-116910", "mã mới"])
def test_replaced_by_malformed(make_catalog, successor):
    catalog = load(make_catalog, [procedure_row(status="abolished", replaced_by=successor)])
    assert issue_tuples(catalog) == [(2, "replaced_by", "catalog.code_malformed", "error")]
    assert catalog.issues[0].params == {"value": successor}


def test_replaced_by_a_known_code(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001731", status="abolished", replaced_by="1.116910"),
            procedure_row("1.116910", formality_id=OTHER_FORMALITY_ID),
        ],
    )
    assert catalog.issues == ()


@pytest.mark.parametrize(
    "value", ["019d2bfd-3fe0-70ac-b9d6", "not-a-uuid", "019d2bfd-3fe0-70ac-b9d6-5e9e20d6eefz"]
)
def test_formality_malformed(make_catalog, value):
    catalog = load(make_catalog, [procedure_row(formality_id=value)])
    assert issue_tuples(catalog) == [(2, "formality_id", "catalog.formality_malformed", "error")]
    assert catalog.issues[0].params == {"value": value}


# ---------------------------------------------------------------------------------------------
# Links


PORTAL = f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{FORMALITY_ID}"


@pytest.mark.parametrize(
    "url",
    [
        PORTAL,
        f"https://dichvucong.lamdong.gov.vn/thu-tuc/{FORMALITY_ID}",
        "https://DichVuCong.gov.vn/thu-tuc-hanh-chinh/abc",
        "https://dichvucong.gov.vn./x",
    ],
)
def test_official_url_is_fine(make_catalog, url):
    catalog = load(make_catalog, [procedure_row(url=url, formality_id="")])
    assert catalog.issues == ()


@pytest.mark.parametrize(
    "url", ["dichvucong.gov.vn/thu-tuc", "ftp://dichvucong.gov.vn/x", "https://", "https://[::1"]
)
def test_url_malformed(make_catalog, url):
    catalog = load(make_catalog, [procedure_row(url=url)])
    assert issue_tuples(catalog) == [(2, "url", "catalog.url_malformed", "error")]
    assert catalog.issues[0].params == {"value": url}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://dichvucong-gov.vn/thu-tuc-hanh-chinh/x", "dichvucong-gov.vn"),
        ("https://dichvucong.gov.vn.evil.example/x", "dichvucong.gov.vn.evil.example"),
        ("https://dichvucong.gov.vn@evil.example/x", "evil.example"),
        ("http://bit.ly/abc", "bit.ly"),
    ],
)
def test_url_not_official(make_catalog, url, host):
    catalog = load(make_catalog, [procedure_row(url=url)])
    assert issue_tuples(catalog) == [(2, "url", "catalog.url_not_official", "error")]
    domains = (
        "dichvucong.gov.vn, dichvucong.lamdong.gov.vn, dvc.moc.gov.vn, "
        "dichvucongnnmt.mae.gov.vn, dichvucongnganhtuphap.moj.gov.vn"
    )
    assert catalog.issues[0].params == {"host": host, "domains": domains}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://dichvucong.daknong.gov.vn/thu-tuc/1.001193", "dichvucong.daknong.gov.vn"),
        ("http://vpcp.dichvucong.gov.vn/x", "vpcp.dichvucong.gov.vn"),
        ("https://Thutuc.DichVuCong.gov.vn/x", "thutuc.dichvucong.gov.vn"),
    ],
)
def test_url_legacy_domain(make_catalog, url, host):
    catalog = load(make_catalog, [procedure_row(url=url)])
    assert issue_tuples(catalog) == [(2, "url", "catalog.url_legacy", "warning")]
    assert catalog.issues[0].params == {"host": host}
    assert catalog.errors == []


def test_url_not_https(make_catalog):
    catalog = load(make_catalog, [procedure_row(url=PORTAL.replace("https:", "http:"))])
    assert issue_tuples(catalog) == [(2, "url", "catalog.url_not_https", "warning")]
    assert catalog.issues[0].params == {}


@pytest.mark.parametrize(
    "path",
    [
        "/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma_thu_tuc=1.001193",
        "/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193",
    ],
)
def test_url_legacy_form(make_catalog, path):
    catalog = load(make_catalog, [procedure_row(url="https://dichvucong.gov.vn" + path)])
    assert issue_tuples(catalog) == [(2, "url", "catalog.url_legacy_form", "warning")]


@pytest.mark.parametrize("status", ["active", "scheduled"])
def test_search_fallback(make_catalog, status):
    row = procedure_row(formality_id="", status=status, effective_from="2027-03-01")
    catalog = load(make_catalog, [row])
    assert issue_tuples(catalog) == [(2, "formality_id", "catalog.search_fallback", "warning")]
    assert catalog.issues[0].column_label == "E (formality_id)"


def test_no_search_fallback_warning_for_abolished_rows_or_explicit_urls(make_catalog):
    catalog = load(
        make_catalog,
        [
            procedure_row("1.001193", formality_id="", status="abolished"),
            procedure_row("1.000656", formality_id="", url=PORTAL),
        ],
    )
    assert catalog.issues == ()


STABLE_CENTER = """
[center]
name = "Trung tâm thử nghiệm"
[links]
mode = "stable"
stable_template = "https://qr.example.vn/p/{code}"
[domains]
official = ["dichvucong.gov.vn", "qr.example.vn"]
"""


def test_no_search_fallback_warning_in_stable_mode(make_catalog):
    catalog = load(make_catalog, [procedure_row(formality_id="")], center=STABLE_CENTER)
    assert catalog.issues == ()
    assert catalog.center.link_mode == "stable"


# ---------------------------------------------------------------------------------------------
# Text: mojibake, encodings, delimiters, line numbers


def test_mojibake_warning(make_catalog):
    garbled = KHAI_SINH.encode("utf-8").decode("cp1252")  # "Thá»§ tá»¥c Ä‘Äƒng kÃ½ khai sinh"
    assert garbled != KHAI_SINH
    catalog = load(make_catalog, [procedure_row(name=garbled)])
    assert issue_tuples(catalog) == [(2, "name", "catalog.mojibake", "warning")]
    assert catalog.issues[0].params == {"fixed": KHAI_SINH}
    assert catalog.rows[0].get("name") == garbled  # reported, never silently rewritten


def test_mojibake_in_another_column(make_catalog):
    garbled = "Hộ tịch".encode().decode("cp1252")
    catalog = load(make_catalog, [procedure_row(field=garbled)])
    assert issue_tuples(catalog) == [(2, "field", "catalog.mojibake", "warning")]
    assert catalog.issues[0].params == {"fixed": "Hộ tịch"}


@pytest.mark.parametrize("name", NAMES)
def test_correct_vietnamese_is_not_mojibake(make_catalog, name):
    catalog = load(make_catalog, [procedure_row(name=name)])
    assert catalog.issues == ()


def test_utf8_with_bom_is_read_silently(make_catalog):
    text = csv_text([procedure_row(name=n) for n in NAMES[:1]])
    catalog = load(make_catalog, data=codecs.BOM_UTF8 + text.encode("utf-8"))
    assert catalog.issues == ()
    assert catalog.header[0] == "code"
    assert catalog.rows[0].get("name") == NAMES[0]
    assert catalog.encoding == "utf-8"


def test_cp1258_file_is_read_and_normalised(make_catalog):
    rows = [
        procedure_row(f"1.00000{i}", name, field="Hộ tịch", level="Cấp xã")
        for i, name in enumerate(NAMES)
    ]
    data = excel_cp1258(csv_text(rows, newline="\r\n"))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really a legacy code page file
    assert "\u0301".encode("cp1258") in data  # tone marks as combining characters
    catalog = load(make_catalog, data=data)
    assert issue_tuples(catalog) == [(2, "", "encoding.cp1258", "warning")]
    assert catalog.encoding == "cp1258"
    names = [r.get("name") for r in catalog.rows]
    assert names == [unicodedata.normalize("NFC", n) for n in NAMES]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    assert {r.get("field") for r in catalog.rows} == {"Hộ tịch"}


def test_utf16_tab_delimited_file(make_catalog):
    rows = [procedure_row("1.001193", NAMES[2]), procedure_row("1.000656", KHAI_TU)]
    text = csv_text(rows, delimiter="\t", newline="\r\n")
    catalog = load(make_catalog, data=text.encode("utf-16"))  # Excel's "Unicode Text"
    assert issue_tuples(catalog) == [(1, "", "encoding.utf16", "warning")]
    assert catalog.encoding == "utf-16"
    assert catalog.header == COLUMNS
    assert [r.get("name") for r in catalog.rows] == [NAMES[2], KHAI_TU]  # commas kept in a cell


def test_utf16_big_endian(make_catalog):
    text = csv_text([procedure_row()], delimiter="\t")
    catalog = load(make_catalog, data=codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    assert issue_tuples(catalog) == [(1, "", "encoding.utf16", "warning")]
    assert catalog.rows[0].get("name") == KHAI_SINH


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + "code\tname\n".encode("utf-16-le")[:-1],  # cut mid-character
        codecs.BOM_UTF16_LE + b"c\x00\x00\xd8o\x00",  # lone surrogate
    ],
)
def test_broken_utf16_is_an_error_not_a_crash(make_catalog, data):
    catalog = load(make_catalog, data=data)
    assert issue_tuples(catalog) == [(1, "", "encoding.unknown", "error")]
    assert catalog.rows == ()


def test_semicolon_delimited_file(make_catalog):
    rows = [procedure_row("1.001193", NAMES[2]), procedure_row("1.000656", KHAI_TU)]
    catalog = load(make_catalog, text=csv_text(rows, delimiter=";"))
    assert catalog.issues == ()
    assert catalog.header == COLUMNS
    assert [r.get("name") for r in catalog.rows] == [NAMES[2], KHAI_TU]


def test_nfd_text_is_normalised_with_a_warning(make_catalog):
    rows = [procedure_row(f"1.00000{i}", name) for i, name in enumerate(NAMES)]
    text = unicodedata.normalize("NFD", csv_text(rows))
    assert text != unicodedata.normalize("NFC", text)
    catalog = load(make_catalog, text=text)
    assert issue_tuples(catalog) == [(1, "", "encoding.nfd", "warning")]
    assert [r.get("name") for r in catalog.rows] == NAMES
    assert catalog.rows[0].get("field") == "Hộ tịch"


def test_undecodable_bytes_are_an_error(make_catalog):
    head = csv_text([procedure_row("1.000656", KHAI_TU)]).encode("utf-8")
    data = head + b"1.001193,\x81\x8d\x90 \xff,x,y,,,,,active,\n"
    catalog = load(make_catalog, data=data)
    assert issue_tuples(catalog) == [(3, "", "encoding.unknown", "error")]
    assert catalog.rows == ()
    assert catalog.encoding == "unknown"
    with pytest.raises(CatalogInvalid):
        catalog.require_valid()


def test_line_numbers_follow_multi_line_cells(make_catalog):
    text = (
        ",".join(COLUMNS) + "\n"
        f'1.001193,"Thủ tục\nđăng ký\nkhai sinh",Hộ tịch,Cấp xã,{FORMALITY_ID},,,,active,\n'
        f'1.000656,"",Hộ tịch,Cấp xã,{FORMALITY_ID},,,,active,\n'
        "\n"
        f'1.000894,"Thủ tục đăng ký kết hôn",Hộ tịch,Cấp xã,{FORMALITY_ID},,,,retired,\n'
    )
    catalog = load(make_catalog, text=text)
    assert issue_tuples(catalog) == [
        (5, "name", "catalog.name_empty", "error"),
        (7, "status", "catalog.status_unknown", "error"),
    ]
    assert [r.line for r in catalog.rows] == [2, 5, 7]
    assert catalog.rows[0].get("name") == KHAI_SINH  # line breaks folded to spaces


def test_line_numbers_with_windows_line_ends(make_catalog):
    rows = [
        procedure_row("1.001193", "Thủ tục\nđăng ký\r\nkhai sinh"),
        procedure_row("1.000656", ""),
    ]
    catalog = load(make_catalog, text=csv_text(rows, newline="\r\n"))
    assert issue_tuples(catalog) == [(5, "name", "catalog.name_empty", "error")]


def test_read_rows_reports_start_lines():
    text = 'a,b\n1,"x\ny"\n\n2,z\n3,"p\n\nq"\n4,w\n'
    delimiter, header, rows = read_rows(text)
    assert delimiter == "," and header == ["a", "b"]
    assert [(r.line, r.cells) for r in rows] == [
        (2, ("1", "x\ny")),
        (5, ("2", "z")),
        (6, ("3", "p\n\nq")),
        (9, ("4", "w")),
    ]


def test_issues_are_sorted_by_line_then_column(make_catalog):
    rows = [
        procedure_row(code="", name="", status="x"),
        procedure_row("1.000656", KHAI_TU, effective_from="1/2/2027", url="ftp://x"),
    ]
    catalog = load(make_catalog, rows)
    assert issue_tuples(catalog) == [
        (2, "code", "catalog.code_empty", "error"),
        (2, "name", "catalog.name_empty", "error"),
        (2, "status", "catalog.status_unknown", "error"),
        (3, "url", "catalog.url_malformed", "error"),
        (3, "effective_from", "catalog.date_dmy", "error"),
    ]


# ---------------------------------------------------------------------------------------------
# Writing back


def test_write_round_trip(make_catalog, tmp_path):
    header = (*COLUMNS, "note")
    rows = [
        procedure_row("1.001193", NAMES[2], note='ghi chú, có "ngoặc kép"'),
        procedure_row("1.001193", NAMES[2], status="scheduled", effective_from="2027-03-01"),
    ]
    catalog = load(make_catalog, rows, header=header)
    target = tmp_path / "out" / "procedures.csv"
    catalog.write(target)
    assert target.read_bytes().startswith(codecs.BOM_UTF8)
    again = load_catalog(target)
    assert again.issues == ()
    assert again.header == header
    assert [dict(r.values) for r in again.rows] == [dict(r.values) for r in catalog.rows]
    assert [p.name for p in target.parent.iterdir()] == ["procedures.csv"]  # no temp file left


def test_atomic_writer_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "procedures.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_writer(target, "w", encoding="utf-8") as handle:
        handle.write("half of the new")
        raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["procedures.csv"]


@pytest.mark.parametrize(
    ("index", "letter"), [(0, "A"), (9, "J"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letter(index, letter):
    assert column_letter(index) == letter


# ---------------------------------------------------------------------------------------------
# center.toml


@pytest.mark.parametrize(
    ("center", "key", "params"),
    [
        ("[center\nname = 'x'\n", "center.bad_toml_at", {"line": "1", "column": "8"}),
        ("[center]\nprovince = 'Lâm Đồng'\n", "center.missing_name", {}),
        ("[center]\nname = '  '\n", "center.missing_name", {}),
        (
            "[center]\nname = 'x'\n[links]\nmode = 'qr'\n",
            "center.bad_choice",
            {"key": "links.mode", "value": "qr", "allowed": "portal, stable"},
        ),
        (
            "[center]\nname = 'x'\n[links]\nversion_tag = 'query'\n",
            "center.bad_choice",
            {"key": "links.version_tag", "value": "query", "allowed": "fragment, none"},
        ),
        (
            "[center]\nname = 'x'\n[posting]\npaper = 'letter'\n",
            "center.bad_choice",
            {"key": "posting.paper", "value": "LETTER", "allowed": "A5, A4"},
        ),
        (
            "[center]\nname = 'x'\n[domains]\nofficial = 'dichvucong.gov.vn'\n",
            "center.not_a_list",
            {"key": "domains.official"},
        ),
        (
            "[center]\nname = 'x'\n[domains]\nlegacy = ['a.gov.vn', 3]\n",
            "center.not_a_list",
            {"key": "domains.legacy"},
        ),
        (
            "[center]\nname = 'x'\n[posting]\nannounce_days = -1\n",
            "center.bad_number",
            {"key": "posting.announce_days", "value": "-1"},
        ),
        (
            "[center]\nname = 'x'\n[posting]\nannounce_days = '30'\n",
            "center.bad_number",
            {"key": "posting.announce_days", "value": "30"},
        ),
        (
            "[center]\nname = 'x'\n[links]\nmode = 'stable'\n",
            "center.stable_needs_template",
            {},
        ),
    ],
)
def test_center_errors(make_catalog, center, key, params):
    folder = make_catalog([procedure_row()], center=center)
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    assert caught.value.key == key
    assert caught.value.params["path"] == str(folder / "center.toml")
    for name, value in params.items():
        assert caught.value.params[name] == value


def test_center_not_utf8(make_catalog):
    folder = make_catalog([procedure_row()])
    (folder / "center.toml").write_bytes(excel_cp1258("[center]\nname = 'Trung tâm'\n"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    assert caught.value.key == "center.not_utf8"


def test_bundled_center_settings():
    center = load_center(BUNDLED_CENTER)
    assert center.link_mode == "portal" and center.version_tag == "fragment"
    assert center.host_is_official("dichvucong.gov.vn")
    assert center.host_is_official("DICHVUCONG.LAMDONG.GOV.VN.")
    assert not center.host_is_official("vpcp.dichvucong.gov.vn")  # legacy wins over official
    assert center.host_is_legacy("dichvucong.daknong.gov.vn")
    assert not center.host_is_official("evil-dichvucong.gov.vn")


# ---------------------------------------------------------------------------------------------
# Messages a person reads


@pytest.mark.parametrize(
    ("row", "shown"),
    [
        (procedure_row(code="1-001193"), ["1-001193"]),
        (procedure_row(code="1.00119"), ["1.00119"]),
        (procedure_row(effective_from="01/03/2027"), ["01/03/2027", "2027-03-01"]),
        (procedure_row(url="https://dichvucong.gov.vn.evil.example/x"), ["evil.example"]),
        (procedure_row(status="retired"), ["retired", "active, abolished, scheduled"]),
        (procedure_row(formality_id="not-a-uuid"), ["not-a-uuid"]),
    ],
)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_issue_messages_are_sentences_with_the_value(make_catalog, row, shown, lang):
    issue = only_issue(load(make_catalog, [row]))
    message = t(issue.key, lang, **issue.params)
    assert message != issue.key and "catalog." not in message
    assert "{" not in message and "}" not in message
    assert message[0].isalpha() and message.rstrip().endswith(".")
    assert len(message.split()) >= 6
    for value in shown:
        assert value in message


def test_messages_differ_between_languages(make_catalog):
    issue = only_issue(load(make_catalog, [procedure_row(code="")]))
    vi, en = t(issue.key, "vi"), t(issue.key, "en")
    assert vi != en
    assert "mã" in vi.lower() and "code" in en.lower()


def test_column_label_reads_like_excel(make_catalog):
    issue = only_issue(load(make_catalog, [procedure_row(effective_from="2027-13-01")]))
    assert issue.column_index == 7
    assert issue.column_label == "H (effective_from)"


def test_catalog_invalid_message(make_catalog):
    catalog = load(make_catalog, [procedure_row(code="")])
    with pytest.raises(CatalogInvalid) as caught:
        catalog.require_valid()
    assert str(caught.value) == "Errors found in the catalog: 1."


def test_every_issue_key_has_a_test():
    """A new validation message needs a test here that makes a file produce it."""
    package = Path(qrcheck.__file__).parent
    emitted = set()
    for module in ("catalog/model.py", "catalog/load.py", "catalog/csv_text.py", "center.py"):
        source = (package / module).read_text(encoding="utf-8")
        emitted |= set(re.findall(r'"((?:catalog|encoding|center)\.[a-z0-9_]+)"', source))
    emitted -= {"center.toml"}  # the settings file's name, not a message
    here = Path(__file__).parent  # damaged files are tested in test_hostile_catalog.py
    tested = "".join(
        (here / name).read_text(encoding="utf-8")
        for name in ("test_catalog.py", "test_hostile_catalog.py")
    )
    assert {key for key in emitted if f'"{key}"' not in tested} == set()
