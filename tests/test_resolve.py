"""The catalog as of a date, upcoming changes, and the diff of two catalogs (library and CLI).

Every date is explicit: nothing here depends on today's date.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import FORMALITY_ID, OTHER_FORMALITY_ID, issue_tuples, procedure_row

from qrcheck.catalog.diff import FieldChange, diff_views
from qrcheck.catalog.load import load_catalog
from qrcheck.catalog.model import COLUMNS, Catalog, CatalogView, Change
from qrcheck.cli import app as cli
from qrcheck.payload import version_tag

AS_OF = date(2026, 11, 27)
KHAI_SINH = "Thủ tục đăng ký khai sinh"
PORTAL = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/"


def load_valid(make_catalog, rows, **options) -> Catalog:
    catalog = load_catalog(make_catalog(rows, **options))
    assert catalog.errors == [], issue_tuples(catalog)
    return catalog


def states(view: CatalogView) -> dict[str, tuple[str, str]]:
    return {code: (p.state, p.replaced_by) for code, p in view.procedures.items()}


def upcoming(view: CatalogView) -> list[tuple[date, str, str, str]]:
    return [(c.when, c.code, c.kind, c.successor) for c in view.upcoming]


# ---------------------------------------------------------------------------------------------
# A scheduled amendment


def test_scheduled_amendment_applies_only_from_its_date(make_catalog):
    old = procedure_row("1.001193", KHAI_SINH, decision="100/QĐ-UBND")
    new = procedure_row(
        "1.001193",
        "Thủ tục đăng ký khai sinh (sửa đổi)",
        decision="200/QĐ-UBND",
        status="scheduled",
        effective_from="2027-03-01",
    )
    catalog = load_valid(make_catalog, [old, new])
    old_tag, new_tag = catalog.rows[0].tag, catalog.rows[1].tag
    assert old_tag != new_tag

    before = catalog.as_of(date(2027, 2, 28))
    proc = before.procedures["1.001193"]
    assert (proc.state, proc.name, proc.tag, proc.line) == ("active", KHAI_SINH, old_tag, 2)
    assert proc.in_force and before.active() == [proc] and before.ended() == []
    assert before.upcoming == (
        Change(date(2027, 3, 1), "1.001193", "amended", "", "200/QĐ-UBND", 3),
    )
    assert proc.link == PORTAL + FORMALITY_ID
    assert proc.payload == f"{PORTAL}{FORMALITY_ID}#v={old_tag}"

    on_the_day = catalog.as_of(date(2027, 3, 1))
    proc = on_the_day.procedures["1.001193"]
    assert (proc.state, proc.tag, proc.line) == ("active", new_tag, 3)
    assert proc.name == "Thủ tục đăng ký khai sinh (sửa đổi)"
    assert proc.effective_from == date(2027, 3, 1)
    assert proc.payload.endswith(f"#v={new_tag}")
    assert on_the_day.upcoming == ()


def test_amendment_that_only_sets_a_date_keeps_the_version(make_catalog):
    """No posting prints the date of effect: an amendment of it alone changes nothing on the
    walls (issue 16), so the version stays and the change is not one to print for."""
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.001193"),
            procedure_row("1.001193", status="scheduled", effective_from="2027-03-01"),
        ],
    )
    before = catalog.as_of(date(2027, 2, 28))
    assert before.procedures["1.001193"].tag == catalog.rows[0].tag == catalog.rows[1].tag
    assert [(c.kind, c.printed) for c in before.upcoming] == [("amended", False)]
    assert before.upcoming_within(30) == []
    assert catalog.as_of(date(2027, 3, 1)).procedures["1.001193"].tag == catalog.rows[1].tag


def test_amendment_of_a_printed_field_changes_the_version(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.001193"),
            procedure_row(
                "1.001193", "Đăng ký khai sinh (sửa đổi)", status="scheduled",
                effective_from="2027-03-01",
            ),
        ],
    )  # fmt: skip
    before = catalog.as_of(date(2027, 2, 28))
    assert [(c.kind, c.printed) for c in before.upcoming] == [("amended", True)]
    assert catalog.rows[0].tag != catalog.rows[1].tag


def test_successive_amendments(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.001193", effective_from="2025-07-01"),
            procedure_row("1.001193", status="scheduled", effective_from="2028-01-01", level="B"),
            procedure_row("1.001193", status="scheduled", effective_from="2027-03-01", level="A"),
        ],
    )
    assert upcoming(catalog.as_of(AS_OF)) == [
        (date(2027, 3, 1), "1.001193", "amended", ""),
        (date(2028, 1, 1), "1.001193", "amended", ""),
    ]
    middle = catalog.as_of(date(2027, 6, 1))
    assert middle.procedures["1.001193"].level == "A"
    assert upcoming(middle) == [(date(2028, 1, 1), "1.001193", "amended", "")]
    assert catalog.as_of(date(2028, 1, 1)).procedures["1.001193"].level == "B"


# ---------------------------------------------------------------------------------------------
# Abolition and replacement


def test_future_abolition(make_catalog):
    row = procedure_row(
        "2.001009", status="abolished", effective_from="2027-01-01", decision="4517/QĐ-UBND"
    )
    catalog = load_valid(make_catalog, [row])

    before = catalog.as_of(date(2026, 12, 31))
    assert states(before) == {"2.001009": ("active", "")}
    assert before.procedures["2.001009"].in_force
    assert before.upcoming == (
        Change(date(2027, 1, 1), "2.001009", "abolished", "", "4517/QĐ-UBND", 2),
    )

    after = catalog.as_of(date(2027, 1, 1))
    assert states(after) == {"2.001009": ("abolished", "")}
    assert after.active() == [] and [p.code for p in after.ended()] == ["2.001009"]
    assert after.upcoming == ()


def test_abolished_without_date_is_abolished_on_any_date(make_catalog):
    catalog = load_valid(make_catalog, [procedure_row("2.001009", status="abolished")])
    for when in (date(1990, 1, 1), AS_OF, date(2100, 1, 1)):
        view = catalog.as_of(when)
        assert states(view) == {"2.001009": ("abolished", "")}
        assert view.upcoming == ()


def test_replaced_by_a_scheduled_successor(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.001776", "Trợ cấp xã hội hàng tháng", replaced_by="1.116909"),
            procedure_row(
                "1.116909",
                "Trợ cấp xã hội hằng tháng",
                formality_id=OTHER_FORMALITY_ID,
                status="scheduled",
                effective_from="2027-03-01",
            ),
        ],
    )
    before = catalog.as_of(date(2027, 2, 28))
    assert states(before) == {"1.001776": ("active", "1.116909")}
    assert upcoming(before) == [
        (date(2027, 3, 1), "1.001776", "replaced", "1.116909"),
        (date(2027, 3, 1), "1.116909", "new", ""),
    ]
    assert [c.line for c in before.upcoming] == [2, 3]

    after = catalog.as_of(date(2027, 3, 1))
    assert states(after) == {"1.001776": ("replaced", "1.116909"), "1.116909": ("active", "")}
    assert [p.code for p in after.active()] == ["1.116909"]
    assert after.upcoming == ()


def test_abolished_with_successor_is_replaced(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.001731", status="abolished", replaced_by="1.116910"),
            procedure_row("1.116910", formality_id=OTHER_FORMALITY_ID),
        ],
    )
    view = catalog.as_of(AS_OF)
    assert states(view) == {"1.001731": ("replaced", "1.116910"), "1.116910": ("active", "")}
    assert not view.procedures["1.001731"].in_force
    assert view.upcoming == ()


def test_future_abolition_with_successor(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row(
                "1.001731", status="abolished", effective_from="2027-01-01", replaced_by="1.116910"
            ),
            procedure_row("1.116910", formality_id=OTHER_FORMALITY_ID),
        ],
    )
    # the successor is already in force: the old procedure counts as replaced right away
    assert states(catalog.as_of(AS_OF))["1.001731"] == ("replaced", "1.116910")
    assert catalog.as_of(AS_OF).upcoming == ()


def test_replacement_takes_effect_at_the_earlier_of_end_and_successor(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row(
                "1.001731", status="abolished", effective_from="2027-06-01", replaced_by="1.116910"
            ),
            procedure_row(
                "1.116910",
                formality_id=OTHER_FORMALITY_ID,
                status="scheduled",
                effective_from="2027-03-01",
            ),
        ],
    )
    view = catalog.as_of(AS_OF)
    assert states(view) == {"1.001731": ("active", "1.116910")}
    assert upcoming(view) == [
        (date(2027, 3, 1), "1.001731", "replaced", "1.116910"),
        (date(2027, 3, 1), "1.116910", "new", ""),
    ]
    between = catalog.as_of(date(2027, 4, 1))
    assert states(between)["1.001731"] == ("replaced", "1.116910")
    assert between.upcoming == ()  # nothing left to happen to it
    assert states(catalog.as_of(date(2027, 6, 1)))["1.001731"] == ("replaced", "1.116910")


def test_active_row_dated_in_the_future_is_not_in_force_before_its_date(make_catalog):
    catalog = load_valid(make_catalog, [procedure_row("1.116907", effective_from="2026-12-15")])
    assert catalog.as_of(date(2026, 12, 14)).procedures == {}
    assert upcoming(catalog.as_of(date(2026, 12, 14))) == [
        (date(2026, 12, 15), "1.116907", "new", "")
    ]
    assert states(catalog.as_of(date(2026, 12, 15))) == {"1.116907": ("active", "")}


def test_code_only_scheduled_is_absent_before_its_date(make_catalog):
    row = procedure_row("1.116907", status="scheduled", effective_from="2026-12-15")
    catalog = load_valid(make_catalog, [procedure_row("1.001193"), row])
    before = catalog.as_of(date(2026, 12, 14))
    assert "1.116907" not in before.procedures
    assert upcoming(before) == [(date(2026, 12, 15), "1.116907", "new", "")]
    on_the_day = catalog.as_of(date(2026, 12, 15))
    assert states(on_the_day)["1.116907"] == ("active", "")
    assert on_the_day.upcoming == ()


def test_upcoming_within(make_catalog):
    catalog = load_valid(
        make_catalog,
        [
            procedure_row("1.000001", status="scheduled", effective_from="2026-12-27"),
            procedure_row("1.000002", status="scheduled", effective_from="2026-12-28"),
        ],
    )
    view = catalog.as_of(AS_OF)
    assert [c.code for c in view.upcoming_within(30)] == ["1.000001"]
    assert [c.code for c in view.upcoming_within(31)] == ["1.000001", "1.000002"]
    assert view.upcoming_within(0) == []


def test_procedures_are_ordered_by_code(make_catalog):
    codes = ["2.000286", "1.001193", "1.000656"]
    catalog = load_valid(make_catalog, [procedure_row(c) for c in codes])
    assert list(catalog.as_of(AS_OF).procedures) == sorted(codes)


# ---------------------------------------------------------------------------------------------
# Links carried by resolved procedures


def test_links_url_then_formality_then_search(make_catalog):
    url = "https://dichvucong.lamdong.gov.vn/thu-tuc/abc#top"
    catalog = load_catalog(
        make_catalog(
            [
                procedure_row("1.000001", url=url),
                procedure_row("1.000002"),
                procedure_row("1.000003", formality_id=""),
            ]
        )
    )
    view = catalog.as_of(AS_OF)
    tag = view.procedures["1.000001"].tag
    assert view.procedures["1.000001"].link == url
    assert view.procedures["1.000001"].payload == f"{url}&v={tag}"
    assert view.procedures["1.000002"].link == PORTAL + FORMALITY_ID
    assert view.procedures["1.000003"].link == (
        "https://dichvucong.gov.vn/tim-kiem-thu-tuc-hanh-chinh?keyword=1.000003"
    )


def test_stable_links_and_no_tags(make_catalog):
    center = """
