"""The web application (`qrcheck serve`) as a phone meets it: a real uvicorn server on 127.0.0.1.

API tests talk to it with httpx; one browser test drives Debian's chromium with Playwright
(installed by scripts/setup; never `playwright install`) and saves screenshots to
output/screenshots (docs/screenshots for the staff guide with QRCHECK_DOC_SCREENSHOTS=1).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from html import unescape
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import BUNDLED_CATALOG, REPO_ROOT, board_image, save_photo

from qrcheck.board.annotate import COLOURS
from qrcheck.board.store import Store
from qrcheck.catalog.load import load_catalog
from qrcheck.cli.app import main
from qrcheck.i18n import messages, t
from qrcheck.links.model import LiveOptions
from qrcheck.web import WebConfig, create_app
from qrcheck.web.security import hash_password, verify_password

TODAY = date(2026, 11, 27)
SOUND, REPLACED, ABOLISHED = "1.012812", "1.001731", "2.001009"
PASSWORD = "mật-khẩu-dài"
CHROMIUM = Path("/usr/bin/chromium")
TEMPLATES = REPO_ROOT / "qrcheck" / "web" / "templates"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(root: Path, catalog: Path, live: LiveOptions | None = None) -> Iterator[dict]:
    """A real uvicorn server on 127.0.0.1 with four accounts, reading `catalog`; offline (no
    live link checks: tests never reach the internet) unless `live` says how to check."""
    import uvicorn

    db = root / "qrcheck.sqlite"
    with Store(db) as store:
        if store.user("lan") is None:  # a server started again on the same folder keeps them
            store.add_user("lan", hash_password(PASSWORD), "staff")
            store.add_user("admin", hash_password(PASSWORD), "admin")
            store.add_user("limited", hash_password(PASSWORD), "staff")  # the rate-limit test's
            store.add_user("hai", hash_password(PASSWORD), "staff")
    config = WebConfig(
        db=db, catalog=catalog, data=root / "data", workers=2, today=lambda: TODAY, live=live
    )
    port = free_port()
    uv = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=port, log_level="warning", ws="none"
        )
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "db": db, "data": root / "data", "root": root}
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with running_server(tmp_path_factory.mktemp("web"), BUNDLED_CATALOG) as running:
        yield running


@pytest.fixture(scope="module")
def view():
    return load_catalog(BUNDLED_CATALOG).as_of(TODAY)


def client(server: dict) -> httpx.Client:
    return httpx.Client(base_url=server["url"], follow_redirects=False, timeout=30, trust_env=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found[1]


def login(http: httpx.Client, name: str = "lan", password: str = PASSWORD) -> httpx.Response:
    page = http.get("/login")
    assert page.status_code == 200
    return http.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}
    )


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def wait_for_result(http: httpx.Client, location: str) -> httpx.Response:
    deadline = time.monotonic() + 90
    while True:
        page = http.get(location)
        assert page.status_code == 200
        if 'http-equiv="refresh"' not in page.text:
            return page
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.3)


def upload(http: httpx.Client, files: list, location: str = "Quầy 1") -> httpx.Response:
    form = http.get("/check")
    assert form.status_code == 200
    return http.post("/check", data={"csrf": csrf_of(form.text), "location": location}, files=files)


# ---------------------------------------------------------------------------------------------
# accounts and sessions


def test_pages_need_a_login(server: dict) -> None:
    with client(server) as http:
        for path in ("/", "/check", "/boards", "/reprint", "/catalog", "/catalog/import"):
            answer = http.get(path, follow_redirects=True)
            assert answer.url.path == "/login"
            assert "Đăng nhập" in answer.text
        assert http.get("/batch/nothing").headers["location"].startswith("/login")
        assert http.get("/batch/x/photo/0.jpg").status_code == 403
        assert http.get("/reprint/sheet.pdf").headers["location"].startswith("/login")


def test_login_sets_a_safe_session_cookie(server: dict) -> None:
    with client(server) as http:
        answer = login(http)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/check"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # plain HTTP on 127.0.0.1
        page = http.get("/check")
        assert page.status_code == 200
        assert 'capture="environment"' in page.text and 'accept="image/*"' in page.text
        assert "lan (nhân viên)" in text_of(page.text)


def test_a_restart_logs_nobody_out(tmp_path: Path) -> None:
    """Logged-in sessions are kept in the database (hashed), so restarting the service keeps
    staff logged in; a session that logged out, or whose account was disabled, stays out."""
    import hashlib

    with running_server(tmp_path, BUNDLED_CATALOG) as first:
        lan, admin = client(first), client(first)
        assert login(lan).status_code == 303 and login(admin, "admin").status_code == 303
        hai = client(first)
        assert login(hai, "hai").status_code == 303
        assert hai.post("/logout", data={"csrf": csrf_of(hai.get("/check").text)}).status_code
        # a logged-out client keeps its old cookie, to try it after the restart
        hai.cookies.set("qrcheck_session", lan.cookies["qrcheck_session"] + "x")
    cookie = lan.cookies["qrcheck_session"]
    with Store(first["db"]) as store:
        rows = store.db.execute("SELECT id_hash, user FROM sessions").fetchall()
    assert (hashlib.sha256(cookie.encode()).hexdigest(), "lan") in rows
    assert all(cookie not in str(row) for row in rows)  # never the id itself
    assert {user for _, user in rows} == {"lan", "admin"}
    with running_server(tmp_path, BUNDLED_CATALOG) as second:
        for http in (lan, admin, hai):
            http.base_url = second["url"]  # the same cookies, the new port
        page = lan.get("/check")
        assert page.status_code == 200 and "lan (nhân viên)" in text_of(page.text)
        # the CSRF token came back with the session: a form posts as before
        assert lan.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
        assert lan.get("/check").status_code == 303
        assert hai.get("/check").status_code == 303
        users = admin.get("/users")
        assert users.status_code == 200
        token = csrf_of(users.text)
        assert admin.post("/users", data={"csrf": token, "do": "disable", "name": "lan"})
    with Store(first["db"]) as store:
        left = store.db.execute("SELECT user FROM sessions").fetchall()
    assert left == [("admin",)]
    for http in (lan, admin, hai):
        http.close()


def test_sessions_expire_in_the_database_too(tmp_path: Path) -> None:
    from qrcheck.web.security import Sessions

    db = tmp_path / "h.sqlite"
    Store(db).close()
    now = [1_000_000.0]
    sessions = Sessions(idle=3600, lifetime=8 * 3600, db=db, clock=lambda: now[0])
    kept = sessions.new("lan", "staff")
    idle = sessions.new("hai", "staff")
    anonymous = sessions.new()
    sessions.close()
    now[0] += 1800
    again = Sessions(idle=3600, lifetime=8 * 3600, db=db, clock=lambda: now[0])
    assert again.get(anonymous.id) is None  # never written
    restored = again.get(kept.id)
    assert restored is not None and (restored.user, restored.role) == ("lan", "staff")
    assert restored.csrf == kept.csrf
    now[0] += 3000  # hai idle for 4800 s > 3600; lan seen 3000 s ago
    assert again.get(idle.id) is None
    assert again.get(kept.id) is not None
    again.close()
    now[0] += 9 * 3600  # past the lifetime: a restart purges it
    third = Sessions(idle=3600, lifetime=8 * 3600, db=db, clock=lambda: now[0])
    assert third.get(kept.id) is None
    third.close()
    with Store(db) as store:
        assert store.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_wrong_password_is_refused(server: dict) -> None:
    with client(server) as http:
        answer = login(http, "lan", "not the password")
        assert answer.status_code == 401
        assert "Sai tên tài khoản hoặc mật khẩu" in answer.text
        assert login(http, "nobody", PASSWORD).status_code == 401
        assert http.get("/check").status_code == 303


def test_login_attempts_are_rate_limited(server: dict) -> None:
    with client(server) as http:
        for _ in range(5):
            assert login(http, "limited", "wrong password").status_code == 401
        answer = login(http, "limited", PASSWORD)  # even the right password must wait
        assert answer.status_code == 429
        assert "Hãy đợi" in answer.text
        assert login(http, "lan").status_code == 303  # another account is not blocked


def test_a_post_without_the_csrf_token_is_refused(server: dict) -> None:
    with client(server) as http:
        http.get("/login")
        answer = http.post("/login", data={"name": "lan", "password": PASSWORD})
        assert answer.status_code == 403
        assert "hết hạn" in answer.text
        assert login(http).status_code == 303
        answer = http.post("/check", data={"location": "Quầy 1"}, files=[("photos", b"x")])
        assert answer.status_code == 403
        assert http.post("/logout", data={"csrf": "forged"}).status_code == 403
        assert http.get("/check").status_code == 200  # still logged in


def test_logout(server: dict) -> None:
    with client(server) as http:
        login(http)
        page = http.get("/check")
        assert http.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
        assert http.get("/check").status_code == 303


def test_security_headers_on_every_response(server: dict) -> None:
    with client(server) as http:
        for path in ("/login", "/static/site.css", "/p/" + SOUND, "/nowhere"):
            headers = http.get(path).headers
            csp = headers["content-security-policy"]
            assert "default-src 'self'" in csp
            assert "img-src 'self' data:" in csp
            assert "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"


def test_pages_carry_no_inline_script_or_style(server: dict) -> None:
    """Scripts only as local files (the CSP has no 'unsafe-inline'); no inline style at all."""
    scripts = 0
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<style" not in text and "style=" not in text
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline event handler"
        for tag in re.finditer(r"<script([^>]*)>(.*?)</script>", text, re.S):
            assert re.fullmatch(r' src="/static/[a-z]+\.js" defer', tag[1]), tag[0]
            assert tag[2] == "", "inline script"
            scripts += 1
        assert text.count("<script") == len(re.findall(r"<script[^>]*>.*?</script>", text, re.S))
    # the upload progress bar, and the result page's fold opened on a tap on the photo; every
    # page works without them
    assert scripts == 2


def test_english_switch(server: dict) -> None:
    with client(server) as http:
        answer = http.get("/login?lang=en")
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert "Log in" in http.get("/login").text
        http.get("/login?lang=vi")
        assert "Đăng nhập" in http.get("/login").text


def test_every_template_key_exists() -> None:
    keys = set()
    for template in TEMPLATES.glob("*.html"):
        keys |= set(re.findall(r"""tr\(["']([a-z_]+\.[a-z_]+)["']""", template.read_text()))
    assert len(keys) > 20
    for lang in ("vi", "en"):
        assert keys - set(messages(lang)) == set()


# ---------------------------------------------------------------------------------------------
# checking photos


def test_upload_a_board_photo(server: dict, view, tmp_path: Path) -> None:
    procs = view.procedures
    photo = save_photo(
        board_image([procs[SOUND].payload, procs[REPLACED].payload]), tmp_path / "bảng.png"
    )
    with client(server) as http:
        login(http)
        answer = upload(
            http, [("photos", ("../../evil name.png", photo.read_bytes(), "image/png"))]
        )
        assert answer.status_code == 303, answer.text
        result = wait_for_result(http, answer.headers["location"])
        text = text_of(result.text)
        assert "Tìm thấy 2 mã QR" in text
        assert SOUND in text and REPLACED in text
        assert "tốt" in text and "in lại" in text  # action words
        assert "In bản niêm yết mới và thay bản này" in text  # the action in plain words
        assert "Không cần làm gì" in text
        assert "Kiểm tra ảnh khác" in text
        image = re.search(r'<a href="([^"]+)">Mở ảnh gốc đầy đủ</a>', result.text)
        assert image
        jpeg = http.get(image[1])
        assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
        assert jpeg.content[:3] == b"\xff\xd8\xff"
        # the next check offers the board just used
        assert 'value="Quầy 1"' in http.get("/check").text
    with client(server) as other:  # another staff member cannot see it
        assert login(other, "hai").status_code == 303
        assert other.get(image[1]).status_code == 404
        assert other.get(answer.headers["location"]).status_code == 404
    with client(server) as admin:
        login(admin, "admin")
        assert admin.get(image[1]).status_code == 200  # an admin can


def test_tap_a_code_on_the_photo(server: dict, view, tmp_path: Path) -> None:
    """The result photo is an SVG: each code is a link to its details, where the code is."""
    from PIL import Image

    from qrcheck.printing.symbol import make_symbol

    procs = view.procedures
    board = board_image([procs[SOUND].payload, procs[REPLACED].payload, procs[ABOLISHED].payload])
    photo = save_photo(board, tmp_path / "board.png")
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", ("board.png", photo.read_bytes(), "image/png"))])
        page = wait_for_result(http, answer.headers["location"]).text
    svg = re.search(r'<svg class="annotated" viewBox="0 0 (\d+) (\d+)"(.*?)</svg>', page, re.S)
    assert svg, "no photo to tap"
    width, height = int(svg[1]), int(svg[2])
    assert width == board.shape[1] and height > board.shape[0]  # the legend band under it
    spots = re.findall(
        r'<a href="#([^"]+)" class="spot" aria-label="([^"]+)">\s*<polygon class="hit" '
        r'points="([^"]+)"',
        svg[3],
    )
    assert len(spots) == 3
    # where board_image put each code: one row of cells, each code at its cell's top left
    sides = {
        c: make_symbol(procs[c].payload).bitmap(6).shape[0] for c in (SOUND, REPLACED, ABOLISHED)
    }
    cell = max(sides.values()) + 40
    for anchor, label, points in spots:
        # the details the spot leads to are on the page, for the code it outlines
        item = re.search(rf'<li class="code action-(\w+)" id="{anchor}">(.*?)</li>', page, re.S)
        assert item, anchor
        procedure = re.search(r"(\d\.\d{6})", label)[1]
        assert procedure in item[2]
        corners = [tuple(map(float, p.split(","))) for p in points.split()]
        assert len(corners) == 4
        cx = sum(x for x, _ in corners) / 4
        cy = sum(y for _, y in corners) / 4
        index = [SOUND, REPLACED, ABOLISHED].index(procedure)
        assert abs(cx - (20 + index * cell + sides[procedure] / 2)) < 8, (procedure, cx)
        assert abs(cy - (20 + sides[procedure] / 2)) < 8, (procedure, cy)
    # what the phone downloads is a screen-sized copy; the original is one tap away
    view_src = re.search(r'<image href="([^"]+)"', svg[3])[1]
    with client(server) as http:
        login(http)
        small = http.get(view_src)
        assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(small.content)) as shown:
            assert max(shown.size) <= 1600
            assert shown.size[0] / shown.size[1] == pytest.approx(width / height, rel=0.01)
    # a retake button goes back to the check page with the board's name filled in
    retake = re.search(r'<a class="button[^"]*retake" href="([^"]+)"', page)
    assert retake and "location=Qu%E1%BA%A7y%201" in retake[1]
    with client(server) as http:
        login(http)
        assert 'value="Quầy 1"' in http.get(unescape(retake[1])).text
    # stored under a generated name, never the client's; recorded like a CLI check
    stored = list((server["data"] / "uploads").iterdir())
    assert stored and all(re.fullmatch(r"[A-Za-z0-9_-]+\.photo", p.name) for p in stored)
    assert not list(server["root"].rglob("evil name.png"))
    with Store(server["db"]) as store:
        assert store.counts()["codes"] >= 2
        assert "Quầy 1" in store.locations()
        checkers = [r[0] for r in store.db.execute("SELECT checker FROM checks")]
        assert any(c.endswith("web:lan") for c in checkers)


def test_the_result_page_says_what_to_do_first(server: dict, view, tmp_path: Path) -> None:
    """A tally first; the cards that need something done before the sound ones, which fold
    into one line; every card names its procedure by its title and says where it hangs in
    rows and columns of the board."""
    procs = view.procedures
    placed = [SOUND, REPLACED, "1.000656", ABOLISHED]  # two columns: row by row
    photo = save_photo(
        board_image([procs[c].payload for c in placed], columns=2), tmp_path / "grid.png"
    )
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", ("grid.png", photo.read_bytes(), "image/png"))])
        page = wait_for_result(http, answer.headers["location"]).text
    cards = re.findall(
        r'<li class="code action-(\w+)" id="[^"]+">.*?<span class="procedure">([^<]+)</span>'
        r'.*?<p class="name">([^<]+)</p>\s*<p class="where">([^<]+)</p>',
        page,
        re.S,
    )
    assert sorted(code for _, code, _, _ in cards) == sorted(placed)
    for _, code, name, where in cards:
        index = placed.index(code)
        assert unescape(name) == procs[code].name
        assert where == f"hàng {index // 2 + 1}, cột {index % 2 + 1}"
    actions = {code: action for action, code, _, _ in cards}
    assert actions[SOUND] == actions["1.000656"] == "ok"
    todo = [a for a in actions.values() if a not in ("ok", "monitor")]
    assert len(todo) == 2
    # the tally first, most pressing first, in the action words
    counts = {a: list(actions.values()).count(a) for a in set(actions.values())}
    tally = re.search(r'<p class="tally" id="tally">([^<]+)</p>', page)
    assert tally and page.index("tally") < page.index('class="code ')
    order = ("reprint", "remove", "investigate", "retake", "monitor", "ok")
    expected = " · ".join(f"{counts[a]} {t(f'action.{a}', 'vi')}" for a in order if a in counts)
    assert tally[1] == expected
    # the cards to act on, then the sound ones folded under one line
    todo_list = re.search(r'<ul class="codes todo">(.*?)</ul>', page, re.S)
    fold = re.search(
        r'<details class="sound">\s*<summary>([^<]+)</summary>(.*?)</details>', page, re.S
    )
    assert todo_list and fold and page.index("codes todo") < page.index('details class="sound"')
    assert fold[1] == "2 tốt"
    assert SOUND in fold[2] and "1.000656" in fold[2] and SOUND not in todo_list[1]
    assert REPLACED in todo_list[1] and ABOLISHED in todo_list[1]


def test_a_sample_board_photo_gives_what_the_cli_gives(server: dict, tmp_path: Path) -> None:
    """The bundled 12 MP sample photo of a board (samples/photos, with its truth): the web page
    shows every code the truth has, with the same grade and action as `qrcheck check`."""
    import json
    import subprocess
    import sys

    photo = REPO_ROOT / "samples" / "photos" / "board-1.jpg"
    truth = json.loads((photo.parent / "truth.json").read_text(encoding="utf-8"))
    expected_codes = next(p for p in truth["photos"] if p["file"] == photo.name)["codes"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qrcheck",
            "check",
            str(photo),
            "--offline",
            "--json",
            "--no-record",
            "--catalog",
            str(BUNDLED_CATALOG),
            "--as-of",
            TODAY.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "QRCHECK_LANG": "vi"},
    )
    assert done.returncode in (0, 1), done.stderr
    cli = [
        (
            (c["link"] or {}).get("procedure") or t(f"status.{c['link']['status']}", "vi"),
            c["grade"],
            t(f"action.{c['action']}", "vi"),
        )
        for c in json.loads(done.stdout)["photos"][0]["codes"]
    ]
    with client(server) as http:
        login(http)
        answer = upload(
            http,
            [("photos", ("IMG_0001.jpg", photo.read_bytes(), "image/jpeg"))],
            "Bảng mẫu",
        )
        assert answer.status_code == 303
        page = wait_for_result(http, answer.headers["location"]).text
        # the code nobody can read: the board and the reprint list say so, naming the photo
        # by the name the phone sent (never the stored file's)
        boards = " ".join(text_of(http.get("/boards").text).split())
        reprint = " ".join(text_of(http.get("/reprint").text).split())
        for text in (boards, reprint):
            assert "Bảng mẫu" in text and "QR không đọc được nữa" in text
            assert "ảnh IMG_0001.jpg" in text and ".photo" not in text
            # named from its printed code (1.000419, scratched past reading)
            assert "đọc được mã 1.000419 in trên bản niêm yết" in text
    web = [
        (procedure, grade, action)
        for procedure, grade, action in re.findall(
            r'<span class="procedure">([^<]+)</span>\s*<span class="grade">Hạng (\w)</span>\s*'
            r'<span class="badge">([^<]+)</span>',
            page,
        )
    ]
    assert len(web) == len(expected_codes) == 6
    assert sorted(web) == sorted(cli)
    decoded = {c["label"].split()[0] for c in expected_codes} & {p for p, _, _ in web}
    # the sixth is scratched past reading: located, graded F, to reprint, and named from the
    # code printed on its posting
    assert len(decoded) == 6
    assert ("1.000419", "F", "in lại") in web


