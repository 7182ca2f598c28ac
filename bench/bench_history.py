"""Benchmark the history: `check` recording 200 photos, `report` over 10,000 check records.

Run by hand (not in CI):  .venv/bin/python bench/bench_history.py

Issue 6's bar: both finish in seconds. It makes 200 small board photos (4 codes each, 8 boards)
from the bundled catalog, times `check` on them with and without recording (same run, so the
difference is what recording costs), then copies those results into a database until it holds
10,000 checks and times `qrcheck report` (JSON, CSV and the HTML page) over it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import board_image, save_photo  # noqa: E402

from qrcheck.board.check import check_photos  # noqa: E402
from qrcheck.board.store import Store  # noqa: E402
from qrcheck.catalog.load import load_catalog  # noqa: E402

AS_OF = date(2026, 11, 27)
QRCHECK = [sys.executable, "-m", "qrcheck"]


def make_photos(folder: Path, count: int = 200) -> None:
    view = load_catalog(ROOT / "catalog").as_of(AS_OF)
    payloads = [p.payload for p in view.active()]
    for index in range(count):
        chosen = [payloads[(index * 4 + k) % len(payloads)] for k in range(4)]
        image = board_image(chosen, module_px=4, columns=2)
        image[0, index % image.shape[1]] = 200  # every photo its own bytes
        save_photo(image, folder / f"board-{index % 8}" / f"photo-{index:03d}.png")


def timed_run(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([*QRCHECK, *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"qrcheck {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="qrcheck-bench-history-") as tmp:
        base = Path(tmp)
        photos = base / "photos"
        make_photos(photos)
        common = ["check", str(photos), "--offline", "--as-of", AS_OF.isoformat(), "--json"]
        plain = timed_run([*common, "--no-record"])
        recorded = timed_run([*common, "--db", str(base / "run.sqlite")])
        rows += [
            ("check 200 photos (800 codes), --no-record", f"{plain:.2f} s"),
            ("check 200 photos, recording into a new database", f"{recorded:.2f} s"),
            ("what recording adds", f"{recorded - plain:+.2f} s"),
        ]

        # the store alone: the 200 results recorded one transaction each
        catalog = load_catalog(ROOT / "catalog")
        report = check_photos([photos], catalog.as_of(AS_OF), catalog.center, workers=2)
        db = base / "big.sqlite"
        with Store(db) as store:
            start = time.perf_counter()
            for photo in report.photos:
                store.record_photo(photo, "run-0", "bench")
            rows.append(("Store.record_photo x 200", f"{time.perf_counter() - start:.2f} s"))
            start = time.perf_counter()
            for copy in range(1, 50):
                for photo in report.photos:
                    digest = hashlib.sha256(f"{photo.sha256}-{copy}".encode()).hexdigest()
                    store.record_photo(
                        dataclasses.replace(photo, sha256=digest), f"run-{copy}", "bench"
                    )
            fill = time.perf_counter() - start
            counts = store.counts()
        rows.append(
            (f"filling to {counts['checks']} checks, {counts['codes']} codes", f"{fill:.1f} s")
        )
        for fmt in ("json", "csv", "html"):
            out = base / f"report.{fmt}"
            seconds = timed_run(
                [
                    "report",
                    "--db",
                    str(db),
                    "--format",
                    fmt,
                    "--out",
                    str(out),
                    "--as-of",
                    AS_OF.isoformat(),
                ]
            )
            size = out.stat().st_size / 1024
            rows.append(
                (
                    f"report --format {fmt} over {counts['checks']} checks",
                    f"{seconds:.2f} s ({size:.0f} KiB)",
                )
            )

    width = max(len(label) for label, _ in rows)
    print("qrcheck history benchmark (whole CLI processes, 2 workers)")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
