"""Hostile inputs and faults against the web server (issue 17), as a scammer, a careless admin or
a crashing machine would bring them: a checking process killed (as the out-of-memory killer
would), login floods with random names, too many or bad photos in one upload, stable-link scans
repeated to inflate the count, and wrong methods on every route.

Every test runs a real uvicorn server on 127.0.0.1 in this process (so its worker processes are
this process's children, found in /proc) and talks to it over HTTP.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import BUNDLED_CATALOG, board_image, save_photo
from test_web import (
    PASSWORD,
    SOUND,
    TODAY,
    client,
    csrf_of,
    free_port,
    login,
    text_of,
    upload,
    wait_for_result,
)

from qrcheck.board.store import SCAN_CLIENTS_PER_ADDRESS, Store
from qrcheck.catalog.load import load_catalog
from qrcheck.web import WebConfig, create_app
from qrcheck.web.security import Hashing, LoginLimiter, hash_password

REPLACED_CODE = "1.001731"


@contextlib.contextmanager
def serve(root: Path, **settings: object) -> Iterator[dict]:
    """A real uvicorn server on 127.0.0.1, offline, with accounts "lan" (staff) and "admin";
    `settings` go to WebConfig. Yields its address, database, data folder and application."""
    import uvicorn

    db = root / "qrcheck.sqlite"
    with Store(db) as store:
        if store.user("lan") is None:
            store.add_user("lan", hash_password(PASSWORD), "staff")
            store.add_user("admin", hash_password(PASSWORD), "admin")
    config = WebConfig(
        db=db,
        catalog=BUNDLED_CATALOG,
        data=root / "data",
        workers=2,
        today=lambda: TODAY,
        live=None,
        **settings,  # type: ignore[arg-type]
    )
    app = create_app(config)
    port = free_port()
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield {
            "url": f"http://127.0.0.1:{port}",
            "db": db,
            "data": root / "data",
            "app": app.app,  # type: ignore[attr-defined]
        }
    finally:
        uv.should_exit = True
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def view():
    return load_catalog(BUNDLED_CATALOG).as_of(TODAY)


def png(image) -> bytes:  # type: ignore[no-untyped-def]
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def large_photo(payload: str) -> bytes:
    """A 12 MP JPEG holding one code: seconds to check, time enough to kill its worker."""
    from PIL import Image

    canvas = Image.new("L", (4000, 3000), 200)
    canvas.paste(Image.fromarray(board_image([payload], module_px=20)), (1500, 1000))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# a checking process killed (as the out-of-memory killer would)


def checking_processes() -> set[int]:
    """This process's living children that are multiprocessing "spawn" workers (the web
    server's photo checkers), from /proc: not the resource tracker, not zombies."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] != "Z" and b"spawn_main" in command:
                found.add(int(pid))
    return found


def kill_checkers(exclude: set[int] = frozenset(), timeout: float = 60.0) -> set[int]:  # type: ignore[assignment]
    """Wait for a checking process not in `exclude`, then kill -9 every one; the PIDs killed."""
    deadline = time.monotonic() + timeout
    while not (alive := checking_processes() - exclude):
        assert time.monotonic() < deadline, "no checking process started"
        time.sleep(0.01)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


def orphans(server: dict) -> list[str]:
    """Uploaded photos that the history does not refer to (nothing will ever read them)."""
    with Store(server["db"]) as store:
        referred = {row[0] for row in store.db.execute("SELECT photo FROM checks")}
    return [str(p) for p in (server["data"] / "uploads").iterdir() if str(p) not in referred]


def check_one(http: httpx.Client, name: str, data: bytes, kind: str = "image/png") -> str:
    answer = upload(http, [("photos", (name, data, kind))])
    assert answer.status_code == 303, answer.text
    return text_of(wait_for_result(http, answer.headers["location"]).text)


def test_a_worker_killed_while_checking_is_retried(tmp_path: Path, view) -> None:
    """The photo whose worker was killed is checked again (alone) and its result is the
    real one; the pool is replaced, so the next upload is checked as usual."""
    with serve(tmp_path) as server, client(server) as http:
        login(http)
        answer = upload(
            http, [("photos", ("large.jpg", large_photo(view.procedures[SOUND].payload), "x"))]
        )
        assert answer.status_code == 303
        kill_checkers()
        page = text_of(wait_for_result(http, answer.headers["location"]).text)
        assert "Tìm thấy 1 mã QR" in page and SOUND in page, page
        assert "BrokenProcessPool" not in page and "Lỗi khi kiểm tra" not in page
        later = png(board_image([view.procedures[REPLACED_CODE].payload]))
        page = check_one(http, "next.png", later)
        assert REPLACED_CODE in page and "Tìm thấy 1 mã QR" in page
        assert orphans(server) == []


