"""Links as a phone's browser reads them, for the catalog's checks and the link verdict.

`parse_link` reads the decoded text as a link the way a phone's browser does (the WHATWG URL
standard, through the ada parser: backslashes, tabs and newlines, userinfo, percent-encoded
and full-width dots, IDNA, odd IPv4 forms, dot segments) and normalises it (default ports,
trailing slashes, percent-encoding, the `#v=TAG` version fragment, tracking parameters such
as utm_*, fbclid or Zalo's zarsrc). It also notes the host that a simpler reading of the
text (Python's urlsplit, a person's eye) sees: when the two differ, the text hides where it
leads. It never raises.

`imitated_domain`, `disguised` and `forwarded_hosts` tell a text that imitates or hides an official
address (lookalike hosts, homoglyphs, shorteners, user names, forwarding parameters).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ada_url import URL as WhatwgURL

from qrcheck.center import CenterSettings
from qrcheck.payload import TAG_LENGTH, split_payload

TAG_RE = re.compile(rf"^[A-Z2-7]{{{TAG_LENGTH}}}$")


#: what the WHATWG URL parser strips from both ends (C0 controls and space) and removes
#: everywhere (ASCII tab and newlines) before it reads a URL
_C0_OR_SPACE = "".join(chr(i) for i in range(0x21))

DEFAULT_PORTS = {"http": 80, "https": 443}


#: query parameters that only say where a click came from (never part of a link's identity)
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "zarsrc",  # Zalo
        "gidzl",  # Zalo
        "zl_source",
        "_ga",
        "_gl",
    }
)


TRACKING_PREFIXES = ("utm_", "zalo_")


#: query parameters that carry a procedure code in the portal's search and old pages
CODE_PARAMS = ("ma_thu_tuc", "keyword", "matthc", "code", "ma", "q")


#: public URL shorteners: an official posting never hides its destination behind one
_SHORTENER_NAMES = """
    bit.ly bitly.com bitly.is j.mp tinyurl.com goo.gl g.co s.id t.ly t.co is.gd v.gd ow.ly
    buff.ly cutt.ly rebrand.ly rb.gy tiny.cc shorturl.at shorturl.asia short.io shorte.st
    lnkd.in qrco.de qr.io surl.li tiny.one urlz.fr u.to clck.ru y2u.be bom.so bom.to
    link.gov.vn.cm
