"""Live link checks against a real HTTP server on 127.0.0.1 that imitates the portal.

Loopback is reached only through the explicit test setting `allow_networks`; names resolve
through an injected resolver (no real DNS). The default settings must refuse loopback.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import shutil
import socket
import sqlite3
import ssl
import threading
import time
import tracemalloc
from collections import Counter
from datetime import date
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpcore
import jsonschema
import pytest
from test_links_portal import ForwardProxy, PortalServer, gzip_bomb, tls_portal

from qrcheck.board.decide import apply_live, decide
from qrcheck.board.results import CheckReport, CodeResult, PhotoResult
from qrcheck.catalog.load import load_catalog
from qrcheck.grade.measure import Grade
from qrcheck.links.cache import LinkCache
from qrcheck.links.live import LinkChecker, retry_after
from qrcheck.links.model import LiveOptions, NameNotFound, NetworkDown
from qrcheck.links.network import PinnedBackend, address_refusal
from qrcheck.links.pages import not_found_phrase, same_page
from qrcheck.links.verdict import judge
from qrcheck.reports.check_json import report_json
from qrcheck.vision.shapes import Located

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "qrcheck" / "schema" / "check.schema.json").read_text(encoding="utf-8"))
KHAI_SINH = "/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7"

NAMES = {
    "portal.test": ["127.0.0.1"],
    "public.test": ["93.184.216.34"],
    "secure.test": ["93.184.216.35"],
    "other.test": ["127.0.0.1"],
    "intranet.test": ["192.168.1.10"],
    "mixed.test": ["93.184.216.34", "10.1.2.3"],
}


async def fake_resolver(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    raise NameNotFound(host)


TEST = LiveOptions(
    timeout=1.0,
    deadline=6.0,
    min_interval=0.0,
    retries=2,
    backoff=0.05,
    retry_after_cap=2.0,
    allow_networks=("127.0.0.1/32",),
    canary_host="portal.test",
)


@pytest.fixture(scope="module")
def server():
    with PortalServer() as running:
        yield running


def check(*urls: str, options: LiveOptions = TEST, cache=None, resolver=fake_resolver):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        async with LinkChecker(options, cache, resolver) as checker:
            results = await checker.check_many(urls)
            return results, checker

    return asyncio.run(run())


def one(url: str, **kwargs):  # type: ignore[no-untyped-def]
    results, _ = check(url, **kwargs)
    return results[url]


# ---------------------------------------------------------------------------------------------
# verdicts


@pytest.mark.parametrize(
    ("path", "status", "http"),
    [
        (KHAI_SINH, "ok", 200),
        ("/gone", "dead", 404),
        ("/removed", "dead", 410),
        ("/soft-text", "soft_404", 200),
        ("/home-redirect", "soft_404", 302),  # judged from the redirect, home not fetched
        ("/thu-tuc-hanh-chinh/00000000-0000-0000-0000-000000000000", "soft_404", 200),
        ("/forbidden", "blocked", 403),
        ("/loop-a", "dead", 302),
        ("/cookie-wall", "blocked", 302),  # a browser gets through: never dead
        ("/bad-location", "dead", 302),
        ("/to-index-query", "redirected", 200),  # /index.php?id=5 is a page, not the home
        ("/retry-after-odd", "dead", 404),  # a header no one can read changes nothing
    ],
)
def test_verdicts(server, path, status, http) -> None:
    result = one(server.base + path)
    assert (result.status, result.http_status) == (status, http), result
    assert result.detail_key.startswith("links.live_")


def test_soft_404_says_why(server) -> None:
    assert one(server.base + "/soft-text").detail_params["phrase"].lower() == "không tồn tại"
    assert one(server.base + "/home-redirect").detail_key == "links.live_soft_home"
    unknown = one(server.base + "/thu-tuc-hanh-chinh/11111111-0000-0000-0000-000000000000")
    assert unknown.detail_key == "links.live_soft_random"


def test_a_single_page_site_is_never_called_dead() -> None:
    """One shell for every address, good or bad: the page tells nothing, so: unverified."""
    with PortalServer(spa=True) as spa:
        result = one(f"{spa.base}/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7")
    assert (result.status, result.detail_key) == ("unverified", "links.live_shell")


def test_redirect_chain_is_reported(server) -> None:
    result = one(server.base + "/chain/3")
    assert result.status == "redirected"
    assert [h.status for h in result.chain] == [301, 302, 301, 302]
    assert result.final_url == server.base + "/thu-tuc-hanh-chinh/ok-chain0"
    assert result.cross_domain is False


def test_a_redirect_to_another_domain_is_flagged(server) -> None:
    # the IP literal and the name are different registered domains for the same server
    NAMES["other.test"] = ["127.0.0.1"]
    with RedirectTo(f"http://other.test:{server.port}{KHAI_SINH}") as origin:
        result = one(origin.base + "/anything")
    assert result.status == "redirected" and result.cross_domain
    assert result.detail_key == "links.live_redirected_cross"


def test_too_many_redirects_is_not_called_dead(server) -> None:
    result = one(server.base + "/chain/7")
    assert result.status == "unverified" and len(result.chain) == 6


def test_redirect_to_a_private_address_is_refused(server) -> None:
    result = one(server.base + "/to-private")
    assert result.status == "refused"
    assert result.detail_params["reason"] == "private"


def test_redirect_to_a_name_of_a_private_address_is_refused(server) -> None:
    before = server.hits["/"]
    result = one(server.base + "/to-intranet")
    assert result.status == "refused"
    assert server.hits["/"] == before


def test_a_host_with_any_private_address_is_refused() -> None:
    assert one("http://mixed.test/").status == "refused"


def test_slow_answer_times_out(server) -> None:
    start = time.monotonic()
    result = one(server.base + "/slow", options=_with(retries=0))
    assert result.status == "timeout"
    assert time.monotonic() - start < 2.5


def test_deadline_per_link(server) -> None:
    start = time.monotonic()
    result = one(server.base + "/slow", options=_with(timeout=5.0, deadline=0.5))
    assert result.status == "timeout"
    assert time.monotonic() - start < 1.5


def test_429_with_retry_after_is_honoured(server) -> None:
    start = time.monotonic()
    result = one(server.base + "/busy")
    assert result.status == "ok"
    assert server.hits["/busy"] == 2
    assert time.monotonic() - start >= 0.9  # waited for Retry-After: 1


def test_429_after_retries_is_blocked_never_dead(server) -> None:
    result = one(server.base + "/busy-forever", options=_with(retries=1))
    assert result.status == "blocked" and result.http_status == 429


def test_a_5xx_is_retried(server) -> None:
    assert one(server.base + "/flaky").status == "ok"
    assert server.hits["/flaky"] == 2


def test_a_5_mb_body_is_read_only_up_to_the_cap(server) -> None:
    start = time.monotonic()
    result = one(server.base + "/big")
    assert result.status == "ok"
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("path", ["/gzip-soft", "/deflate-soft", "/raw-deflate-soft"])
def test_compressed_pages_are_read(server, path: str) -> None:
    result = one(server.base + path)
    assert result.status == "soft_404" and result.detail_key == "links.live_soft_text"


def test_a_compression_bomb_is_inflated_only_up_to_the_cap(server) -> None:
    gzip_bomb()  # made before measuring (the server runs in this process)
    tracemalloc.start()
    try:
        result = one(server.base + "/gzip-bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "ok"
    # 1 MB of page, its copies and its text: under 10 MB; inflating it all would take 20 MB
    assert peak < 12_000_000, peak


def test_a_pooled_connection_the_server_closed_is_not_reused(server) -> None:
    async def run() -> list[str]:
        async with LinkChecker(_with(retries=0, probe=False), None, fake_resolver) as checker:
            statuses = []
            for n in range(3):  # each page closes its connection once it is sent
                statuses.append((await checker.check(f"{server.base}/close-after/{n}")).status)
                await asyncio.sleep(0.1)
            return statuses

    assert asyncio.run(run()) == ["ok", "ok", "ok"]


def test_compressed_bytes_count_against_the_cap_too(server) -> None:
    start = time.monotonic()
    result = one(server.base + "/gzip-endless")  # inflates to nothing, for ever
    assert result.status == "ok"  # a page without text, read up to 1 MB on the wire
    assert time.monotonic() - start < TEST.deadline / 2


def test_a_header_line_mentioning_tls_is_not_a_tls_error(server) -> None:
    result = one(server.base + "/bad-header", options=_with(retries=0))
    assert (result.status, result.detail_key) == ("unverified", "links.live_dropped")


def test_the_shared_probe_has_a_deadline_of_its_own(server) -> None:
    # the soft-404 probe of /drip/ drips for 300 s and, one request at a time, holds the only
    # slot: a link checked after it must get its turn once the probe's own deadline is over
    async def run() -> tuple[str, str]:
        options = _with(concurrency=1, deadline=2.0, retries=0)
        async with LinkChecker(options, None, fake_resolver) as checker:
            dripping = await checker.check(f"{server.base}/drip/page")
            after = await checker.check(f"http://other.test:{server.port}/")
            return dripping.status, after.status

    assert asyncio.run(run()) == ("timeout", "ok")


def test_waiting_for_the_host_does_not_count_against_the_deadline(server) -> None:
    # 30 links to one host, one at a time, 0.05 s apart: the last starts ~1.5 s after the
    # first, beyond a 1 s deadline that only its own requests may use
    options = _with(per_host=1, min_interval=0.05, deadline=1.0, probe=False)
    urls = [f"{server.base}/thu-tuc-hanh-chinh/ok-queue{i}" for i in range(30)]
    results, _ = check(*urls, options=options)
    assert Counter(r.status for r in results.values()) == {"ok": 30}


def test_a_dropped_connection_is_not_called_dead(server) -> None:
    result = one(server.base + "/drop", options=_with(retries=1))
    assert result.status == "unverified"
    assert result.detail_key == "links.live_dropped"
    assert server.hits["/drop"] == 2  # retried once


def test_polite_headers_and_no_cookies(server) -> None:
    check(server.base + KHAI_SINH, server.base + "/chain/2")
    assert all(agent.startswith("qrcheck/") for agent in server.agents)
    assert server.cookies == []


def test_per_host_limit_and_minimum_interval(server) -> None:
    slow = _with(per_host=2, min_interval=0.1, probe=False)
    urls = [f"{server.base}/thu-tuc-hanh-chinh/ok-{i}" for i in range(6)]
    start = time.monotonic()
    before = len(server.arrivals)
    results, checker = check(*urls, options=slow)
    assert {r.status for r in results.values()} == {"ok"}
    assert time.monotonic() - start >= 0.5  # 6 starts at least 0.1 s apart
    assert checker.requests == 6
    arrivals = sorted(server.arrivals[before:])
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # planned 0.1 s apart; the event loop may wake a little late, never early by more than that
    assert len(gaps) == 5 and min(gaps) >= 0.09, gaps


# ---------------------------------------------------------------------------------------------
# safety defaults


def test_the_default_settings_refuse_loopback(server) -> None:
    before = sum(server.hits.values())
    result = one(server.base + KHAI_SINH, options=LiveOptions())
    assert result.status == "refused"
    assert result.detail_params["reason"] == "loopback"
    assert sum(server.hits.values()) == before  # nothing was sent


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "private"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        # IPv6 forms that carry an IPv4 address are judged by it too
        ("::ffff:93.184.216.34", None),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
        ("2002:5db8:d822::1", None),  # 6to4 of a public address
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo, client 192.0.2.45
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::c0a8:101", "private"),  # NAT64 of 192.168.1.1
        ("64:ff9b::5db8:d822", None),  # NAT64 of a public address (an IPv6-only network)
    ],
)
def test_address_rules(address: str, reason: str | None) -> None:
    assert address_refusal(address, LiveOptions()) == reason


def test_ip_literals_and_other_schemes_are_refused_by_default() -> None:
    for url in ("http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://0x7f000001/"):
        assert one(url, options=LiveOptions()).status == "refused", url
    assert one("ftp://example.com/x", options=LiveOptions()).status == "refused"


def test_a_configured_proxy_carries_the_checks(server) -> None:
    with ForwardProxy(server.base) as proxy:
        # no allow_networks: the link's host must still resolve to a public address, and the
        # connection goes to the proxy (which answers from the imitation portal)
        options = _with(allow_networks=(), proxy=proxy.base)
        results, _ = check(
            f"http://public.test{KHAI_SINH}", "http://portal.test/gone", options=options
        )
    assert results[f"http://public.test{KHAI_SINH}"].status == "ok"
    assert results["http://portal.test/gone"].status == "refused"  # 127.0.0.1: never asked
    assert proxy.seen and all(url.startswith("http://public.test/") for url in proxy.seen)


def test_the_environment_proxy_is_never_used(server, monkeypatch) -> None:
    with ForwardProxy(server.base) as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.base)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert one(server.base + KHAI_SINH).status == "ok"
    assert proxy.seen == []


def test_credentials_are_never_sent(server) -> None:
    NAMES["creds.test"] = ["127.0.0.1"]
    result = one(f"http://user:secret@creds.test:{server.port}{KHAI_SINH}")
    assert result.status == "ok" and "secret" not in result.url


# ---------------------------------------------------------------------------------------------
# names and the network


def test_nxdomain_is_dead() -> None:
    result = one("https://no-such-host.test/x")
    assert result.status == "dead" and result.detail_key == "links.live_nxdomain"


def test_network_down_marks_everything_unverified_once() -> None:
    async def offline(host: str, port: int) -> list[str]:
        raise NetworkDown("Temporary failure in name resolution")

    results, checker = check("https://a.test/1", "https://b.test/2", resolver=offline)
    assert checker.network_down
    assert {r.status for r in results.values()} == {"unverified"}
    assert {r.detail_key for r in results.values()} == {"links.live_no_network"}


def test_one_domain_without_name_servers_is_not_a_network_outage(server) -> None:
    async def servfail(host: str, port: int) -> list[str]:
        if host == "broken-dns.test":
            raise NetworkDown("Temporary failure in name resolution")
        return await fake_resolver(host, port)

    urls = [
        "http://broken-dns.test/x",
        *(f"{server.base}/thu-tuc-hanh-chinh/ok-dns{i}" for i in range(5)),
    ]
    results, checker = check(*urls, resolver=servfail)
    assert not checker.network_down
    broken = results["http://broken-dns.test/x"]
    assert (broken.status, broken.detail_key) == ("unverified", "links.live_dns_error")
    assert all(results[u].status == "ok" for u in urls[1:])


def test_a_name_that_never_resolves_costs_only_its_links(server) -> None:
    async def hanging(host: str, port: int) -> list[str]:
        if host == "slow-dns.test":
            await asyncio.sleep(3600)
        return await fake_resolver(host, port)

    good = f"{server.base}/thu-tuc-hanh-chinh/ok-slowdns"
    results, checker = check("http://slow-dns.test/x", good, resolver=hanging)
    slow = results["http://slow-dns.test/x"]
    assert (slow.status, slow.detail_key) == ("unverified", "links.live_dns_error")
    assert results[good].status == "ok" and not checker.network_down


class NoRouteTo(PinnedBackend):
    """The network as a machine without a route to `address` sees it (ENETUNREACH)."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    async def connect_tcp(self, host: str, port: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pins.get(host.strip("[]").lower()) == self.address:
            try:  # raised the way PinnedBackend raises what the operating system says
                raise OSError(errno.ENETUNREACH, "Network is unreachable")
            except OSError as exc:
                raise httpcore.ConnectError(str(exc)) from exc
        return await super().connect_tcp(host, port, *args, **kwargs)


