"""The message catalogs: same keys and parameters in both languages, every key used exists."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import qrcheck
from qrcheck.i18n import DEFAULT_LANGUAGE, LANGUAGES, messages, placeholders, resolve_language, t

SOURCE_DIR = Path(qrcheck.__file__).resolve().parent
VI, EN = messages("vi"), messages("en")
ALL_KEYS = sorted(set(VI) | set(EN))

#: `section.name` as a string literal in the source: a message key, unless it is one of these.
DOTTED = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
FILE_SUFFIXES = {
    "csv",
    "toml",
    "json",
    "log",
    "txt",
    "py",
    "xlsx",
    "xls",
    "pdf",
    "png",
    "svg",
    "html",
}
#: Names of center.toml settings, passed as the {key} parameter of center.* messages.
SETTING_KEYS = {
    "links.mode",
    "links.version_tag",
    "boards.round_minutes",
    "domains.official",
    "domains.legacy",
    "domains.legacy_paths",
    "posting.paper",
    "posting.language",
    "posting.announce_days",
}
#: Keys built with an f-string (f"change.{kind}"), and every value the formatted part takes.
CHANGE_KINDS = ("new", "amended", "abolished", "replaced")
from qrcheck.board.results import ACTIONS  # noqa: E402
from qrcheck.links.verdict import STATUSES  # noqa: E402

FAMILIES = {
    "change": CHANGE_KINDS,
    "announce": CHANGE_KINDS,
    "reason": ("new", "changed", "layout", "missing_files", "forced"),
    # f"takedown.{state}" + ("" if printed here else "_catalog"); "removed" only printed here
    "takedown": ("abolished", "replaced", "removed", "abolished_catalog", "replaced_catalog"),
    "action": ACTIONS,
    # f"action_help.{action}": the action in plain words on the web result page
    "action_help": ACTIONS,
    "status": STATUSES,
    # f"cli.{key}" over the check table's column names
    "cli": ("col_photo", "col_position", "col_code", "col_grade", "col_status", "col_action"),
    # f"links.{key}" over the `qrcheck links` table's column names
    "links": ("col_code", "col_live", "col_http", "col_detail"),
}


def source_trees() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(SOURCE_DIR.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def literal_keys() -> dict[str, str]:
    """Every message key written as a string literal, with where it is first used."""
    found: dict[str, str] = {}
    for path, tree in source_trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            value = node.value
            if not DOTTED.fullmatch(value) or value in SETTING_KEYS:
                continue
            if value.rsplit(".", 1)[1] in FILE_SUFFIXES:
                continue
            found.setdefault(value, f"{path.relative_to(SOURCE_DIR.parent)}:{node.lineno}")
    return found


def fstring_families() -> dict[str, str]:
    """Sections of keys built as f"section.{...}", with where each is first used."""
    found: dict[str, str] = {}
    for path, tree in source_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and re.fullmatch(r"[a-z_]+\.", first.value):
                    where = f"{path.relative_to(SOURCE_DIR.parent)}:{node.lineno}"
                    found.setdefault(first.value[:-1], where)
    return found


# ---------------------------------------------------------------------------------------------
# The catalogs themselves


def test_both_languages_have_the_same_keys():
    assert sorted(set(VI) - set(EN)) == [], "only in vi.toml"
    assert sorted(set(EN) - set(VI)) == [], "only in en.toml"


@pytest.mark.parametrize("key", ALL_KEYS)
def test_same_placeholders_in_both_languages(key):
    assert placeholders(VI.get(key, "")) == placeholders(EN.get(key, ""))


@pytest.mark.parametrize("key", ALL_KEYS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_message_is_text_that_formats(key, lang):
    template = messages(lang)[key]
    assert template.strip() == template and template
    params = dict.fromkeys(placeholders(template), "XYZ")
    text = template.format(**params)  # no stray single brace
    assert "XYZ" in text or not params


def test_placeholders():
    assert placeholders("Mã {value} trùng dòng {first}.") == {"value", "first"}
    assert placeholders("cần {{code}} trong mẫu") == set()
    assert placeholders("") == set()


# ---------------------------------------------------------------------------------------------
# Every key the code uses exists


def test_the_source_scan_finds_keys():
    keys = literal_keys()
    for known in ("catalog.code_empty", "center.bad_choice", "cli.bad_date", "encoding.utf16"):
        assert known in keys
    assert len(keys) > 50
    assert "center.toml" not in keys and "posting.paper" not in keys


def test_every_literal_key_exists():
    missing = {k: where for k, where in literal_keys().items() if k not in VI or k not in EN}
    assert missing == {}


def test_every_fstring_key_family_is_known():
    unknown = {s: where for s, where in fstring_families().items() if s not in FAMILIES}
    assert unknown == {}, "add the family and its values to FAMILIES"


@pytest.mark.parametrize(
    "key", sorted(f"{section}.{value}" for section, values in FAMILIES.items() for value in values)
)
def test_every_fstring_key_exists(key):
    assert key in VI and key in EN


def test_change_kinds_take_the_successor():
    for key in ("change.replaced", "announce.replaced"):
        assert "successor" in placeholders(EN[key])


# ---------------------------------------------------------------------------------------------
# Choosing the language


@pytest.fixture
def no_lang_env(monkeypatch):
    monkeypatch.delenv("QRCHECK_LANG", raising=False)


def test_vietnamese_by_default(no_lang_env):
    assert DEFAULT_LANGUAGE == "vi"
    assert resolve_language() == "vi"
    assert resolve_language(None) == "vi"
    assert resolve_language("") == "vi"


def test_explicit_language(no_lang_env):
    assert resolve_language("en") == "en"
    assert resolve_language(" EN ") == "en"
    assert resolve_language("vi") == "vi"


@pytest.mark.parametrize("value", ["en", "EN", "en_US", "en_US.UTF-8", "en-GB"])
def test_language_from_environment(monkeypatch, value):
    monkeypatch.setenv("QRCHECK_LANG", value)
    assert resolve_language() == "en"
    assert resolve_language(None) == "en"


def test_explicit_language_wins_over_environment(monkeypatch):
    monkeypatch.setenv("QRCHECK_LANG", "en")
    assert resolve_language("vi") == "vi"
    monkeypatch.setenv("QRCHECK_LANG", "vi_VN.UTF-8")
    assert resolve_language("en") == "en"


def test_unknown_languages_fall_through(monkeypatch):
    monkeypatch.setenv("QRCHECK_LANG", "en")
    assert resolve_language("fr") == "en"  # unknown explicit choice: the environment decides
    monkeypatch.setenv("QRCHECK_LANG", "de_DE")
    assert resolve_language("fr") == "vi"
    assert resolve_language() == "vi"


def test_t_speaks_the_chosen_language(monkeypatch):
    monkeypatch.delenv("QRCHECK_LANG", raising=False)
    assert t("diff.added") == "thêm mới"
    assert t("diff.added", "en") == "added"
    monkeypatch.setenv("QRCHECK_LANG", "en")
    assert t("diff.added") == "added"
    assert t("diff.added", "vi") == "thêm mới"


def test_t_fills_parameters():
    assert t("catalog.code_malformed", "en", value="1-001193") == (
        'Code "1-001193" is malformed. A procedure code is one digit, a dot and six digits, '
        "e.g. 1.001193."
    )
    assert "{code}" in t("center.stable_needs_template", "en", path="center.toml")


def test_t_never_fails():
    assert t("no.such_key", "vi") == "no.such_key"
    # a missing parameter leaves the template as it is rather than raising
    assert t("catalog.code_malformed", "en") == EN["catalog.code_malformed"]
