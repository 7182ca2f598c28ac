"""Benchmark `qrcheck serve` under load: concurrent uploads of 12 MP board photos.

Run by hand (not in CI):  .venv/bin/python bench/bench_web.py [--photos 20] [--keep]

Issue 7's bar: "20 concurrent uploads of 12-megapixel photos all complete with correct results
and nothing lost; the site stays responsive (a page load under 1 s) while they are processed".

1. Renders `--photos` distinct 4000x3000 board photos (JPEG q88) in a temporary folder, each
   with 12 postings of procedures in force in the bundled catalog (`testkit.simulate`:
   `render_posting` + `photograph`, as scripts/make_sample_photos.py does). Ground truth: the
   payloads printed on each board.
2. Baseline, same run (the machine is shared and noisy, so the ratio matters more than the
   seconds): the same photos through `check_photo` in this process, one after the other, with
   the catalog, history rows and annotated copy the web application uses.
3. Starts a real `python -m qrcheck serve` on 127.0.0.1 (fresh database and data folder, its
   default worker pool, one account made with `qrcheck user add --password-stdin`). Then
   `--photos` clients (asyncio + httpx, one session each) log in, wait for each other, upload one
   photo each at the same moment (POST /check with the CSRF token, one location per client),
   and poll their /batch/{id} page every 2 s (the page's own refresh) until the result shows.
   Meanwhile a prober thread with its own session loads GET /boards and GET /check in turn
   every 0.5 s and records each latency, tagged with the phase it fell in (logins, uploads,
   checking).
4. Afterwards: every result page must list the 12 expected procedures; the history database
   must hold one check per photo (matched by SHA-256) whose decoded texts include every payload
   on that board; the server log must hold no traceback. The page-load bar is judged on the
   samples taken while the photos are uploaded and checked (the simultaneous logins, argon2
   hashing, are reported apart). "Result recorded" times come from the database's checked_at
   (no polling delay); "result seen" is what a client polling every 2 s saw. The ratio is
   web (uploads start to last result recorded) / baseline (all photos one by one).

Exit status 0 when both bars pass. --keep keeps the temporary folder (photos, database, log).

The server runs with --offline: links are judged against the catalog only, no live checks
(which would measure the portal and the network, not the server), like the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.board.check import check_photo  # noqa: E402
from qrcheck.catalog.load import history_rows, load_catalog  # noqa: E402
from testkit.simulate import (  # noqa: E402
    A5_MM,
    QUIET_ZONE,
    Condition,
    as_rng,
    grid_extent,
    layout_grid,
    make_symbol,
    photograph,
    render_posting,
)

CATALOG = ROOT / "catalog"
QRCHECK = [sys.executable, "-m", "qrcheck"]
CODES_PER_BOARD = 12
SIZE = (4000, 3000)
MODULES = (6.0, 7.0, 8.0, 9.0)  # module size in photo px, board by board
JPEG_QUALITY = 88
USER, PASSWORD = "bench", "bench-password-1"
PROBE_EVERY = 0.5
PAGE_BAR = 1.0  # seconds
POLL_EVERY = 2.0  # working.html refreshes every 2 s
RESULT_TIMEOUT = 30 * 60.0
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PROCEDURE = re.compile(r'<span class="procedure">([^<]*)</span>')


# ---------------------------------------------------------------------------------------------
# photos and their ground truth


@dataclass
class Photo:
    path: Path
    location: str
    payloads: list[str]
    procedures: list[str]
    sha256: str = ""


def make_photos(folder: Path, count: int, today: date) -> list[Photo]:
    """`count` distinct 12 MP boards of procedures in force `today` (what the server sees)."""
    catalog = load_catalog(CATALOG)
    active = sorted(catalog.as_of(today).active(), key=lambda p: p.code)
    if len(active) < CODES_PER_BOARD:
        raise SystemExit(f"the bundled catalog has only {len(active)} procedures in force")
    photos = []
    for index in range(count):
        rng = as_rng(7000 + index)
        start = (index * CODES_PER_BOARD) % len(active)
        chosen = [active[(start + k) % len(active)] for k in range(CODES_PER_BOARD)]
        module_px = MODULES[index % len(MODULES)]
        # printed sizes as simulate.board_with_codes chooses them
        fill, gap = 0.92, 20.0
        cols, rows = layout_grid(CODES_PER_BOARD, SIZE, A5_MM, gap)
        extent = grid_extent(cols, rows, A5_MM, gap)
        scale = fill * min(SIZE[0] / extent[0], SIZE[1] / extent[1])
        modules = make_symbol(chosen[0].payload).size + 2 * QUIET_ZONE
        qr_mm = min(max(module_px / scale * modules, 30.0), 112.0)
        px_mm = min(max(1.6 * scale, 3.0), 8.0)
        cards = []
        for proc in chosen:
            card, box = render_posting(
                proc.code,
                proc.name,
                proc.field,
                catalog.center.name,
                proc.payload,
                px_mm,
                qr_mm=qr_mm,
            )
            cards.append((card, box, Condition(), proc.code, proc.payload))
        rgb, _ = photograph(
            cards,
            SIZE,
            rng,
            px_per_mm=px_mm,
            fill=fill,
            gap_mm=gap,
            perspective_deg=8.0,
            jpeg_quality=None,
            board="cork" if index % 2 else "painted",
        )
        path = folder / f"board-{index:02d}.jpg"
        Image.fromarray(rgb).save(path, "JPEG", quality=JPEG_QUALITY)
        photos.append(
            Photo(
                path,
                f"Bench quầy {index:02d}",
                [p.payload for p in chosen],
                [p.code for p in chosen],
                hashlib.sha256(path.read_bytes()).hexdigest(),
            )
        )
    return photos


# ---------------------------------------------------------------------------------------------
# the baseline: check_photo in this process, one photo after the other


@dataclass
class Baseline:
    seconds: list[float] = field(default_factory=list)
    texts: list[set[str]] = field(default_factory=list)
    wall: float = 0.0


def run_baseline(photos: list[Photo], scratch: Path, today: date) -> Baseline:
    catalog = load_catalog(CATALOG)
    view, center, history = catalog.as_of(today), catalog.center, history_rows(catalog)
    out = Baseline()
    start = time.perf_counter()
    for index, photo in enumerate(photos):
        began = time.perf_counter()
        result = check_photo(
            photo.path, view, center, photo.location, scratch / f"{index}.jpg", history=history
        )
        out.seconds.append(time.perf_counter() - began)
        out.texts.append({c.located.text for c in result.codes if c.located.text})
    out.wall = time.perf_counter() - start
    return out


# ---------------------------------------------------------------------------------------------
# the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(base: Path) -> tuple[subprocess.Popen, str, Path]:
    db = base / "h.sqlite"
    env = {**os.environ, "QRCHECK_LANG": "en"}
    subprocess.run(
        [*QRCHECK, "user", "add", USER, "--password-stdin", "--db", str(db)],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env=env,
    )
    port = free_port()
    log = base / "server.log"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    args += ["--data", str(base / "data"), "--catalog", str(CATALOG), "--offline"]
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*QRCHECK, *args], stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=base
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/login", timeout=2, trust_env=False).status_code == 200:
                return server, url, log
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the server did not start within 60 s")
        time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> float:
    """SIGTERM (uvicorn shuts down, the worker pool with it); seconds it took."""
    began = time.perf_counter()
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        print("!! the server did not stop within 60 s of SIGTERM: killed")
        server.kill()
        server.wait()
    return time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# clients


class Phases:
    """When the load started each phase (perf_counter), for tagging the prober's samples."""

    def __init__(self) -> None:
        self.logins = self.uploads = self.checking = self.done = float("inf")
        self.uploads_epoch = 0.0  # time.time() when the uploads started, for the database

    def of(self, moment: float) -> str:
        if moment >= self.done:
            return "after"
        if moment >= self.checking:
            return "checking"
        if moment >= self.uploads:
            return "uploads"
        if moment >= self.logins:
            return "logins"
        return "idle"