"""


SHORTENERS = frozenset(_SHORTENER_NAMES.split())


#: characters that render like Latin letters (Cyrillic, Greek, IPA, full-width...) and digits
#: that pass for letters: a lookalike host maps to an official one under this table.
HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        "ո": "n",
        "ɡ": "g",
        "ɑ": "a",
        "ı": "i",
        "ℓ": "l",
        "ν": "v",
        "ο": "o",
        "α": "a",
        "ι": "i",
        "κ": "k",
        "τ": "t",
        "ρ": "p",
        "υ": "u",
        "χ": "x",
        "ϲ": "c",
        "đ": "d",
        "ð": "d",
        "0": "o",
        "1": "l",
        "ⅰ": "i",
        "ⅴ": "v",
    }
)


@dataclass(frozen=True)
class ParsedLink:
    """A decoded text read as an http(s) link, normalised."""

    scheme: str
    #: ASCII (punycode) host, lower case, without a trailing dot
    host: str
    #: the host as a person reads it (punycode decoded)
    display_host: str
    port: int | None
    path: str
    #: query parameters in their order, tracking parameters removed
    query: tuple[tuple[str, str], ...]
    fragment: str
    tag: str | None
    #: user name and password before the host (decoded), as the browser reads them
    userinfo: str = ""
    #: the host that a simpler reading of the text sees (urlsplit, or a person reading it),
    #: normalised the same way; None when such a reading finds no host at all
    seen_host: str | None = None
    #: the text has an "@" in its authority (user name, password, or an empty one)
    at_sign: bool = False

    @property
    def hides_host(self) -> bool:
        """The text seems to name another host than the one a browser opens."""
        return self.seen_host is None or not _same_host(self.seen_host, self.host)

    @property
    def url(self) -> str:
        """The normalised link, without the version tag."""
        netloc = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port is not None:
            netloc = f"{netloc}:{self.port}"
        text = f"{self.scheme}://{netloc}{self.path or '/'}"
        if self.query:
            text += "?" + urlencode(self.query, quote_via=quote, safe=_QUERY_SAFE)
        if self.fragment:
            text += "#" + self.fragment
        return text

    @property
    def key(self) -> str:
        """What makes two links the same page: the url without fragment and trailing slash."""
        path = self.path.rstrip("/") or ""
        query = "&".join(f"{k.lower()}={v}" for k, v in sorted(self.query))
        port = f":{self.port}" if self.port else ""
        return f"{self.host}{port}{path.lower()}?{query.lower()}"

    def param(self, *names: str) -> list[str]:
        wanted = {n.lower() for n in names}
        return [v for k, v in self.query if k.lower() in wanted]


_PATH_SAFE = "/:@!$&'()*+,;=-._~"


_QUERY_SAFE = ":@!$'()*,;/?-._~"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _ascii_host(host: str) -> str | None:
    """The host in ASCII (IDNA), lower case, or None when it cannot be a host name."""
    host = unicodedata.normalize("NFKC", host).lower().rstrip(".")
    if not host or any(c in host for c in " \t\r\n/\\?#@%<>\"'`{}|^[]"):
        return None
    if ":" in host:  # an IPv6 literal, already unbracketed by urlsplit
        return host if re.fullmatch(r"[0-9a-f:.]+", host) else None
    if host.isascii():
        labels = host.split(".")
        if any(not label or len(label) > 63 for label in labels):
            return None
        return host
    try:
        import idna

        # UTS-46 maps the full-width and ideographic dots (．。｡): a trailing one too
        return idna.encode(host, uts46=True).decode("ascii").lower().rstrip(".") or None
    except Exception:  # idna rejects many strings (disallowed code points, bidi rules)
        try:
            return host.encode("idna").decode("ascii").lower().rstrip(".") or None
        except Exception:
            return None


def _unicode_host(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(Exception):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def _remove_dot_segments(path: str) -> str:
    """`path` with "." and ".." segments resolved (RFC 3986 5.2.4, as browsers do)."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments and segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


def _clean_path(path: str) -> str:
    decoded = unquote(path, errors="replace")
    if re.search(r"(^|/)\.\.?(/|$)", decoded):
        # dot segments that appear only once decoded ("..%2f", "%2e%2e%5c"): a server that
        # decodes them leaves the page a browser asked for, so judge what it would serve
        decoded = _remove_dot_segments(decoded)
    path = quote(decoded, safe=_PATH_SAFE)
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path or "/"


def parse_link(text: str | None) -> ParsedLink | None:
    """The decoded text as a normalised http(s) link, or None when it is not one. Never raises."""
    if text is None:
        return None
    try:
        return _parse(text)
    except Exception:  # the text is anyone's: no input may stop a run
        return None


_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")


def browser_text(text: str) -> str:
    """The text as a browser's URL parser reads it (WHATWG: ends stripped, tabs and newlines
    removed)."""
    return text.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)


def browser_host(text: str) -> str | None:
    """The host a phone's browser opens for `text` (ASCII, lower case, no trailing dot), or
    None when a browser would not open it as an http(s) link."""
    parsed = parse_link(text)
    return parsed.host if parsed else None


