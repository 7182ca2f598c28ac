"""Review of the grade on real photos (issue 12): would a phone really fail on each D/F code?

For every photo of ../shared/data/qr-photos (zxing's blackbox images: real photos of codes
printed by others), qrcheck locates and grades every code. Each code graded D or F is then put
to a phone: its crop (the code with half its side of surroundings) goes through several
phone-like captures (`testkit.encoders.capture`: a few degrees of perspective, blur,
noise, JPEG; at the crop's own scale and at half of it), read by zxing-cpp and by OpenCV's
QRCodeDetector. The code *scans* when at least half the captures decode it. The grade's job is
to predict that: a D/F code that scans is a needless reprint (unless the photo was the cause:
`retake`), a D/F code that does not scan is a reprint that was needed.

Run: .venv/bin/python bench/review_grades.py [--data DIR] [--trials N]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.board.decide import decide  # noqa: E402
from qrcheck.grade.measure import grade_code  # noqa: E402
from qrcheck.links.verdict import Verdict  # noqa: E402
from qrcheck.vision.locate import locate_codes  # noqa: E402
from qrcheck.vision.photos import load_photo  # noqa: E402
from testkit.encoders import capture  # noqa: E402


def crop(gray: np.ndarray, corners) -> np.ndarray:
    quad = np.asarray(corners, float)
    side = float(np.linalg.norm(quad[1] - quad[0]))
    x0, y0 = np.floor(quad.min(axis=0) - side / 2).astype(int).clip(0)
    x1, y1 = np.ceil(quad.max(axis=0) + side / 2).astype(int)
    return gray[y0:y1, x0:x1]


def reads(image: np.ndarray) -> bool:
    if zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        return True
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return bool(text)


def scans(piece: np.ndarray, trials: int, seed: int) -> tuple[int, int]:
    ok = 0
    for t in range(trials):
        scale = 1.0 if t % 2 == 0 else 0.5
        shot = cv2.resize(piece, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ok += reads(capture(shot, seed=seed * 100 + t))
    return ok, trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/qr-photos")
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    rows = list(csv.DictReader((args.data / "manifest.csv").open(encoding="utf-8")))
    grades: Counter[str] = Counter()
    table = []
    for index, row in enumerate(rows):
        photo = load_photo(args.data / row["image"])
        for code in locate_codes(photo.gray):
            grade = grade_code(code, photo.gray)
            grades[grade.grade] += 1
            if grade.grade not in "DF" or not code.decoded:
                continue
            action, _ = decide(grade, Verdict("current"))
            ok, trials = scans(crop(photo.gray, code.corners), args.trials, index)
            lowest = grade.metrics.get("lowest")
            table.append((row["image"], grade.grade, grade.score, lowest, action, ok, trials))
    print(f"{len(rows)} photos; grades of every located code: {dict(sorted(grades.items()))}")
    print(f"\ndecoded codes graded D or F ({len(table)}), phone trials on their crop:")
    print(f"{'photo':28} grade score lowest                 action    scans")
    verdicts: Counter[str] = Counter()
    for image, letter, score, lowest, action, ok, trials in table:
        scanned = ok * 2 >= trials
        kind = "retake" if action == "retake" else ("needless" if scanned else "needed")
        verdicts[kind] += 1
        print(f"{image:28} {letter:5} {score:5.2f} {lowest or '-':22} {action:9} {ok}/{trials}"
              f"  {kind}")  # fmt: skip
    print(
        f"\nreprints needed (does not scan): {verdicts['needed']}; needless (scans): "
        f"{verdicts['needless']}; retake (the photo is the cause): {verdicts['retake']}"
    )


if __name__ == "__main__":
    main()
