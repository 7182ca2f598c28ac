"""The catalog verdict on a decoded text: current, outdated, replaced, abolished, legacy, foreign...

Offline and pure: it compares the text with the catalog as of a date.

1. The decoded text is read as a link the way a phone's browser reads it (`qrcheck.urls`).
2. `judge` recognises the link forms a posting may carry: the portal page by formalityId, the
   portal search by code, the old code-based portal pages and pre-merger provincial portals
   (legacy), the center's stable links `https://CENTER/p/CODE`, a catalog row's own `url`, and
   codes printed by others (an official host whose link names a catalog code some other way).
3. Anything outside the official domains is `foreign`: a possible fake sticker. Lookalikes of an
   official address (`dichvucong-gov.vn`, `dichvucong.gov.vn.example.com`, homoglyphs hidden in
   punycode, `https://dichvucong.gov.vn@evil.example/`) and URL shorteners get a detail saying
   that they imitate or hide an official address.
4. A text that a browser opens on another host than it seems to name
   (`https://evil.example\\@dichvucong.gov.vn/...`), that is written in a way no posting is
   (`https:dichvucong.gov.vn/...`), that carries a user name or password (`user@host`), or
   whose official page carries another address to forward to (`?to=https://evil.example`) is
   `foreign` too, whatever host it names.

Details are message keys with parameters (`links.*` and `verdict.*` in qrcheck/i18n).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

from qrcheck.catalog.model import CatalogView, Procedure, Row
from qrcheck.center import CenterSettings
from qrcheck.payload import VERSION_FIELDS, legacy_version_tag
from qrcheck.urls import (
    CODE_PARAMS,
    ParsedLink,
    disguised,
    imitated_domain,
    parse_link,
)

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
CODE_RE = re.compile(r"(?<![\d.])(\d\.\d{6})(?![\d])")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


# ---------------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True)
class Verdict:
    """What a decoded text means; `detail` is a message key with its parameters."""

    status: str
    procedure: str | None = None
    detail_key: str = ""
    detail_params: dict[str, object] = field(default_factory=dict)
    tag: str | None = None
    #: the normalised link (None when the text is no link)
    link: str | None = None
    #: how the link designates its procedure: "exact", "portal", "search", "stable",
    #: "old_page", "legacy_domain", "other" (a code found elsewhere in an official link)
    form: str = ""


FIELD_KEYS = {
    "code": "links.field_code",
    "name": "links.field_name",
    "field": "links.field_field",
    "level": "links.field_level",
    "formality_id": "links.field_formality_id",
    "url": "links.field_url",
    "decision": "links.field_decision",
    "effective_from": "links.field_effective_from",
}
CHANGING_KEYS = {
    "amended": "links.changing_amended",
    "abolished": "links.changing_abolished",
    "replaced": "links.changing_replaced",
    "new": "links.changing_amended",
}


def fmt_day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def since_key(base: str, decision: str, day: str) -> str:
    """`base` with the suffix saying which of decision and date the message can name."""
    if decision and day:
        return base + "_decision_date"
    if decision:
        return base + "_decision"
    if day:
        return base + "_date"
    return base


def judge(
    text: str | None,
    view: CatalogView,
    center: CenterSettings,
    history: Iterable[Row] = (),
) -> Verdict:
    """The catalog verdict for one decoded text (None: the code could not be read).

    `history`: the catalog's rows, when known, so that an outdated posting can say which fields
    changed since the version it was printed from.
    """
    if text is None:
        return Verdict("unreadable", detail_key="verdict.unreadable")
    parsed = parse_link(text)
    if parsed is None:
        return Verdict("not_a_link", detail_key="verdict.not_a_link")
    link = parsed.url
    host = parsed.host
    shown = parsed.display_host

    disguise = disguised(parsed, center)
    if disguise is not None:
        key, params = disguise
        form = key.rsplit("_", 1)[1]
        return Verdict("foreign", None, key, params, parsed.tag, link, form)
    legacy_host = center.host_is_legacy(host)
    if not legacy_host and not center.host_is_official(host):
        imitation = imitated_domain(parsed, center)
        params: dict[str, object] = {"host": shown}
        if imitation is None:
            return Verdict("foreign", None, "verdict.foreign", params, parsed.tag, link)
        how, domain = imitation
        params["official"] = domain
        key = {
            "shortener": "links.foreign_shortener",
            "homoglyph": "links.foreign_homoglyph",
            "userinfo": "links.foreign_userinfo",
            "lookalike": "links.foreign_lookalike",
        }[how]
        if how == "homoglyph":
            params["ascii"] = host
        return Verdict("foreign", None, key, params, parsed.tag, link, how)

    proc, form = find_procedure(parsed, view, center)
    if legacy_host:
        form = "legacy_domain"
    elif any(p.lower() in parsed.path.lower() for p in center.legacy_paths):
        form = "old_page"
    tag = parsed.tag

    def verdict(status: str, key: str, **params: object) -> Verdict:
        return Verdict(status, proc.code if proc else None, key, params, tag, link, form)

    if proc is None:
        if form in ("legacy_domain", "old_page"):
            return verdict("legacy", "verdict.legacy_unknown", host=shown)
        return verdict("unknown", "verdict.unknown", host=shown)
    code = proc.code
    if proc.state == "abolished":
        decision, day = proc.decision, fmt_day(proc.effective_from)
        return verdict(
            "abolished",
            since_key("links.abolished", decision, day),
            code=code,
            name=proc.name,
            decision=decision,
            date=day,
        )
    if proc.state == "replaced":
        successor = view.procedures.get(proc.replaced_by)
        decision = proc.decision or (successor.decision if successor else "")
        when = proc.effective_from or (successor.effective_from if successor else None)
        day = fmt_day(when)
        return verdict(
            "replaced",
            since_key("links.replaced", decision, day),
            code=code,
            successor=proc.replaced_by,
            name=successor.name if successor else "",
            decision=decision,
            date=day,
        )
    if form in ("legacy_domain", "old_page"):
        return verdict("legacy", "verdict.legacy", code=code, link=proc.link)
    if tag is not None and tag != proc.tag and not _shows_the_same(proc, tag, history):
        decision, day = proc.decision, fmt_day(proc.effective_from)
        params: dict[str, str] = {
            "code": code,
            "tag": tag,
            "current": proc.tag,
            "decision": decision,
            "date": day,
        }
        changed = _changed_fields(proc, tag, history)
        if changed:  # say which fields changed when the printed row is known
            key = since_key("links.outdated_fields", decision, day)
            return verdict("outdated", key, **params, fields=changed)
        return verdict("outdated", since_key("links.outdated", decision, day), **params)
    changes = [c for c in view.upcoming_within(center.announce_days) if c.code == code]
    if changes:
        change = changes[0]
        # the key stays verdict.current_changing; `describe` words it by the kind of change
        return verdict(
            "current",
            "verdict.current_changing",
            code=code,
            kind=change.kind,
            date=fmt_day(change.when),
            successor=change.successor,
            days=(change.when - view.as_of).days,
        )
    if form not in ("exact", "stable") and _key(proc.link) != parsed.key:
        return verdict("current", "links.current_other_form", code=code, link=proc.link)
    if tag is None and center.version_tag != "none":
        return verdict("current", "verdict.current_untagged", code=code)
    return verdict("current", "verdict.current", code=code)


def _key(link: str) -> str | None:
    parsed = parse_link(link)
    return parsed.key if parsed else None


def _first(entry: tuple[int, Procedure]) -> int:
    return entry[0]


def _printed_row(proc: Procedure, tag: str, history: Iterable[Row]) -> Row | None:
    """The catalog row (current or earlier version) a posting with `tag` was printed from,
    by today's tag or the tag earlier qrcheck versions made (None when unknown)."""
    for row in history:
        if row.code == proc.code and tag in row.tags:
            return row
    return None


