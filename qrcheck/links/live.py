"""Live checks of decoded links: safe, polite, asynchronous HTTP on httpx.

Decoded links are untrusted (a scammer's sticker may hold any URL), so the checker must not be
turned against the center's own network:

- http and https only; every host is resolved first and refused when any of its addresses is
  loopback, private, link-local, multicast, reserved, unspecified or otherwise not global
  (IPv4 and IPv6, IPv4-mapped IPv6 included). The connection then goes to exactly the address
  that was checked (`PinnedBackend`), while TLS is still verified against the host name (the
  URL keeps the name, so SNI and certificate checks use it).
- redirects are followed by hand, at most `max_redirects`, each hop checked the same way;
- no cookies (requests go straight to httpx's transport: there is no cookie jar at all), no
  credentials (user:password@ is dropped), no environment proxies (`trust_env=False`); with a
  configured `proxy` (`--proxy`) hosts are still resolved and checked first, but the proxy
  connects by name, so the pinning is then the proxy's to keep;
- bodies are streamed and read up to `max_bytes` (1 MB); every link has a deadline.

Politeness: a global concurrency limit, a per-host limit with a minimum interval between
request starts, an honest User-Agent naming qrcheck and its version, retries with jittered
exponential backoff on timeouts, dropped connections, 5xx and 429, honouring `Retry-After` up to
a cap.

Verdicts (`LiveResult.status`): ok, redirected, dead, soft_404, blocked, timeout, tls_error,
refused, unverified. Definite answers (ok, redirected, dead, soft_404) are cached in SQLite
(`LinkCache`) with a time-to-live, and only once the run knows the network works.

One link must not change the verdicts of the others: a name that resolves to an address that
is then refused (a `localhost` sticker) is no proof that the network works, so without internet
a missing name stays "no network", never `dead`; redirects are resolved as a browser resolves
them (WHATWG: `\\\\evil.example` is another host).

The loopback / private-address refusal can be relaxed only through `LiveOptions.allow_networks`
or `allow_private`, explicit settings meant for tests against a local server.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import functools
import ipaddress
import json
import os
import random
import re
import secrets
import select
import socket
import sqlite3
import ssl
import sys
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpcore
import httpx
from ada_url import join_url

from qrcheck import __version__
from qrcheck.urls import parse_link, registered_domain

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
#: answers worth remembering: the same link checked again within the TTL is not fetched again
DEFINITE = ("ok", "redirected", "dead", "soft_404")
USER_AGENT = (
    f"qrcheck/{__version__} (link checker for QR postings of a public service center; "
    "+https://github.com/qrcheck)"
)
#: phrases of a page that says it does not exist (Vietnamese, with and without diacritics)
NOT_FOUND_RE = re.compile(
    r"không\s+tồn\s+tại|khong\s+ton\s+tai|không\s+tìm\s+thấy|khong\s+tim\s+thay"
    r"|page\s+not\s+found|not\s+found|(?:error|lỗi)\s*404|đã\s+bị\s+xóa|đã\s+bị\s+gỡ|không\s+còn\s+tồn\s+tại"
    r"|does\s+not\s+exist|no\s+longer\s+available",
    re.I,
)
#: links started per turn of the event loop by `check_many`
_START_BATCH = 16
HOME_PATHS = {"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/trang-chu", "/vi"}

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
#: the deadline of the link (or shared probe) being checked in this task
_DEADLINE: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "qrcheck_link_deadline", default=None
)


class NameNotFound(Exception):
    """The host name does not exist (NXDOMAIN)."""


class NetworkDown(Exception):
    """Name resolution or routing failed for reasons of our own network."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise NameNotFound(host) from exc
        raise NetworkDown(str(exc)) from exc
    return [str(info[4][0]) for info in infos]


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


# ---------------------------------------------------------------------------------------------
# Cache


def default_cache_path() -> Path:
    """QRCHECK_LINK_CACHE, else the user's cache folder (XDG / LOCALAPPDATA / ~/Library)."""
    explicit = os.environ.get("QRCHECK_LINK_CACHE")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "qrcheck" / Path("links").with_suffix(".sqlite")


