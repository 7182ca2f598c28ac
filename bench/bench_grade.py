"""Benchmark of the readability grade (issue 4): does qrcheck's action match what citizens meet?

Postings generated from the bundled catalog are printed and aged with `testkit.simulate`
(fading from fresh to nearly white, yellowing, scratches, a stain, a torn corner, lamination
glare), pinned six to a board and photographed as staff would (12-degree perspective, uneven
light, sensor noise, blur, phone sharpening, JPEG); `check_photo` grades every code.

Ground truth is decided the way a citizen meets each posting: the same aged card captured
alone by a phone at arm's length (1280 x 720 frame, the symbol about a quarter of the frame's
height, random tilt, uneven light, mild blur, noise, JPEG q80; no lamination glare, which
depends on the photographer's angle), read by zxing-cpp and by OpenCV's QRCodeDetector over
several trials. A posting *scans* when at least half the trials decode it with either reader.

Targets: every posting that does not scan is graded D or F (none missed); no fresh posting
(undamaged, unfaded) is graded below B; the score falls with fading (Spearman rho <= -0.9 over
the undamaged postings); grading adds at most 50% to `check_photo`'s time on a 12-code photo.

The postings are printed by other encoders than the one qrcheck prints with (segno and zxing-cpp's
writer in turn, `--encoder`), so that the grade cannot agree with the generator by construction.

Run: .venv/bin/python bench/bench_grade.py [--quick] [--encoder NAME|others|all]

Speed of the grade alone on real photos (issue 13), instead of the above:
.venv/bin/python bench/bench_grade.py --speed DIR [--repeat N], DIR a folder of photos (its
manifest.csv's images, or every image in it, e.g. ../shared/data/qr-photos): every code
`locate_codes` finds is graded once as in a fresh `qrcheck check` (the caches cold: layouts,
re-encoded references), then again (warm), against zxing-cpp's read of the same grayscale
photos, all in this run; the best of N passes of each. The machines here are shared: compare
the ratios, and run the old and the new code back to back.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from PIL import Image

from qrcheck.board.check import check_photo
from qrcheck.catalog.load import load_catalog
from qrcheck.grade.measure import grade_code
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from testkit.simulate import (
    ENCODERS,
    Condition,
    age_print,
    board_with_codes,
    photograph,
    render_posting,
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 27)
FADES = (0.0, 0.3, 0.5, 0.65, 0.75, 0.82, 0.88, 0.92, 0.95, 0.97)
VARIANTS = {
    "clean": Condition(),
    "clean-2": Condition(),
    "yellowed": Condition(yellowing=0.6),
    "scratches": Condition(scratches=4),
    "stain": Condition(stain=True),
    "torn corner": Condition(torn_corner=True),
    "glare": Condition(glare=0.7),
}
UNDAMAGED = ("clean", "clean-2")
TRIALS = 4
PX_PER_MM = 6.0
GRADE_ORDER = "ABCDF"


def with_fade(condition: Condition, fade: float) -> Condition:
    return Condition(**{**condition.__dict__, "fade": fade})


def phone_reads(card: tuple, seed: int) -> bool:
    """One arm's-length capture: does zxing-cpp or OpenCV decode the posting's code?"""
    image, placed = photograph(
        [card],
        size=(1280, 720),
        rng=seed,
        perspective_deg=15.0,
        light_gradient=0.4,
        noise=0.025,
        blur_px=1.0,
        jpeg_quality=80,
        px_per_mm=PX_PER_MM,
        fill=0.87,
        board="painted",
    )
    payload = placed[0].payload
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    for barcode in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode):
        if barcode.valid and barcode.text == payload:
            return True
    try:
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(gray)
    except cv2.error:
        text = ""
    return text == payload


def spearman(x: list[float], y: list[float]) -> float:
    def ranks(values: list[float]) -> np.ndarray:
        a = np.asarray(values, dtype=np.float64)
        order = np.argsort(a, kind="mergesort")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for value in np.unique(a):  # ties share their mean rank
            tied = a == value
            r[tied] = r[tied].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def table(header: tuple, rows: list[tuple]) -> None:
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(header))]
    for k, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=False))
        padded = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs]
        print("  " + "  ".join(padded))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def run_postings(quick: bool, encoders: tuple[str, ...]) -> list[dict]:
    catalog = load_catalog(ROOT / "catalog")
    view, center = catalog.as_of(AS_OF), catalog.center
    procedures = view.active()
    fades = (*FADES[::3], 0.92) if quick else FADES
    variants = list(VARIANTS)[:4] if quick else list(VARIANTS)
    postings = []
    index = 0
    for fade in fades:
        for variant in variants:
            proc = procedures[index % len(procedures)]
            index += 1
            encoder = encoders[index % len(encoders)]
            card, box = render_posting(
                proc.code, proc.name, proc.field, center.name, proc.payload, PX_PER_MM,
                encoder=encoder,
            )  # fmt: skip
            condition = with_fade(replace(VARIANTS[variant], encoder=encoder), fade)
            aged = age_print(card, box, condition, rng=index)
            postings.append(
                {
                    "fade": fade,
                    "variant": variant,
                    "payload": proc.payload,
                    "card": (aged, box, condition, proc.code, proc.payload),
                }
            )
    # ground truth: a citizen's phone
    for k, posting in enumerate(postings):
        plain = Condition(**{**posting["card"][2].__dict__, "glare": 0.0})
        card = (*posting["card"][:2], plain, *posting["card"][3:])
        reads = sum(phone_reads(card, 1000 + 17 * k + t) for t in range(TRIALS))
        posting["reads"] = reads
        posting["scans"] = reads * 2 >= TRIALS
    # staff photos: six postings to a board
    with tempfile.TemporaryDirectory(prefix="qrcheck-bench-grade-") as tmp:
        for b in range(0, len(postings), 6):
            group = postings[b : b + 6]
            image, placed = photograph(
                [p["card"] for p in group], size=(4000, 3000), rng=b, px_per_mm=PX_PER_MM
            )
            path = Path(tmp) / f"board-{b // 6}.jpg"
            Image.fromarray(image).save(path, quality=90)
            result = check_photo(path, view, center)
            for posting, truth in zip(group, placed, strict=True):
                quad = np.array(truth.corners, np.float32).reshape(-1, 1, 2)
                hits = [
                    c
                    for c in result.codes
                    if cv2.pointPolygonTest(quad, tuple(map(float, c.located.center)), False) >= 0
                ]
                posting["module_px"] = truth.module_px
                if hits:
                    code = hits[0]
                    posting.update(
                        grade=code.grade.grade,
                        score=code.grade.score,
                        action=code.action,
                        lowest=code.grade.metrics.get("lowest"),
                        contrast=(code.grade.metrics.get("symbol_contrast") or {}).get("value"),
                        decoded=code.located.decoded,
                    )
                else:
                    posting.update(grade="-", score=None, action="not found", decoded=False)
    return postings


def report_postings(postings: list[dict]) -> list[str]:
    failures = []
    print(f"\n1. {len(postings)} simulated postings, staff photo 4000x3000 (six to a board)")
    print(f"   truth: arm's-length phone capture, {TRIALS} trials, zxing-cpp or OpenCV")
    actions = ["ok", "monitor", "reprint", "retake", "investigate", "remove", "not found"]
    rows = []
    for scans in (True, False):
        counts = Counter(p["action"] for p in postings if p["scans"] == scans)
        label = "scans on a phone" if scans else "does NOT scan"
        rows.append((label, *[counts.get(a, 0) for a in actions], sum(counts.values())))
    print("\n  confusion: qrcheck's action (columns) vs the citizen's phone (rows)")
    table(("truth \\ action", *actions, "total"), rows)

    print("\n  grade vs fading level (all variants; cell = grades; score = mean over undamaged)")
    grade_rows = []
    for fade in sorted({p["fade"] for p in postings}):
        at = [p for p in postings if p["fade"] == fade]
        counts = Counter(p["grade"] for p in at)
        clean = [p["score"] for p in at if p["variant"] in UNDAMAGED and p["score"] is not None]
        contrast = [p["contrast"] for p in at if p["variant"] in UNDAMAGED and p.get("contrast")]
        scans = sum(p["scans"] for p in at)
        grade_rows.append(
            (
                f"{fade:.2f}",
                *[counts.get(g, 0) for g in GRADE_ORDER],
                counts.get("-", 0),
                f"{statistics.mean(clean):.2f}" if clean else "-",
                f"{statistics.mean(contrast):.2f}" if contrast else "-",
                f"{scans}/{len(at)}",
            )
        )
    table(
        ("fade", *GRADE_ORDER, "not found", "score (undamaged)", "SC (undamaged)", "scan"),
        grade_rows,
    )

    print("\n  per posting (variant fade:phone reads:grade+score:action)")
    by_variant: dict[str, list[str]] = {}
    for p in postings:
        score = "" if p["score"] is None else f"{p['score']:.1f}"
        by_variant.setdefault(p["variant"], []).append(
            f"{p['fade']:.2f}:{p['reads']}/{TRIALS}:{p['grade']}{score}:{p['action']}"
        )
    for variant, cells in by_variant.items():
        print(f"    {variant:<12} " + "  ".join(cells))

    missed = [p for p in postings if not p["scans"] and p["grade"] not in ("D", "F", "-")]
    unseen = [p for p in postings if not p["scans"] and p["grade"] == "-"]
    fresh_low = [
        p
        for p in postings
        if p["variant"] in UNDAMAGED and p["fade"] == 0.0 and p["grade"] not in ("A", "B")
    ]
    clean = [p for p in postings if p["variant"] in UNDAMAGED and p["score"] is not None]
    rho = spearman([p["fade"] for p in clean], [p["score"] for p in clean])
    print("\n  targets")
    table(
        ("", "value", "target", ""),
        [
            ("postings that do not scan graded above D", len(missed), "0", _ok(not missed)),
            ("postings that do not scan, not located", len(unseen), "0", _ok(not unseen)),
            ("fresh undamaged postings graded below B", len(fresh_low), "0", _ok(not fresh_low)),
            ("Spearman rho, fade vs score (undamaged)", f"{rho:.3f}", "<= -0.9", _ok(rho <= -0.9)),
        ],
    )
    for p in missed:
        failures.append(f"missed: {p['variant']} fade {p['fade']} graded {p['grade']}")
    for p in unseen:
        failures.append(f"not located (locate.py): {p['variant']} fade {p['fade']}")
    for p in fresh_low:
        failures.append(f"fresh graded {p['grade']}: {p['variant']}")
    if not rho <= -0.9:
        failures.append(f"Spearman rho {rho:.3f}")
    return failures


def _ok(flag: bool) -> str:
    return "met" if flag else "NOT MET"


def report_timing(repeat: int) -> list[str]:
    catalog = load_catalog(ROOT / "catalog")
    view, center = catalog.as_of(AS_OF), catalog.center
    with tempfile.TemporaryDirectory(prefix="qrcheck-bench-grade-") as tmp:
        rgb, _ = board_with_codes(12, size=(4000, 3000), module_px=5.0, rng=3)
        path = Path(tmp) / "board-12.jpg"
        Image.fromarray(rgb).save(path, quality=90)
        gray = load_photo(path).gray
        located = locate_codes(gray)
        checks, grades = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            check_photo(path, view, center)
            checks.append(time.perf_counter() - start)
            start = time.perf_counter()
            for code in located:
                grade_code(code, gray)
            grades.append(time.perf_counter() - start)
    check_s, grade_s = statistics.median(checks), statistics.median(grades)
    overhead = grade_s / max(check_s - grade_s, 1e-9)
    print(f"\n2. timing on a 12-code 4000x3000 photo (median of {repeat}); {len(located)} located")
    table(
        ("", "seconds", "target", ""),
        [
            ("check_photo, whole", f"{check_s:.3f}", "", ""),
            ("grade_code over every code", f"{grade_s:.3f}", "", ""),
            ("grade_code per code (ms)", f"{1000 * grade_s / max(len(located), 1):.1f}", "", ""),
            ("check_photo without grading", f"{check_s - grade_s:.3f}", "", ""),
            ("time grading adds", f"{overhead:.0%}", "<= 50%", _ok(overhead <= 0.5)),
        ],
    )
    return [] if overhead <= 0.5 else [f"grading adds {overhead:.0%}"]


def _photos(folder: Path) -> list[Path]:
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as handle:
            return [folder / row["image"] for row in csv.DictReader(handle)]
    suffixes = {".jpg", ".jpeg", ".png"}
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes)


def report_speed(folder: Path, repeat: int) -> None:
    """Grade time on the codes of real photos, cold and warm, against zxing-cpp's read."""
    grays = [load_photo(path).gray for path in _photos(folder)]
    located = [(gray, locate_codes(gray)) for gray in grays]
    codes = sum(len(found) for _, found in located)
    formats = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)

    def grade_all() -> float:
        start = time.process_time()
        for gray, found in located:
            for code in found:
                grade_code(code, gray)
        return time.process_time() - start

    def zxing_all() -> float:
        start = time.process_time()
        for gray in grays:
            zxingcpp.read_barcodes(gray, formats=formats, text_mode=zxingcpp.TextMode.Plain)
        return time.process_time() - start

    cold = grade_all()  # the first pass of this process: what one `qrcheck check` run pays
    warm = min(grade_all() for _ in range(repeat))
    zxing = min(zxing_all() for _ in range(repeat))
    print(f"grade speed on {len(grays)} photos of {folder}, {codes} codes (CPU seconds)")
    table(
        ("", "seconds", "ms per code", "x zxing-cpp's read"),
        [
            ("grade_code, first pass (cold)", f"{cold:.3f}", f"{1000 * cold / codes:.2f}",
             f"{cold / zxing:.1f}x"),
            (f"grade_code, best of {repeat} (warm)", f"{warm:.3f}", f"{1000 * warm / codes:.2f}",
             f"{warm / zxing:.1f}x"),
            (f"zxing-cpp read, best of {repeat}", f"{zxing:.3f}", "", "1.0x"),
        ],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer postings, one timing run")
    parser.add_argument("--speed", type=Path, help="only time the grade on the photos of DIR")
    parser.add_argument("--repeat", type=int, default=3, help="passes timed with --speed")
    parser.add_argument(
        "--encoder",
        choices=[*ENCODERS, "others", "all"],
        default="others",
        help="which encoder prints the postings: one of them, 'others' (segno and zxing-cpp's "
        "writer in turn: not the encoder qrcheck prints with; the default) or 'all' (the three)",
    )
    args = parser.parse_args()
    if args.speed:
        report_speed(args.speed, args.repeat)
        return
    encoders = {"others": ("segno", "zxing-cpp"), "all": ENCODERS}.get(
        args.encoder, (args.encoder,)
    )
    print(f"postings printed by: {', '.join(encoders)}")
    began = time.perf_counter()
    print(f"qrcheck grade benchmark (zxing-cpp {version('zxing-cpp')}, OpenCV {cv2.__version__})")
    failures = report_postings(run_postings(args.quick, encoders))
    failures += report_timing(1 if args.quick else 3)
    print(f"\ntotal benchmark time {time.perf_counter() - began:.0f} s")
    if failures:
        print("\nBAR NOT MET:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nbar met")


if __name__ == "__main__":
    main()