[center]
name = "Trung tâm thử nghiệm"
[links]
mode = "stable"
stable_template = "https://qr.example.vn/p/{code}"
version_tag = "none"
"""
    catalog = load_valid(make_catalog, [procedure_row("1.001193")], center=center)
    proc = catalog.as_of(AS_OF).procedures["1.001193"]
    assert proc.link == proc.payload == "https://qr.example.vn/p/1.001193"
    assert proc.tag == version_tag(proc.values)


# ---------------------------------------------------------------------------------------------
# The bundled catalog


def test_bundled_catalog_as_of_2026_11_27(bundled_catalog):
    catalog = load_catalog(bundled_catalog)
    view = catalog.as_of(AS_OF)
    assert len(catalog.rows) == 98
    assert len(view.active()) == 91
    assert {p.code: (p.state, p.replaced_by) for p in view.ended()} == {
        "1.001731": ("replaced", "1.116910"),
        "2.002622": ("replaced", "2.002913"),
        "2.001009": ("abolished", ""),
        "2.002621": ("abolished", ""),
    }
    assert view.procedures["1.116910"].in_force
    assert view.procedures["2.002913"].in_force
    assert "1.116907" not in view.procedures and "1.116909" not in view.procedures
    assert upcoming(view) == [
        (date(2026, 12, 15), "1.116907", "new", ""),
        (date(2026, 12, 15), "2.000286", "replaced", "1.116907"),
        (date(2027, 3, 1), "1.001193", "amended", ""),
        (date(2027, 3, 1), "1.001776", "replaced", "1.116909"),
        (date(2027, 3, 1), "1.116909", "new", ""),
    ]


def test_bundled_catalog_after_the_scheduled_changes(bundled_catalog):
    catalog = load_catalog(bundled_catalog)
    before = catalog.as_of(AS_OF)
    after = catalog.as_of(date(2027, 3, 1))
    assert after.upcoming == ()
    assert states(after)["2.000286"] == ("replaced", "1.116907")
    assert states(after)["1.001776"] == ("replaced", "1.116909")
    assert after.procedures["1.116907"].in_force and after.procedures["1.116909"].in_force
    # two new procedures in force, two replaced: the count stays the same
    assert len(after.active()) == 91
    # its scheduled row changes only the date of effect, which no posting prints
    assert after.procedures["1.001193"].tag == before.procedures["1.001193"].tag

    result = diff_views(before, after)
    assert {p.code for p in result.added} == {"1.116907", "1.116909"}
    assert {(p.code, p.replaced_by) for p in result.replaced} == {
        ("2.000286", "1.116907"),
        ("1.001776", "1.116909"),
    }
    assert [c.code for c in result.changed] == ["1.001193"]
    assert not result.changed[0].reprint  # its date of effect only: nothing printed changed


# ---------------------------------------------------------------------------------------------
# Diff


BASE = [
    procedure_row("1.001193", KHAI_SINH),
    procedure_row("1.000656", "Thủ tục đăng ký khai tử", formality_id=OTHER_FORMALITY_ID),
    procedure_row("1.000894", "Thủ tục đăng ký kết hôn"),
]


def diff(make_catalog, old_rows, new_rows, when=AS_OF, header=COLUMNS):
    old = load_valid(make_catalog, old_rows, header=header)
    new = load_valid(make_catalog, new_rows, header=header)
    return diff_views(old.as_of(when), new.as_of(when))


def test_identical_catalogs_have_an_empty_diff(make_catalog):
    result = diff(make_catalog, BASE, BASE)
    assert result.empty
    assert result.counts() == dict.fromkeys(
        ("added", "removed", "changed", "replaced", "abolished", "scheduled"), 0
    )


def test_identical_catalogs_with_scheduled_rows_have_an_empty_diff(make_catalog):
    rows = [*BASE, procedure_row("1.001193", status="scheduled", effective_from="2027-03-01")]
    assert diff(make_catalog, rows, rows).empty


def test_diff_added(make_catalog):
    result = diff(make_catalog, BASE, [*BASE, procedure_row("1.116910", "Mai táng phí")])
    assert [(p.code, p.name) for p in result.added] == [("1.116910", "Mai táng phí")]
    assert result.counts()["added"] == 1 and not result.empty
    assert result.removed == result.changed == result.replaced == result.abolished == ()


def test_diff_removed(make_catalog):
    result = diff(make_catalog, BASE, BASE[:2])
    assert [p.code for p in result.removed] == ["1.000894"]
    assert result.added == result.changed == result.abolished == ()


def test_diff_changed_name_needs_a_reprint(make_catalog):
    new = [procedure_row("1.001193", "Đăng ký khai sinh"), *BASE[1:]]
    result = diff(make_catalog, BASE, new)
    assert result.changed == (FieldChange("1.001193", ("name",), True),)


def test_diff_changed_fields_listed_exactly(make_catalog):
    new = [
        procedure_row("1.001193", KHAI_SINH, field="Tư pháp", decision="12/QĐ-UBND"),
        *BASE[1:],
    ]
    result = diff(make_catalog, BASE, new)
    assert result.changed == (FieldChange("1.001193", ("decision", "field"), True),)


def test_diff_changed_note_needs_no_reprint(make_catalog):
    header = (*COLUMNS, "note")
    new = [{**BASE[0], "note": "đã kiểm tra"}, *BASE[1:]]
    result = diff(make_catalog, BASE, new, header=header)
    assert result.changed == (FieldChange("1.001193", ("note",), False),)


def test_diff_changed_status_label_needs_no_reprint(make_catalog):
    old = [procedure_row("1.001193", effective_from="2026-01-01")]
    new = [procedure_row("1.001193", status="scheduled", effective_from="2026-01-01")]
    result = diff(make_catalog, old, new)
    assert result.changed == (FieldChange("1.001193", ("status",), False),)


def test_diff_replaced(make_catalog):
    new = [
        *BASE[:2],
        procedure_row(
            "1.000894", "Thủ tục đăng ký kết hôn", status="abolished", replaced_by="1.116900"
        ),
        procedure_row("1.116900", "Đăng ký kết hôn (mới)"),
    ]
    result = diff(make_catalog, BASE, new)
    assert [(p.code, p.state, p.replaced_by) for p in result.replaced] == [
        ("1.000894", "replaced", "1.116900")
    ]
    assert [p.code for p in result.added] == ["1.116900"]
    assert result.abolished == () and result.changed == () and result.removed == ()


def test_diff_replaced_by_another_successor(make_catalog):
    def rows(successor):
        return [
            procedure_row("1.000894", status="abolished", replaced_by=successor),
            procedure_row("1.116900"),
            procedure_row("1.116901"),
        ]

    result = diff(make_catalog, rows("1.116900"), rows("1.116901"))
    assert [(p.code, p.replaced_by) for p in result.replaced] == [("1.000894", "1.116901")]


def test_diff_abolished(make_catalog):
    new = [*BASE[:2], procedure_row("1.000894", "Thủ tục đăng ký kết hôn", status="abolished")]
    result = diff(make_catalog, BASE, new)
    assert [(p.code, p.state) for p in result.abolished] == [("1.000894", "abolished")]
    assert result.replaced == () and result.changed == () and result.removed == ()


def test_diff_new_codes_that_already_ended(make_catalog):
    new = [
        *BASE,
        procedure_row("2.001009", status="abolished"),
        procedure_row("1.001731", status="abolished", replaced_by="1.001193"),
    ]
    result = diff(make_catalog, BASE, new)
    assert [p.code for p in result.abolished] == ["2.001009"]
    assert [p.code for p in result.replaced] == ["1.001731"]
    assert result.added == ()


def test_diff_scheduled(make_catalog):
    new = [
        *BASE,
        procedure_row("1.001193", status="scheduled", effective_from="2027-03-01"),
        procedure_row("1.116907", status="scheduled", effective_from="2026-12-15"),
    ]
    result = diff(make_catalog, BASE, new)
    assert [(c.when, c.code, c.kind) for c in result.scheduled] == [
        (date(2026, 12, 15), "1.116907", "new"),
        (date(2027, 3, 1), "1.001193", "amended"),
    ]
    # nothing is in force yet: today's postings are untouched
    assert result.added == result.changed == ()


def test_diff_of_a_future_amendment_is_scheduled_not_changed(make_catalog):
    new = [
        *BASE,
        procedure_row(
            "1.001193", "Đăng ký khai sinh", status="scheduled", effective_from="2027-03-01"
        ),
    ]
    assert diff(make_catalog, BASE, new).changed == ()
    later = diff(make_catalog, BASE, new, when=date(2027, 3, 1))
    assert later.changed == (FieldChange("1.001193", ("effective_from", "name", "status"), True),)
    assert later.scheduled == ()


# ---------------------------------------------------------------------------------------------
# The command line


def plain(text: str) -> str:
    """CLI output without table borders and with white space folded, for word searches."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