def _parse(text: str) -> ParsedLink | None:
    link, tag = split_payload(browser_text(text))
    if tag is not None and not TAG_RE.match(tag):
        tag = None
    try:
        url = WhatwgURL(link)
    except ValueError:
        return None
    scheme = url.protocol.rstrip(":")
    if scheme not in DEFAULT_PORTS:
        return None
    host = url.hostname
    if host.startswith("["):
        host = host[1:-1]
    host = _without_root_dot(host)
    if not host:
        return None
    port = int(url.port) if url.port else None  # the parser already drops the default port
    if port == DEFAULT_PORTS[scheme]:
        port = None
    query = tuple(
        (k, v) for k, v in parse_qsl(url.search[1:], keep_blank_values=True) if not _is_tracking(k)
    )
    fragment = quote(unquote(url.hash[1:], errors="replace"), safe=_QUERY_SAFE + "&=#")
    userinfo = unquote(url.username, errors="replace")
    if url.password:
        userinfo += ":" + unquote(url.password, errors="replace")
    return ParsedLink(
        scheme=scheme,
        host=host,
        display_host=_unicode_host(host),
        port=port,
        path=_clean_path(url.pathname),
        query=query,
        fragment=fragment,
        tag=tag,
        userinfo=userinfo,
        seen_host=_seen_host(text),
        at_sign="@" in _authority(link),
    )


_NUMBER_RE = re.compile(r"[0-9]+|0x[0-9a-f]*", re.I)


def _without_root_dot(host: str) -> str:
    """`host` without the one trailing dot of a fully qualified name ("dichvucong.gov.vn."
    is the same site). Kept when taking it away would change what a browser reads: "x.1."
    is a name, "x.1" an (invalid) IPv4 address; "x.." is no name anyone registered."""
    if not host.endswith(".") or host.endswith(".."):
        return host
    name = host[:-1]
    if _NUMBER_RE.fullmatch(name.rsplit(".", 1)[-1]):
        return host
    return name


def _authority(link: str) -> str:
    """The authority of a special-scheme link as WHATWG reads it: after the scheme and any
    slashes or backslashes, up to the first of / \\ ? #."""
    rest = link.partition(":")[2].lstrip("/\\")
    return re.split(r"[/\\?#]", rest, maxsplit=1)[0]


def _seen_host(text: str) -> str | None:
    """The host that a simple reading sees (Python's urlsplit after dropping what does not
    print, as this module read links before it followed browsers), normalised, or None."""
    try:
        stripped = "".join(ch for ch in text.strip() if ch.isprintable() or ch == " ").strip()
        parts = urlsplit(split_payload(stripped)[0])
        if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            return None
        return _ascii_host(unquote(parts.hostname))
    except ValueError:
        return None