def test_a_text_file_named_jpg_is_refused_with_a_sentence(server: dict) -> None:
    with client(server) as http:
        login(http)
        fake = ("photos", ("bang.jpg", b"this is not a photo at all\n" * 20, "image/jpeg"))
        answer = upload(http, [fake])
        assert answer.status_code == 400
        text = text_of(answer.text)
        assert "bang.jpg không phải là ảnh" in text
        assert not [p for p in (server["data"] / "uploads").iterdir() if p.stat().st_size == 540]


def test_a_truncated_photo_is_said_on_the_result_page(server: dict, view, tmp_path: Path) -> None:
    """The upload checks headers only (the worker decodes each photo once): a JPEG cut short
    passes them, and its result says in a sentence that the photo is damaged; the other photo
    of the upload is checked as usual."""
    from PIL import Image

    good = save_photo(board_image([view.procedures[SOUND].payload]), tmp_path / "good.png")
    whole = io.BytesIO()
    Image.fromarray(board_image([view.procedures[REPLACED].payload])).save(whole, "JPEG")
    cut = whole.getvalue()[: len(whole.getvalue()) // 2]
    with client(server) as http:
        login(http)
        answer = upload(
            http,
            [
                ("photos", ("cut.jpg", cut, "image/jpeg")),
                ("photos", ("good.png", good.read_bytes(), "image/png")),
            ],
        )
        assert answer.status_code == 303
        page = text_of(wait_for_result(http, answer.headers["location"]).text)
    assert "Không kiểm tra được ảnh này." in page
    assert "Ảnh cut.jpg bị hỏng hoặc chưa tải xong" in page  # named as the phone sent it
    assert "Traceback" not in page and "Error(" not in page
    assert SOUND in page and "Tìm thấy 1 mã QR" in page


def test_upload_limits(server: dict) -> None:
    with client(server) as http:
        login(http)
        # the page's script says these before sending anything (the browser test tries one)
        form = unescape(http.get("/check").text)
        assert 'data-max-bytes="41943040" data-max-files="10"' in form
        assert 'data-too-big="Dữ liệu gửi lên quá lớn ({megabytes} MB, giới hạn 40 MB).' in form
        assert 'data-too-many="Quá nhiều ảnh một lần ({count}, giới hạn 10).' in form
        answer = upload(http, [], location="")
        assert answer.status_code == 400
        assert "Hãy chọn hoặc chụp ít nhất một ảnh" in text_of(answer.text)
        big = ("photos", ("big.jpg", io.BytesIO(b"\0" * (41 * 1024 * 1024)), "image/jpeg"))
        answer = upload(http, [big])
        assert answer.status_code == 413
        assert "giới hạn 40 MB" in text_of(answer.text)


def test_a_photo_over_the_pixel_limit_is_refused_with_a_sentence(server: dict) -> None:
    """64 MP of white compresses to a few hundred kB: the byte limit passes it, the pixel limit
    (60 MP) must not, and nothing is checked or kept."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8000, 8000), 255).save(buffer, "PNG")
    assert buffer.tell() < 1024 * 1024
    before = set((server["data"] / "uploads").iterdir())
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", ("toàn-cảnh.png", buffer.getvalue(), "image/png"))])
    assert answer.status_code == 400
    text = text_of(answer.text)
    assert "Ảnh toàn-cảnh.png quá lớn: 8000 × 8000 điểm ảnh" in text and "giới hạn 60 MP" in text
    assert set((server["data"] / "uploads").iterdir()) == before


def test_the_working_page_counts_the_photos_checked(server: dict, view, tmp_path: Path) -> None:
    """While photos are checked the page says how many are done, and reloads itself."""
    from PIL import Image

    procs = view.procedures
    small = save_photo(board_image([procs[SOUND].payload]), tmp_path / "small.png")
    # a 12 MP photo takes seconds to check: the first look at the batch finds it unfinished
    large = tmp_path / "large.jpg"
    tile = board_image([procs[REPLACED].payload], module_px=20)
    canvas = Image.new("L", (4000, 3000), 200)
    canvas.paste(Image.fromarray(tile), (1500, 1000))
    canvas.save(large, quality=90)
    files = [
        ("photos", ("small.png", small.read_bytes(), "image/png")),
        ("photos", ("large.jpg", large.read_bytes(), "image/jpeg")),
    ]
    seen = []
    with client(server) as http:
        login(http)
        answer = upload(http, files)
        assert answer.status_code == 303
        deadline = time.monotonic() + 90
        while True:
            page = http.get(answer.headers["location"])
            if 'http-equiv="refresh"' not in page.text:
                break
            progress = re.search(r'<progress max="(\d+)" value="(\d+)">', page.text)
            assert progress and progress[1] == "2", page.text
            assert f"Đã kiểm tra {progress[2]}/2 ảnh" in text_of(page.text)
            seen.append(int(progress[2]))
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert seen and seen[0] in (0, 1) and seen == sorted(seen)
    assert "Ảnh 1/2" in text_of(page.text) and "Ảnh 2/2" in text_of(page.text)
    assert SOUND in page.text and REPLACED in page.text


# ---------------------------------------------------------------------------------------------
# live link checks after each photo


class ImitationPortal:
    """A portal on 127.0.0.1 that knows one procedure page; every other address is a 404.
    It notes every request it gets (path and whether a cookie came with it)."""

    def __init__(self, known: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("cookie")))
                if self.path == known:
                    body, status = "<html><body><h1>Thủ tục hiện hành</h1></body></html>", 200
                elif self.path == "/":
                    body, status = "<html><body><h1>Trang chủ cổng</h1></body></html>", 200
                else:
                    body, status = "<html><body>Không tìm thấy</body></html>", 404
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.send_header("set-cookie", "portal=1; Path=/")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_links_are_checked_live_after_each_photo(tmp_path: Path) -> None:
    """With live checks on, a current link whose page is gone (404) turns into a reprint on
    the result page, on the annotated photo and in the history; the page that answers stays
    ok. The checker reaches the imitation portal on 127.0.0.1 only because the test allows
    that network explicitly, and sends no cookie back."""
    from PIL import Image

    catalog = Path(shutil.copytree(BUNDLED_CATALOG, tmp_path / "catalog"))
    sound = load_catalog(catalog).as_of(TODAY).procedures[SOUND]
    gone_code = "1.000656"
    known = f"/thu-tuc-hanh-chinh/{sound.formality_id}"
    portal = ImitationPortal(known)
    try:
        center = catalog / "center.toml"
        text = center.read_text(encoding="utf-8")
        assert "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{formality_id}" in text
        text = text.replace(
            "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{formality_id}",
            f"http://127.0.0.1:{portal.port}/thu-tuc-hanh-chinh/{{formality_id}}",
        ).replace("official = [\n", 'official = [\n  "127.0.0.1",\n')
        center.write_text(text, encoding="utf-8")
        view = load_catalog(catalog).as_of(TODAY)
        payloads = [view.procedures[SOUND].payload, view.procedures[gone_code].payload]
        assert all(p.startswith(f"http://127.0.0.1:{portal.port}/") for p in payloads)
        photo = save_photo(board_image(payloads), tmp_path / "board.png")
        live = LiveOptions(allow_networks=("127.0.0.1/32",), min_interval=0.0, backoff=0.05)
        with running_server(tmp_path / "server", catalog, live) as server, client(server) as http:
            login(http)
            answer = upload(http, [("photos", ("b.png", photo.read_bytes(), "image/png"))])
            assert answer.status_code == 303
            page = wait_for_result(http, answer.headers["location"]).text
            items = dict(
                re.findall(
                    r'<span class="procedure">([^<]+)</span>.*?<span class="badge">([^<]+)</span>',
                    page,
                    re.S,
                )
            )
            assert items == {SOUND: "tốt", gone_code: "in lại"}
            text = text_of(page)
            assert "trang web không mở được" in text  # links.dead_current
            assert "HTTP 404" in text or "404" in text
            assert "Không có kết nối mạng" not in text
            # the annotated photo was drawn again: the dead link's outline is the reprint colour
            full = re.search(r'<a href="([^"]+)">Mở ảnh gốc đầy đủ</a>', page)[1]
            outline = re.search(
                rf'aria-label="Mã \d: {gone_code}[^"]*">\s*<polygon class="hit" points="([^"]+)"',
                page,
            )[1]
            with Image.open(io.BytesIO(http.get(full).content)) as drawn:
                rgb = np.asarray(drawn.convert("RGB"))
        with Store(server["db"]) as store:
            rows = dict(
                store.db.execute(
                    "SELECT json_extract(detail_params, '$.code'), status FROM codes"
                ).fetchall()
            )
        assert rows.get(gone_code) == "dead", rows
        paths = [path for path, _ in portal.seen]
        assert (
            known in paths
            and f"/thu-tuc-hanh-chinh/{view.procedures[gone_code].formality_id}" in paths
        )
        assert all(cookie is None for _, cookie in portal.seen)
    finally:
        portal.close()
    (x0, y0), (x1, y1) = [tuple(map(float, p.split(","))) for p in outline.split()[:2]]
    middle = rgb[round((y0 + y1) / 2), round((x0 + x1) / 2)].astype(int)  # on the top edge
    assert np.abs(middle - np.array(COLOURS["reprint"])).max() < 40, middle


# ---------------------------------------------------------------------------------------------
# who may see what

#: every page, and who may open it: "staff" = every logged-in account, "admin" = admins only
PAGES = [
    ("GET", "/check", "staff"),
    ("GET", "/boards", "staff"),
    ("GET", "/reprint", "staff"),
    ("GET", "/reprint/sheet.pdf", "staff"),
    ("GET", "/catalog", "staff"),
    ("GET", "/catalog/import", "admin"),
    ("GET", "/users", "admin"),
    ("POST", "/check", "staff"),
    ("POST", "/catalog/import", "admin"),
    ("POST", "/catalog/import/apply", "admin"),
    ("POST", "/users", "admin"),
]


@pytest.mark.parametrize(("method", "path", "needs"), PAGES)
@pytest.mark.parametrize("who", [None, "lan", "admin"])
def test_access_control(server: dict, method: str, path: str, needs: str, who) -> None:
    """A visitor is sent to the login page; staff are refused the admin pages with a sentence;
    each account gets its own pages. POSTs carry a valid CSRF token, so only the role decides."""
    with client(server) as http:
        if who is not None:
            assert login(http, who).status_code == 303
        token = (
            csrf_of(http.get("/login").text) if who is None else csrf_of(http.get("/check").text)
        )
        if method == "GET":
            answer = http.get(path)
        else:
            answer = http.post(path, data={"csrf": token, "do": "none"})
        if who is None:
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/login?next=")
        elif needs == "admin" and who != "admin":
            assert answer.status_code == 403
            assert "Chỉ quản trị viên mới mở được trang này" in text_of(answer.text)
        else:
            assert answer.status_code not in (303, 401, 403), answer.text[:300]
            assert "/login" not in answer.headers.get("location", "")


# ---------------------------------------------------------------------------------------------
# accounts


def users_form(http: httpx.Client) -> str:
    page = http.get("/users")
    assert page.status_code == 200
    return csrf_of(page.text)


def test_admin_adds_an_account_that_can_log_in(server: dict) -> None:
    with client(server) as admin:
        login(admin, "admin")
        token = users_form(admin)
        added = admin.post(
            "/users",
            data={
                "csrf": token,
                "do": "add",
                "name": "hoa.tran",
                "role": "staff",
                "password": "một-mật-khẩu",
                "again": "một-mật-khẩu",
            },
        )
        assert added.status_code == 200
        assert "Đã thêm tài khoản hoa.tran (vai trò: nhân viên)" in text_of(added.text)
        assert "hoa.tran" in text_of(admin.get("/users").text)
    with client(server) as hoa:
        assert login(hoa, "hoa.tran", "một-mật-khẩu").status_code == 303
        assert hoa.get("/check").status_code == 200
        assert hoa.get("/users").status_code == 403
    with Store(server["db"]) as store:
        account = store.user("hoa.tran")
        assert account is not None and account.role == "staff"
        assert verify_password(account.password_hash, "một-mật-khẩu")


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"name": "Hoa Trần", "password": "x" * 10, "again": "x" * 10}, "không dùng được làm tên"),
        ({"name": "lan", "password": "x" * 10, "again": "x" * 10}, "Đã có tài khoản tên lan"),
        ({"name": "ngan", "password": "short", "again": "short"}, "ít nhất 8 ký tự"),
        ({"name": "ngan", "password": "x" * 10, "again": "y" * 10}, "Hai mật khẩu không giống"),
    ],
)
def test_adding_an_account_says_what_is_wrong(server: dict, fields: dict, sentence: str) -> None:
    with client(server) as admin:
        login(admin, "admin")
        answer = admin.post("/users", data={"csrf": users_form(admin), "do": "add", **fields})
        assert answer.status_code == 400
        assert sentence in text_of(answer.text)
    with Store(server["db"]) as store:
        assert store.user("ngan") is None


def test_disabling_an_account_logs_it_out_and_keeps_it_out(server: dict) -> None:
    with Store(server["db"]) as store:
        store.add_user("tam", hash_password(PASSWORD), "staff")
    with client(server) as tam, client(server) as admin:
        assert login(tam, "tam").status_code == 303
        assert tam.get("/check").status_code == 200
        login(admin, "admin")
        answer = admin.post(
            "/users", data={"csrf": users_form(admin), "do": "disable", "name": "tam"}
        )
        assert answer.status_code == 200
        assert "Đã khóa tài khoản tam" in text_of(answer.text)
        assert tam.get("/check").status_code == 303  # logged out at once
        assert login(tam, "tam").status_code == 401  # and cannot log in again
        answer = admin.post(
            "/users", data={"csrf": users_form(admin), "do": "enable", "name": "tam"}
        )
        assert "Đã mở khóa tài khoản tam" in text_of(answer.text)
        assert login(tam, "tam").status_code == 303


def test_resetting_a_password(server: dict) -> None:
    with Store(server["db"]) as store:
        store.add_user("minh", hash_password(PASSWORD), "staff")
    with client(server) as minh, client(server) as admin:
        login(minh, "minh")
        login(admin, "admin")
        new = "mật-khẩu-mới-của-minh"
        answer = admin.post(
            "/users",
            data={
                "csrf": users_form(admin),
                "do": "password",
                "name": "minh",
                "password": new,
                "again": new,
            },
        )
        assert answer.status_code == 200 and "Đã đặt mật khẩu mới cho minh" in text_of(answer.text)
        assert minh.get("/check").status_code == 303  # logged out everywhere
        assert login(minh, "minh").status_code == 401  # the old password no longer works
        assert login(minh, "minh", new).status_code == 303


def test_an_admin_cannot_lock_themselves_out(server: dict) -> None:
    with client(server) as admin:
        login(admin, "admin")
        page = admin.get("/users").text
        assert 'name="name" value="admin">' in page
        answer = admin.post(
            "/users", data={"csrf": users_form(admin), "do": "disable", "name": "admin"}
        )
        assert answer.status_code == 400
        assert "không thể tự khóa tài khoản của mình" in text_of(answer.text)
        assert admin.get("/users").status_code == 200
    with Store(server["db"]) as store:
        assert store.user("admin") is not None


def test_account_changes_need_the_csrf_token(server: dict) -> None:
    with client(server) as admin:
        login(admin, "admin")
        answer = admin.post("/users", data={"do": "disable", "name": "lan"})
        assert answer.status_code == 403
    with Store(server["db"]) as store:
        assert store.user("lan") is not None


# ---------------------------------------------------------------------------------------------
# stable links


def test_stable_link_redirects_to_the_current_link(server: dict, view) -> None:
    with client(server) as http:
        answer = http.get(f"/p/{SOUND}")
        assert answer.status_code == 302
        assert answer.headers["location"] == view.procedures[SOUND].link
        http.get(f"/p/{SOUND}")
    with Store(server["db"]) as store:
        assert store.scan_counts()[SOUND] >= 1  # one client counts once a day


def test_stable_link_of_an_abolished_or_replaced_procedure(server: dict, view) -> None:
    with client(server) as http:
        page = http.get(f"/p/{ABOLISHED}")
        assert page.status_code == 200
        assert "đã bị bãi bỏ" in text_of(page.text)
        replaced = view.procedures[REPLACED]
        page = http.get(f"/p/{REPLACED}")
        assert page.status_code == 200
        if replaced.state == "replaced":
            assert f'href="/p/{replaced.replaced_by}"' in page.text
        unknown = http.get("/p/9.999999")
        assert unknown.status_code == 404
        assert "9.999999" in text_of(unknown.text)
        assert http.get("/p/<script>").status_code == 404
    with Store(server["db"]) as store:
        assert store.scan_counts()[ABOLISHED] == 1


# ---------------------------------------------------------------------------------------------
# boards, reprint list, catalog, catalog import

BOARD = "Bảng sảnh B"


@pytest.fixture(scope="module")
def checked_board(server: dict, view, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A board checked through the web page: one sound posting, one of a replaced procedure
    (in another order than the other tests' photo: the store counts a same photo once)."""
    procs = view.procedures
    photo = save_photo(
        board_image([procs[REPLACED].payload, procs[SOUND].payload]),
        tmp_path_factory.mktemp("board") / "board.png",
    )
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", ("b.png", photo.read_bytes(), "image/png"))], BOARD)
        assert answer.status_code == 303, answer.text
        assert "Tìm thấy 2 mã QR" in text_of(wait_for_result(http, answer.headers["location"]).text)
        assert http.get(f"/p/{SOUND}").status_code == 302  # one stable-link scan
    return BOARD


def test_every_page_links_from_the_navigation(server: dict) -> None:
    with client(server) as http:
        login(http)
        page = http.get("/check").text
        for path in ("/check", "/boards", "/reprint", "/catalog"):
            assert f'href="{path}"' in page
        assert 'href="/catalog/import"' not in page  # staff: no import link
    with client(server) as admin:
        login(admin, "admin")
        assert 'href="/catalog/import"' in admin.get("/check").text


def test_boards_dashboard(server: dict, checked_board: str) -> None:
    with Store(server["db"]) as store:
        scans = store.scan_counts()[SOUND]
    with client(server) as http:
        login(http)
        page = http.get("/boards")
        assert page.status_code == 200
        text = text_of(page.text)
        assert "Bảng niêm yết" in text and checked_board in text
        assert SOUND in text and REPLACED in text
        assert "Hạng A" in text or "Hạng B" in text  # latest grade
        assert "in lại" in text and "tốt" in text  # the action of each posting
        assert "lần cuối thấy" in text  # last seen
        assert f"lượt quét liên kết cố định: {scans}" in text
        # scans per procedure, from the scans table
        assert re.search(rf"{SOUND}.*?<td class=\"number\">{scans}</td>", page.text, re.S)
        http.get("/boards?lang=en")
        english = text_of(http.get("/boards").text)
        assert "Boards" in english and "Stable-link scans per procedure" in english


def test_boards_most_urgent_first_with_names(tmp_path: Path, view) -> None:
    """A possible fake sticker's board first, then the one with a posting to reprint, the sound
    one last (whatever their names' order); each posting named; no stable-link scan counts in a
    center that does not print stable links, until a scan is counted all the same."""
    procs = view.procedures
    fake = "https://dichvucong-gov.vn.thanhtoan-phi.com/p/1.001193"
    boards = {
        "Bảng 1": [procs[SOUND].payload, procs["1.000656"].payload],
        "Bảng 2": [procs[SOUND].payload, procs[REPLACED].payload],
        "Bảng 3": [procs["1.000656"].payload, fake],
    }
    with running_server(tmp_path, BUNDLED_CATALOG) as server, client(server) as http:
        login(http)
        for number, (board, payloads) in enumerate(boards.items()):
            photo = save_photo(
                board_image(payloads, columns=2 + number), tmp_path / f"{number}.png"
            )
            answer = upload(http, [("photos", ("b.png", photo.read_bytes(), "image/png"))], board)
            assert answer.status_code == 303
            wait_for_result(http, answer.headers["location"])
        page = http.get("/boards").text
        order = re.findall(r"<h2>(Bảng \d)</h2>", page)
        assert order == ["Bảng 3", "Bảng 2", "Bảng 1"]
        section = page[page.index("<h2>Bảng 3</h2>") : page.index("<h2>Bảng 2</h2>")]
        badges = re.findall(r'<span class="badge">([^<]+)</span>', section)
        assert badges[0] == "kiểm tra ngay"
        text = text_of(page)
        for code in (SOUND, REPLACED, "1.000656"):
            assert procs[code].name in text
        assert "Lượt quét liên kết cố định" not in text and "lượt quét" not in text
        assert http.get(f"/p/{SOUND}").status_code == 302
        text = text_of(http.get("/boards").text)
        assert "Lượt quét liên kết cố định theo thủ tục" in text


def test_reprint_list_and_sheet(server: dict, view, checked_board: str) -> None:
    successor = view.procedures[REPLACED].replaced_by
    with client(server) as http:
        login(http)
        page = http.get("/reprint")
        assert page.status_code == 200
        text = text_of(page.text)
        assert checked_board in text and successor in text
        assert t("store.why_replaced", "vi", code=REPLACED, successor=successor) in text
        assert 'href="/reprint/sheet.pdf"' in page.text
        sheet = http.get("/reprint/sheet.pdf")
        assert sheet.status_code == 200
        assert sheet.headers["content-type"] == "application/pdf"
        disposition = sheet.headers["content-disposition"]
        assert disposition.startswith("attachment;") and ".pdf" in disposition
        assert sheet.content.startswith(b"%PDF")


def test_reprint_sheet_matches_the_cli(server: dict, checked_board: str, tmp_path: Path) -> None:
    """The web sheet holds the same postings as `qrcheck reprint --sheet` on the same data."""
    from pypdf import PdfReader

    out = tmp_path / "sheet.pdf"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "reprint",
                "--sheet",
                str(out),
                "--db",
                str(server["db"]),
                "--catalog",
                str(BUNDLED_CATALOG),
                "--as-of",
                TODAY.isoformat(),
            ]
        )
    assert done.value.code in (0, None)
    with client(server) as http:
        login(http)
        web = http.get("/reprint/sheet.pdf").content
    cli_text = "".join(p.extract_text() for p in PdfReader(out).pages)
    web_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(web)).pages)
    assert web_text == cli_text