def test_one_unreachable_address_is_not_a_network_outage(server) -> None:
    # e.g. an IPv6 address on a machine without IPv6, failing before anything has answered
    async def run():  # type: ignore[no-untyped-def]
        options = _with(allow_networks=("127.0.0.1/32", "2001:db8::/32"))
        backend = NoRouteTo("2001:db8::1")
        async with LinkChecker(options, None, fake_resolver, backend) as checker:
            urls = ["http://[2001:db8::1]/x"]
            urls += [f"{server.base}/thu-tuc-hanh-chinh/ok-v6{i}" for i in range(8)]
            return await checker.check_many(urls), checker

    results, checker = asyncio.run(run())
    assert not checker.network_down
    unreachable = results["http://[2001:db8::1]/x"]
    assert (unreachable.status, unreachable.detail_key) == ("unverified", "links.live_connect")
    assert Counter(r.status for r in results.values()) == {"ok": 8, "unverified": 1}


def test_no_route_and_no_names_is_a_network_outage() -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise NetworkDown("no network")

    async def run():  # type: ignore[no-untyped-def]
        options = _with(allow_networks=("2001:db8::/32",))
        async with LinkChecker(options, None, nothing, NoRouteTo("2001:db8::1")) as checker:
            return await checker.check("http://[2001:db8::1]/x"), checker

    result, checker = asyncio.run(run())
    assert checker.network_down and result.detail_key == "links.live_no_network"