def _same_host(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def normalise(text: str | None) -> str | None:
    """The normalised link (version tag kept as `#v=TAG`), or None for text that is no link.

    Idempotent: `normalise(normalise(x)) == normalise(x)`.
    """
    parsed = parse_link(text)
    if parsed is None:
        return None
    url = parsed.url
    if parsed.tag:
        url += ("&" if parsed.fragment else "#") + f"v={parsed.tag}"
    return url


def registered_domain(host: str) -> str:
    """A host's registered domain, good enough for Vietnamese and common hosts.

    `a.dichvucong.gov.vn` -> `dichvucong.gov.vn`; `x.example.com` -> `example.com`;
    `evil.com.vn` -> `evil.com.vn`. IP literals are returned as they are.
    """
    if re.fullmatch(r"[\d.]+", host) or ":" in host:
        return host
    labels = host.split(".")
    second_level = {"gov", "com", "net", "org", "edu", "ac", "co", "info", "biz", "name", "pro"}
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in second_level:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _skeleton(text: str) -> str:
    """Letters only, with look-alike characters mapped to the Latin letters they imitate."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", plain.translate(HOMOGLYPHS))


def _distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, giving up (limit + 1) once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def imitated_domain(parsed: ParsedLink, center: CenterSettings) -> tuple[str, str] | None:
    """(how, official domain) when a non-official host imitates an official address.

    `how` is "shortener", "homoglyph", "userinfo" or "lookalike".
    """
    host = parsed.host
    if host in SHORTENERS or registered_domain(host) in SHORTENERS:
        return "shortener", ""
    domains = [d for d in (*center.official_domains, *center.legacy_domains) if d]
    user = parsed.userinfo.lower()
    for domain in domains:
        if user and domain in user:
            return "userinfo", domain
    display = parsed.display_host
    if display.endswith(".gov.vn") and display.isascii():
        # only government bodies can register under gov.vn (VNNIC): another agency's site,
        # not a lookalike (and gov.vn names are ASCII, so no homoglyphs)
        return None
    host_skeleton = _skeleton(display)
    for domain in domains:
        if display != host and _skeleton(domain) in host_skeleton:
            return "homoglyph", domain
    for domain in domains:
        labels = display.split(".")
        # the official name as a prefix or a part of a longer host: dichvucong.gov.vn.evil.com
        if f".{domain}." in f".{display}." or display.startswith(domain + "-"):
            return "lookalike", domain
        # the same letters with other punctuation: dichvucong-gov.vn, dichvucong.gov-vn.com
        if _skeleton(domain) in host_skeleton:
            return "lookalike", domain
        # the distinctive name under another suffix: dichvucong.com.vn, dichvucong.vn
        distinctive = [x for x in domain.split(".") if len(x) >= 6 and x not in ("gov", "com")]
        if any(x in labels for x in distinctive):
            return "lookalike", domain
        # a typo of the whole name: dichvucomg.gov.vn, dichvucong.gov.vm
        name = registered_domain(domain)
        if len(name.split(".")[0]) >= 6 and _distance(registered_domain(display), name) <= 2:
            return "lookalike", domain
        if any(_distance(label, x) <= 1 for label in labels for x in distinctive):
            return "lookalike", domain
    return None


#: an address written into a query value or the path: http://x, https:\\x, //x
_EMBEDDED_RE = re.compile(r"(?:https?:[\\/]*|^[\\/]{2})([^/\\?#&\s]+)", re.I)


def forwarded_hosts(parsed: ParsedLink) -> list[str]:
    """Hosts of the addresses that a link carries for its site to forward to
    (`/redirect?to=https://evil.example`, `/out/https://x`), percent-decoded up to three
    times (`https%253A%252F%252Fx`)."""
    hosts = []
    for text in [*(v for _, v in parsed.query), parsed.path]:
        for _ in range(3):
            if _EMBEDDED_RE.search(text):
                break
            decoded = unquote(text)
            if decoded == text:
                break
            text = decoded
        for match in _EMBEDDED_RE.finditer(text):
            target = parse_link(f"{parsed.scheme}://{match.group(1)}/")
            hosts.append(target.host if target else match.group(1).lower())
    return hosts


def disguised(parsed: ParsedLink, center: CenterSettings) -> tuple[str, dict[str, object]] | None:
    """(message key, params) when the text hides where it leads, whatever host it names:

    - a browser opens another host than a simple reading sees ("links.foreign_hidden"), or a
      simple reading finds no host at all ("links.foreign_malformed");
    - an official host with a user name or password before it ("links.foreign_credentials");
    - an official page that carries another, non-official address to forward to
      ("links.foreign_redirect").

    A non-official host with an official name in its user name is left to `imitated_domain`.
    """
    shown = parsed.display_host
    if parsed.seen_host is None:
        return "links.foreign_malformed", {"host": shown}
    if parsed.hides_host:
        return "links.foreign_hidden", {"host": shown, "seen": _unicode_host(parsed.seen_host)}
    if not (center.host_is_official(parsed.host) or center.host_is_legacy(parsed.host)):
        return None
    if parsed.userinfo or parsed.at_sign:
        return "links.foreign_credentials", {"host": shown}
    for target in forwarded_hosts(parsed):
        if not (center.host_is_official(target) or center.host_is_legacy(target)):
            return "links.foreign_redirect", {"host": shown, "target": _unicode_host(target)}
    return None
