"""Center settings (`catalog/center.toml`): name, link templates, official and legacy domains."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from qrcheck.errors import CatalogError, os_reason

LINK_MODES = ("portal", "stable")
TAG_MODES = ("fragment", "none")
PAPERS = ("A5", "A4")


@dataclass(frozen=True)
class CenterSettings:
    """How the center makes its links and what it counts as official."""

    name: str
    province: str = ""
    #: "portal": codes hold the procedure's page on the national portal;
    #: "stable": codes hold `stable_template` on the center's own domain (redirected by serve).
    link_mode: str = "portal"
    portal_template: str = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{formality_id}"
    search_template: str = "https://dichvucong.gov.vn/tim-kiem-thu-tuc-hanh-chinh?keyword={code}"
    stable_template: str = ""
    #: "fragment": append `#v=TAG` (the record's version) to every link; "none": plain links.
    version_tag: str = "fragment"
    official_domains: tuple[str, ...] = ("dichvucong.gov.vn",)
    legacy_domains: tuple[str, ...] = ()
    legacy_paths: tuple[str, ...] = ()
    paper: str = "A5"
    #: postings speak to citizens: Vietnamese whatever language the operator's CLI uses
    posting_language: str = "vi"
    announce_days: int = 30
    #: photos of one board checked within this many minutes of each other are one round
    round_minutes: int = 60
    source: Path | None = field(default=None, compare=False)

    def host_is_official(self, host: str) -> bool:
        """True when `host` is an official domain or a subdomain of one (and not legacy)."""
        host = host.lower().rstrip(".")
        if self.host_is_legacy(host):
            return False
        domains = self.official_domains
        if self.link_mode == "stable" and self.stable_template:
            stable_host = urlsplit(self.stable_template.replace("{code}", "x")).hostname or ""
            domains = (*domains, stable_host.lower())
        return any(host == d or host.endswith("." + d) for d in domains)

    def host_is_legacy(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.legacy_domains)


DEFAULT_CENTER = CenterSettings(name="Trung tâm Phục vụ hành chính công")


def _str_tuple(value: object, where: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError("center.not_a_list", path=str(path), key=where)
    return tuple(v.strip().lower() if "domains" in where else v for v in value)


def load_center(path: Path) -> CenterSettings:
    """Read `center.toml`. A missing file gives the defaults; a malformed one is an error."""
    if not path.exists():
        return DEFAULT_CENTER
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise CatalogError("center.not_utf8", path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if where:
            line, column = where.groups()
            raise CatalogError(
                "center.bad_toml_at", path=str(path), line=line, column=column
            ) from exc
        raise CatalogError("center.bad_toml", path=str(path), reason=str(exc)) from exc
    except OSError as exc:  # not readable (permissions), a folder, a device...
        raise CatalogError("center.unreadable", path=str(path), reason=os_reason(exc)) from exc

    for section in ("center", "links", "domains", "posting", "boards"):
        if not isinstance(data.get(section, {}), dict):  # `center = "x"` instead of [center]
            raise CatalogError("center.not_a_table", path=str(path), key=section)
    center = data.get("center", {})
    links = data.get("links", {})
    domains = data.get("domains", {})
    posting = data.get("posting", {})
    boards = data.get("boards", {})
    name = center.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CatalogError("center.missing_name", path=str(path))

    settings = CenterSettings(
        name=name.strip(),
        province=str(center.get("province", "")),
        link_mode=str(links.get("mode", "portal")),
        portal_template=str(links.get("portal_template", DEFAULT_CENTER.portal_template)),
        search_template=str(links.get("search_template", DEFAULT_CENTER.search_template)),
        stable_template=str(links.get("stable_template", "")),
        version_tag=str(links.get("version_tag", "fragment")),
        official_domains=_str_tuple(
            domains.get("official", list(DEFAULT_CENTER.official_domains)), "domains.official", path
        ),
        legacy_domains=_str_tuple(domains.get("legacy", []), "domains.legacy", path),
        legacy_paths=_str_tuple(domains.get("legacy_paths", []), "domains.legacy_paths", path),
        paper=str(posting.get("paper", "A5")).upper(),
        posting_language=str(posting.get("language", "vi")),
        announce_days=_whole_number(
            posting.get("announce_days", 30), "posting.announce_days", path
        ),
        round_minutes=_whole_number(boards.get("round_minutes", 60), "boards.round_minutes", path),
        source=path,
    )
    for key, value, allowed in (
        ("links.mode", settings.link_mode, LINK_MODES),
        ("links.version_tag", settings.version_tag, TAG_MODES),
        ("posting.paper", settings.paper, PAPERS),
        ("posting.language", settings.posting_language, ("vi", "en")),
    ):
        if value not in allowed:
            raise CatalogError(
                "center.bad_choice",
                path=str(path),
                key=key,
                value=value,
                allowed=", ".join(allowed),
            )
    if settings.link_mode == "stable" and "{code}" not in settings.stable_template:
        raise CatalogError("center.stable_needs_template", path=str(path))
    return settings


def _whole_number(value: object, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogError("center.bad_number", path=str(path), key=key, value=str(value))
    return value
