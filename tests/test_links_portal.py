"""A local imitation of the national portal, on 127.0.0.1 (a helper: no tests here).

Routes (GET):
  /thu-tuc-hanh-chinh/<uuid>   a procedure page (200); any other path under this folder gets the
                               portal's soft-404 shell (200, same page for every unknown id)
  /gone                        404            /removed     410
  /soft-text                   200 "Trang không tồn tại"
  /home-redirect               302 -> /         /                home page (200)
  /chain/<n>                   302 -> /chain/<n-1> ... /chain/0 -> a procedure page
  /loop-a, /loop-b             302 to each other
  /to-private                  302 -> http://10.0.0.1/  (must be refused)
  /to-intranet                 302 -> http://intranet.test:PORT/ (a name resolving to 192.168.x)
  /slow                        sleeps 3 s before answering
  /busy                        429 with Retry-After: 1 on the first hit, then 200
  /busy-forever                always 429 (Retry-After: 1)
  /big                         200 with a 5 MB body
  /drop                        closes the connection without answering
  /flaky                       500 on the first hit, then 200
  /forbidden                   403
  /gzip-soft, /deflate-soft    "Trang không tồn tại", compressed (Content-Encoding gzip / deflate)
  /raw-deflate-soft            the same, deflate without its zlib header (as some servers send)
  /gzip-bomb                   a page that inflates to 20 MB (60 KB on the wire)
  /close-after/<n>             a page, then the connection is closed without saying so first
  /gzip-endless                a gzip header whose file name never ends, sent until the reader
                               hangs up: it inflates to nothing
  /drip/<page>                 a page; /drip/qrcheck-* (the soft-404 probe) sends 1 byte / 0.3 s
  /to-index-query              302 -> /index.php?option=tthc&id=5, a procedure page
  /cookie-wall                 302 back to itself, setting a cookie (never sent back by us)
  /bad-location                302 to "http://[::1" (no one can follow it)
  /retry-after-odd             404 with a Retry-After of "²"
  /bad-header                  an answer with an illegal header line that mentions TLS
Each request is counted in `server.hits[path]`. `delay` adds latency to every answer; with
`spa=True` every path, the home page included, gets the same shell (a single-page application).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

PAGE = (
    "<html><head><title>{title}</title></head><body><h1>{title}</h1>"
    "<p>Trình tự thực hiện: {text}</p><p>Cách thức thực hiện, thành phần hồ sơ, số lượng hồ sơ, "
    "thời hạn giải quyết, đối tượng thực hiện, cơ quan thực hiện, kết quả, lệ phí: {text}.</p>"
    "</body></html>"
)
SHELL = (
    "<html><head><title>Cổng Dịch vụ công Quốc gia</title></head><body><div id=root></div>"
    "<p>Cổng Dịch vụ công Quốc gia, kết nối, cung cấp thông tin, dịch vụ công mọi lúc, mọi nơi. "
    "Hỗ trợ: 18001096. Phiên bản {nonce}.</p></body></html>"
)
KNOWN = {
    "019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7": "Đăng ký khai sinh",
    "019d2bfd-3fac-7489-b53b-9c6c958f2da4": "Đăng ký khai tử",
}


SOFT_TEXT = "<html><title>Thông báo</title><p>Trang không tồn tại.</p></html>"


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip body that inflates to 20 MB: a page, then zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(PAGE.format(title="bomb", text="bomb").encode())]
    zeros = bytes(1 << 20)
    parts += [packer.compress(zeros) for _ in range(20)]
    return b"".join([*parts, packer.flush()])


class LocalServer(ThreadingHTTPServer):
    """A threaded server on a free port of 127.0.0.1, served from a thread while in `with`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class PortalServer(LocalServer):
    def __init__(self, delay: float = 0.0, spa: bool = False, host: str = "127.0.0.1") -> None:
        super().__init__(Handler, host)
        self.delay = delay
        #: a single-page application: one shell for every path, home page included
        self.spa = spa
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.agents: list[str] = []
        self.cookies: list[str] = []
        #: when each request arrived (time.monotonic)
        self.arrivals: list[float] = []


