"""The text a generated code holds: a procedure's link plus the version tag of its record.

Pure functions only. The version tag is a short fingerprint of the catalog record the posting
was printed from, carried as a URL fragment (`#v=TAG`): browsers never send fragments to the
server, so the tag costs the citizen nothing, while a photo alone tells whether a posting
predates a change of its record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote

from qrcheck.center import CenterSettings

#: The record fields that make up a posting's version: what the posting shows (code, name,
#: field) or links to (formalityId, url). The level, the decision that announced the record and
#: its date of effect are not printed: when the province re-announces a list under a new
#: decision without changing what a posting shows, the postings on the walls stay current.
#: Provenance columns (source, note, confidence) and the status are left out too.
VERSION_FIELDS = ("code", "name", "field", "formality_id", "url")
#: The fields the tag covered until qrcheck 0.x of December 2026. Postings printed then carry
#: such tags: `legacy_version_tag` recognises them (a tag is current when the record it was
#: made from shows what the current record shows).
LEGACY_VERSION_FIELDS = (
    "code",
    "name",
    "field",
    "level",
    "formality_id",
    "url",
    "decision",
    "effective_from",
)
TAG_LENGTH = 6


def clean_text(value: str) -> str:
    """NFC-normalised text with runs of white space folded to one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def version_tag(fields: Mapping[str, str], names: tuple[str, ...] = VERSION_FIELDS) -> str:
    """A 6-character tag (base32, 30 bits) that changes whenever a versioned field changes."""
    canonical = json.dumps(
        {name: clean_text(fields.get(name, "") or "") for name in names},
        ensure_ascii=False,
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii")[:TAG_LENGTH]


def legacy_version_tag(fields: Mapping[str, str]) -> str:
    """The tag the same record got before the tag covered printed fields only."""
    return version_tag(fields, LEGACY_VERSION_FIELDS)


def canonical_link(code: str, formality_id: str, url: str, center: CenterSettings) -> str:
    """The link a posting of this procedure should carry (without version tag).

    Stable mode: the center's own redirecting link. Portal mode: an explicit `url` wins, then
    the portal page by formalityId, then a search by code on the portal.
    """
    if center.link_mode == "stable":
        return center.stable_template.format(code=quote(code, safe="."))
    if url:
        return url
    if formality_id:
        return center.portal_template.format(formality_id=quote(formality_id, safe="-"))
    return center.search_template.format(code=quote(code, safe="."))


def build_payload(link: str, tag: str, center: CenterSettings) -> str:
    """The link with the version tag added as a fragment (unless the center turned tags off)."""
    if center.version_tag == "none" or not tag:
        return link
    base, sep, fragment = link.partition("#")
    if sep and fragment:
        return f"{base}#{fragment}&v={tag}"
    return f"{base}#v={tag}"


def split_payload(text: str) -> tuple[str, str | None]:
    """Split decoded text into (link without the version tag, tag or None)."""
    base, sep, fragment = text.partition("#")
    if not sep:
        return text, None
    parts = fragment.split("&")
    tags = [p[2:] for p in parts if p.startswith("v=")]
    rest = [p for p in parts if not p.startswith("v=")]
    link = f"{base}#{'&'.join(rest)}" if rest else base
    return link, (tags[-1] if tags else None)