def test_nxdomain_without_any_network_is_unverified_not_dead() -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise NameNotFound(host)

    results, checker = check("https://a.test/1", resolver=nothing)
    assert results["https://a.test/1"].status == "unverified" and checker.network_down


# ---------------------------------------------------------------------------------------------
# cache


def test_definite_answers_are_cached(server, tmp_path: Path) -> None:
    cache = LinkCache(tmp_path / "links.sqlite")
    url = server.base + "/thu-tuc-hanh-chinh/ok-cached"
    first = one(url, cache=cache)
    hits = server.hits["/thu-tuc-hanh-chinh/ok-cached"]
    second = one(url, cache=cache)
    assert (first.cached, second.cached) == (False, True)
    assert second.status == first.status == "ok"
    assert server.hits["/thu-tuc-hanh-chinh/ok-cached"] == hits
    blocked = server.base + "/forbidden"
    one(blocked, cache=cache)
    assert cache.get(blocked) is None  # not definite: never cached
    assert cache.get(url, now=time.time() + TEST.ttl_ok + 1) is None  # expired
    cache.close()


def test_the_cache_is_written_in_batches_and_survives(server, tmp_path: Path) -> None:
    path = tmp_path / "links.sqlite"
    cache = LinkCache(path, batch=2)
    urls = [f"{server.base}/thu-tuc-hanh-chinh/ok-batch{i}" for i in range(5)]
    cache.put(one(urls[0]), 3600)
    assert LinkCache(path).get(urls[0]) is None  # pending: the batch is not full
    assert cache.get(urls[0]) is not None  # but this cache already answers from it
    check(*urls[1:], cache=cache)  # the end of a run writes whatever is pending
    reopened = LinkCache(path)
    assert all(reopened.get(url) is not None for url in urls)
    reopened.close()
    cache.close()


