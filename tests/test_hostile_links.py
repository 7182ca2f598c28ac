"""Hostile links (issue 17): texts that a phone's browser opens elsewhere than they seem to
lead, and links that try to change the live verdicts of other links in the same run.

The host a browser opens is written by hand in each row, from the WHATWG URL standard (the
parser every phone browser follows): backslashes are slashes in http(s) URLs, tabs and
newlines are removed, the last "@" of the authority ends the userinfo, hosts are
percent-decoded and mapped by UTS-46 (full-width dots and letters, upper case), IPv4 hosts may
be written in decimal, hex or octal, and "." / ".." path segments (also "%2e") are resolved.
The rows are checked against the ada parser too, so a row that misreads the standard fails.
"""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpcore
import idna
import pytest
from ada_url import URL
from conftest import board_image, run_cli, save_photo
from test_links_portal import PortalServer, tls_portal
from test_links_verdict import BIRTH, CENTER, REPO, TODAY, VIEW

from qrcheck.board.check import check_photo
from qrcheck.board.decide import apply_live, decide, links_to_check
from qrcheck.board.results import CheckReport
from qrcheck.grade.measure import Grade
from qrcheck.i18n import t
from qrcheck.links.cache import LinkCache
from qrcheck.links.live import LinkChecker
from qrcheck.links.model import LiveOptions, NameNotFound
from qrcheck.links.network import PinnedBackend
from qrcheck.links.verdict import describe, judge
from qrcheck.urls import parse_link

ID = "019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7"  # the formalityId of 1.001193 (khai sinh)
P = f"/thu-tuc-hanh-chinh/{ID}"
TAG = BIRTH.tag
V = f"#v={TAG}"
OFFICIAL = "dichvucong.gov.vn"
#: the sticker of issue 17: urlsplit sees dichvucong.gov.vn, a browser opens evil.example
BACKSLASH = f"https://evil.example\\@dichvucong.gov.vn{P}#v=LSTNIU"


def uts46(host: str) -> str:
    """A Unicode host in ASCII as UTS-46 maps it (the idna package, not the parser tested)."""
    return idna.encode(host, uts46=True).decode("ascii")


