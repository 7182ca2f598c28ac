"""The message catalog: every sentence a user reads, in Vietnamese (default) and English.

Messages live in `vi.toml` and `en.toml` beside this file, under the same keys. Library code
never formats text: it returns keys and parameters, and the CLI or the web page calls `t()`.
"""

from __future__ import annotations

import os
import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


@cache
def messages(lang: str) -> dict[str, str]:
    """All messages of one language, flattened to dotted keys."""
    text = resources.files(__package__).joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(full, value)
            else:
                flat[full] = str(value)

    walk("", tomllib.loads(text))
    return flat


def resolve_language(requested: str | None = None) -> str:
    """The language to speak: the one asked for, else QRCHECK_LANG, else Vietnamese."""
    for candidate in (requested, os.environ.get("QRCHECK_LANG")):
        if candidate:
            code = candidate.strip().lower().split("_")[0].split("-")[0]
            if code in LANGUAGES:
                return code
    return DEFAULT_LANGUAGE


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """The message `key` in `lang`, with `params` filled in.

    A key missing from the catalog is a programming error, caught by the tests; at run time it
    falls back to English, then to the key itself, so a user still sees something useful.
    """
    code = resolve_language(lang)
    template = messages(code).get(key) or messages("en").get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def placeholders(template: str) -> set[str]:
    """The `{names}` a message template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