def test_a_damaged_cache_row_is_checked_again(server, tmp_path: Path) -> None:
    path = tmp_path / "links.sqlite"
    url = f"{server.base}/thu-tuc-hanh-chinh/ok-damaged"
    LinkCache(path).close()
    with sqlite3.connect(path) as db:  # e.g. written by another version of qrcheck
        db.execute("INSERT INTO live VALUES (?, ?, ?)", (url, time.time() + 3600, '{"url": 1}'))
    db.close()
    cache = LinkCache(path)
    result = one(url, cache=cache)
    assert (result.status, result.cached) == ("ok", False)
    cache.close()


def test_a_cache_row_without_an_expiry_is_checked_again(server, tmp_path: Path) -> None:
    path = tmp_path / "links.sqlite"
    url = f"{server.base}/thu-tuc-hanh-chinh/ok-null"
    LinkCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO live VALUES (?, NULL, '{}')", (url,))
    db.close()
    cache = LinkCache(path)
    assert one(url, cache=cache).status == "ok"
    cache.close()


def test_a_locked_cache_costs_only_the_caching(server, tmp_path: Path) -> None:
    path = tmp_path / "links.sqlite"
    cache = LinkCache(path)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than we wait
    url = f"{server.base}/thu-tuc-hanh-chinh/ok-locked"
    try:
        start = time.monotonic()
        results, _ = check(url, cache=cache)
        assert results[url].status == "ok"
        assert time.monotonic() - start < 10
    finally:
        holder.rollback()
        holder.close()
    cache.close()
    reopened = LinkCache(path)
    assert reopened.get(url) is None  # not cached; the check itself lost nothing
    reopened.close()


