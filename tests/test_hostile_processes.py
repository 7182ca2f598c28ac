"""Hostile process faults (issue 17): `kill -9` of `generate` and `check`, leftover workers, a
lock held by a dead run, and crashes at any moment of a generation.

Every test runs real processes (`python -m qrcheck ...`) and kills them for real; nothing is
mocked. They read `/proc`, so they run on Linux only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import board_image, save_photo

from qrcheck.catalog.load import load_catalog
from qrcheck.errors import GenerationError
from qrcheck.printing.generate import GenerateOptions, generate
from qrcheck.printing.lock import LOCK_FILE
from qrcheck.printing.manifest import MANIFEST

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)
AS_OF = TODAY.isoformat()
#: how long leftover processes may take to end after their parent was killed (seconds)
DIE_WITHIN = 5.0


# ---------------------------------------------------------------------------------------------
# helpers


def trimmed_catalog(target: Path, active: int) -> Path:
    """The bundled catalog with only `active` plain procedures in force, plus every row that
    takes part in a change (abolished, replaced, scheduled and their successors)."""
    shutil.copytree(REPO / "catalog", target)
    path = target / "procedures.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        head, *body = list(csv.reader(handle))
    status, successor = head.index("status"), head.index("replaced_by")
    involved = {r[0] for r in body if r[status] != "active" or r[successor]}
    involved |= {r[successor] for r in body if r[successor]}
    kept, plain = [], 0
    for row in body:
        if row[0] in involved:
            kept.append(row)
        elif plain < active:
            kept.append(row)
            plain += 1
    write_rows(path, [head, *kept])
    return target


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_catalog(path: Path, abolish: str, decision: str) -> None:
    """Every posting changes (a new decision that amends every name: a change the postings
    show) and `abolish` is abolished from 01/11/2026."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        head, *body = list(csv.reader(handle))
    for row in body:
        if row[head.index("status")] == "active":
            row[head.index("decision")] = decision
            row[head.index("name")] += " (sửa đổi)"
            if row[0] == abolish:
                row[head.index("status")] = "abolished"
                row[head.index("effective_from")] = "2026-11-01"
    write_rows(path, [head, *body])


def qrcheck_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qrcheck", *args, "--lang", "en"]


