"""Catalog verdicts (offline) with the bundled catalog, and the URL parser/normaliser."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qrcheck.catalog.load import load_catalog
from qrcheck.i18n import messages, placeholders, t
from qrcheck.links.verdict import STATUSES, describe, judge, since_key
from qrcheck.urls import normalise, parse_link

REPO = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(REPO / "catalog")
CENTER = CATALOG.center
TODAY = date(2026, 11, 27)
VIEW = CATALOG.as_of(TODAY)
BIRTH = VIEW.procedures["1.001193"]
DEATH = VIEW.procedures["1.000656"]
PORTAL = "https://dichvucong.gov.vn"
OLD = PORTAL + "/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"

CASES = [
    # (text, status, procedure, detail key, action-relevant note)
    (BIRTH.payload, "current", "1.001193", "verdict.current"),
    (BIRTH.link, "current", "1.001193", "verdict.current_untagged"),
    (BIRTH.link.upper().replace("HTTPS", "https") + "/#v=" + BIRTH.tag, "current", "1.001193",
     "verdict.current"),
    ("HTTPS://DichVuCong.GOV.vn:443" + BIRTH.link[len(PORTAL):] + "/?utm_source=zalo&zarsrc=31"
     "&fbclid=abc#v=" + BIRTH.tag, "current", "1.001193", "verdict.current"),
    (BIRTH.link.replace("-", "%2D") + "#v=" + BIRTH.tag, "current", "1.001193", "verdict.current"),
    ("https://xn--dichvucong-xyz.gov.vn/x".replace("xn--dichvucong-xyz", "dichvucong"), "unknown",
     None, "verdict.unknown"),
    (f"{BIRTH.link}#v=ZZZZZZ", "outdated", "1.001193", "links.outdated"),
    (VIEW.procedures["2.002621"].payload, "abolished", "2.002621",
     "links.abolished_decision_date"),
    (VIEW.procedures["2.001009"].payload, "abolished", "2.001009", "links.abolished_decision"),
    (VIEW.procedures["1.001731"].payload, "replaced", "1.001731", "links.replaced"),
    (VIEW.procedures["2.002622"].payload, "replaced", "2.002622",
     "links.replaced_decision_date"),
    (OLD + "?ma_thu_tuc=1.000656", "legacy", "1.000656", "verdict.legacy"),
    (OLD + "?ma_thu_tuc=9.999999", "legacy", None, "verdict.legacy_unknown"),
    ("https://dichvucong.daknong.gov.vn/thu-tuc/1.000656", "legacy", "1.000656",
     "verdict.legacy"),
    ("http://VPCP.dichvucong.gov.vn/p/home/x.html?ma_thu_tuc=1.000656", "legacy", "1.000656",
     "verdict.legacy"),
    (PORTAL + "/tim-kiem-thu-tuc-hanh-chinh?keyword=1.000656", "current", "1.000656",
     "links.current_other_form"),
    ("https://dichvucong.lamdong.gov.vn/vi/procedure/detail?code=1.000656", "current",
     "1.000656", "links.current_other_form"),
    (PORTAL + "/thu-tuc-hanh-chinh/00000000-0000-0000-0000-000000000000", "unknown", None,
     "verdict.unknown"),
    ("https://dichvucong-gov.vn/thu-tuc-hanh-chinh/x", "foreign", None,
     "links.foreign_lookalike"),
    ("https://dichvucong.gov.vn.example.com/thu-tuc-hanh-chinh/x", "foreign", None,
     "links.foreign_lookalike"),
    ("https://dichvucong-gov.vn.thanhtoan-phi.com/p/1.001193", "foreign", None,
     "links.foreign_lookalike"),
    ("https://dichvucоng.gov.vn/x", "foreign", None, "links.foreign_homoglyph"),  # Cyrillic о
    ("https://xn--dichvucng-62h.gov.vn/x", "foreign", None, "links.foreign_homoglyph"),
    ("https://dichvucong.gov.vn@evil.example/x", "foreign", None, "links.foreign_userinfo"),
    ("https://bit.ly/3abcde", "foreign", None, "links.foreign_shortener"),
    ("https://tinyurl.com/abc", "foreign", None, "links.foreign_shortener"),
    ("https://goo.gl/abc", "foreign", None, "links.foreign_shortener"),
    ("https://s.id/abc", "foreign", None, "links.foreign_shortener"),
    ("https://example.com/fake", "foreign", None, "verdict.foreign"),
    ("https://moj.gov.vn/", "foreign", None, "verdict.foreign"),
    ("WIFI:S:center;T:WPA;P:secret;;", "not_a_link", None, "verdict.not_a_link"),
    ("javascript:alert(1)", "not_a_link", None, "verdict.not_a_link"),
    ("http://[bad", "not_a_link", None, "verdict.not_a_link"),
    (None, "unreadable", None, "verdict.unreadable"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "status", "code", "key"), CASES)
def test_catalog_verdicts(text, status, code, key) -> None:
    verdict = judge(text, VIEW, CENTER)
    assert (verdict.status, verdict.procedure, verdict.detail_key) == (status, code, key)
    for lang in ("vi", "en"):
        sentence = describe(verdict, lang)
        assert sentence.endswith(".") and "{" not in sentence, sentence


def test_every_catalog_status_is_covered() -> None:
    covered = {status for _, status, _, _ in CASES}
    assert covered == set(STATUSES) - {"dead"}  # dead comes from the live check only


def test_replaced_names_successor_and_decision() -> None:
    verdict = judge(VIEW.procedures["2.002622"].payload, VIEW, CENTER)
    sentence = describe(verdict, "vi")
    assert "2.002913" in sentence and "3582/QĐ-UBND" in sentence and "08/09/2026" in sentence
    assert sentence.startswith("Thủ tục 2.002622 đã được thay thế bởi 2.002913")


def test_outdated_says_what_changed_and_since_when() -> None:
    rows = list(CATALOG.rows)
    old = next(r for r in rows if r.code == "2.002913")
    printed = replace(old, values={**old.values, "name": "Tên cũ", "decision": ""})
    proc = VIEW.procedures["2.002913"]
    verdict = judge(f"{proc.link}#v={printed.tag}", VIEW, CENTER, history=[*rows, printed])
    assert verdict.status == "outdated"
    assert verdict.detail_key.startswith("links.outdated_fields_decision")
    # the decision differs too, but no posting prints it: only the name is said
    assert "(khác ở: tên thủ tục)" in describe(verdict, "vi")
    assert "quyết định công bố" not in describe(verdict, "vi")
    assert "(differs in: procedure name)" in describe(verdict, "en")


def test_a_re_announcement_that_changes_nothing_printed_keeps_postings_current() -> None:
    """Issue 16: the province re-announces the list under a new decision (and level, date)
    without changing what is printed. Postings printed before, with today's tag formula or the
    earlier one (which covered the decision), stay current; a changed name is still outdated,
    and the sentence names the printed field that changed."""
    from qrcheck.payload import legacy_version_tag

    rows = list(CATALOG.rows)
    now = next(r for r in rows if r.code == "2.002913")
    proc = VIEW.procedures["2.002913"]
    announced = {"decision": "1/QĐ-UBND ngày 01/01/2026", "level": "Cấp tỉnh",
                 "effective_from": "2026-01-01"}  # fmt: skip
    earlier = replace(now, values={**now.values, **announced})
    history = [*rows, earlier]
    for tag in (earlier.tag, legacy_version_tag(earlier.values), legacy_version_tag(now.values)):
        verdict = judge(f"{proc.link}#v={tag}", VIEW, CENTER, history=history)
        assert verdict.status == "current", tag
    renamed = replace(earlier, values={**earlier.values, "name": "Tên cũ"})
    old_tag = legacy_version_tag(renamed.values)
    verdict = judge(f"{proc.link}#v={old_tag}", VIEW, CENTER, history=[*rows, renamed])
    assert verdict.status == "outdated"
    assert "(khác ở: tên thủ tục)" in describe(verdict, "vi")
    unknown = judge(f"{proc.link}#v=AAAAAA", VIEW, CENTER, history=history)
    assert unknown.status == "outdated"


@pytest.mark.parametrize(
    ("as_of", "code", "key", "date_text"),
    [
        (date(2026, 12, 1), "2.000286", "links.changing_replaced", "15/12/2026"),
    ],
)
def test_changes_within_30_days_are_announced(as_of, code, key, date_text) -> None:
    view = CATALOG.as_of(as_of)
    verdict = judge(view.procedures[code].payload, view, CENTER)
    assert (verdict.status, verdict.detail_key) == ("current", "verdict.current_changing")
    assert verdict.detail_params["kind"] == key.rsplit("_", 1)[1]
    assert date_text in describe(verdict, "vi")
    assert describe(verdict, "en") == t(key, "en", **verdict.detail_params)
    far = CATALOG.as_of(date(2026, 10, 1))
    assert judge(far.procedures[code].payload, far, CENTER).detail_key == "verdict.current"


def test_an_amendment_of_nothing_printed_is_not_announced() -> None:
    """1.001193's scheduled row (01/03/2027) changes only its date of effect: no posting needs
    printing for it, so the check does not say "chuẩn bị in lại"."""
    view = CATALOG.as_of(date(2027, 2, 10))
    verdict = judge(view.procedures["1.001193"].payload, view, CENTER)
    assert (verdict.status, verdict.detail_key) == ("current", "verdict.current")
    assert [c.printed for c in view.upcoming if c.code == "1.001193"] == [False]


def test_stable_links_of_the_center() -> None:
    stable = replace(CENTER, link_mode="stable", stable_template="https://qr.example.vn/p/{code}")
    view = load_catalog(REPO / "catalog", stable).as_of(TODAY)
    assert judge(view.procedures["1.001193"].payload, view, stable).status == "current"
    verdict = judge("https://QR.example.vn/p/1.000656/", view, stable)
    assert (verdict.status, verdict.procedure) == ("current", "1.000656")
    assert judge("https://qr.example.vn/p/9.999999", view, stable).status == "unknown"
    assert judge("https://qr.example.vn/p/1.001731", view, stable).status == "replaced"


def test_every_since_variant_exists_in_both_languages() -> None:
    bases = ("links.abolished", "links.replaced", "links.outdated", "links.outdated_fields")
    for base in bases:
        for decision, day in (("", ""), ("d", ""), ("", "x"), ("d", "x")):
            key = since_key(base, decision, day)
            for lang in ("vi", "en"):
                assert key in messages(lang)
            wanted = {"decision"} if decision else set()
            wanted |= {"date"} if day else set()
            assert wanted <= placeholders(messages("en")[key])


# ---------------------------------------------------------------------------------------------
# the parser and normaliser


def test_normalisation() -> None:
    assert normalise("HTTPS://DichVuCong.Gov.VN:443/a%7eb//c/?utm_x=1&b=%C3%A1#v=ABCDEF") == (
        "https://dichvucong.gov.vn/a~b/c?b=%C3%A1#v=ABCDEF"
    )
    assert normalise("http://Example.COM:80") == "http://example.com/"
    assert normalise("http://example.com:8080/x") == "http://example.com:8080/x"
    idn = normalise("https://DỊCHVỤCÔNG.vn/")
    assert idn == "https://xn--dchvcng-x0a0689dsha.vn/" == normalise(idn)
    assert parse_link(idn).display_host == "dịchvụcông.vn"
    assert normalise("https://a.vn/?zarsrc=1&gidzl=x&fbclid=y&utm_campaign=z") == "https://a.vn/"
    assert normalise("https://a.vn/x#v=not-a-tag") == "https://a.vn/x"
    assert normalise("not a link") is None and normalise("mailto:a@b.vn") is None
    parsed = parse_link("  https://a.vn/x#v=ABCDEF  ")
    assert parsed is not None and parsed.tag == "ABCDEF" and parsed.url == "https://a.vn/x"


URLISH = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP", "hTTps", "ftp", ""]),
    st.one_of(
        st.sampled_from(["dichvucong.gov.vn", "DICHVUCONG.gov.vn.", "xn--dichvucng-62h.gov.vn"]),
        st.text(min_size=0, max_size=20),
    ),
    st.sampled_from(["", ":443", ":80", ":8080", ":0", ":99999", ":x"]),
    st.text(max_size=30).map(lambda s: "/" + s),
    st.one_of(st.just(""), st.text(max_size=30).map(lambda s: "?" + s)),
    st.one_of(st.just(""), st.text(max_size=12).map(lambda s: "#" + s), st.just("#v=ABCDEF")),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), URLISH))
@example("https://a.vn/%")
@example("https://a.vn/%ZZ%E2%82?x=%FF#%")
@example("http://[::1]:80/")
@example("https://user@dichvucong.gov.vn/x")
@example("http://6../")  # a name, not the address 0.0.0.6: the dots stay
@example("https:///evil.example0x7f.1..")  # "x.1." is a name, "x.1" an invalid IPv4 address
@example("https://evil.example\\@dichvucong.gov.vn/x")
def test_parser_never_crashes_and_normalising_is_idempotent(text: str) -> None:
    once = normalise(text)
    if once is not None:
        assert normalise(once) == once
        assert parse_link(once) is not None
    verdict = judge(text, VIEW, CENTER)
    assert verdict.status in STATUSES