def test_catalog_page_shows_scheduled_changes(server: dict, view) -> None:
    assert view.upcoming
    with client(server) as http:
        login(http)
        page = http.get("/catalog")
        assert page.status_code == 200
        text = text_of(page.text)
        assert "Thay đổi đã lên lịch" in text
        for change in view.upcoming:
            assert change.code in text
        first = view.upcoming[0]
        assert first.when.strftime("%d/%m/%Y") in text
        assert 'href="/catalog/import"' not in page.text


def test_staff_cannot_import_a_catalog(server: dict) -> None:
    with client(server) as http:
        login(http)
        page = http.get("/catalog/import")
        assert page.status_code == 403
        assert "quản trị viên" in text_of(page.text)
        token = csrf_of(http.get("/check").text)
        files = [("export", ("a.csv", b"x", "text/csv"))]
        answer = http.post("/catalog/import", data={"csrf": token}, files=files)
        assert answer.status_code == 403
        answer = http.post("/catalog/import/apply", data={"csrf": token, "token": "x"})
        assert answer.status_code == 403


@pytest.fixture(scope="module")
def import_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server of its own, reading a copy of the catalog that an import may change."""
    root = tmp_path_factory.mktemp("web-import")
    catalog = Path(
        shutil.copytree(BUNDLED_CATALOG, root / "catalog", ignore=shutil.ignore_patterns("history"))
    )
    with running_server(root, catalog) as running:
        yield {**running, "catalog": catalog}


def test_admin_imports_a_catalog_after_seeing_the_diff(import_server: dict, tmp_path: Path) -> None:
    from xlsx_fixture import ABOLISHED_CODE, AMENDED_CODE, NEW_CODE, build_export

    export = tmp_path / "TTHC_capxa.xlsx"
    build_export(export)
    csv = import_server["catalog"] / "procedures.csv"
    before = csv.read_bytes()
    with client(import_server) as http:
        login(http, "admin")
        form = http.get("/catalog/import")
        assert form.status_code == 200 and 'accept=".xlsx,.csv"' in form.text
        token = csrf_of(form.text)
        # not an export: refused with a sentence
        wrong = [("export", ("notes.txt", b"hello", "text/plain"))]
        answer = http.post("/catalog/import", data={"csrf": token}, files=wrong)
        assert answer.status_code == 400
        assert ".xlsx hoặc .csv" in text_of(answer.text)
        # without the CSRF token: refused
        files = [("export", ("../../TTHC.xlsx", export.read_bytes(), "application/octet-stream"))]
        assert http.post("/catalog/import", files=files).status_code == 403
        # the diff first; nothing written yet
        preview = http.post("/catalog/import", data={"csrf": token}, files=files)
        assert preview.status_code == 200, preview.text
        text = text_of(preview.text)
        assert "Chưa có gì bị thay đổi" in text
        for code in (NEW_CODE, AMENDED_CODE, ABOLISHED_CODE):
            assert code in text
        assert "Tổng cộng: 1 thêm mới, 2 sửa đổi" in text
        assert csv.read_bytes() == before
        stored = list((import_server["data"] / "imports").iterdir())
        assert stored and all(re.fullmatch(r"[A-Za-z0-9_-]+\.xlsx", p.name) for p in stored)
        assert not list(import_server["root"].rglob("TTHC.xlsx"))
        pending = re.search(r'name="token" value="([^"]+)"', preview.text)
        assert pending
        # a forged confirmation is refused
        answer = http.post("/catalog/import/apply", data={"csrf": token, "token": "forged"})
        assert answer.status_code == 409
        assert csv.read_bytes() == before
        # the confirmation applies it
        done = http.post("/catalog/import/apply", data={"csrf": token, "token": pending[1]})
        assert done.status_code == 200, done.text
        assert "Đã cập nhật danh mục từ tệp TTHC.xlsx" in text_of(done.text)
        assert csv.read_bytes() != before
        assert load_catalog(import_server["catalog"]).errors == []
        assert list((import_server["catalog"] / "history").glob("procedures-*.csv"))
        # applied once only
        again = http.post("/catalog/import/apply", data={"csrf": token, "token": pending[1]})
        assert again.status_code == 409
        # recorded in the history, shown on the catalog page
        with Store(import_server["db"]) as store:
            versions = store.catalog_versions()
        assert versions and versions[-1]["source"] == "TTHC.xlsx"
        assert versions[-1]["changes"]["added"] == 1
        page = text_of(http.get("/catalog").text)
        assert "TTHC.xlsx" in page and "Các phiên bản danh mục đã ghi nhận" in page


def test_the_import_page_speaks_the_admins_language(tmp_path: Path) -> None:
    """Field names in Vietnamese, the uploaded file's own name, each problem at its row and
    column of the Excel file, the page's own checkbox instead of a command-line flag; after
    applying, a success (not in the error style) and the way to what needs reprinting."""
    from xlsx_fixture import AMENDED_CODE, DEFAULT_ROWS, SHEET, build_export

    export = tmp_path / "Danh mục cấp xã.xlsx"
    foreign = ["1.116951", "Thủ tục thử", "https://evil.example.com/x", None, None, "UBND"]
    foreign += ["Hộ tịch", "Cấp xã", "Công dân", "Đã công khai"]
    where = build_export(export, (*DEFAULT_ROWS, foreign))
    catalog = Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )
    with running_server(tmp_path / "server", catalog) as server, client(server) as http:
        login(http, "admin")
        form = http.get("/catalog/import").text
        assert re.search(
            r'<input id="missing" name="missing" type="checkbox" value="abolish">', form
        )
        assert "<select" not in form
        token = csrf_of(form)
        files = [("export", (export.name, export.read_bytes(), "application/octet-stream"))]
        preview = http.post("/catalog/import", data={"csrf": token}, files=files)
        assert preview.status_code == 200
        text = " ".join(text_of(preview.text).split())
        assert export.name in text and ".xlsx" in text
        assert "--" not in text  # no command-line flag
        assert "đánh dấu ô" in text  # the checkbox instead
        # the problem where the admin will find it: the sheet's row and the column's heading
        row = where["1.116951"]
        assert f'dòng {row} của trang "{SHEET}", cột "Link truy cập"' in text
        assert 'class="error">' in preview.text  # an error, in the error style
        # the amended name, in staff words
        amended = re.search(rf"{AMENDED_CODE}</strong></td><td>([^<]+)</td>", preview.text)
        assert amended and "tên thủ tục" in amended[1] and "name" not in amended[1]
        # the same file without its bad row, the missing ones marked abolished by the checkbox
        build_export(export)
        files = [("export", (export.name, export.read_bytes(), "application/octet-stream"))]
        preview = http.post(
            "/catalog/import", data={"csrf": token, "missing": "abolish"}, files=files
        )
        assert "sẽ được ghi là bãi bỏ" in text_of(preview.text)
        pending = re.search(r'name="token" value="([^"]+)"', preview.text)
        done = http.post("/catalog/import/apply", data={"csrf": token, "token": pending[1]})
        assert done.status_code == 200
        assert re.search(r'<p class="notice" role="status">Đã cập nhật danh mục', done.text)
        assert 'class="error"' not in done.text and 'role="alert"' not in done.text
        assert re.search(r'<a class="button" id="to-reprint" href="/reprint">', done.text)
        assert "Xem những bản cần in lại" in done.text


# ---------------------------------------------------------------------------------------------
# the command line


def test_user_add_through_the_cli(tmp_path: Path, monkeypatch, capsys) -> None:
    db = tmp_path / "users.sqlite"
    monkeypatch.setattr("sys.stdin", io.StringIO("mot-mat-khau-dai\n"))
    with pytest.raises(SystemExit) as done:
        main(["user", "add", "hung", "--admin", "--password-stdin", "--db", str(db)])
    assert done.value.code == 0
    assert "hung" in capsys.readouterr().out
    with Store(db) as store:
        user = store.user("hung")
        assert user is not None and user.role == "admin"
        assert verify_password(user.password_hash, "mot-mat-khau-dai")
        assert "mot-mat-khau-dai" not in user.password_hash
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    with pytest.raises(SystemExit) as again:
        main(["user", "add", "HUNG", "--password-stdin", "--db", str(db), "--lang", "en"])
    assert again.value.code == 2
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit) as short:
        main(["user", "add", "mai", "--password-stdin", "--db", str(db), "--lang", "en"])
    assert short.value.code == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_user_password_list_and_disable_through_the_cli(server: dict, monkeypatch, capsys) -> None:
    """The IT officer's way back in (a forgotten admin password), and accounts managed from the
    command line: a running server ends the sessions the CLI ended, at the next request."""
    db = str(server["db"])
    with Store(server["db"]) as store:
        store.add_user("cli.user", hash_password(PASSWORD), "staff")
    with client(server) as http:
        assert login(http, "cli.user").status_code == 303
        assert http.get("/check").status_code == 200
        monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-từ-dòng-lệnh\n"))
        with pytest.raises(SystemExit) as done:
            main(["user", "password", "CLI.USER", "--password-stdin", "--db", db])
        assert done.value.code == 0
        assert "Đã đặt mật khẩu mới cho cli.user" in capsys.readouterr().out
        assert http.get("/check").status_code == 303  # logged out by the CLI
        assert login(http, "cli.user").status_code == 401
        assert login(http, "cli.user", "mật-khẩu-từ-dòng-lệnh").status_code == 303
        with pytest.raises(SystemExit) as done:
            main(["user", "disable", "cli.user", "--db", db, "--lang", "en"])
        assert done.value.code == 0
        assert "Account cli.user disabled" in capsys.readouterr().out
        assert http.get("/check").status_code == 303
        assert login(http, "cli.user", "mật-khẩu-từ-dòng-lệnh").status_code == 401
        with pytest.raises(SystemExit) as done:
            main(["user", "list", "--db", db, "--lang", "en"])
        listing = capsys.readouterr().out
        assert re.search(r"cli\.user\s+staff\s+disabled", listing)
        assert re.search(r"^admin\s+admin\s+active", listing, re.M)
        with pytest.raises(SystemExit) as done:
            main(["user", "disable", "cli.user", "--enable", "--db", db])
        assert done.value.code == 0
        assert login(http, "cli.user", "mật-khẩu-từ-dòng-lệnh").status_code == 303
    with pytest.raises(SystemExit) as missing:
        main(["user", "password", "nobody", "--password-stdin", "--db", db, "--lang", "en"])
    assert missing.value.code == 2
    assert "There is no account named nobody" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the browser


def screenshot_folder() -> Path:
    """Where the browser test saves its screenshots: output/screenshots (a test artefact, not
    tracked), or the staff guide's docs/screenshots when QRCHECK_DOC_SCREENSHOTS=1 (run so
    after a change to the pages, then commit the pictures)."""
    if os.environ.get("QRCHECK_DOC_SCREENSHOTS") == "1":
        folder = REPO_ROOT / "docs" / "screenshots"
    else:
        folder = REPO_ROOT / "output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_phone_checks_a_board(server: dict, view, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    procs = view.procedures
    photo = save_photo(
        board_image([procs[SOUND].payload, procs[ABOLISHED].payload, procs["1.000656"].payload]),
        tmp_path / "board.png",
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            ).new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content" in m.text else None)
            page.goto(server["url"] + "/check")
            assert "/login" in page.url
            page.fill("#name", "lan")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/check")
            shots = screenshot_folder()
            page.screenshot(path=str(shots / "check-upload.png"), full_page=True)
            # more than the server takes: said at once, nothing is sent
            page.fill("#location", "Bảng sảnh A")
            posts: list[str] = []
            page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
            eleven = [
                {"name": f"{i}.jpg", "mimeType": "image/jpeg", "buffer": photo.read_bytes()}
                for i in range(11)
            ]
            page.set_input_files("#gallery", eleven)
            page.click("main button[type=submit]")
            refused = page.locator("#upload-refused")
            assert refused.is_visible()
            assert "Quá nhiều ảnh một lần (11, giới hạn 10)" in refused.inner_text()
            assert posts == [] and "/check" in page.url
            page.set_input_files("#gallery", [])
            page.set_input_files("#camera", str(photo))
            # the upload goes through the progress-bar script: record what it says
            progress: list[str] = []
            page.expose_function("qrcheckSaw", lambda text: progress.append(text))
            page.evaluate(
                """() => new MutationObserver(() => window.qrcheckSaw(
                       document.querySelector('#upload-status .progress-text').textContent))
                     .observe(document.querySelector('#upload-status'),
                              {subtree: true, childList: true, characterData: true})"""
            )
            uploads: list[str] = []
            page.on(
                "request",
                lambda r: uploads.append(r.resource_type) if r.method == "POST" else None,
            )
            images: dict[str, int] = {}
            page.on("response", lambda r: images.__setitem__(r.url, r.status))
            page.click("main button[type=submit]")
            page.wait_for_selector("ul.codes", timeout=90_000)
            assert uploads == ["xhr"]
            assert any(re.fullmatch(r"Đang gửi ảnh… \d+%", text) for text in progress), progress
            assert "Đã gửi xong. Đang kiểm tra ảnh…" in progress
            assert page.locator("li.code").count() == 3
            page.wait_for_load_state("networkidle")
            assert [s for u, s in images.items() if "/view/" in u] == [200]
            spots = page.locator("svg.annotated a.spot")
            assert spots.count() == 3
            out = shots / "check-result.png"
            page.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 10_000
            # tap a code on the photo: its details come into view, marked
            label = spots.nth(1).get_attribute("aria-label") or ""
            spots.nth(1).click()
            target = page.locator("li.code:target")
            assert target.count() == 1
            assert re.search(r"\d\.\d{6}", label)[0] in target.inner_text()
            assert target.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
            assert target.is_visible()
            # the reprint list, from the navigation, and its print sheet
            page.click("nav a[href='/reprint']")
            page.wait_for_url("**/reprint")
            assert page.locator("ul.reprint li.code").count() >= 1
            page.screenshot(path=str(shots / "reprint.png"), full_page=True)
            with page.expect_download() as download:
                page.click("#sheet")
            sheet = tmp_path / "sheet.pdf"
            download.value.save_as(sheet)
            assert sheet.read_bytes().startswith(b"%PDF")
            assert violations == []
        finally:
            browser.close()


#: how pressing each action is on the boards page (lower first)
ACTION_RANK = {"investigate": 0, "remove": 1, "reprint": 1, "retake": 2, "monitor": 3, "ok": 4}


def phone_browser(pw):  # type: ignore[no-untyped-def]
    return pw.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    )


def signed_in_phone(pw, url: str, name: str = "lan", next_path: str = "/check"):  # type: ignore[no-untyped-def]
    """(browser, page): Debian's chromium as a 390x844 phone, signed in as `name` at `url`,
    on `next_path`. Close the browser when done."""
    browser = phone_browser(pw)
    page = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    ).new_page()
    page.goto(url + ("/login" if next_path == "/check" else f"/login?next={next_path}"))
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**" + next_path)
    return browser, page


def too_small(page, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The elements of `selector` shown on the screen whose tap target is under 44 x 44 px."""
    small = []
    for index in range(page.locator(selector).count()):
        item = page.locator(selector).nth(index)
        if not item.is_visible():
            continue
        box = item.bounding_box()
        if box is None or box["width"] < 44 or box["height"] < 44:
            small.append(f"{selector}[{index}] {box}")
    return small


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_phone_acts_on_what_the_page_says(server: dict, view, tmp_path: Path) -> None:
    """On a 390 x 844 phone: a camera button and a gallery button (several photos, no capture),
    both sending their photos; the result with its tally first, what to do first, the sound
    codes folded (a tap on one in the photo unfolds it); every tap target at least 44 px; the
    navigation marks the page it is on."""
    from playwright.sync_api import sync_playwright

    procs = view.procedures
    photos = [
        save_photo(board_image([procs[a].payload, procs[b].payload]), tmp_path / f"{i}.png")
        for i, (a, b) in enumerate(
            [(SOUND, ABOLISHED), ("1.000656", REPLACED), ("1.001193", SOUND)]
        )
    ]
    with sync_playwright() as pw:
        browser, page = signed_in_phone(pw, server["url"])
        try:
            # two inputs: the camera's, and the gallery's (several at once, no capture)
            camera, gallery = page.locator("#camera"), page.locator("#gallery")
            assert camera.get_attribute("capture") == "environment"
            assert gallery.get_attribute("capture") is None
            assert gallery.get_attribute("multiple") is not None
            assert camera.get_attribute("name") == gallery.get_attribute("name") == "photos"
            big = page.locator("label[for=camera]").bounding_box()
            assert big["height"] >= 60 and big["width"] >= 300  # the big camera button
            assert "Chọn ảnh có sẵn" in page.locator("label[for=gallery]").inner_text()
            assert too_small(page, "label.picker") == []
            # the navigation: the current page marked, in words and in looks
            here = page.locator("nav a[aria-current=page]")
            assert here.count() == 1 and here.get_attribute("href") == "/check"
            other = page.locator("nav a[href='/boards']")
            assert other.get_attribute("aria-current") is None
            style = "e => [getComputedStyle(e).fontWeight, getComputedStyle(e).borderBottomStyle]"
            assert here.evaluate(style) != other.evaluate(style)
            assert too_small(page, "nav a") == []
            assert too_small(page, "header a, header button") == []
            assert too_small(page, "main button") == []
            # one photo from the camera, two from the gallery: all three are checked
            page.fill("#location", "Bảng điện thoại")
            page.set_input_files("#camera", str(photos[0]))
            # a 12 MP photo of a real-looking board: its codes are small on the phone's screen
            sample = REPO_ROOT / "samples" / "photos" / "board-1.jpg"
            page.set_input_files("#gallery", [str(photos[1]), str(photos[2]), str(sample)])
            assert page.locator("#chosen").inner_text() == "Đã chọn 4 ảnh."
            page.click("main button[type=submit]")
            page.wait_for_selector("#tally", timeout=120_000)
            assert page.locator("section.photo").count() == 4
            assert page.locator("li.code").count() == 12
            # the tally first, then what to do; sound codes folded, one line per photo
            tally = page.locator("#tally")
            assert re.fullmatch(r"\d+ [^·]+( · \d+ [^·]+)*", tally.inner_text())
            first_card = page.locator("ul.codes.todo li.code").first
            assert tally.bounding_box()["y"] < first_card.bounding_box()["y"]
            assert first_card.is_visible()
            folded = page.locator("details.sound li.code").first
            assert not folded.is_visible()
            assert too_small(page, "details.sound > summary") == []
            # every card names the procedure and where it hangs
            for card in page.locator("ul.codes.todo li.code").all():
                text = card.inner_text()
                assert re.search(r"hàng \d+, cột \d+", text), text
                code = re.search(r"\d\.\d{6}", text)
                assert code is None or procs[code[0]].name in text  # None: no code decoded
            # tap targets: the spots on the photo, "Về ảnh", the buttons
            page.wait_for_load_state("networkidle")
            assert too_small(page, "svg.annotated a.spot") == []
            assert too_small(page, "a.back-link") == []
            assert too_small(page, "a.button") == []
            # a tap on a sound code in the photo unfolds its card
            anchor = folded.get_attribute("id")
            spot = page.locator(f"svg.annotated a.spot[href='#{anchor}']")
            spot.click()
            assert folded.is_visible()
            assert page.locator("li.code:target").get_attribute("id") == anchor
            assert too_small(page, "a.back-link") == []
            # another board, with a possible fake sticker, checked from another phone
            fake = "https://dichvucong-gov.vn.thanhtoan-phi.com/p/1.001193"
            other_board = save_photo(
                board_image([fake, procs[SOUND].payload]), tmp_path / "fake.png"
            )
            with client(server) as http:
                login(http)
                files = [("photos", ("f.png", other_board.read_bytes(), "image/png"))]
                sent = upload(http, files, "Bảng có mã lạ")
                wait_for_result(http, sent.headers["location"])
            # another page from the navigation: marked in its turn
            page.click("nav a[href='/boards']")
            page.wait_for_url("**/boards")
            assert page.locator("nav a[aria-current=page]").get_attribute("href") == "/boards"
            # the boards with the most pressing work first, each posting named
            words = {t(f"action.{a}", "vi"): a for a in ACTION_RANK}
            keys = []
            for board in page.locator("section.board").all():
                badges = board.locator("span.badge").all_inner_texts()
                ranks = [ACTION_RANK[words[b]] for b in badges]
                keys.append(tuple(-ranks.count(r) for r in range(4)))
                for card in board.locator("li.code:not(.unreadable)").all():
                    code = re.search(r"\d\.\d{6}", card.inner_text())
                    if code and code[0] in procs:
                        assert procs[code[0]].name in card.inner_text()
            assert len(keys) >= 2 and keys == sorted(keys)
            assert page.locator("section.board h2").first.inner_text() == "Bảng có mã lạ"
            page.screenshot(path=str(screenshot_folder() / "boards.png"), full_page=True)
        finally:
            browser.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_an_admin_imports_a_catalog_on_the_phone(tmp_path: Path) -> None:
    """The import on a phone: a checkbox a thumb can hit, the preview without sideways
    scrolling, the success as a notice (not the error style) and a button to the reprint list."""
    from playwright.sync_api import sync_playwright
    from xlsx_fixture import build_export

    export = tmp_path / "TTHC cấp xã.xlsx"
    build_export(export)
    catalog = Path(
        shutil.copytree(
            BUNDLED_CATALOG, tmp_path / "catalog", ignore=shutil.ignore_patterns("history")
        )
    )
    with running_server(tmp_path / "server", catalog) as server, sync_playwright() as pw:
        browser, page = signed_in_phone(pw, server["url"], "admin", "/catalog/import")
        try:
            assert page.locator("nav a[aria-current=page]").get_attribute("href") == (
                "/catalog/import"
            )
            assert too_small(page, "p.check-line") == []
            assert page.locator("#missing").get_attribute("type") == "checkbox"
            page.set_input_files("#export", str(export))
            page.click("main button[type=submit]")
            page.wait_for_selector("table.diff")
            assert export.name in page.locator("main").inner_text()
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, width
            page.click("main form button[type=submit]")
            notice = page.locator("p.notice")
            notice.wait_for()
            page.screenshot(path=str(screenshot_folder() / "import-done.png"), full_page=True)
            here = page.locator("nav a[aria-current=page]")
            assert here.get_attribute("href") == "/catalog/import"
            assert page.locator("p.error").count() == 0
            colours = (
                "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderLeftColor]"
            )
            shown = notice.evaluate(colours)
            error_look = page.evaluate(
                f"""() => {{ const e = document.createElement('p'); e.className = 'error';
                     document.body.append(e); return ({colours})(e); }}"""
            )
            assert shown != error_look and shown[0] != error_look[0]
            assert too_small(page, "#to-reprint") == []
            page.click("#to-reprint")
            page.wait_for_url("**/reprint")
        finally:
            browser.close()