class Handler(BaseHTTPRequestHandler):
    server: PortalServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: str | bytes = b"", headers: dict | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", "session=abc; Path=/")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, "", {"Location": location})

    def do_GET(self) -> None:
        server = self.server
        path = self.path.split("?")[0]
        with server.lock:
            server.arrivals.append(time.monotonic())
            server.hits[path] += 1
            count = server.hits[path]
            server.agents.append(self.headers.get("User-Agent", ""))
            if self.headers.get("Cookie"):
                server.cookies.append(self.headers["Cookie"])
        if server.delay:
            time.sleep(server.delay)
        if getattr(server, "spa", False):
            self.send(200, SHELL.format(nonce=count))
        elif path == "/":
            self.send(200, PAGE.format(title="Trang chủ", text="Cổng Dịch vụ công"))
        elif path.startswith("/thu-tuc-hanh-chinh/"):
            ident = path.rsplit("/", 1)[1]
            if ident in KNOWN or ident.startswith("ok-"):
                title = KNOWN.get(ident, ident)
                self.send(200, PAGE.format(title=title, text=title * 3))
            else:
                self.send(200, SHELL.format(nonce=count))
        elif path == "/gone":
            self.send(404, "<h1>Not Found</h1>")
        elif path == "/removed":
            self.send(410, "gone")
        elif path.startswith("/soft-text"):
            self.send(200, SOFT_TEXT)
        elif path == "/gzip-soft":
            self.send(200, gzip.compress(SOFT_TEXT.encode()), {"Content-Encoding": "gzip"})
        elif path == "/deflate-soft":
            self.send(200, zlib.compress(SOFT_TEXT.encode()), {"Content-Encoding": "deflate"})
        elif path == "/raw-deflate-soft":
            packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            raw = packer.compress(SOFT_TEXT.encode()) + packer.flush()
            self.send(200, raw, {"Content-Encoding": "deflate"})
        elif path == "/gzip-bomb":
            self.send(200, gzip_bomb(), {"Content-Encoding": "gzip"})
        elif path == "/gzip-endless":
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.close_connection = True
            # FLG.FNAME set: the file name runs until a zero byte, which never comes
            with contextlib.suppress(OSError):
                self.wfile.write(b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\x03")
                chunk = b"a" * 65536
                while True:  # until the reader hangs up
                    self.wfile.write(chunk)
        elif path.startswith("/drip/"):
            if "/qrcheck-" not in path:
                self.send(200, PAGE.format(title="drip", text="drip page"))
                return
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.3)
        elif path == "/to-index-query":
            self.redirect("/index.php?option=tthc&id=5")
        elif path == "/index.php" and "?" in self.path:
            self.send(200, PAGE.format(title="Thủ tục 5", text="thủ tục số 5"))
        elif path == "/cookie-wall":
            self.redirect("/cookie-wall")  # every answer sets a cookie
        elif path == "/bad-location":
            self.redirect("http://[::1")
        elif path == "/retry-after-odd":
            self.send(404, "not found", {"Retry-After": "²"})
        elif path == "/bad-header":
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nTLS handshake broken\r\n\r\n")
            self.close_connection = True
        elif path.startswith("/close-after/"):
            self.send(200, PAGE.format(title="close", text="close"))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif path.startswith("/home-redirect"):
            self.redirect("/")
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            target = f"/chain/{left - 1}" if left > 0 else f"/thu-tuc-hanh-chinh/ok-chain{left}"
            self.redirect(target, 301 if left % 2 else 302)
        elif path == "/loop-a":
            self.redirect("/loop-b")
        elif path == "/loop-b":
            self.redirect("/loop-a")
        elif path == "/to-private":
            self.redirect("http://10.0.0.1/admin")
        elif path == "/to-intranet":
            self.redirect(f"http://intranet.test:{server.port}/")
        elif path == "/to-ipv6-loopback":
            self.redirect(f"http://[::1]:{server.port}/")
        elif path == "/slow":
            time.sleep(3)
            self.send(200, PAGE.format(title="slow", text="slow"))
        elif path == "/busy":
            if count == 1:
                self.send(429, "slow down", {"Retry-After": "1"})
            else:
                self.send(200, PAGE.format(title="busy", text="busy page"))
        elif path == "/busy-forever":
            self.send(429, "slow down", {"Retry-After": "1"})
        elif path == "/big":
            self.send(200, b"<html><body>" + b"x" * (5 * 1024 * 1024) + b"</body></html>")
        elif path == "/drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif path == "/flaky":
            if count == 1:
                self.send(500, "oops")
            else:
                self.send(200, PAGE.format(title="flaky", text="flaky page"))
        elif path == "/forbidden":
            self.send(403, "forbidden")
        else:
            self.send(404, "not found")


class ForwardProxy(LocalServer):
    """A forward proxy on 127.0.0.1 that sends every request to `upstream` (the portal),
    whatever host the request names: plain GETs by absolute URL, and CONNECT tunnels (HTTPS)
    to upstream's host and port. `seen` keeps what it was asked for ("CONNECT host:port" for a
    tunnel)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(ProxyHandler)
        self.upstream = upstream
        self.seen: list[str] = []


class ProxyHandler(BaseHTTPRequestHandler):
    server: ForwardProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        import http.client
        from urllib.parse import urlsplit

        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        upstream = urlsplit(self.server.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=5)
        path = target.path + (f"?{target.query}" if target.query else "")
        connection.request("GET", path, headers={"User-Agent": self.headers["User-Agent"]})
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self) -> None:
        import selectors
        from urllib.parse import urlsplit

        self.server.seen.append(f"CONNECT {self.path}")
        upstream = urlsplit(self.server.upstream)
        remote = socket.create_connection((upstream.hostname, upstream.port), timeout=5)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        with remote, selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ, remote)
            selector.register(remote, selectors.EVENT_READ, self.connection)
            # relay both ways until either side closes or drops (the checker aborts its TLS
            # connections when it is done)
            while True:
                for key, _ in selector.select(timeout=5):
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            return
                        key.data.sendall(data)
                    except OSError:
                        return


@contextlib.contextmanager
def tls_portal(folder: Path, names: Sequence[str]) -> Iterator[tuple[int, Path]]:
    """The portal imitation over TLS on 127.0.0.1, with a self-signed certificate for `names`
    (made with openssl in `folder`): yields its port and the certificate's file."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={names[0]}",
            "-addext", "subjectAltName=" + ",".join(f"DNS:{name}" for name in names),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hits = Counter()  # type: ignore[attr-defined]
    httpd.lock = threading.Lock()  # type: ignore[attr-defined]
    httpd.delay = 0  # type: ignore[attr-defined]
    httpd.agents, httpd.cookies = [], []  # type: ignore[attr-defined]
    httpd.arrivals = []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], cert
    finally:
        httpd.shutdown()
        httpd.server_close()