# (decoded text, host a browser opens or None, status, detail key)
HOSTILE = [
    # backslashes: a path separator for a browser, part of the userinfo for urlsplit
    (BACKSLASH, "evil.example", "foreign", "links.foreign_hidden"),
    (f"https://evil.example\\@{OFFICIAL}{P}{V}", "evil.example", "foreign", "links.foreign_hidden"),
    (f"https://evil%2eexample\\@{OFFICIAL}{P}", "evil.example", "foreign", "links.foreign_hidden"),
    (f"https://{OFFICIAL}\\@evil.example{P}", OFFICIAL, "foreign", "links.foreign_hidden"),
    (f"https://{OFFICIAL}\\.evil.example{P}", OFFICIAL, "foreign", "links.foreign_malformed"),
    (f"https:/\\evil.example{P}", "evil.example", "foreign", "links.foreign_malformed"),
    (f"https:\\\\evil.example{P}", "evil.example", "foreign", "links.foreign_malformed"),
    (f"https:{OFFICIAL}{P}{V}", OFFICIAL, "foreign", "links.foreign_malformed"),
    (f"https:///{OFFICIAL}{P}{V}", OFFICIAL, "foreign", "links.foreign_malformed"),
    (f"//evil.example{P}", None, "not_a_link", "verdict.not_a_link"),
    # userinfo: any at all is foreign; the last "@" of the authority wins
    (f"https://user:pass@{OFFICIAL}{P}{V}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://a@b@{OFFICIAL}{P}{V}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://@{OFFICIAL}{P}{V}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://evil.example%2f@{OFFICIAL}{P}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://evil.example;@{OFFICIAL}{P}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://{OFFICIAL}@evil.example{P}", "evil.example", "foreign", "links.foreign_userinfo"),
    (f"https://{OFFICIAL}:443@evil.example/", "evil.example", "foreign", "links.foreign_userinfo"),
    (f"https://{OFFICIAL}%2f@evil.example/", "evil.example", "foreign", "links.foreign_userinfo"),
    # "@" after the authority is not userinfo: the browser stays on the host before it
    (f"https://evil.example#@{OFFICIAL}{P}", "evil.example", "foreign", "verdict.foreign"),
    (f"https://evil.example?@{OFFICIAL}{P}", "evil.example", "foreign", "verdict.foreign"),
    (f"https://evil.example/@{OFFICIAL}{P}", "evil.example", "foreign", "verdict.foreign"),
    (f"https://{OFFICIAL}{P}?x=@evil.example", OFFICIAL, "current", "links.current_other_form"),
    # tabs, newlines, controls: removed by the browser, so the official host it is
    (f"https://dichvu\tcong.gov.vn{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://dichvucong.gov\n.vn{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"ht\r\ntps://{OFFICIAL}{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"\x00 \x1f https://{OFFICIAL}{P}{V} \x01", OFFICIAL, "current", "verdict.current"),
    (f"https://evil.example\t\\@{OFFICIAL}{P}", "evil.example", "foreign", "links.foreign_hidden"),
    # percent-encoded, full-width and upper-case hosts, a trailing dot: the official host
    (f"https://dichvucong%2egov%2Evn{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://dichvucong。gov．vn｡{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://ｄｉｃｈｖｕｃｏｎｇ.gov.vn{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"HTTPS://DICHVUCONG.GOV.VN{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://{OFFICIAL}.{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://dichvu\u00adcong.gov.vn{P}{V}", OFFICIAL, "current", "verdict.current"),
    (f"https://evil%2eexample%2f@{OFFICIAL}{P}", OFFICIAL, "foreign", "links.foreign_credentials"),
    (f"https://evil.example%40{OFFICIAL}{P}", None, "not_a_link", "verdict.not_a_link"),
    # homoglyphs and lookalikes (IDNA)
    (f"https://dichvucоng.gov.vn{P}", uts46("dichvucоng.gov.vn"), "foreign",
     "links.foreign_homoglyph"),  # Cyrillic о
    (f"https://dịchvucong.gov.vn{P}", uts46("dịchvucong.gov.vn"), "foreign",
     "links.foreign_homoglyph"),
    (f"https://{OFFICIAL}.evil.example{P}", f"{OFFICIAL}.evil.example", "foreign",
     "links.foreign_lookalike"),
    # IPv4 in odd forms
    ("http://0x7f.1/", "127.0.0.1", "foreign", "links.foreign_hidden"),
    ("http://2130706433/", "127.0.0.1", "foreign", "links.foreign_hidden"),
    ("http://0177.0.0.1/", "127.0.0.1", "foreign", "links.foreign_hidden"),
    ("http://127.1/", "127.0.0.1", "foreign", "links.foreign_hidden"),
    ("http://0x7F000001/", "127.0.0.1", "foreign", "links.foreign_hidden"),
    # dot segments: judged on the path the browser asks for
    (f"https://{OFFICIAL}{P}/../../../redirect?to=https://evil.example", OFFICIAL, "foreign",
     "links.foreign_redirect"),
    (f"https://{OFFICIAL}{P}\\..\\..\\..\\redirect?to=https://evil.example", OFFICIAL,
     "foreign", "links.foreign_redirect"),
    (f"https://{OFFICIAL}{P}/../../../redirect", OFFICIAL, "unknown", "verdict.unknown"),
    (f"https://{OFFICIAL}{P}/%2e%2e/.%2E/%2E./redirect", OFFICIAL, "unknown", "verdict.unknown"),
    (f"https://{OFFICIAL}{P}/..%2f..%2f..%2fredirect", OFFICIAL, "unknown", "verdict.unknown"),
    (f"https://{OFFICIAL}/a/./b/../..{P}{V}", OFFICIAL, "current", "verdict.current"),
    # an official page that carries another address to forward to (an open redirect)
    (f"https://{OFFICIAL}{P}?to=//evil.example", OFFICIAL, "foreign", "links.foreign_redirect"),
    (f"https://{OFFICIAL}/r?url=https%3A%2F%2Fevil.example%2F", OFFICIAL, "foreign",
     "links.foreign_redirect"),
    (f"https://{OFFICIAL}/r?url=https%253A%252F%252Fevil.example", OFFICIAL, "foreign",
     "links.foreign_redirect"),
    (f"https://{OFFICIAL}/out/https://evil.example/x", OFFICIAL, "foreign",
     "links.foreign_redirect"),
    (f"https://{OFFICIAL}/r?to=https://{OFFICIAL}@evil.example/", OFFICIAL, "foreign",
     "links.foreign_redirect"),
    (f"https://{OFFICIAL}/login?back=https://{OFFICIAL}{P}", OFFICIAL, "unknown",
     "verdict.unknown"),  # forwarding to an official page: no fake, but no procedure page
]  # fmt: skip


def _whatwg_host(text: str) -> str | None:
    """The host by the ada parser (WHATWG), as a cross-check of the hand-written column."""
    try:
        url = URL(text)
    except ValueError:
        return None
    if url.protocol not in ("http:", "https:"):
        return None
    return url.hostname.strip("[]").rstrip(".") or None


@pytest.mark.parametrize(("text", "browser_host", "status", "key"), HOSTILE)
def test_hostile_spellings(text: str, browser_host: str | None, status: str, key: str) -> None:
    assert _whatwg_host(text.split("#v=")[0]) == browser_host  # the table reads the standard
    verdict = judge(text, VIEW, CENTER)
    assert (verdict.status, verdict.detail_key) == (status, key), verdict
    if browser_host is None:
        return
    # the verdict reasons about the host the browser opens: its link and its sentence
    assert verdict.link is not None
    assert (urlsplit(verdict.link).hostname or "").strip("[]") == browser_host
    parsed = parse_link(text)
    assert parsed is not None and parsed.host == browser_host
    for lang in ("vi", "en"):
        sentence = describe(verdict, lang)
        assert sentence.endswith(".") and "{" not in sentence
        if status == "foreign":
            assert parsed.display_host in sentence, sentence
    action, _ = decide(Grade("A", 4.0, {}), verdict)
    assert action == ("investigate" if status in ("foreign", "unknown", "not_a_link") else "ok")


def test_the_backslash_sticker_says_where_the_browser_goes() -> None:
    verdict = judge(BACKSLASH, VIEW, CENTER)
    assert verdict.procedure is None and verdict.link is not None
    assert verdict.link.startswith("https://evil.example/")
    sentence = describe(verdict, "en")
    assert "a phone's browser opens evil.example" in sentence and OFFICIAL in sentence
    assert "trình duyệt trên điện thoại sẽ mở evil.example" in describe(verdict, "vi")


def test_the_open_redirect_names_its_target() -> None:
    text = f"https://{OFFICIAL}{P}/../../../redirect?to=https://evil.example"
    verdict = judge(text, VIEW, CENTER)
    assert verdict.link == f"https://{OFFICIAL}/redirect?to=https://evil.example"
    assert verdict.detail_params == {"host": OFFICIAL, "target": "evil.example"}


def test_a_catalog_link_and_its_posting_stay_current() -> None:
    """The browser-faithful parser changes nothing for honest postings: every procedure in
    force, as printed, is still current."""
    for proc in VIEW.active():
        verdict = judge(proc.payload, VIEW, CENTER)
        assert verdict.status == "current", (proc.code, proc.payload, verdict)


# ---------------------------------------------------------------------------------------------
# end to end: a photo of the sticker, through `qrcheck check --json`


def test_a_photo_of_the_backslash_sticker_is_investigated(tmp_path: Path, capsys) -> None:
    photo = save_photo(board_image([BACKSLASH, BIRTH.payload]), tmp_path / "board.png")
    args = ["check", str(photo), "--json", "--offline", "--catalog", str(REPO / "catalog")]
    code = run_cli([*args, "--as-of", TODAY.isoformat(), "--lang", "en"])
    document = json.loads(capsys.readouterr().out)
    entries = {c["text"]: c for c in document["photos"][0]["codes"]}
    fake = entries[BACKSLASH]
    assert (fake["link"]["status"], fake["action"]) == ("foreign", "investigate")
    assert "a phone's browser opens evil.example" in fake["link"]["detail"]
    assert entries[BIRTH.payload]["action"] == "ok"
    assert code == 1  # something needs action


# ---------------------------------------------------------------------------------------------
# live checks: one hostile link must not change the verdicts of the others


class LocalInternet(PinnedBackend):
    """The internet as this machine would see it with a route out: every approved address
    answers from the local server on `port`. Records which host names were contacted."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.contacted: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.strip("[]").lower()
        if name not in self.pins:
            raise httpcore.ConnectError(f"{host}: address not checked")
        self.contacted.append(name)
        self.pins[name] = "127.0.0.1"  # the approved public address, served from here
        return await super().connect_tcp(host, self.port, *args, **kwargs)


class NoInternet(PinnedBackend):
    """No route out of this machine: every connection fails (ENETUNREACH)."""

    async def connect_tcp(self, host: str, port: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc


async def no_internet(host: str, port: int) -> list[str]:
    """A machine without internet: its own names resolve, public names do not (NXDOMAIN,
    after the time a resolver takes to say so)."""
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    await asyncio.sleep(0.05)
    raise NameNotFound(host)


PUBLIC = {OFFICIAL: ["203.162.4.190"], "evil.example": ["93.184.216.34"]}


async def internet(host: str, port: int) -> list[str]:
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    if host in PUBLIC:
        return PUBLIC[host]
    raise NameNotFound(host)


@pytest.fixture(scope="module")
def portal_tls(tmp_path_factory):
    """The portal imitation over TLS with a certificate for dichvucong.gov.vn."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available")
    with tls_portal(tmp_path_factory.mktemp("tls"), (OFFICIAL, "evil.example")) as served:
        yield served


def _options(cert: Path) -> LiveOptions:
    # production settings (no loopback allowed, the real canary) with short waits
    return LiveOptions(timeout=1.0, deadline=5.0, min_interval=0.0, backoff=0.05, ca_bundle=cert)


def _run(urls, options, cache, resolver, backend):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        async with LinkChecker(options, cache, resolver, backend) as checker:
            return await checker.check_many(urls), checker

    return asyncio.run(run())


def _rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT url, result FROM live").fetchall()
    db.close()
    return rows


def test_a_localhost_sticker_does_not_poison_the_other_links(tmp_path: Path, portal_tls) -> None:
    """Issue 17: without internet, `check good.jpg s01.png` (s01 holds http://localhost:18932/)
    called the good posting dead ("the domain dichvucong.gov.vn does not exist") and cached
    that for 6 hours: localhost resolved, which counted as proof that the network works."""
    port, cert = portal_tls
    good = save_photo(board_image([BIRTH.payload]), tmp_path / "good.png")
    sticker = save_photo(board_image(["http://localhost:18932/"]), tmp_path / "s01.png")
    report = CheckReport((check_photo(sticker, VIEW, CENTER), check_photo(good, VIEW, CENTER)))
    urls = links_to_check(report)
    assert urls == ["http://localhost:18932/", BIRTH.link]
    cache_path = tmp_path / "links.sqlite"
    options = _options(cert)

    # no internet: public names do not resolve, there is no route
    cache = LinkCache(cache_path)
    results, checker = _run(urls, options, cache, no_internet, NoInternet())
    cache.close()
    assert results["http://localhost:18932/"].status == "refused"
    live = results[BIRTH.link]
    assert (live.status, live.detail_key) == ("unverified", "links.live_no_network")
    assert checker.network_down
    checked = apply_live(report, results)
    code = next(c for c in checked.codes if c.verdict.procedure == "1.001193")
    assert (code.verdict.status, code.action) == ("current", "ok")
    assert "không có kết nối mạng" in t(live.detail_key, "vi", **live.detail_params)
    assert _rows(cache_path) == []  # nothing definite was written

    # the network is back: a real answer, checked afresh (not from the cache)
    cache = LinkCache(cache_path)
    backend = LocalInternet(port)
    results, checker = _run(urls, options, cache, internet, backend)
    cache.close()
    live = results[BIRTH.link]
    assert (live.status, live.http_status, live.cached) == ("ok", 200, False)
    assert results["http://localhost:18932/"].status == "refused"
    assert set(backend.contacted) == {OFFICIAL}  # the real host, nothing else
    assert [url for url, _ in _rows(cache_path)] == [BIRTH.link]


def test_a_missing_name_is_dead_only_when_the_network_answers(tmp_path: Path, portal_tls) -> None:
    """With internet, a name that does not exist is dead (and cached): the fix must not turn
    real answers into 'no network'."""
    port, cert = portal_tls
    cache_path = tmp_path / "links.sqlite"
    cache = LinkCache(cache_path)
    missing = "https://no-such-name.gov.vn/x"
    results, checker = _run(
        ["http://localhost:18932/", missing, BIRTH.link],
        _options(cert),
        cache,
        internet,
        LocalInternet(port),
    )
    cache.close()
    assert not checker.network_down
    assert (results[missing].status, results[missing].detail_key) == (
        "dead",
        "links.live_nxdomain",
    )
    assert results[BIRTH.link].status == "ok"
    assert sorted(url for url, _ in _rows(cache_path)) == sorted([missing, BIRTH.link])


def test_a_canary_that_resolves_to_this_machine_is_no_proof(tmp_path: Path, portal_tls) -> None:
    """A hosts file or a captive portal that maps names to a local address answers the
    canary without any internet: a missing name is then 'no network', never dead."""
    _, cert = portal_tls

    async def captive(host: str, port: int) -> list[str]:
        if host == OFFICIAL:  # the canary
            return ["10.0.0.1"]
        raise NameNotFound(host)

    cache = LinkCache(tmp_path / "links.sqlite")
    url = "https://portal.example.vn/x"
    results, _ = _run([url], _options(cert), cache, captive, NoInternet())
    cache.close()
    result = results[url]
    assert (result.status, result.detail_key) == ("unverified", "links.live_no_network")
    assert _rows(tmp_path / "links.sqlite") == []


def test_the_checker_contacts_the_host_the_browser_opens(portal_tls) -> None:
    """The backslash sticker is checked at evil.example, never at dichvucong.gov.vn, and its
    result is not the good posting's result."""
    port, cert = portal_tls
    asked: list[str] = []

    async def recording(host: str, port: int) -> list[str]:
        asked.append(host)
        return await internet(host, port)

    link = judge(BACKSLASH, VIEW, CENTER).link
    assert link is not None
    backend = LocalInternet(port)
    results, _ = _run([link], _options(cert), None, recording, backend)
    assert asked == ["evil.example"] and set(backend.contacted) == {"evil.example"}
    assert results[link].url == link != BIRTH.link


class _Redirect(BaseHTTPRequestHandler):
    """Every path redirects to the Location given in the server's `location`."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.server.location)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_redirect_with_backslashes_is_followed_as_a_browser_follows_it() -> None:
    """`Location: /\\other.test/...` leads a browser to other.test; the checker used to join it
    as a path of the same host (urljoin) and report the first host's page."""
    with PortalServer() as portal:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
        httpd.location = f"/\\other.test:{portal.port}{P}"  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        names = {"origin.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}

        async def resolver(host: str, port: int) -> list[str]:
            if host in names:
                return names[host]
            raise NameNotFound(host)

        options = LiveOptions(
            timeout=1.0, min_interval=0.0, allow_networks=("127.0.0.1/32",),
            canary_host="origin.test",
        )  # fmt: skip
        url = f"http://origin.test:{httpd.server_address[1]}/start"
        try:
            results, _ = _run([url], options, None, resolver, None)
        finally:
            httpd.shutdown()
            httpd.server_close()
    result = results[url]
    assert result.final_url == f"http://other.test:{portal.port}{P}"
    assert (result.status, result.cross_domain) == ("redirected", True)


class _ProxyDown(BaseHTTPRequestHandler):
    """A configured proxy without a way out: 502 for everything."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_proxy_that_reaches_nothing_is_no_proof_of_a_network() -> None:
    """Behind a proxy without internet, the proxy's own 502 for a sticker with an address
    (no name to resolve) counted as proof that the network works, and the next link's missing
    name became dead."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyDown)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    async def resolver(host: str, port: int) -> list[str]:
        raise NameNotFound(host)  # no internet: no public name resolves

    options = LiveOptions(
        timeout=1.0,
        min_interval=0.0,
        retries=0,
        proxy=f"http://127.0.0.1:{httpd.server_address[1]}",
    )

    async def run():  # type: ignore[no-untyped-def]
        async with LinkChecker(options, None, resolver) as checker:
            first = await checker.check("http://93.184.216.34/a")
            second = await checker.check(f"http://{OFFICIAL}{P}")
            return first, second

    try:
        first, second = asyncio.run(run())
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert first.status == "unverified"
    assert (second.status, second.detail_key) == ("unverified", "links.live_no_network")