@dataclass
class Upload:
    index: int
    status: int = 0
    upload_s: float = 0.0
    result_s: float = 0.0  # from the start of its upload to the result page
    finished_at: float = 0.0
    polls: int = 0
    procedures: list[str] = field(default_factory=list)
    error: str = ""


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no CSRF token in the page")
    return found[1]


async def alogin(http: httpx.AsyncClient) -> None:
    page = await http.get("/login")
    answer = await http.post(
        "/login", data={"csrf": csrf_of(page.text), "name": USER, "password": PASSWORD}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login answered {answer.status_code}")


async def one_client(url: str, photo: Photo, index: int, ready: asyncio.Barrier) -> Upload:
    out = Upload(index)
    body = photo.path.read_bytes()
    timeout = httpx.Timeout(600.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as http:
        try:
            await alogin(http)
            csrf = csrf_of((await http.get("/check")).text)
        except Exception as exc:
            out.error = f"login: {type(exc).__name__}: {exc}"
            await ready.wait()
            return out
        await ready.wait()  # everyone uploads at the same moment
        began = time.perf_counter()
        try:
            answer = await http.post(
                "/check",
                data={"csrf": csrf, "location": photo.location},
                files=[("photos", (photo.path.name, body, "image/jpeg"))],
            )
        except Exception as exc:
            out.error = f"upload: {type(exc).__name__}: {exc}"
            return out
        out.upload_s = time.perf_counter() - began
        out.status = answer.status_code
        where = answer.headers.get("location", "")
        if answer.status_code != 303 or not where.startswith("/batch/"):
            out.error = f"upload answered {answer.status_code} {where!r}: {answer.text[:300]}"
            return out
        while True:
            await asyncio.sleep(POLL_EVERY)
            out.polls += 1
            try:
                page = await http.get(where)
            except Exception as exc:
                out.error = f"poll: {type(exc).__name__}: {exc}"
                return out
            if page.status_code != 200:
                out.error = f"result page answered {page.status_code}"
                return out
            if 'http-equiv="refresh"' not in page.text:
                break
            if time.perf_counter() - began > RESULT_TIMEOUT:
                out.error = "no result within the timeout"
                return out
        out.finished_at = time.perf_counter()
        out.result_s = out.finished_at - began
        out.procedures = PROCEDURE.findall(page.text)
        if 'class="error"' in page.text:
            out.error = "the result page shows an error: " + page.text[:500]
        return out


async def run_load(url: str, photos: list[Photo], phases: Phases) -> list[Upload]:
    ready = asyncio.Barrier(len(photos) + 1)
    phases.logins = time.perf_counter()
    tasks = [
        asyncio.create_task(one_client(url, photo, i, ready)) for i, photo in enumerate(photos)
    ]
    await ready.wait()
    phases.uploads, phases.uploads_epoch = time.perf_counter(), time.time()
    uploads = []
    for task in asyncio.as_completed(tasks):
        uploads.append(await task)
    return sorted(uploads, key=lambda u: u.index)


@dataclass
class Sample:
    at: float
    path: str
    seconds: float
    status: int
    phase: str


def probe(url: str, stop: threading.Event, phases: Phases, samples: list[Sample]) -> None:
    """GET /boards and /check in turn every PROBE_EVERY s until `stop`, with its own session."""
    with httpx.Client(base_url=url, timeout=60, trust_env=False) as http:
        page = http.get("/login")
        http.post("/login", data={"csrf": csrf_of(page.text), "name": USER, "password": PASSWORD})
        paths = ("/boards", "/check")
        turn = 0
        next_at = time.perf_counter()
        while not stop.is_set():
            path = paths[turn % 2]
            turn += 1
            began = time.perf_counter()
            try:
                status = http.get(path).status_code
            except httpx.HTTPError:
                status = 0
            took = time.perf_counter() - began
            samples.append(Sample(began, path, took, status, phases.of(began)))
            next_at += PROBE_EVERY
            stop.wait(max(0.0, next_at - time.perf_counter()))
            next_at = max(next_at, time.perf_counter() - PROBE_EVERY)


# ---------------------------------------------------------------------------------------------
# checking what the server recorded


def recorded(db: Path) -> dict[str, tuple[set[str], float]]:
    """sha256 -> (decoded texts, when it was recorded as time.time()) of every check recorded."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out: dict[str, tuple[set[str], float]] = {}
        for sha, when, text in conn.execute(
            "SELECT checks.sha256, checks.checked_at, codes.text FROM checks LEFT JOIN codes"
            " ON codes.check_id = checks.id"
        ):
            texts, _ = out.setdefault(sha, (set(), datetime.fromisoformat(when).timestamp()))
            if text:
                texts.add(text)
        return out
    finally:
        conn.close()


def problems_in_log(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    bad = [i for i, line in enumerate(lines) if "Traceback" in line or "ERROR" in line]
    return ["\n".join(lines[i : i + 40]) for i in bad[:3]]


# ---------------------------------------------------------------------------------------------
# figures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_row(label: str, samples: list[Sample]) -> str:
    seconds = [s.seconds for s in samples]
    if not seconds:
        return f"  {label:<22} {'-':>5}"
    over = sum(1 for s in seconds if s >= PAGE_BAR)
    failed = sum(1 for s in samples if s.status != 200)
    return (
        f"  {label:<22} {len(seconds):>5} {statistics.median(seconds) * 1000:>8.0f}"
        f" {pct(seconds, 0.95) * 1000:>8.0f} {max(seconds) * 1000:>8.0f} {over:>6} {failed:>6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=20, help="concurrent uploads (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    count = options.photos
    today = date.today()  # what `qrcheck serve` reads the catalog for

    base = Path(tempfile.mkdtemp(prefix="qrcheck-bench-web-"))
    print(f"work folder: {base}  (cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f})")
    photos_dir = base / "photos"
    photos_dir.mkdir()
    began = time.perf_counter()
    photos = make_photos(photos_dir, count, today)
    megabytes = [p.path.stat().st_size / 1e6 for p in photos]
    print(
        f"rendered {count} photos {SIZE[0]}x{SIZE[1]}, {CODES_PER_BOARD} codes each, "
        f"{min(megabytes):.1f}-{max(megabytes):.1f} MB, in {time.perf_counter() - began:.0f} s"
    )

    scratch = base / "baseline"
    scratch.mkdir()
    print("baseline: check_photo in-process, sequentially ...", flush=True)
    baseline = run_baseline(photos, scratch, today)
    print(f"  {baseline.wall:.1f} s")

    server, url, log = start_server(base)
    print(f"server: {url} (pid {server.pid}, log {log})", flush=True)
    phases = Phases()
    samples: list[Sample] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(url, stop, phases, samples), daemon=True)
    try:
        prober.start()
        time.sleep(3 * PROBE_EVERY)  # a few idle samples first
        print(f"load: {count} clients log in, then upload at once ...", flush=True)
        uploads = asyncio.run(run_load(url, photos, phases))
        phases.done = time.perf_counter()
        time.sleep(3 * PROBE_EVERY)
    finally:
        stop.set()
        prober.join(timeout=60)
        stop_seconds = stop_server(server)
    # the checking phase starts when the last upload was answered
    answered = [phases.uploads + u.upload_s for u in uploads if u.status == 303]
    if answered:
        phases.checking = max(answered)
        for sample in samples:
            sample.phase = phases.of(sample.at)

    # ----- correctness
    by_sha = recorded(base / "h.sqlite")
    lines = []
    missing_codes = wrong_pages = lost = 0
    ready_s = []  # upload start to the result being recorded (server side, no polling)
    for photo, upload, base_texts in zip(photos, uploads, baseline.texts, strict=True):
        notes = []
        if upload.error:
            notes.append(upload.error)
        if sorted(upload.procedures) != sorted(photo.procedures):
            wrong_pages += 1
            gone = sorted(set(photo.procedures) - set(upload.procedures))
            extra = sorted(set(upload.procedures) - set(photo.procedures))
            notes.append(f"page: {len(upload.procedures)} codes, missing {gone}, extra {extra}")
        if photo.sha256 not in by_sha:
            lost += 1
            notes.append("NOT RECORDED in the history database")
        else:
            texts, when = by_sha[photo.sha256]
            ready_s.append(when - phases.uploads_epoch)
            absent = set(photo.payloads) - texts
            missing_codes += len(absent)
            if absent:
                notes.append(f"db: {len(absent)} expected codes missing")
            if texts != base_texts:
                notes.append("db texts differ from the in-process baseline")
        if set(photo.payloads) - base_texts:
            notes.append(f"baseline missed {len(set(photo.payloads) - base_texts)} codes")
        if notes:
            lines.append(f"  {photo.path.name}: " + "; ".join(notes))
    errors = problems_in_log(log)

    # ----- figures
    ok = [u for u in uploads if not u.error and u.status == 303 and u.result_s]
    seen_wall = max((u.finished_at for u in ok), default=phases.uploads) - phases.uploads
    web_wall = max(ready_s, default=float("nan"))
    upload_s = [u.upload_s for u in uploads if u.status == 303]
    result_s = [u.result_s for u in ok]
    during = [s for s in samples if s.phase in ("uploads", "checking")]  # the bar's phases
    logins = [s for s in samples if s.phase == "logins"]
    expected = count * CODES_PER_BOARD
    found = expected - missing_codes - CODES_PER_BOARD * lost
    ratio = web_wall / baseline.wall if baseline.wall else float("nan")

    def spread(label: str, values: list[float]) -> None:
        if values:
            low, mid, high = min(values), statistics.median(values), max(values)
            print(f"  {label:<38} {low:>7.2f} {mid:>8.2f} {high:>8.2f}")

    def figure(label: str, value: str) -> None:
        print(f"  {label:<38} {value:>7}")

    print("\n" + "=" * 78)
    print(f"qrcheck serve under load: {count} concurrent uploads of 12 MP photos ({today})")
    print(f"  machine: {os.cpu_count()} cpus, load average now {os.getloadavg()[0]:.2f}")
    print("  server: --offline, default worker pool (max(1, min(4, cpus - 1)) processes)")
    print("\nresults")
    figure("uploads answered 303", f"{len(upload_s)}/{count}")
    figure("result pages complete", f"{len(ok)}/{count}")
    figure("result pages listing the 12 right", f"{count - wrong_pages}/{count}")
    figure("photos recorded in the db", f"{count - lost}/{count}")
    figure("expected codes in the db", f"{found}/{expected}")
    figure("codes found by the baseline", f"{sum(len(t) for t in baseline.texts)}/{expected}")
    figure("server log tracebacks/errors", str(len(errors)))
    print(f"\ntimes (s){'min':>39} {'median':>8} {'max':>8}")
    spread("upload (POST until its 303)", upload_s)
    spread("upload start to result recorded", ready_s)
    spread(f"upload start to result seen ({POLL_EVERY:.0f} s poll)", result_s)
    spread("baseline check_photo per photo", baseline.seconds)
    print()
    figure(f"logins ({count} at once, argon2)", f"{phases.uploads - phases.logins:.1f}")
    figure("web: uploads start to last recorded", f"{web_wall:.1f}")
    figure("web: ... to last result seen", f"{seen_wall:.1f}")
    figure(f"baseline: {count} photos one by one", f"{baseline.wall:.1f}")
    figure("ratio web (recorded) / baseline", f"{ratio:.2f}")
    figure("web throughput (photos/min)", f"{len(ready_s) / web_wall * 60:.1f}")
    figure("server stop after SIGTERM", f"{stop_seconds:.1f}")
    print(f"\npage loads (GET /boards, /check in turn every {PROBE_EVERY} s; ms)")
    print(f"  {'phase':<22} {'n':>5} {'median':>8} {'p95':>8} {'max':>8} {'>=1s':>6} {'!=200':>6}")
    for phase in ("idle", "logins", "uploads", "checking", "after"):
        print(latency_row(phase, [s for s in samples if s.phase == phase]))
    print(latency_row("uploads + checking", during))
    for path in ("/boards", "/check"):
        print(latency_row(f"  {path}", [s for s in during if s.path == path]))
    slow = sorted((s for s in during + logins if s.seconds >= PAGE_BAR), key=lambda s: -s.seconds)
    for s in slow[:5]:
        print(f"    slow: {s.path} {s.seconds:.2f} s at +{s.at - phases.logins:.1f} s ({s.phase})")
    passed = len(ok) == count and not (wrong_pages or lost or missing_codes or errors)
    responsive = bool(during) and all(s.seconds < PAGE_BAR and s.status == 200 for s in during)
    login_ok = all(s.seconds < PAGE_BAR and s.status == 200 for s in logins)
    print("\nbar")
    print(f"  all complete, correct, nothing lost:  {'PASS' if passed else 'FAIL'}")
    verdict = "PASS" if responsive else "FAIL"
    print(f"  page loads < {PAGE_BAR:.0f} s while photos are uploaded/checked: {verdict}")
    verdict = "yes" if login_ok else "NO"
    print(f"  (also < {PAGE_BAR:.0f} s during the {count} simultaneous logins: {verdict})")
    if lines:
        print("\nper photo problems")
        print("\n".join(lines))
    for block in errors:
        print("\nserver log:\n" + block)
    if options.keep:
        print(f"\nkept {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if passed and responsive else 1


if __name__ == "__main__":
    sys.exit(main())
