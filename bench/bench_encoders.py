"""The grade of codes qrcheck did not make (issue 12): encoder x version x EC level.

Every version 1-40 at every EC level, from three independent encoders (segno, zxing-cpp's
writer, python-qrcode), with the mask turning through all eight, the text filling ~90% of the
symbol: rendered clean (4 px a module, 3 px from version 25) and through a mild phone capture
(6 px a module, a few degrees of perspective, blur, noise, JPEG 90; `testkit.encoders`,
not qrcheck's simulator). A sound code should grade A or B whoever made it. The table counts the
A/B grades per encoder and EC level over the version bands; "lost" counts codes that were not
decoded or whose grading raised (the photo would have been an error before issue 12).

Also prints the grading time per code against zxing-cpp's read of the same image, as a ratio
(same run, same images).

Run: .venv/bin/python bench/bench_encoders.py [--capture-only | --clean-only]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import zxingcpp

from qrcheck.grade.measure import grade_code
from qrcheck.vision.locate import locate_codes
from testkit.encoders import ENCODERS, LEVELS, capture, filling, render

BANDS = ((1, 9), (10, 19), (20, 29), (30, 40))


def grade_one(gray, text: str) -> tuple[str, float, float]:
    """(grade letter or "lost", seconds grading, seconds zxing-cpp reading)."""
    start = time.perf_counter()
    zxingcpp.read_barcodes(gray)
    zxing = time.perf_counter() - start
    try:
        codes = [c for c in locate_codes(gray) if c.text == text]
        if not codes:
            return "lost", 0.0, zxing
        start = time.perf_counter()
        grade = grade_code(codes[0], gray)
        return grade.grade, time.perf_counter() - start, zxing
    except Exception:
        return "lost", 0.0, zxing


def sweep(kind: str) -> None:
    counts: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    grading, reading = [], []
    for name, encode in ENCODERS.items():
        for e, ec in enumerate(LEVELS):
            for version in range(1, 41):
                mask = (3 * version + e) % 8
                text = filling(version, ec)
                modules = encode(text, version, ec, mask)
                if kind == "clean":
                    gray = render(modules, 4 if version < 25 else 3)
                else:
                    gray = capture(render(modules, 6), seed=version * 4 + e)
                letter, seconds, zxing = grade_one(gray, text)
                band = next(i for i, (lo, hi) in enumerate(BANDS) if lo <= version <= hi)
                counts[name, ec, band].append(letter)
                if seconds:
                    grading.append(seconds)
                    reading.append(zxing)
    print(f"\n{kind}: codes graded A or B / codes (lost: not decoded or grading raised)")
    header = " ".join(f"v{lo}-{hi}".rjust(9) for lo, hi in BANDS)
    print(f"{'encoder':14} EC {header}     total  lost")
    for name in ENCODERS:
        for ec in LEVELS:
            cells, good, total, lost = [], 0, 0, 0
            for band in range(len(BANDS)):
                letters = counts[name, ec, band]
                ab = sum(1 for g in letters if g in "AB")
                cells.append(f"{ab}/{len(letters)}".rjust(9))
                good, total = good + ab, total + len(letters)
                lost += letters.count("lost")
            print(f"{name:14} {ec}  {' '.join(cells)}   {good:3}/{total:3}  {lost:4}")
    if grading:
        ratio = statistics.median(g / r for g, r in zip(grading, reading, strict=True) if r)
        print(
            f"grading: median {statistics.median(grading) * 1000:.1f} ms a code; "
            f"zxing-cpp's read of the same image {statistics.median(reading) * 1000:.1f} ms; "
            f"median ratio {ratio:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture-only", action="store_true")
    parser.add_argument("--clean-only", action="store_true")
    args = parser.parse_args()
    if not args.capture_only:
        sweep("clean")
    if not args.clean_only:
        sweep("capture")


if __name__ == "__main__":
    main()