class LinkCache:
    """Definite live results in SQLite, each with an expiry time. Path None: in memory.

    Results are written in batches (`flush`: every `batch` results, at the end of
    `LinkChecker.check_many`, and on `close`), not one commit per link: a commit waits for the
    disk (0.8 ms here, far more on a slow card) and would hold up the event loop every time.
    A crash loses at most the unwritten batch, which is only a cache.
    """

    def __init__(self, path: Path | None = None, batch: int = 200) -> None:
        self.path = path
        self.batch = batch
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # a lock held longer than this by another process costs a batch of caching, not a
        # stalled check (the writes run on the checker's event loop)
        self._db = sqlite3.connect(str(path) if path else ":memory:", timeout=2)
        if path is not None:  # several web workers share the file; it is only a cache
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS live (url TEXT PRIMARY KEY, expires REAL, result TEXT)"
        )
        self._db.commit()
        self._pending: dict[str, tuple[float, str]] = {}

    def get(self, url: str, now: float | None = None) -> LiveResult | None:
        row = self._pending.get(url)
        if row is None:
            try:
                row = self._db.execute(
                    "SELECT expires, result FROM live WHERE url = ?", (url,)
                ).fetchone()
            except sqlite3.Error:  # an unreadable cache is no cache, never a failed check
                return None
        if row is None:
            return None
        try:
            if not row[0] >= (now if now is not None else time.time()):  # expired (or NULL)
                return None
            data = json.loads(row[1])
            data["chain"] = tuple(Hop(**h) for h in data["chain"])
            return replace(LiveResult(**data), cached=True)
        except (ValueError, TypeError, KeyError):  # written by another version: check again
            return None

    def put(self, result: LiveResult, ttl: float) -> None:
        if result.status not in DEFINITE or ttl <= 0:
            return
        data = {
            "url": result.url,
            "status": result.status,
            "http_status": result.http_status,
            "final_url": result.final_url,
            "chain": [{"url": h.url, "status": h.status} for h in result.chain],
            "checked_at": result.checked_at,
            "detail_key": result.detail_key,
            "detail_params": result.detail_params,
            "cross_domain": result.cross_domain,
        }
        self._pending[result.url] = (time.time() + ttl, json.dumps(data, ensure_ascii=False))
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the results not yet written, in one transaction. A cache that cannot be
        written (disk full, locked too long) costs only the caching, never the check."""
        if not self._pending:
            return
        rows = [(url, expires, text) for url, (expires, text) in self._pending.items()]
        self._pending.clear()
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO live VALUES (?, ?, ?)", rows)
        except sqlite3.Error:
            pass

    def close(self) -> None:
        self.flush()
        self._db.close()


# ---------------------------------------------------------------------------------------------
# Safety: addresses and the pinned transport


def address_refusal(address: str, options: LiveOptions) -> str | None:
    """Why an address may not be contacted ("private", "loopback"...), or None when it may."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return "invalid"
    for network in options.allow_networks:
        if ip in ipaddress.ip_network(network, strict=False):
            return None
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo's client, NAT64) are
        # judged by that address too: 2002:7f00:1:: reaches 127.0.0.1 through a 6to4 relay
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for inner in embedded:
            if inner is not None and (reason := address_refusal(str(inner), options)):
                return reason
        if ip.ipv4_mapped is not None or ip in _NAT64:  # only a way to reach that address
            return None
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private or not ip.is_global),
    )
    for reason, hit in checks:
        if hit:
            return None if options.allow_private and reason != "unspecified" else reason
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the checker resolved and approved, by host name.

    It speaks asyncio directly (streams, `asyncio.timeout`) rather than through httpcore's
    AnyIO backend: a quarter of a millisecond less per request on the event loop, measured
    with bench/bench_links.py, which matters when one host allows only a few requests at once.
    """

    def __init__(self) -> None:
        self.pins: dict[str, str] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self.pins.get(host.strip("[]").lower())
        if address is None:
            raise httpcore.ConnectError(f"{host}: address not checked")
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(address, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {host}: timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        raw = writer.get_extra_info("socket")
        for option in socket_options or ():
            raw.setsockopt(*option)
        return _Stream(reader, writer)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """An asyncio stream as httpcore wants it, with httpcore's exceptions."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout("no answer in time") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("could not send in time") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()
        if self._writer.get_extra_info("ssl_object") is not None:
            # TLS: our close_notify goes out now; waiting for the server's own could take a
            # round trip per connection, or for ever (httpcore's AnyIO backend does not wait
            # either)
            await asyncio.sleep(0)
            self._writer.transport.abort()
            return
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except (TimeoutError, OSError):
            self._writer.transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # the URL keeps the host name: SNI and the certificate check use it, not the address
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError included
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle pooled connection that the server has closed
            raw = self._writer.get_extra_info("socket")
            if self._reader.at_eof() or raw is None or raw.fileno() < 0:
                return True
            if hasattr(select, "poll"):  # select() cannot watch descriptors above 1023
                poller = select.poll()
                poller.register(raw.fileno(), select.POLLIN)
                return bool(poller.poll(0))
            return bool(select.select([raw], [], [], 0)[0])  # pragma: no cover (Windows)
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        return self._writer.get_extra_info(names[info]) if info in names else None


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses `PinnedBackend`."""

    def __init__(self, backend: PinnedBackend, options: LiveOptions) -> None:
        context = _ssl_context(options)
        super().__init__(verify=context, trust_env=False, http2=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=options.concurrency * 2,
            max_keepalive_connections=options.concurrency,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def _ssl_context(options: LiveOptions) -> ssl.SSLContext:
    return _make_ssl_context(options.verify, options.ca_bundle)


@functools.lru_cache(maxsize=4)
def _make_ssl_context(verify: bool, ca_bundle: Path | None) -> ssl.SSLContext:
    """One context per setting and process: loading the CA bundle takes ~20 ms."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        return ssl.create_default_context(cafile=str(ca_bundle))
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover
        return ssl.create_default_context()


