"""What a generated code holds: the link, the version tag, and reading them back."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

import pytest
from conftest import BUNDLED_CENTER, FORMALITY_ID
from hypothesis import example, given
from hypothesis import strategies as st

from qrcheck.catalog.model import Row
from qrcheck.center import DEFAULT_CENTER, CenterSettings, load_center
from qrcheck.payload import (
    TAG_LENGTH,
    VERSION_FIELDS,
    build_payload,
    canonical_link,
    clean_text,
    legacy_version_tag,
    split_payload,
    version_tag,
)

CENTER = load_center(BUNDLED_CENTER)
NO_TAGS = CenterSettings(name="x", version_tag="none")
STABLE = CenterSettings(
    name="x", link_mode="stable", stable_template="https://qr.example.vn/p/{code}"
)
TAG_RE = re.compile(rf"[A-Z2-7]{{{TAG_LENGTH}}}")

KHAI_SINH = {
    "code": "1.001193",
    "name": "Thủ tục đăng ký khai sinh",
    "field": "Hộ tịch",
    "level": "Cấp xã",
    "formality_id": FORMALITY_ID,
}

# ---------------------------------------------------------------------------------------------
# Strategies

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)
VIETNAMESE += VIETNAMESE.upper() + "0123456789,.:;()/-"

words = st.lists(st.text(alphabet=VIETNAMESE, min_size=1, max_size=12), min_size=1, max_size=8)
names = words.map(" ".join)
whitespace = st.text(alphabet=" \t\n\r\u00a0\u3000", min_size=1, max_size=4)
any_text = st.text(max_size=40)
records = st.fixed_dictionaries({name: any_text for name in VERSION_FIELDS})
tags = st.from_regex(TAG_RE, fullmatch=True)

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,15}[a-z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.sampled_from(CENTER.official_domains),
    st.lists(label, min_size=2, max_size=4).map(".".join),
)
segments = st.text(max_size=15).map(lambda s: quote(s, safe=""))
paths = st.lists(segments, max_size=5).map(lambda parts: "".join("/" + p for p in parts))
queries = st.one_of(st.just(""), st.text(max_size=20).map(lambda s: "?" + quote(s, safe="=&")))
fragment_parts = st.text(max_size=15).map(lambda s: quote(s, safe="=/?:@!$'()*+,;"))
fragments = st.one_of(
    st.just(""),
    st.lists(fragment_parts.filter(lambda p: not p.startswith("v=")), min_size=1, max_size=4)
    .map("&".join)
    .filter(bool)
    .map(lambda f: "#" + f),
)


@st.composite
def https_links(draw: st.DrawFn) -> str:
    return f"https://{draw(hosts)}{draw(paths)}{draw(queries)}{draw(fragments)}"


# ---------------------------------------------------------------------------------------------
# canonical_link


def test_link_by_formality_id():
    link = canonical_link("1.001193", FORMALITY_ID, "", CENTER)
    assert link == f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{FORMALITY_ID}"


def test_explicit_url_wins():
    url = "https://dichvucong.lamdong.gov.vn/thu-tuc/1"
    assert canonical_link("1.001193", FORMALITY_ID, url, CENTER) == url


def test_search_link_when_no_formality_id():
    assert canonical_link("1.001193", "", "", CENTER) == (
        "https://dichvucong.gov.vn/tim-kiem-thu-tuc-hanh-chinh?keyword=1.001193"
    )


def test_stable_link_ignores_url_and_formality_id():
    url = "https://dichvucong.gov.vn/x"
    assert canonical_link("1.001193", FORMALITY_ID, url, STABLE) == (
        "https://qr.example.vn/p/1.001193"
    )


def test_link_values_are_quoted():
    assert canonical_link("1.001 193&x", "", "", CENTER).endswith("keyword=1.001%20193%26x")
    assert canonical_link("1.0", "a/b c", "", CENTER).endswith("/thu-tuc-hanh-chinh/a%2Fb%20c")


# ---------------------------------------------------------------------------------------------
# build_payload / split_payload


def test_payload_adds_the_tag_as_a_fragment():
    link = f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{FORMALITY_ID}"
    assert build_payload(link, "LSTNIU", CENTER) == link + "#v=LSTNIU"
    assert split_payload(link + "#v=LSTNIU") == (link, "LSTNIU")


def test_payload_keeps_an_existing_fragment():
    assert build_payload("https://a.gov.vn/x#top", "ABCDEF", CENTER) == (
        "https://a.gov.vn/x#top&v=ABCDEF"
    )
    assert split_payload("https://a.gov.vn/x#top&v=ABCDEF") == ("https://a.gov.vn/x#top", "ABCDEF")


def test_payload_without_tags():
    assert build_payload("https://a.gov.vn/x", "ABCDEF", NO_TAGS) == "https://a.gov.vn/x"
    assert build_payload("https://a.gov.vn/x", "", CENTER) == "https://a.gov.vn/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://a.gov.vn/x", ("https://a.gov.vn/x", None)),
        ("https://a.gov.vn/x#top", ("https://a.gov.vn/x#top", None)),
        ("https://a.gov.vn/x#v=", ("https://a.gov.vn/x", "")),
        ("https://a.gov.vn/x#v=AAAAAA&v=BBBBBB", ("https://a.gov.vn/x", "BBBBBB")),
        ("https://a.gov.vn/x#a&v=AAAAAA&b", ("https://a.gov.vn/x#a&b", "AAAAAA")),
        ("https://a.gov.vn/x?v=AAAAAA", ("https://a.gov.vn/x?v=AAAAAA", None)),
        ("not a link", ("not a link", None)),
        ("", ("", None)),
    ],
)
def test_split_payload(text, expected):
    assert split_payload(text) == expected


def test_empty_fragment_is_dropped():
    # "https://x/#" and "https://x/" are the same page; the payload keeps only the tag
    payload = build_payload("https://a.gov.vn/x#", "ABCDEF", CENTER)
    assert payload == "https://a.gov.vn/x#v=ABCDEF"
    assert split_payload(payload) == ("https://a.gov.vn/x", "ABCDEF")


@given(link=https_links(), tag=tags)
@example(link="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x", tag="AAAAAA")
@example(link="https://a.gov.vn/x?v=1#a&&b&", tag="234567")
def test_payload_round_trip(link, tag):
    payload = build_payload(link, tag, CENTER)
    assert split_payload(payload) == (link, tag)
    assert payload.startswith(link)
    assert urlsplit(payload).fragment.endswith(f"v={tag}")
    assert urlsplit(payload)[:4] == urlsplit(link)[:4]  # the page itself is unchanged


@given(link=https_links(), tag=tags)
def test_payload_round_trip_without_tags(link, tag):
    assert split_payload(build_payload(link, tag, NO_TAGS)) == (link, None)


# ---------------------------------------------------------------------------------------------
# version_tag


def test_version_tag_is_stable_across_releases():
    # printed postings carry these tags: changing the fingerprint would mark every one outdated
    assert version_tag(KHAI_SINH) == "KLCXJZ"
    # the formula until December 2026 (it also covered level, decision and date of effect):
    # postings printed then carry it, and it must keep being recognised
    assert legacy_version_tag(KHAI_SINH) == "LSTNIU"
    assert legacy_version_tag({}) == "57QXD5"


def test_the_tag_covers_only_what_a_posting_shows_or_links_to():
    unprinted = {"level": "Cấp tỉnh", "decision": "99/QĐ-UBND", "effective_from": "2027-01-01"}
    assert version_tag({**KHAI_SINH, **unprinted}) == version_tag(KHAI_SINH)
    for field in ("code", "name", "field", "formality_id", "url"):
        assert version_tag({**KHAI_SINH, field: "khác"}) != version_tag(KHAI_SINH), field


def test_version_tag_missing_fields_count_as_empty():
    assert version_tag({}) == version_tag(dict.fromkeys(VERSION_FIELDS, ""))
    assert version_tag({"code": "1.001193", "name": None}) == version_tag({"code": "1.001193"})  # type: ignore[dict-item]


def test_row_tag_is_the_version_tag_of_its_values():
    row = Row(2, {**KHAI_SINH, "status": "active", "note": "x"})
    assert row.tag == version_tag(KHAI_SINH) == "KLCXJZ"
    assert row.tags == ("KLCXJZ", "LSTNIU")


@given(record=records)
def test_version_tag_shape(record):
    assert TAG_RE.fullmatch(version_tag(record))


@given(
    name=names,
    gaps=st.lists(whitespace, min_size=9, max_size=9),
    form=st.sampled_from(["NFC", "NFD"]),
)
def test_version_tag_ignores_normalisation_and_spacing_of_the_name(name, gaps, form):
    record = {**KHAI_SINH, "name": name}
    respaced = gaps[0] + "".join(w + gaps[i + 1] for i, w in enumerate(name.split(" ")))
    variant = {**record, "name": unicodedata.normalize(form, respaced)}
    assert clean_text(variant["name"]) == unicodedata.normalize("NFC", name)
    assert version_tag(variant) == version_tag(record)


@given(name=names)
def test_version_tag_same_for_nfc_and_nfd_names(name):
    nfc = {**KHAI_SINH, "name": unicodedata.normalize("NFC", name)}
    nfd = {**KHAI_SINH, "name": unicodedata.normalize("NFD", name)}
    assert version_tag(nfc) == version_tag(nfd)


@given(record=records, field=st.sampled_from(VERSION_FIELDS), value=any_text)
def test_version_tag_changes_with_any_versioned_field(record, field, value):
    changed = {**record, field: value}
    if clean_text(value) == clean_text(record[field]):
        assert version_tag(changed) == version_tag(record)
    else:
        assert version_tag(changed) != version_tag(record)


@pytest.mark.parametrize("field", VERSION_FIELDS)
def test_each_versioned_field_counts(field):
    changed = {**KHAI_SINH, field: KHAI_SINH.get(field, "") + "1"}
    assert version_tag(changed) != version_tag(KHAI_SINH)


@given(
    record=records,
    extra=st.fixed_dictionaries(
        {
            "note": any_text,
            "source_url": any_text,
            "status": st.sampled_from(["active", "scheduled", "abolished", "", "x"]),
            "confidence": any_text,
            "replaced_by": any_text,
        }
    ),
)
def test_version_tag_ignores_provenance_and_status(record, extra):
    assert version_tag({**record, **extra}) == version_tag(record)


@given(text=st.text(max_size=40))
def test_clean_text_is_idempotent_and_nfc(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert once == once.strip() and "  " not in once


def test_default_center_makes_tagged_portal_links():
    assert DEFAULT_CENTER.link_mode == "portal" and DEFAULT_CENTER.version_tag == "fragment"