def generate_command(catalog_dir: Path, out: Path, workers: int = 1) -> list[str]:
    return qrcheck_command(
        "generate",
        "--catalog",
        str(catalog_dir),
        "--out",
        str(out),
        "--as-of",
        AS_OF,
        "--workers",
        str(workers),
        "--no-record",
    )


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> dict[int, str]:
    """Live (not zombie) children of `pid`, with their start times."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields and fields[1] == str(pid) and fields[0] != "Z":
                found[int(entry.name)] = fields[19]
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    """Those of `processes` (pid: start time) that still run (same start time, not a zombie)."""
    alive = []
    for pid, started in processes.items():
        fields = proc_stat(pid)
        if fields and fields[19] == started and fields[0] != "Z":
            alive.append(pid)
    return alive


def wait_until_gone(processes: dict[int, str], within: float = DIE_WITHIN) -> list[int]:
    deadline = time.monotonic() + within
    while (alive := still_running(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def end(processes: dict[int, str]) -> None:
    """Clean up after a failed test: end the processes it started that are still running."""
    for pid in still_running(processes):
        os.kill(pid, signal.SIGKILL)


def wait_for(condition, process: subprocess.Popen, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, "the run finished before it could be killed"
        time.sleep(0.005)
    raise AssertionError("the run never got there")


def manifest_of(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def running_pid(out: Path) -> int | None:
    """The PID of the run the manifest says is changing the folder."""
    try:
        return manifest_of(out).get("running", {}).get("pid")
    except (OSError, ValueError):
        return None


def assert_in_step(out: Path) -> dict:
    """Every file the manifest claims is there with its hash."""
    manifest = manifest_of(out)
    for code, entry in manifest["procedures"].items():
        for record in entry["files"].values():
            path = out / record["path"]
            assert path.exists(), f"{code}: the manifest claims {record['path']}, not there"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == record["sha256"], f"{code}: {record['path']} is not what is claimed"
    return manifest


def assert_complete(out: Path) -> None:
    """In step, and every posting file on disk is claimed by the manifest."""
    manifest = assert_in_step(out)
    claimed = {r["path"] for e in manifest["procedures"].values() for r in e["files"].values()}
    on_disk = {
        str(p.relative_to(out)) for folder in ("qr", "postings") for p in (out / folder).iterdir()
    }
    assert on_disk == claimed
    assert "running" not in manifest and "pending_take_down" not in manifest


def take_down_list(result) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    return sorted((t.code, t.state, t.printed_here) for t in result.take_down)


def run(catalog_dir: Path, out: Path, workers: int = 1):  # type: ignore[no-untyped-def]
    return generate(
        load_catalog(catalog_dir), GenerateOptions(out=out, as_of=TODAY, workers=workers)
    )


# ---------------------------------------------------------------------------------------------
# kill -9 of a run with workers: no worker survives, the folder is not locked


def test_kill_9_of_generate_leaves_no_worker_and_no_locked_folder(tmp_path: Path) -> None:
    catalog_dir = trimmed_catalog(tmp_path / "catalog", active=20)
    out = tmp_path / "out"
    command = generate_command(catalog_dir, out, workers=2)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: dict[int, str] = {}
    try:
        wait_for(lambda: len(children(process.pid)) >= 2 and (out / "qr").exists(), process)
        workers = children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        started = time.monotonic()
        assert wait_until_gone(workers) == [], "workers outlived their killed parent"
        gone_after = time.monotonic() - started
        rerun = subprocess.run([*command, "--all"], capture_output=True, text=True, timeout=120)
    finally:
        end(workers)
    assert rerun.returncode == 0, rerun.stderr
    assert "ended without finishing" in rerun.stderr and "took over" in rerun.stderr
    assert "Another run" not in rerun.stderr
    assert gone_after < 2.0
    assert_complete(out)
    assert len(manifest_of(out)["procedures"]) == 25


def test_kill_9_of_check_leaves_no_worker(tmp_path: Path) -> None:
    view = load_catalog(REPO / "catalog").as_of(TODAY)
    payloads = [p.payload for p in view.active()][:24]
    photos = [
        save_photo(board_image(payloads[i : i + 4]), tmp_path / "board" / f"p{i:02d}.png")
        for i in range(0, 24, 4)
    ]
    command = qrcheck_command(
        "check", *map(str, photos), "--offline", "--no-record", "--workers", "2",
        "--catalog", str(REPO / "catalog"), "--as-of", AS_OF,
    )  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: dict[int, str] = {}
    try:
        wait_for(lambda: len(children(process.pid)) >= 2, process)
        workers = children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert wait_until_gone(workers) == [], "workers outlived their killed parent"
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        end(workers)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Checked 6 photos, 24 QR codes" in rerun.stdout


# ---------------------------------------------------------------------------------------------
# a lock still held after its run died is taken over; a live run's lock never is

HOLDER = """
import fcntl, os, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
if sys.argv[2] == "fork":  # a worker of an older version: shares the lock, never dies
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
else:
    print(os.getpid(), flush=True)