# ---------------------------------------------------------------------------------------------
# The checker


@dataclass
class _Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


class _Failure(Exception):
    def __init__(self, status: str, key: str, **params: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params


class LinkChecker:
    """Checks links politely and safely; one instance per run (it keeps per-host state).

    Use as `async with LinkChecker(options) as checker: await checker.check_many(urls)`.
    """

    def __init__(
        self,
        options: LiveOptions = LiveOptions(),
        cache: LinkCache | None = None,
        resolver: Resolver | None = None,
        backend: PinnedBackend | None = None,
    ) -> None:
        self.options = options
        self.cache = cache
        self.resolver = resolver or system_resolver
        self.network_down = False
        self.network_seen = False
        self.requests = 0
        #: how connections are opened (a subclass can stand in for a network in tests)
        self._backend = backend or PinnedBackend()
        #: requests go straight to the transport: no client means no cookie jar, no auth, no
        #: automatic redirects, and less work per request
        self._transport: httpx.AsyncBaseTransport | None = None
        self._headers = [
            ("User-Agent", options.user_agent),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
            ("Accept-Language", "vi,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate"),
        ]
        self._timeouts = dict.fromkeys(("connect", "read", "write", "pool"), options.timeout)
        self._global = asyncio.Semaphore(options.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._host_next: dict[str, float] = {}
        self._resolved: dict[str, asyncio.Task[str]] = {}
        self._probes: dict[str, asyncio.Task[_Fetched | None]] = {}
        self._canary: asyncio.Task[bool] | None = None

    async def __aenter__(self) -> LinkChecker:
        options = self.options
        if options.proxy:  # a configured proxy connects for us (addresses are still checked)
            self._transport = httpx.AsyncHTTPTransport(
                verify=_ssl_context(options), proxy=options.proxy, trust_env=False
            )
        else:
            self._transport = PinnedTransport(self._backend, options)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.cache is not None:
            self.cache.flush()
        if self._transport is not None:
            await self._transport.aclose()
        for task in (*self._resolved.values(), *self._probes.values(), self._canary):
            if task is not None:
                task.cancel()

    # -- public -----------------------------------------------------------------------------

    async def check_many(self, urls: Iterable[str]) -> dict[str, LiveResult]:
        """Each distinct URL checked once; results keyed by the URL as given."""
        distinct = list(dict.fromkeys(urls))
        tasks: list[asyncio.Task[LiveResult]] = []
        async with asyncio.TaskGroup() as group:
            for number, url in enumerate(distinct, 1):
                tasks.append(group.create_task(self.check(url)))
                if number % _START_BATCH == 0:
                    # let the first requests go out before the next links are even parsed:
                    # starting a thousand links at once held the first request back ~0.1 s
                    await asyncio.sleep(0)
        if self.cache is not None:
            self.cache.flush()
        return {url: task.result() for url, task in zip(distinct, tasks, strict=True)}

    async def check(self, url: str) -> LiveResult:
        """The live verdict for one link. Never raises."""
        parsed = parse_link(url)
        key = parsed.url if parsed else url
        if parsed is None:
            return self._result(url, "refused", "links.live_refused_scheme")
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        if self.network_down:
            return self._result(key, "unverified", "links.live_no_network")
        try:
            # the deadline starts with the link's first request (see `_fetch`), not while
            # the link waits its turn behind others to the same host
            async with asyncio.timeout(None) as deadline:
                token = _DEADLINE.set(deadline)
                try:
                    result = await self._follow(key)
                finally:
                    _DEADLINE.reset(token)
        except TimeoutError:
            result = self._result(
                key, "timeout", "links.live_timeout", seconds=self.options.deadline
            )
        except _Failure as failure:
            result = self._result(key, failure.status, failure.key, **failure.params)
        except Exception as exc:  # a checker bug must not stop the run
            reason = f"{type(exc).__name__}: {exc}"[:160]
            result = self._result(key, "unverified", "links.live_error", reason=reason)
        if result.status == "unverified" and self.network_down:
            result = self._result(key, "unverified", "links.live_no_network")
        if self.cache is not None and self._network_known():
            ttl = (
                self.options.ttl_ok
                if result.status in ("ok", "redirected")
                else self.options.ttl_dead
            )
            self.cache.put(result, ttl)
        return result

    # -- one link ---------------------------------------------------------------------------

    def _result(self, url: str, status: str, key: str, **params: object) -> LiveResult:
        return LiveResult(url, status, checked_at=now_iso(), detail_key=key, detail_params=params)

    async def _follow(self, url: str) -> LiveResult:
        chain: list[Hop] = []
        seen = {url}
        current = url
        start_host = urlsplit(url).hostname or ""
        for _ in range(self.options.max_redirects + 1):
            fetched = await self._fetch(current)
            location = fetched.headers.get("location")
            if 300 <= fetched.status < 400 and location:
                chain.append(Hop(current, fetched.status))
                try:  # joined as a browser joins it: "\\evil.example/x" is another host
                    parsed = parse_link(join_url(current, location))
                except ValueError:  # e.g. "http://[::1": no browser can follow it either
                    return self._done(
                        url, "dead", fetched, chain, "links.live_bad_redirect",
                        location=location.strip()[:120],
                    )  # fmt: skip
                if parsed is None:
                    raise _Failure("refused", "links.live_refused_scheme")
                target = parsed.url
                if target == current and "set-cookie" in fetched.headers:
                    # a cookie wall: back to itself until a cookie is sent, which we never do;
                    # a browser gets through, so it is not dead
                    return self._done(url, "blocked", fetched, chain, "links.live_cookie_wall")
                if target in seen:
                    return self._done(url, "dead", fetched, chain, "links.live_loop")
                moved = urlsplit(target)
                if (
                    _is_home(moved)
                    and not _is_home(urlsplit(url))
                    and registered_domain(moved.hostname or "") == registered_domain(start_host)
                ):
                    # sent to its own home page: the page asked for is gone; no need to fetch it
                    return self._done(
                        url, "soft_404", fetched, chain, "links.live_soft_home", final=target
                    )
                seen.add(target)
                current = target
                continue
            return await self._judge(url, fetched, chain, start_host)
        return self._done(
            url, "unverified", None, chain, "links.live_too_many", count=self.options.max_redirects
        )

    def _done(
        self,
        url: str,
        status: str,
        fetched: _Fetched | None,
        chain: list[Hop],
        key: str,
        **params: object,
    ) -> LiveResult:
        final = fetched.url if fetched else (chain[-1].url if chain else url)
        start = registered_domain(urlsplit(url).hostname or "")
        cross = any(registered_domain(urlsplit(h.url).hostname or "") != start for h in chain)
        cross = cross or registered_domain(urlsplit(final).hostname or "") != start
        return LiveResult(
            url,
            status,
            fetched.status if fetched else None,
            final,
            tuple(chain),
            now_iso(),
            False,
            key,
            params,
            cross and bool(chain),
        )

    async def _judge(
        self, url: str, fetched: _Fetched, chain: list[Hop], start_host: str
    ) -> LiveResult:
        code = fetched.status
        if code in (404, 410):
            return self._done(url, "dead", fetched, chain, "links.live_dead", http=code)
        if code in (401, 403, 429, 451):
            return self._done(url, "blocked", fetched, chain, "links.live_blocked", http=code)
        if code == 408:
            return self._done(url, "timeout", fetched, chain, "links.live_timeout", seconds="")
        if 400 <= code < 500:
            return self._done(url, "dead", fetched, chain, "links.live_dead", http=code)
        if code >= 500:
            return self._done(
                url, "unverified", fetched, chain, "links.live_server_error", http=code
            )
        if 300 <= code < 400:
            return self._done(url, "dead", fetched, chain, "links.live_dead", http=code)
        final = urlsplit(fetched.url)
        original = urlsplit(url)
        if chain and _is_home(final) and not _is_home(original):
            return self._done(
                url, "soft_404", fetched, chain, "links.live_soft_home", final=fetched.url
            )
        phrase = not_found_phrase(fetched.body)
        if phrase:
            return self._done(
                url, "soft_404", fetched, chain, "links.live_soft_text", phrase=phrase
            )
        if self.options.probe and not _is_home(final):
            probe = await self._probe(fetched.url)
            if probe is not None and probe.status < 300 and same_page(fetched.body, probe.body):
                # a single-page application serves one shell for every address, good or bad:
                # then the page tells nothing, and calling every posting dead would be worse
                home = await self._home(fetched.url)
                if home is not None and home.status < 300 and same_page(home.body, probe.body):
                    return self._done(url, "unverified", fetched, chain, "links.live_shell")
                return self._done(url, "soft_404", fetched, chain, "links.live_soft_random")
        if chain:
            other = registered_domain(final.hostname or "") != registered_domain(start_host)
            key = "links.live_redirected_cross" if other else "links.live_redirected"
            return self._done(
                url, "redirected", fetched, chain, key, final=fetched.url, count=len(chain)
            )
        return self._done(url, "ok", fetched, chain, "links.live_ok", http=code)

    async def _home(self, url: str) -> _Fetched | None:
        """The host's home page (once per host and run)."""
        parts = urlsplit(url)
        home = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        return await self._once(f"home:{parts.scheme}://{parts.netloc}", home)

    async def _probe(self, url: str) -> _Fetched | None:
        """The host's answer to a random path next to `url` (once per folder and run)."""
        parts = urlsplit(url)
        folder = parts.path.rsplit("/", 1)[0]
        random_path = f"{folder}/qrcheck-{secrets.token_hex(8)}"
        probe = urlunsplit((parts.scheme, parts.netloc, random_path, "", ""))
        return await self._once(f"{parts.scheme}://{parts.netloc}{folder}", probe)

    async def _once(self, key: str, url: str) -> _Fetched | None:
        """GET `url` once for every link that asks under `key` (None when it fails)."""
        if key not in self._probes:

            async def fetch() -> _Fetched | None:
                try:  # shared by several links: its own deadline, not theirs
                    async with asyncio.timeout(None) as deadline:
                        _DEADLINE.set(deadline)
                        return await self._fetch(url, retries=0)
                except (_Failure, TimeoutError):
                    return None

            self._probes[key] = asyncio.ensure_future(fetch())
        return await asyncio.shield(self._probes[key])

    # -- one request ------------------------------------------------------------------------

    async def _address(self, host: str, port: int) -> str:
        """The checked address of `host` (resolved once per run), or a _Failure."""
        literal = _ip_literal(host)
        if literal is not None:
            reason = address_refusal(literal, self.options)
            if reason:
                raise _Failure("refused", "links.live_refused_address", host=host, reason=reason)
            return literal
        if host not in self._resolved:
            self._resolved[host] = asyncio.ensure_future(self._resolve(host, port))
        return await asyncio.shield(self._resolved[host])

    async def _resolve(self, host: str, port: int) -> str:
        try:
            # bounded: the link's deadline only starts with its first request
            async with asyncio.timeout(self.options.timeout):
                addresses = list(await self.resolver(host, port))
        except NameNotFound:
            if not self.network_seen and not await self._network_works():
                self.network_down = True
                raise _Failure("unverified", "links.live_no_network") from None
            raise _Failure("dead", "links.live_nxdomain", host=host) from None
        except (NetworkDown, TimeoutError):
            # no answer for this name: our network, or only this domain's name servers?
            if not self.network_seen and not await self._network_works():
                self.network_down = True
                raise _Failure("unverified", "links.live_no_network") from None
            raise _Failure("unverified", "links.live_dns_error", host=host) from None
        if not addresses:
            if not self.network_seen and not await self._network_works():
                self.network_down = True
                raise _Failure("unverified", "links.live_no_network")
            raise _Failure("dead", "links.live_nxdomain", host=host)
        for address in addresses:
            reason = address_refusal(address, self.options)
            if reason:
                # a name of this machine or of a private network (localhost, a hosts-file
                # entry) resolves without any network: no proof that the network works
                raise _Failure("refused", "links.live_refused_address", host=host, reason=reason)
        self.network_seen = True
        return addresses[0]

    def _network_known(self) -> bool:
        """Whether this run has proof that the network works: an answer from a server, a name
        that resolved to an address we may contact, or the canary. Until then no answer is
        definite enough to be cached (a missing name may be only a missing network)."""
        if self.network_down:
            return False
        if self.network_seen:
            return True
        canary = self._canary
        return canary is not None and canary.done() and not canary.cancelled() and canary.result()

    async def _network_works(self) -> bool:
        """Whether a name that exists resolves (asked once per run): the test that tells
        "no network" from one bad link, so that one link never marks them all unverified."""

        async def canary() -> bool:
            try:
                async with asyncio.timeout(self.options.timeout):
                    addresses = list(await self.resolver(self.options.canary_host, 443))
            except Exception:
                return False
            # an answer of a resolver that maps every name to itself (a captive portal) or of
            # a hosts file is no proof either
            return bool(addresses) and not any(address_refusal(a, self.options) for a in addresses)

        if self._canary is None:
            self._canary = asyncio.ensure_future(canary())
        return await asyncio.shield(self._canary)

    async def _slot(self, host: str) -> None:
        """Wait for this request's start time: request starts to a host are planned
        `min_interval` apart, each reserved on arrival (first come, first served).

        Planning from the reserved times, not from when a sleeping task happens to wake, keeps
        the event loop's wake-up latency (a fraction of a millisecond) from adding up request
        after request; the rate never exceeds one start per interval and never bursts."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._host_next.get(host, 0.0))
        self._host_next[host] = start + self.options.min_interval
        if start > now:
            await asyncio.sleep(start - now)

    async def _fetch(self, url: str, retries: int | None = None) -> _Fetched:
        """GET `url` (no redirects followed), retrying on timeouts, 5xx and 429."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self._address(host, port)
        self._backend.pins[host] = address
        attempts = (self.options.retries if retries is None else retries) + 1
        slots = self._host_slots.setdefault(host, asyncio.Semaphore(self.options.per_host))
        last: _Failure | None = None
        answer: _Fetched | None = None
        for attempt in range(attempts):
            wait = 0.0
            # the host's slot first: a link waiting for a busy host holds no global slot that
            # a link to another host could use
            async with slots, self._global:
                await self._slot(host)
                deadline = _DEADLINE.get()
                if deadline is not None and deadline.when() is None:
                    deadline.reschedule(asyncio.get_running_loop().time() + self.options.deadline)
                try:
                    fetched = await self._get(url)
                except _Failure as failure:
                    if failure.status not in ("timeout", "unverified") or failure.key in (
                        "links.live_no_network",
                    ):
                        raise
                    last = failure
                else:
                    busy = fetched.status == 429 or fetched.status >= 500
                    wait = retry_after(fetched.headers.get("retry-after")) if busy else None
                    if (
                        not busy
                        or attempt + 1 == attempts
                        or (wait is not None and wait > self.options.retry_after_cap)
                    ):  # an answer, the last try, or asked to come back later than we would wait
                        answer = fetched
                        break
                    last = None
            if attempt + 1 < attempts:
                backoff = self.options.backoff * (2**attempt) * random.uniform(0.5, 1.5)
                await asyncio.sleep(max(wait or 0.0, backoff))
        if answer is not None:
            # the slots are free again: let the next request to this host go out before this
            # answer is judged (judging and caching would otherwise sit between the two)
            await asyncio.sleep(0)
            return answer
        assert last is not None
        raise last

    async def _get(self, url: str) -> _Fetched:
        assert self._transport is not None
        self.requests += 1
        limit = self.options.max_bytes
        request = httpx.Request(
            "GET", url, headers=self._headers, extensions={"timeout": self._timeouts}
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                body = bytearray()
                received = 0  # bytes on the wire: the cap holds for them too
                decoder = _decoder(response.headers.get("content-encoding", ""))
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if decoder is not None:  # bounded: a compressed bomb stops at the cap
                        try:
                            chunk = decoder.decompress(chunk, limit - len(body) + 1)
                        except zlib.error:
                            if received > len(chunk):  # not the first chunk
                                break  # the page as far as it could be read
                            # "deflate" sent raw, without its zlib header, as some servers do
                            decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                            try:
                                chunk = decoder.decompress(chunk, limit - len(body) + 1)
                            except zlib.error:
                                break
                    body += chunk
                    if len(body) >= limit or received >= limit:
                        break
                    if decoder is not None and decoder.eof:
                        break
                del body[limit:]
            finally:
                await response.aclose()
            if not self.options.proxy or response.status_code not in (502, 503, 504):
                # (a configured proxy answers 502/504 itself when it reaches nothing)
                self.network_seen = True
            return _Fetched(response.status_code, response.headers, bytes(body), url)
        except httpx.TimeoutException:
            raise _Failure("timeout", "links.live_timeout", seconds=self.options.timeout) from None
        except httpx.ConnectError as exc:
            if _is_tls(exc):
                raise _Failure("tls_error", "links.live_tls", reason=_short(exc)) from None
            if (
                _errno_in(exc, (errno.ENETUNREACH, errno.EHOSTUNREACH))
                and not self.network_seen
                and not await self._network_works()
            ):  # no route before anything answered, and names do not resolve either
                self.network_down = True
                raise _Failure("unverified", "links.live_no_network") from None
            raise _Failure("unverified", "links.live_connect", reason=_short(exc)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if _is_tls(exc):
                raise _Failure("tls_error", "links.live_tls", reason=_short(exc)) from None
            raise _Failure("unverified", "links.live_dropped", reason=_short(exc)) from None
        except httpx.HTTPError as exc:
            raise _Failure("unverified", "links.live_error", reason=_short(exc)) from None


def _is_home(parts: SplitResult) -> bool:
    """A site's home page: "/", "/index.php", "/trang-chu"... with no query (a query such as
    "/index.php?option=tthc&id=5" names a page of its own)."""
    return parts.path.rstrip("/") in HOME_PATHS and not parts.query


def _decoder(encoding: str) -> Any:
    """A zlib decompressor for a gzip or deflate body, or None for an unencoded one (any
    other coding is read as is: the page is then only compared, never shown)."""
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":  # zlib-wrapped, as the standard says (raw: see `_get`)
        return zlib.decompressobj(zlib.MAX_WBITS | 32)
    return None


def _ip_literal(host: str) -> str | None:
    """The address of an IP-literal host, legacy IPv4 forms included (0x7f000001, 127.1)."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host.lower()) and any(c.isdigit() for c in host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        yield current
        current = current.__cause__ or current.__context__
        seen += 1


def _is_tls(exc: BaseException) -> bool:
    # by type only, never by the text: a server's own words (a header line) may say "TLS"
    return any(isinstance(item, ssl.SSLError | ssl.CertificateError) for item in _chain(exc))


def _errno_in(exc: BaseException, numbers: tuple[int, ...]) -> bool:
    return any(isinstance(e, OSError) and e.errno in numbers for e in _chain(exc))


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:160]


def retry_after(value: str | None) -> float | None:
    """Seconds asked by a Retry-After header (delta seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", value):  # ASCII digits only ("²".isdigit() is true)
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # a header from anyone
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# ---------------------------------------------------------------------------------------------
# Reading pages


# Pages are untrusted too: everything below runs in time linear in the page (no pattern that
# can backtrack across the whole text, e.g. `<[^>]+>` on "<<<<..."), on at most PAGE_LIMIT
# bytes, because it runs on the event loop where no deadline can interrupt it.
PAGE_LIMIT = 300_000
_TAG_RE = re.compile(r"<[^<>]*>")
_BLOCK_RE = re.compile(r"<(script|style)\b", re.I)
_HEADING_RES = {tag: re.compile(rf"<{tag}\b[^<>]*>", re.I) for tag in ("title", "h1", "h2")}


def _without_blocks(text: str) -> str:
    """`text` without its <script> and <style> elements (an unclosed one runs to the end)."""
    lower = text.lower()
    kept = []
    position = 0
    while (found := _BLOCK_RE.search(text, position)) is not None:
        kept.append(text[position : found.start()])
        end = lower.find(f"</{found.group(1).lower()}", found.end())
        if end == -1:
            return " ".join(kept)
        close = lower.find(">", end)
        position = len(text) if close == -1 else close + 1
    kept.append(text[position:])
    return " ".join(kept)


def _headings(text: str) -> str:
    """The text of the page's <title>, <h1> and <h2> elements."""
    lower = text.lower()
    found = []
    for tag, opening in _HEADING_RES.items():
        position = 0
        while len(found) < 50 and (start := opening.search(text, position)) is not None:
            end = lower.find(f"</{tag}", start.end())
            if end == -1:  # no later one can close either
                break
            found.append(text[start.end() : end])
            position = end
    return " ".join(_TAG_RE.sub(" ", part) for part in found)


def page_text(body: bytes) -> str:
    """The visible text of a page (its first PAGE_LIMIT bytes), whitespace collapsed."""
    import html

    text = body[:PAGE_LIMIT].decode("utf-8", errors="replace")
    return html.unescape(" ".join(_TAG_RE.sub(" ", _without_blocks(text)).split()))


def not_found_phrase(body: bytes) -> str | None:
    """The phrase by which a page says it does not exist (in its title or headings, or
    anywhere in a short page), or None."""
    import html
    import unicodedata

    raw = body[:PAGE_LIMIT].decode("utf-8", errors="replace")
    headings = " ".join(html.unescape(_headings(raw)).split())
    places = [unicodedata.normalize("NFC", headings)]
    text = unicodedata.normalize("NFC", page_text(body))
    if len(text) < 3000:
        places.append(text)
    for place in places:
        match = NOT_FOUND_RE.search(place)
        if match:
            return match.group(0)
    return None


def _shingles(body: bytes) -> set[str]:
    words = re.sub(r"[0-9a-f]{6,}|\d+", "#", page_text(body).lower()).split()
    return {" ".join(words[i : i + 4]) for i in range(max(1, len(words) - 3))}


def same_page(a: bytes, b: bytes, threshold: float = 0.9) -> bool:
    """True when two pages are the same but for numbers and tokens (Jaccard of word 4-grams)."""
    if a == b:
        return True
    left, right = _shingles(a), _shingles(b)
    if not left or not right:
        return not left and not right
    return len(left & right) / len(left | right) >= threshold


# ---------------------------------------------------------------------------------------------
# Running it


def check_urls(
    urls: Iterable[str],
    options: LiveOptions = LiveOptions(),
    cache: LinkCache | None = None,
    resolver: Resolver | None = None,
) -> tuple[dict[str, LiveResult], bool]:
    """Check links from synchronous code: (results by URL, whether the network was down)."""

    async def run() -> tuple[dict[str, LiveResult], bool]:
        async with LinkChecker(options, cache, resolver) as checker:
            results = await checker.check_many(urls)
            return results, checker.network_down

    return asyncio.run(run())