def test_a_photo_that_kills_its_worker_twice_is_failed_with_a_sentence(
    tmp_path: Path, view
) -> None:
    with serve(tmp_path) as server, client(server) as http:
        login(http)
        answer = upload(
            http, [("photos", ("large.jpg", large_photo(view.procedures[SOUND].payload), "x"))]
        )
        assert answer.status_code == 303
        first = kill_checkers()
        kill_checkers(exclude=first)  # its retry, in a process of its own
        page = text_of(wait_for_result(http, answer.headers["location"]).text)
        assert "Không kiểm tra được ảnh này." in page
        assert "Quá trình kiểm tra ảnh large.jpg bị dừng giữa chừng" in page
        assert "hãy thử gửi ảnh nhỏ hơn" in page.lower() and "cán bộ CNTT" in page
        assert "BrokenProcessPool" not in page and "Traceback" not in page
        # its photo is not kept: nothing refers to it
        assert orphans(server) == []
        assert list((server["data"] / "uploads").iterdir()) == []
        # the server still checks photos
        page = check_one(http, "next.png", png(board_image([view.procedures[SOUND].payload])))
        assert SOUND in page and "Tìm thấy 1 mã QR" in page
        assert orphans(server) == []


def test_a_worker_killed_while_idle_does_not_break_the_next_upload(tmp_path: Path, view) -> None:
    procs = view.procedures
    with serve(tmp_path) as server, client(server) as http:
        login(http)
        page = check_one(http, "one.png", png(board_image([procs[SOUND].payload])))
        assert SOUND in page
        killed = kill_checkers()
        deadline = time.monotonic() + 10
        while checking_processes() & killed:  # reaped: the pool has seen them die
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        page = check_one(http, "two.png", png(board_image([procs[REPLACED_CODE].payload])))
        assert REPLACED_CODE in page and "Tìm thấy 1 mã QR" in page, page
        assert orphans(server) == []