@pytest.fixture
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.delenv("QRCHECK_LANG", raising=False)


def run(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as caught:
        cli.main(args)
    captured = capsys.readouterr()
    return caught.value.code, plain(captured.out), plain(captured.err)


def test_cli_diff(make_catalog, capsys, wide_terminal):
    old = make_catalog(BASE)
    new = make_catalog(
        [
            procedure_row("1.001193", "Đăng ký khai sinh"),
            procedure_row("1.000656", status="abolished", replaced_by="1.116910"),
            procedure_row("1.116910", "Hỗ trợ chi phí mai táng", formality_id=OTHER_FORMALITY_ID),
            procedure_row("2.001009", "Chứng thực", status="abolished"),
            procedure_row("1.116907", status="scheduled", effective_from="2026-12-15"),
        ]
    )
    code, out, err = run(
        ["catalog", "diff", str(old), str(new), "--as-of", "2026-11-27", "--lang", "en"], capsys
    )
    assert code == 0, err
    assert "Differences between the catalogs (as of 27/11/2026)" in out
    assert "added 1.116910 Hỗ trợ chi phí mai táng" in out
    assert "changed 1.001193 changed: name — reprint needed" in out
    assert "replaced 1.000656 replaced by 1.116910 Hỗ trợ chi phí mai táng" in out
    assert "abolished 2.001009 Chứng thực" in out
    assert "removed 1.000894 Thủ tục đăng ký kết hôn (missing from the new catalog" in out
    assert "scheduled 1.116907 15/12/2026: new procedure comes into force" in out
    assert "In all: 1 added, 1 changed, 1 replaced, 1 abolished, 1 removed, 1 scheduled." in out


def test_cli_diff_in_vietnamese_by_default(make_catalog, capsys, wide_terminal):
    old = make_catalog(BASE)
    new = make_catalog([*BASE[:2], procedure_row("1.000894", status="abolished")])
    code, out, _ = run(["catalog", "diff", str(old), str(new), "--as-of", "27/11/2026"], capsys)
    assert code == 0
    assert "Khác biệt giữa hai danh mục (tính đến ngày 27/11/2026)" in out
    assert "bãi bỏ 1.000894" in out
    assert "Tổng cộng: 0 thêm mới, 0 sửa đổi, 0 thay thế, 1 bãi bỏ" in out


def test_cli_diff_of_identical_catalogs(make_catalog, capsys, wide_terminal):
    old, new = make_catalog(BASE), make_catalog(BASE)
    args = ["catalog", "diff", str(old), str(new), "--as-of", "2026-11-27", "--lang", "en"]
    code, out, _ = run(args, capsys)
    assert code == 0
    assert out == "The two catalogs are the same (as of 27/11/2026)."


def test_cli_diff_refuses_an_invalid_catalog(make_catalog, capsys, wide_terminal):
    old, new = make_catalog(BASE), make_catalog([procedure_row(code="1.00119")])
    args = ["catalog", "diff", str(old), str(new), "--as-of", "2026-11-27", "--lang", "en"]
    code, out, err = run(args, capsys)
    assert code == 2
    assert "1.00119" in out  # the errors are listed
    assert "Error:" in err and "has errors and cannot be compared" in err


def test_cli_validate_valid(make_catalog, capsys, wide_terminal):
    rows = [*BASE, procedure_row("1.116907", status="scheduled", effective_from="2026-12-15")]
    folder = make_catalog(rows)
    args = ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27"]
    code, out, _ = run([*args, "--lang", "en"], capsys)
    assert code == 0
    assert (
        f"Catalog {folder / 'procedures.csv'} is valid: 4 rows; on 27/11/2026, 3 procedures in "
        "force and 0 abolished or replaced; 0 warnings." in out
    )
    assert "15/12/2026 1.116907 new procedure comes into force" in out

    code, out, _ = run(args, capsys)  # Vietnamese by default
    assert code == 0
    assert "hợp lệ: 4 dòng; ngày 27/11/2026 có 3 thủ tục đang hiệu lực" in out
    assert "15/12/2026 1.116907 thủ tục mới có hiệu lực" in out
    assert "is valid" not in out


def test_cli_validate_with_warnings_only_is_valid(make_catalog, capsys, wide_terminal):
    folder = make_catalog([procedure_row(formality_id="")])
    args = ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27"]
    code, out, _ = run([*args, "--lang", "en"], capsys)
    assert code == 0
    assert "procedures.csv:2 E (formality_id) warning No formalityId" in out
    assert "1 warnings." in out


def test_cli_validate_errors(make_catalog, capsys, wide_terminal):
    folder = make_catalog([procedure_row(effective_from="01/03/2027"), procedure_row(code="")])
    args = ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27"]
    code, out, _ = run([*args, "--lang", "en"], capsys)
    assert code == 1
    assert "procedures.csv:2 H (effective_from) error" in out
    assert 'Date "01/03/2027" is written day/month/year. Write 2027-03-01' in out
    assert "procedures.csv:3 A (code) error The procedure code is missing." in out
    assert "has 2 errors and 0 warnings" in out

    code, out, _ = run(args, capsys)
    assert code == 1
    assert "Hãy viết 2027-03-01" in out
    assert "có 2 lỗi và 0 cảnh báo" in out


def test_cli_validate_missing_folder(tmp_path, capsys, wide_terminal):
    missing = tmp_path / "nowhere"
    args = ["catalog", "validate", "--catalog", str(missing), "--as-of", "2026-11-27"]
    code, out, err = run([*args, "--lang", "en"], capsys)
    assert code == 2
    assert out == ""
    assert f"Error: Catalog {missing} not found." in err

    code, _, err = run(args, capsys)
    assert code == 2
    assert f"Lỗi: Không tìm thấy danh mục {missing}." in err


def test_cli_language_from_environment(make_catalog, capsys, wide_terminal, monkeypatch):
    folder = make_catalog(BASE)
    monkeypatch.setenv("QRCHECK_LANG", "en_US.UTF-8")
    code, out, _ = run(
        ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27"], capsys
    )
    assert code == 0 and "is valid" in out
    code, out, _ = run(
        ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27", "--lang=vi"],
        capsys,
    )
    assert code == 0 and "hợp lệ" in out


def test_cli_bad_as_of_date(make_catalog, capsys, wide_terminal):
    folder = make_catalog(BASE)
    args = ["catalog", "validate", "--catalog", str(folder), "--as-of", "31/02/2027"]
    code, _, err = run([*args, "--lang", "en"], capsys)
    assert code == 2
    assert '"31/02/2027" is not a valid date' in err


def test_cli_validate_bundled_catalog(bundled_catalog, capsys, wide_terminal):
    args = ["catalog", "validate", "--catalog", str(bundled_catalog), "--as-of", "2026-11-27"]
    code, out, _ = run([*args, "--lang", "en"], capsys)
    assert code == 0
    assert "98 rows; on 27/11/2026, 91 procedures in force and 4 abolished or replaced" in out
    assert "procedure replaced by 1.116907" in out


def test_cli_shows_square_brackets_in_messages(make_catalog, capsys, wide_terminal):
    folder = make_catalog(BASE, center="[center]\nprovince = 'Lâm Đồng'\n")
    args = ["catalog", "validate", "--catalog", str(folder), "--as-of", "2026-11-27"]
    code, _, err = run([*args, "--lang", "en"], capsys)
    assert code == 2
    assert 'add name = "..." under [center].' in err
