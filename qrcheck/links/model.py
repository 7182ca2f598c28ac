"""What a live check says of a link, and the options it runs with (shared by the checker,
its cache and the network guard)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qrcheck import __version__

if TYPE_CHECKING:
    pass


LIVE_STATUSES = (
    "ok",
    "redirected",
    "dead",
    "soft_404",
    "blocked",
    "timeout",
    "tls_error",
    "refused",
    "unverified",
)


#: answers saying the link is broken (a dead page, or a "not found" page served as a success)
BROKEN = ("dead", "soft_404")
#: answers saying the link leads to a live page
REACHED = ("ok", "redirected")
#: answers worth remembering: the same link checked again within the TTL is not fetched again
DEFINITE = ("ok", "redirected", "dead", "soft_404")


USER_AGENT = (
    f"qrcheck/{__version__} (link checker for QR postings of a public service center; "
    "+https://github.com/qrcheck)"
)


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class NameNotFound(Exception):
    """The host name does not exist (NXDOMAIN)."""


class NetworkDown(Exception):
    """Name resolution or routing failed for reasons of our own network."""


@dataclass(frozen=True)
class LiveOptions:
    """How the live check behaves. Defaults are the production settings."""

    #: seconds to connect / to wait for bytes, per request
    timeout: float = 8.0
    #: seconds for one link from the first request to the verdict (retries and redirects included)
    deadline: float = 25.0
    max_redirects: int = 5
    max_bytes: int = 1_000_000
    concurrency: int = 16
    per_host: int = 3
    #: seconds between the starts of two requests to the same host
    min_interval: float = 0.2
    retries: int = 2
    backoff: float = 0.5
    retry_after_cap: float = 10.0
    verify: bool = True
    ca_bundle: Path | None = None
    proxy: str | None = None
    user_agent: str = USER_AGENT
    #: compare each page with the host's answer to a random path (soft-404 detection)
    probe: bool = True
    #: extra networks to allow although not global (tests point at 127.0.0.1 this way)
    allow_networks: tuple[str, ...] = ()
    #: allow every non-global address (tests only; never in production)
    allow_private: bool = False
    #: a host that exists, resolved to tell "no such name" from "no network"
    canary_host: str = "dichvucong.gov.vn"
    ttl_ok: float = 24 * 3600
    ttl_dead: float = 6 * 3600


@dataclass(frozen=True)
class Hop:
    url: str
    status: int


@dataclass(frozen=True)
class LiveResult:
    """What the network says about one link."""

    url: str
    status: str
    http_status: int | None = None
    final_url: str | None = None
    chain: tuple[Hop, ...] = ()
    checked_at: str = ""
    cached: bool = False
    detail_key: str = ""
    detail_params: dict[str, object] = field(default_factory=dict)
    #: a redirect led to another registered domain
    cross_domain: bool = False

    def to_json(self, lang: str) -> dict[str, Any]:
        from qrcheck.i18n import t

        return {
            "status": self.status,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "chain": [{"url": h.url, "status": h.status} for h in self.chain],
            "cross_domain": self.cross_domain,
            "checked_at": self.checked_at,
            "cached": self.cached,
            "detail": t(self.detail_key, lang, **self.detail_params) if self.detail_key else "",
        }


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
