"""The catalog verdict on a decoded text: current, outdated, replaced, abolished, legacy, foreign...

Offline and pure: it compares the text with the catalog as of a date. Recognised link forms: the
portal page by formalityId, the portal search by code, the old code-based portal pages (legacy),
legacy domains, the center's stable links, and a posting's own `url`. Anything on a host outside
the official domains is `foreign`: a possible fake sticker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from qrcheck.catalog import CatalogView, Procedure
from qrcheck.center import CenterSettings
from qrcheck.payload import split_payload

STATUSES = (
    "current",
    "outdated",
    "replaced",
    "abolished",
    "legacy",
    "foreign",
    "unknown",
    "dead",
    "not_a_link",
    "unreadable",
)
CODE_RE = re.compile(r"\b(\d\.\d{6})\b")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class Verdict:
    """What a decoded text means; `detail` is a message key with its parameters."""

    status: str
    procedure: str | None = None
    detail_key: str = ""
    detail_params: dict[str, object] = field(default_factory=dict)
    tag: str | None = None


def judge(text: str | None, view: CatalogView, center: CenterSettings) -> Verdict:
    """The catalog verdict for one decoded text (None: the code could not be read)."""
    if text is None:
        return Verdict("unreadable", detail_key="verdict.unreadable")
    link, tag = split_payload(text.strip())
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return Verdict("not_a_link", detail_key="verdict.not_a_link")
    if parts.scheme.lower() not in ("http", "https") or not host:
        return Verdict("not_a_link", detail_key="verdict.not_a_link")

    legacy_host = center.host_is_legacy(host)
    if not legacy_host and not center.host_is_official(host):
        return Verdict("foreign", detail_key="verdict.foreign", detail_params={"host": host})

    proc = _find(link, parts.path, parts.query, view, center)
    legacy_form = legacy_host or any(p in parts.path for p in center.legacy_paths)
    if proc is None:
        if legacy_form:
            return Verdict(
                "legacy", detail_key="verdict.legacy_unknown", detail_params={"host": host}
            )
        return Verdict("unknown", detail_key="verdict.unknown", detail_params={"host": host})
    code = proc.code
    if proc.state == "abolished":
        return Verdict("abolished", code, "verdict.abolished", {"code": code}, tag)
    if proc.state == "replaced":
        successor = view.procedures.get(proc.replaced_by)
        params = {
            "code": code,
            "successor": proc.replaced_by,
            "name": successor.name if successor else "",
        }
        return Verdict("replaced", code, "verdict.replaced", params, tag)
    if legacy_form or _stripped(link) != _stripped(proc.link):
        return Verdict("legacy", code, "verdict.legacy", {"code": code, "link": proc.link}, tag)
    if tag is not None and tag != proc.tag:
        return Verdict(
            "outdated",
            code,
            "verdict.outdated",
            {"code": code, "tag": tag, "current": proc.tag},
            tag,
        )
    changes = [c for c in view.upcoming_within(center.announce_days) if c.code == code]
    if changes:
        change = changes[0]
        params = {"code": code, "date": change.when.strftime("%d/%m/%Y"), "kind": change.kind}
        return Verdict("current", code, "verdict.current_changing", params, tag)
    if tag is None and center.version_tag != "none":
        return Verdict("current", code, "verdict.current_untagged", {"code": code}, tag)
    return Verdict("current", code, "verdict.current", {"code": code}, tag)


def _stripped(link: str) -> str:
    parts = urlsplit(link)
    path = unquote(parts.path).rstrip("/")
    return f"{parts.hostname or ''}{path}?{parts.query}".lower()


def _find(
    link: str, path: str, query: str, view: CatalogView, center: CenterSettings
) -> Procedure | None:
    """The procedure a link designates, by its exact link, formalityId or code."""
    wanted = _stripped(link)
    for proc in view.procedures.values():
        if _stripped(proc.link) == wanted:
            return proc
    ids = UUID_RE.findall(path) + UUID_RE.findall(query)
    for proc in view.procedures.values():
        if proc.formality_id and proc.formality_id.lower() in (i.lower() for i in ids):
            return proc
    params = parse_qs(query)
    candidates = [
        v for key in ("ma_thu_tuc", "keyword", "maTTHC", "code") for v in params.get(key, [])
    ]
    candidates += CODE_RE.findall(unquote(path))
    for value in candidates:
        match = CODE_RE.search(value)
        if match and match.group(1) in view.procedures:
            return view.procedures[match.group(1)]
    return None