time.sleep(120)
"""


def hold_lock(out: Path, mode: str) -> tuple[subprocess.Popen, int]:
    out.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out / LOCK_FILE), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    with process.stdout:
        return process, int(process.stdout.readline())


def test_a_lock_left_held_by_a_dead_runs_workers_is_taken_over(tmp_path: Path) -> None:
    catalog_dir = trimmed_catalog(tmp_path / "catalog", active=3)
    out = tmp_path / "out"
    parent, orphan = hold_lock(out, "fork")
    orphans = {orphan: proc_stat(orphan)[19]}  # type: ignore[index]
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert still_running(orphans) == [orphan]  # it holds the lock of a dead process
        result = run(catalog_dir, out)
        assert still_running(orphans) == [], "the dead run's leftover was not ended"
    finally:
        end(orphans)
    assert result.interrupted in (parent.pid, 0)  # 0: the kernel no longer knows its PID
    assert len(result.generated) == 8 and not result.failures
    assert_complete(out)


def test_the_lock_of_a_live_run_is_never_taken(tmp_path: Path) -> None:
    catalog_dir = trimmed_catalog(tmp_path / "catalog", active=3)
    out = tmp_path / "out"
    holder, pid = hold_lock(out, "hold")
    holding = {pid: proc_stat(pid)[19]}  # type: ignore[index]
    try:
        started = time.monotonic()
        with pytest.raises(GenerationError) as caught:
            run(catalog_dir, out)
        assert caught.value.key == "generate.busy"
        assert time.monotonic() - started < 1.0  # said at once, no waiting for a live run
        assert still_running(holding) == [pid]
    finally:
        holder.kill()
        holder.wait()
    assert not (out / MANIFEST).exists()


# ---------------------------------------------------------------------------------------------
# a crash at any moment never leaves the manifest and the files out of step


def test_a_first_run_killed_after_it_saved_still_lists_what_to_take_down(tmp_path: Path) -> None:
    catalog_dir = trimmed_catalog(tmp_path / "catalog", active=40)
    reference = run(catalog_dir, tmp_path / "reference")
    assert take_down_list(reference) and all(not t.printed_here for t in reference.take_down)
    out = tmp_path / "out"
    process = subprocess.Popen(
        generate_command(catalog_dir, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def some_postings_recorded() -> bool:
        try:
            return any(e["files"] for e in manifest_of(out)["procedures"].values())
        except (OSError, ValueError):
            return False

    try:
        wait_for(some_postings_recorded, process)
    finally:
        process.kill()
        process.wait()
    assert_in_step(out)
    resumed = run(catalog_dir, out)
    assert take_down_list(resumed) == take_down_list(reference)
    assert resumed.interrupted == process.pid
    assert_complete(out)
    assert run(catalog_dir, out).take_down == ()  # said once the run finished, not again


def test_kill_9_at_any_moment_keeps_manifest_and_files_in_step(tmp_path: Path) -> None:
    catalog_dir = trimmed_catalog(tmp_path / "catalog", active=30)
    out = tmp_path / "out"
    first = run(catalog_dir, out)
    abolished = first.generated[0].code
    edit_catalog(catalog_dir / "procedures.csv", abolished, "99/QĐ-UBND ngày 20/11/2026")
    shutil.copytree(out, tmp_path / "reference")
    reference = run(catalog_dir, tmp_path / "reference")
    assert (abolished, "abolished", True) in take_down_list(reference)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "postings").iterdir()}

    def a_posting_was_rewritten() -> bool:
        return any(
            p.stat().st_mtime_ns != before.get(p.name) for p in (out / "postings").glob("*.pdf")
        )

    chance = random.Random(17)
    for attempt in range(3):
        process = subprocess.Popen(
            generate_command(catalog_dir, out, workers=1 + attempt % 2),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if attempt == 0:  # just after the first posting is rewritten
                wait_for(a_posting_was_rewritten, process)
            else:  # any moment of its work
                pid = process.pid
                wait_for(lambda: running_pid(out) == pid, process)  # noqa: B023
                time.sleep(chance.uniform(0.0, 0.3))
        finally:
            process.kill()
            process.wait()
        assert process.returncode == -signal.SIGKILL, "the run finished before it was killed"
        assert_in_step(out)
    resumed = run(catalog_dir, out)
    assert take_down_list(resumed) == take_down_list(reference)
    assert_complete(out)
    tags = {c: e["tag"] for c, e in manifest_of(out)["procedures"].items()}
    assert tags == {
        c: e["tag"] for c, e in manifest_of(tmp_path / "reference")["procedures"].items()
    }
    assert not (out / f"postings/{abolished}.pdf").exists()
    assert (out / f"retired/postings/{abolished}.pdf").exists()
    again = run(catalog_dir, out)
    assert again.generated == () and again.take_down == () and again.interrupted is None


# ---------------------------------------------------------------------------------------------
# the web server's checking processes end with the server

SERVER = """
import sys, threading, time
from pathlib import Path
from qrcheck.web.jobs import Checker

def start():
    checker = Checker(Path(sys.argv[1]), workers=2, context=lambda: ((), None, ()))
    for _ in range(2):  # a photo for each worker, as a busy server has
        checker.pool.submit(time.sleep, 120)
    return checker

if sys.argv[2] == "main":
    checker = start()
else:  # a replacement pool is made in the thread that found the old one broken
    box = []
    thread = threading.Thread(target=lambda: box.append(start()))
    thread.start()
    thread.join()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("thread", ["main", "other"])
def test_kill_9_of_the_web_server_leaves_no_checking_process(tmp_path: Path, thread: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "qrcheck.sqlite"), thread],
        stdout=subprocess.PIPE,
        text=True,
    )
    workers: dict[int, str] = {}
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        wait_for(lambda: len(children(process.pid)) >= 2, process)
        workers = children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert wait_until_gone(workers) == [], "checking processes outlived the killed server"
    finally:
        end(workers)
        if process.stdout is not None:
            process.stdout.close()