# ---------------------------------------------------------------------------------------------
# login floods


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_flood_of_failed_logins_with_random_names(tmp_path: Path) -> None:
    """40 simultaneous failed logins with random names from one address: the address gets
    limited, and at most two passwords are verified at once (argon2 takes 64 MiB each: 40 at
    once took the server from 105 MB to 1.7 GB)."""
    with serve(tmp_path) as server:
        clients = [client(server) for _ in range(40)]
        forms = [csrf_of(http.get("/login").text) for http in clients]
        start = threading.Barrier(len(clients) + 1)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def attempt(http: httpx.Client, token: str) -> None:
            start.wait()
            name = secrets.token_hex(8)
            answer = http.post("/login", data={"csrf": token, "name": name, "password": "x" * 12})
            with lock:
                answers.append(answer)

        peak, baseline, sampling = [0.0], rss_mb(), threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                peak[0] = max(peak[0], rss_mb())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [
            threading.Thread(target=attempt, args=pair) for pair in zip(clients, forms, strict=True)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        for thread in threads:
            thread.join(timeout=120)
        sampling.set()
        sampler.join()
        statuses = sorted(a.status_code for a in answers)
        print(f"RSS grew {peak[0] - baseline:.0f} MB during the flood")  # shown with -s
        assert peak[0] - baseline < 300, f"RSS grew {peak[0] - baseline:.0f} MB"
        assert len(statuses) == 40 and set(statuses) <= {401, 429, 503}, statuses
        assert statuses.count(429) >= 10, statuses  # 30 failures an address, then wait
        limited = next(a for a in answers if a.status_code == 429)
        assert "từ thiết bị hoặc mạng này" in text_of(limited.text)
        # another random name from the same address must wait too; the right password as well
        with client(server) as http:
            answer = login(http, secrets.token_hex(8), "wrong password")
            assert answer.status_code == 429
            assert "Hãy đợi" in text_of(answer.text)
            assert login(http, "lan").status_code == 429
        for http in clients:
            http.close()


def test_an_unknown_name_takes_as_long_as_a_known_one(tmp_path: Path) -> None:
    """A presence check of the dummy verification, not a benchmark: an unknown name is
    verified against a dummy hash, so it costs about what a known name's wrong password does."""
    settings = {"login_attempts": 1000, "login_per_address": 1000}
    with serve(tmp_path, **settings) as server, client(server) as http:
        token = csrf_of(http.get("/login").text)

        def timed(name: str) -> float:
            began = time.perf_counter()
            answer = http.post(
                "/login", data={"csrf": token, "name": name, "password": "not it at all"}
            )
            assert answer.status_code == 401
            return time.perf_counter() - began

        known, unknown = [], []
        for _ in range(7):
            known.append(timed("lan"))
            unknown.append(timed(secrets.token_hex(6)))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.3 < ratio < 3, (known, unknown)


def test_the_login_limiter_bounds_its_tables_and_limits_each_address() -> None:
    now = [1000.0]
    limiter = LoginLimiter(attempts=5, window=300, per_address=30, keys=1000, clock=lambda: now[0])
    for index in range(20_000):  # random names from many addresses
        limiter.failed(secrets.token_hex(6), f"10.0.{index % 250}.{index % 199}")
    assert len(limiter) <= 2000
    # one address: 30 failures whatever the names, then it waits; another address does not
    for _ in range(30):
        assert limiter.begin(secrets.token_hex(6), "203.0.113.7") == (0.0, "")
    wait, which = limiter.begin("lan", "203.0.113.7")
    assert which == "address" and 0 < wait <= 300
    assert limiter.begin("lan", "203.0.113.8") == (0.0, "")
    now[0] += 301
    assert limiter.begin("lan", "203.0.113.7") == (0.0, "")
    # a success clears its name and is not held against the address, nor is an attempt that
    # was not tried (the server was busy)
    fresh = LoginLimiter(attempts=2, window=300, per_address=3, clock=lambda: now[0])
    assert fresh.begin("lan", "192.0.2.1") == (0.0, "")
    fresh.succeeded("lan", "192.0.2.1")
    assert fresh.begin("hai", "192.0.2.1") == (0.0, "")
    fresh.cancel("hai", "192.0.2.1")
    for name in ("a", "b", "c"):
        assert fresh.begin(name, "192.0.2.1") == (0.0, "")
    assert fresh.begin("d", "192.0.2.1")[1] == "address"
    assert fresh.begin("x", "192.0.2.2") == fresh.begin("x", "192.0.2.2") == (0.0, "")
    assert fresh.begin("x", "192.0.2.2")[1] == "name"


def test_password_verifications_wait_for_a_free_slot() -> None:
    hashing = Hashing(slots=2, wait=0.2)
    with hashing.slot() as one, hashing.slot() as two:
        assert one and two
        with hashing.slot() as three:
            assert not three  # the third waits, then is told to try again
    with hashing.slot() as again:
        assert again


# ---------------------------------------------------------------------------------------------
# too many photos, bad photos


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with serve(tmp_path_factory.mktemp("hostile-web")) as running:
        yield running


def test_twelve_photos_are_refused_in_vietnamese(server: dict) -> None:
    before = set((server["data"] / "uploads").iterdir())
    with client(server) as http:
        login(http)
        files = [
            ("photos", (f"{i}.jpg", b"\xff\xd8\xff" + bytes(100), "image/jpeg")) for i in range(12)
        ]
        answer = upload(http, files)
        assert answer.status_code == 400
        text = text_of(answer.text)
        assert "Quá nhiều ảnh một lần (12, giới hạn 10)" in text, text
        assert "Maximum number" not in text
        many = [("photos", (f"{i}.jpg", b"x", "image/jpeg")) for i in range(150)]
        text = text_of(upload(http, many).text)
        assert "Quá nhiều ảnh một lần (> 100, giới hạn 10)" in text, text
        assert "Maximum number" not in text
    assert set((server["data"] / "uploads").iterdir()) == before


def test_a_form_the_parser_refuses_gets_a_sentence(server: dict) -> None:
    with client(server) as http:
        login(http)
        token = csrf_of(http.get("/check").text)
        fields = {"csrf": token, "location": "Quầy 1", **{f"f{i}": "x" for i in range(20)}}
        answer = http.post("/check", data=fields, files=[("photos", ("a.png", b"x", "image/png"))])
        assert answer.status_code == 400
        text = text_of(answer.text)
        assert "Không đọc được dữ liệu gửi lên" in text and "Too many" not in text
    with client(server) as http:  # a file sent to the login form
        token = csrf_of(http.get("/login").text)
        answer = http.post(
            "/login", data={"csrf": token, "name": "lan"}, files=[("f", ("a", b"x", "x/y"))]
        )
        assert answer.status_code == 403
        assert "hết hạn" in text_of(answer.text) and "Too many" not in answer.text


def test_one_bad_photo_does_not_refuse_the_good_ones(server: dict, view, tmp_path: Path) -> None:
    good = save_photo(board_image([view.procedures[SOUND].payload]), tmp_path / "good.png")
    with client(server) as http:
        login(http)
        answer = upload(
            http,
            [
                ("photos", ("bang.jpg", b"this is not a photo at all\n" * 20, "image/jpeg")),
                ("photos", ("good.png", good.read_bytes(), "image/png")),
            ],
        )
        assert answer.status_code == 303, text_of(answer.text)
        page = text_of(wait_for_result(http, answer.headers["location"]).text)
    assert "Ảnh 1/2" in page and "Ảnh 2/2" in page
    assert "File bang.jpg không phải là ảnh" in page  # named as the phone sent it
    assert SOUND in page and "Tìm thấy 1 mã QR" in page
    assert orphans(server) == []


def test_a_million_pixel_wide_png_is_refused_with_a_sentence(server: dict) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1_000_000, 2), 255).save(buffer, "PNG")
    before = set((server["data"] / "uploads").iterdir())
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", ("dải.png", buffer.getvalue(), "image/png"))])
    assert answer.status_code == 400
    text = text_of(answer.text)
    assert "Ảnh dải.png có kích thước bất thường" in text, text
    assert "ValueError" not in text and "65535" not in text
    assert set((server["data"] / "uploads").iterdir()) == before