def test_each_distinct_link_is_checked_once(server) -> None:
    url = server.base + "/thu-tuc-hanh-chinh/ok-once"
    results, _ = check(url, url, url)
    assert len(results) == 1 and server.hits["/thu-tuc-hanh-chinh/ok-once"] == 1


# ---------------------------------------------------------------------------------------------
# TLS: the address is pinned but the certificate is verified against the host name


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available")
    with tls_portal(tmp_path_factory.mktemp("tls"), ("portal.test", "secure.test")) as served:
        yield served


def test_tls_is_verified_against_the_host_name(tls_server) -> None:
    port, cert = tls_server
    url = f"https://portal.test:{port}{KHAI_SINH}"
    failed = one(url)
    assert failed.status == "tls_error"
    assert "--ca-bundle" in _text(failed)
    assert one(url, options=_with(ca_bundle=cert)).status == "ok"
    # the same server by IP: the certificate names portal.test, not 127.0.0.1
    assert one(f"https://127.0.0.1:{port}/", options=_with(ca_bundle=cert)).status == "tls_error"


def test_https_through_a_configured_proxy_is_still_verified(tls_server) -> None:
    port, cert = tls_server
    url = f"https://secure.test{KHAI_SINH}"  # a public name; the proxy tunnels to the server
    with ForwardProxy(f"http://127.0.0.1:{port}") as proxy:
        options = _with(allow_networks=(), proxy=proxy.base)
        trusted = one(url, options=_with(allow_networks=(), proxy=proxy.base, ca_bundle=cert))
        untrusted = one(url, options=options)
    assert trusted.status == "ok", trusted
    assert untrusted.status == "tls_error"  # the certificate is checked end to end
    assert proxy.seen and set(proxy.seen) == {"CONNECT secure.test:443"}