def _shows_the_same(proc: Procedure, tag: str, history: Iterable[Row]) -> bool:
    """A posting with an older tag that shows and links to what the current record does (the
    record changed only in what no posting prints, or the tag is of an earlier formula)."""
    if tag == legacy_version_tag(proc.values):
        return True
    row = _printed_row(proc, tag, history)
    return row is not None and all(row.get(f) == proc.values.get(f, "") for f in VERSION_FIELDS)


def _changed_fields(proc: Procedure, tag: str, history: Iterable[Row]) -> str:
    """The printed fields that differ from the row the posting was printed from ('' unknown)."""
    row = _printed_row(proc, tag, history)
    if row is None:
        return ""
    return ", ".join(f for f in VERSION_FIELDS if row.get(f) != proc.values.get(f, ""))


def find_procedure(
    parsed: ParsedLink, view: CatalogView, center: CenterSettings
) -> tuple[Procedure | None, str]:
    """The procedure a link designates and the form by which it does (see Verdict.form)."""
    exact = view.by_link.get(parsed.key)
    if exact is not None:
        return exact, "exact"
    stable = _stable_code(parsed, center)
    if stable is not None:
        return view.procedures.get(stable), "stable"
    ids = {i.lower() for i in UUID_RE.findall(parsed.path)}
    ids |= {i.lower() for v in parsed.param("formalityId", "formality_id", "id") for i in [v]}
    found = sorted((view.by_formality_id[i] for i in ids if i in view.by_formality_id), key=_first)
    if found:
        return found[0][1], "portal"
    for value in parsed.param(*CODE_PARAMS):
        match = CODE_RE.search(value)
        if match and match.group(1) in view.procedures:
            return view.procedures[match.group(1)], "search"
    for match in CODE_RE.finditer(unquote(parsed.path)):
        if match.group(1) in view.procedures:
            return view.procedures[match.group(1)], "other"
    return None, "other"


def _stable_code(parsed: ParsedLink, center: CenterSettings) -> str | None:
    """The code of a center stable link `https://CENTER/p/CODE`, when the center has them."""
    template = center.stable_template
    if not template or "{code}" not in template:
        return None
    sample = parse_link(template.replace("{code}", "0.000000"))
    if sample is None or sample.host != parsed.host:
        return None
    pattern = re.escape(sample.path).replace(re.escape("0.000000"), r"(\d\.\d{6})")
    match = re.fullmatch(pattern, parsed.path)
    return match.group(1) if match else None


def describe(verdict: Verdict, lang: str) -> str:
    """The verdict's detail as a sentence in `lang` ('' when it has none)."""
    from qrcheck.i18n import t

    if not verdict.detail_key:
        return ""
    params = dict(verdict.detail_params)
    key = verdict.detail_key
    if key == "verdict.identified":  # named from its printed text: say on what that rests
        from qrcheck.vision.identify import Identification

        found = Identification(
            str(params.get("code") or "") or None,
            float(params.get("confidence") or 0.0),  # type: ignore[arg-type]
            str(params.get("basis", "")),
            str(params.get("read", "")),
        )
        evidence_key, evidence_params = found.evidence()
        params["evidence"] = t(evidence_key, lang, **evidence_params)
    if key == "verdict.current_changing" and params.get("kind") in CHANGING_KEYS:
        key = CHANGING_KEYS[str(params["kind"])]
    if params.get("fields"):
        names = str(params["fields"]).split(", ")
        params["fields"] = ", ".join(t(FIELD_KEYS.get(f, f), lang) for f in names if f)
    return t(key, lang, **params)