# ---------------------------------------------------------------------------------------------
# stable-link scans


def test_a_client_counts_once_a_day(server: dict) -> None:
    code = "2.001009"  # abolished: its page is shown, not a redirect to the portal
    with client(server) as one:
        one.headers["user-agent"] = "Phone A"
        for _ in range(100):
            assert one.get(f"/p/{code}").status_code == 200
    with Store(server["db"]) as store:
        assert store.scan_counts()[code] == 1
    with client(server) as two:
        two.headers["user-agent"] = "Phone B"
        two.get(f"/p/{code}")
        two.get(f"/p/{code}")
    with Store(server["db"]) as store:
        assert store.scan_counts()[code] == 2
        kept = str(store.db.execute("SELECT * FROM scan_clients").fetchall())
    assert "127.0.0.1" not in kept and "Phone" not in kept  # salted hashes only
    with client(server) as http:
        login(http)
        page = text_of(http.get("/boards").text)
    assert "Mỗi thiết bị (địa chỉ mạng cùng trình duyệt) được đếm một lần mỗi ngày" in page


def test_scan_counts_across_days_and_browser_names(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        for _ in range(5):
            store.record_scan("1.000001", "2026-01-01", "203.0.113.5\0Phone A", "203.0.113.5")
        assert store.scan_counts()["1.000001"] == 1
        # the next day the same client counts again, and the day before is forgotten
        store.record_scan("1.000001", "2026-01-02", "203.0.113.5\0Phone A", "203.0.113.5")
        assert store.scan_counts()["1.000001"] == 2
        days = {
            r[0]
            for r in store.db.execute(
                "SELECT day FROM scan_clients UNION SELECT day FROM scan_salts"
            )
        }
        assert days == {"2026-01-02"}
        # a script that changes its browser's name at every request counts a bounded number
        for index in range(SCAN_CLIENTS_PER_ADDRESS + 50):
            store.record_scan(
                "1.000002", "2026-01-02", f"198.51.100.9\0Bot {index}", "198.51.100.9"
            )
        assert store.scan_counts()["1.000002"] == SCAN_CLIENTS_PER_ADDRESS


# ---------------------------------------------------------------------------------------------
# wrong methods

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


def route_paths(app) -> list[str]:  # type: ignore[no-untyped-def]
    """A concrete path for every route of the application (parameters filled in)."""
    import re

    from starlette.routing import Mount

    paths = []
    for route in app.routes:
        if isinstance(route, Mount):
            paths.append(route.path + "/site.css")
            continue
        paths.append(re.sub(r"\{(\w+)(:int)?\}", lambda m: "0" if m[2] else "x", route.path))
    return paths


def test_every_route_answers_a_wrong_method_with_its_own_allow_header(server: dict) -> None:
    """A 405's Allow lists exactly the methods the path accepts (those not answered 405)."""
    paths = route_paths(server["app"])
    assert {"/login", "/check", "/users", "/catalog/import", "/p/x", "/static/site.css"} <= set(
        paths
    )
    wrong, pages = [], []
    with client(server) as http:
        login(http, "admin")
        for path in paths:
            answers = {method: http.request(method, path) for method in METHODS}
            accepted = {m for m, a in answers.items() if a.status_code != 405}
            refused = {m: a for m, a in answers.items() if a.status_code == 405}
            assert accepted and refused, path
            for method, answer in refused.items():
                allow = {m.strip() for m in answer.headers.get("allow", "").split(",")}
                if allow != accepted:
                    wrong.append((path, method, sorted(allow), sorted(accepted)))
            pages.append(text_of(refused["PUT"].text))
    assert wrong == []
    # and the page says it in a sentence, not Starlette's English
    assert all("Trang này không nhận kiểu yêu cầu này" in page for page in pages)