def test_a_tls_server_that_never_closes_does_not_hold_the_run(tls_server) -> None:
    _, cert = tls_server
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, cert.parent / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve_once() -> None:  # answers one request, then neither reads nor closes
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(65536)
            body = b"<html><title>ok</title><p>Trang thu tuc</p></html>"
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            tls.sendall(head + body)
            release.wait(20)

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    start = time.monotonic()
    try:
        url = f"https://portal.test:{listener.getsockname()[1]}/trang"
        result = one(url, options=_with(ca_bundle=cert, probe=False))
        elapsed = time.monotonic() - start
    finally:
        release.set()
        listener.close()
    assert result.status == "ok"
    assert elapsed < 5  # closing the kept-alive connection does not wait for the server


# ---------------------------------------------------------------------------------------------
# pages and headers


def test_not_found_phrases() -> None:
    assert not_found_phrase(b"<title>404 Not Found</title>") is not None
    assert not_found_phrase("<p>Trang không tồn tại</p>".encode()) is not None
    long_page = "<title>Đăng ký khai sinh</title><p>" + "hồ sơ " * 2000 + " không tồn tại</p>"
    assert not_found_phrase(long_page.encode()) is None  # only headings count on a long page


@pytest.mark.parametrize("unit", [b"<", b"<script ", b"<h1>", b"<title>x", b"<a href='"])
def test_reading_a_hostile_page_takes_linear_time(unit: bytes) -> None:
    body = unit * (100_000 // len(unit))  # quadratic patterns took ~8 s here, minutes at 1 MB
    start = time.perf_counter()
    not_found_phrase(body)
    same_page(body, body[:-1])
    assert time.perf_counter() - start < 1.0


def test_scripts_and_styles_are_not_read_as_text() -> None:
    page = "<title>Khai sinh</title><p>Trình tự</p><script>if (x) alert('không tồn tại')</script>"
    assert not_found_phrase(page.encode()) is None
    after_style = "<p>ok</p><style>p{}</style><p>Trang không tồn tại</p>"
    assert not_found_phrase(after_style.encode()) == "không tồn tại"
    unclosed = "<title>Khai sinh</title><p>Trình tự</p><script>var a = 'không tồn tại';"
    assert not_found_phrase(unclosed.encode()) is None  # an unclosed script runs to the end


def test_same_page_ignores_numbers() -> None:
    a = b"<p>" + b"Cong dich vu cong quoc gia ho tro " * 10 + b"phien ban 12345</p>"
    b = a.replace(b"12345", b"67890")
    assert same_page(a, b)
    assert not same_page(a, b"<p>" + b"Dang ky khai sinh trinh tu thuc hien " * 10 + b"</p>")


def test_retry_after_forms() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


# ---------------------------------------------------------------------------------------------
# into the check report


def test_a_dead_current_link_becomes_dead_and_is_reprinted(server) -> None:
    catalog = load_catalog(REPO / "catalog")
    view = catalog.as_of(date(2026, 11, 27))
    grade = Grade("A", 3.8, {}, None)
    current = judge(view.procedures["1.001193"].payload, view, catalog.center)
    fake = judge("https://dichvucong-gov.vn/x", view, catalog.center)
    codes = []
    for verdict in (current, fake):
        action, reason = decide(grade, verdict)
        located = Located(text=verdict.link, corners=((0, 0), (10, 0), (10, 10), (0, 10)))
        codes.append(CodeResult(located, grade, verdict, action, reason))
    report = CheckReport((PhotoResult(Path("board.jpg"), 100, 100, codes=tuple(codes)),))
    dead = one(server.base + "/gone")
    live = apply_live(report, {current.link: dead, fake.link: dead})
    first, second = live.codes
    assert (first.verdict.status, first.action) == ("dead", "reprint")
    assert (second.verdict.status, second.action) == ("foreign", "investigate")
    document = report_json(live, "en")
    jsonschema.validate(document, SCHEMA)
    entry = document["photos"][0]["codes"][0]["link"]
    assert entry["live"]["status"] == "dead" and entry["live"]["http_status"] == 404
    assert entry["detail"].startswith("The link of procedure 1.001193")


# ---------------------------------------------------------------------------------------------
# helpers


class RedirectTo:
    """A second local server that redirects every path to `target`."""

    def __init__(self, target: str) -> None:
        from http.server import BaseHTTPRequestHandler

        class Redirect(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> RedirectTo:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _with(**changes: object) -> LiveOptions:
    from dataclasses import replace

    return replace(TEST, **changes)


def _text(result) -> str:  # type: ignore[no-untyped-def]
    from qrcheck.i18n import t

    return t(result.detail_key, "en", **result.detail_params)
