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
import errno
import ipaddress
import random
import re
import secrets
import socket
import ssl
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
from ada_url import join_url

from qrcheck.links.cache import LinkCache
from qrcheck.links.model import (
    Hop,
    LiveOptions,
    LiveResult,
    NameNotFound,
    NetworkDown,
    Resolver,
    now_iso,
)
from qrcheck.links.network import (
    _DEADLINE,
    PinnedBackend,
    PinnedTransport,
    _ssl_context,
    address_refusal,
)
from qrcheck.links.pages import (
    not_found_phrase,
    same_page,
)
from qrcheck.urls import parse_link, registered_domain

if TYPE_CHECKING:
    pass

#: links started per turn of the event loop by `check_many`
_START_BATCH = 16
HOME_PATHS = {"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/trang-chu", "/vi"}


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
