"""Benchmark a whole `qrcheck check` process against a zxing-cpp-alone process, imports included.

Run by hand (not in CI):  .venv/bin/python bench/bench_process.py [--data DIR] [--runs N]

`bench_reader.py`'s check ratio times `check_photo` inside one process, with every module
imported before the timing. A staff member's `qrcheck check PHOTO` pays for its imports
(numpy, OpenCV, Pillow, typer, qrcheck's own modules) in every run, and for one photo they cost
more than the photo does. This prints, for one photo and for each folder: the wall time of
`python -m qrcheck check --offline --no-record --json --workers 1` and of a fresh Python that
imports zxing-cpp and Pillow, decodes the same PNG files to grayscale and reads them with
zxing-cpp (QR model 2 + model 1, plain text), each the fastest of `--runs` runs (the machines
here are shared and noisy: say the load, `uptime`, with the figures).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ZXING_ALONE = """
import sys
import numpy as np
import zxingcpp
from PIL import Image
formats = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)
for path in sys.argv[1:]:
    gray = np.asarray(Image.open(path).convert("L"))
    zxingcpp.read_barcodes(gray, formats=formats, text_mode=zxingcpp.TextMode.Plain)
"""


#: exit statuses of a check that read its photos (0 all well, 1 something needs action)
CHECK_OK = (0, 1)


def _seconds(command: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> float:
    """The fastest of `runs` runs of `command`; a run that exits otherwise than `ok` (a check
    that read no photo, a crash) stops the benchmark with its error output, not a fast time."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
        best = min(best, time.perf_counter() - start)
        if done.returncode not in ok:
            raise SystemExit(f"{' '.join(command[:4])} … exited {done.returncode}:\n{done.stderr}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folders = [args.data / "no-qr-photos", args.data / "qr-photos"]
    pngs = {folder: sorted(folder.rglob("*.png")) for folder in folders}
    sets = [("one photo", [pngs[folders[0]][0]]), *((f.name, [f]) for f in folders)]
    check = [sys.executable, "-m", "qrcheck", "check", "--offline", "--no-record", "--json"]
    check += ["--workers", "1", "--as-of", "2026-11-27"]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(ZXING_ALONE)
    try:
        # `check` exits 1 when a code needs action: a result, not a failure
        _seconds([*check, str(sets[0][1][0])], 1, CHECK_OK)  # warm the file cache and the bytecode
        for name, paths in sets:
            files = [p for path in paths for p in (pngs.get(path) or [path])]
            ours = _seconds([*check, *map(str, paths)], args.runs, CHECK_OK)
            alone = _seconds([sys.executable, script.name, *map(str, files)], args.runs)
            print(
                f"  {name:14s} {len(files):4d} photos  qrcheck check {ours:6.3f} s  "
                f"zxing-cpp alone {alone:6.3f} s  ratio {ours / alone:4.1f}x"
            )
    finally:
        os.unlink(script.name)


if __name__ == "__main__":
    main()
