"""The network guard of live checks: only public addresses (checked after DNS resolution, on
every connection, redirects included), pinned so a second lookup cannot change them; TLS."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import select
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from qrcheck.links.model import LiveOptions

if TYPE_CHECKING:
    pass


#: the deadline of the link (or shared probe) being checked in this task
_DEADLINE: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "qrcheck_link_deadline", default=None
)


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


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
