"""Benchmark `check`: qrcheck's reader stack against zxing-cpp alone, on real and board photos.

Run by hand (not in CI):  .venv/bin/python bench/bench_check.py [--quick] [--data DIR]

Everything is measured in one run, zxing-cpp alone and qrcheck on the same grayscale pixels
(each photo decoded once with `load_photo`), because the machines here are shared and noisy:
the ratios matter more than the absolute times.

1. qr-photos (zxing's QR blackbox images, expected texts in manifest.csv): codes decoded
   correctly, with a wrong text, located but not decoded, missed; time per photo; the images
   where the two differ; and the bar "qrcheck decodes every code zxing-cpp alone decodes".
2. no-qr-photos (zxing's false-positive sets): false detections, time per photo.
3. 12-megapixel board photos with 12 codes (`simulate.board_with_codes`, rendered into a
   temporary folder): `locate_codes` and the whole `check_photo` against zxing-cpp alone, codes
   found against the simulator's ground truth. Targets: median < 1.5 s per photo, and at most
   3x zxing-cpp alone.
4. `check_photos` over the board JPEGs with 1 worker and with 2 (wall clock).

zxing-cpp alone means `zxingcpp.read_barcodes(gray, formats=QR model 2 + model 1,
text_mode=Plain)` with default options; its "located, not decoded" symbols come from a second
call with `return_errors=True` (not timed in the ratio), deduplicated per symbol by centre
distance.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.board.check import check_photo, check_photos  # noqa: E402
from qrcheck.catalog.load import load_catalog  # noqa: E402
from qrcheck.vision.finders import find_finder_patterns  # noqa: E402
from qrcheck.vision.locate import LocateOptions, locate_codes  # noqa: E402
from qrcheck.vision.photos import load_photo  # noqa: E402
from qrcheck.vision.shapes import Located  # noqa: E402

FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)
AS_OF = date(2026, 11, 27)
#: (seed, asked module size in px) of each board; --quick keeps the first two
BOARDS = ((1, 5.0), (2, 7.0), (3, 9.0), (4, 6.0), (5, 8.0))
CODES_PER_BOARD = 12
TARGET_SECONDS = 1.5
TARGET_RATIO = 3.0


# ---------------------------------------------------------------------------------------------
# what each reader reports, reduced to the same shape


@dataclass
class Reading:
    """The symbols one reader reported in one photo."""

    texts: list[str] = field(default_factory=list)
    #: centres of symbols located but not decoded
    undecoded: list[tuple[float, float]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    #: per decoded text, the readers that decoded it (qrcheck only)
    readers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: symbols with impossible geometry: no size, or the centre outside the photo
    odd: list[str] = field(default_factory=list)


def _quad(barcode: zxingcpp.Barcode) -> np.ndarray:
    p = barcode.position
    corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    return np.array([[c.x, c.y] for c in corners], dtype=np.float64)


def _side(quad: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(quad[i] - quad[(i + 1) % 4]) for i in range(4)]))


def _same_symbol(a: np.ndarray, b: np.ndarray) -> bool:
    distance = float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))
    return distance < 0.35 * max(1.0, min(_side(a), _side(b)))


def zxing_alone(gray: np.ndarray) -> Reading:
    """zxing-cpp with default options (timed), then with return_errors for located symbols."""
    start = time.perf_counter()
    found = zxingcpp.read_barcodes(gray, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    reading = Reading(seconds=time.perf_counter() - start)
    reading.texts = [b.text for b in found if b.valid]
    kept = [_quad(b) for b in found if b.valid]
    with_errors = zxingcpp.read_barcodes(
        gray, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    kept += [_quad(b) for b in with_errors if b.valid]
    for barcode in with_errors:
        if barcode.valid:
            continue
        quad = _quad(barcode)
        if _side(quad) < 1:  # no position at all ("Invalid symbol size" errors): not located
            continue
        if any(_same_symbol(quad, other) for other in kept):
            continue
        kept.append(quad)
        centre = quad.mean(axis=0)
        reading.undecoded.append((float(centre[0]), float(centre[1])))
    return reading


def qrcheck_reading(located: Sequence[Located], seconds: float, shape: tuple) -> Reading:
    reading = Reading(seconds=seconds)
    for item in located:
        x, y = item.center
        if item.side < 2 or not (0 <= x <= shape[1] and 0 <= y <= shape[0]):
            corners = ", ".join(f"({cx:g},{cy:g})" for cx, cy in item.corners)
            what = f"decoded {short(item.text, 30)}" if item.text is not None else "undecoded"
            reading.odd.append(
                f"{what} symbol, side {item.side:.0f} px, corners {corners}, "
                f"located by {'+'.join(item.located_by)}"
            )
        if item.text is not None:
            reading.texts.append(item.text)
            reading.readers[item.text] = item.readers
        else:
            reading.undecoded.append(item.center)
    return reading


def qrcheck_alone(gray: np.ndarray, options: LocateOptions = LocateOptions()) -> Reading:
    start = time.perf_counter()
    try:
        located = locate_codes(gray, options)
    except Exception as exc:  # reported loudly, the benchmark goes on
        return Reading(seconds=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    return qrcheck_reading(located, time.perf_counter() - start, gray.shape)


# ---------------------------------------------------------------------------------------------
# scoring


@dataclass
class Score:
    expected: int = 0
    correct: int = 0
    duplicate: int = 0  # an expected text decoded more often than it is expected
    wrong: int = 0
    undecoded: int = 0
    missed: int = 0
    #: symbols reported beyond the expected count (wrong texts or undecoded with nothing left)
    extra: int = 0

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def score_texts(expected: Sequence[str], reading: Reading) -> Score:
    """Each expected text counts at most once (as often as it is expected) per image."""
    left = Counter(expected)
    score = Score(expected=len(expected))
    for text in reading.texts:
        if left[text] > 0:
            left[text] -= 1
            score.correct += 1
        elif text in expected:
            score.duplicate += 1
        else:
            score.wrong += 1
    score.undecoded = len(reading.undecoded)
    unfound = len(expected) - score.correct
    others = score.wrong + score.undecoded
    score.missed = max(0, unfound - others)
    score.extra = max(0, others - unfound)
    return score


def bar_misses(zxing: Reading, ours: Reading) -> list[str]:
    """Texts zxing-cpp alone decoded that qrcheck did not (as a multiset)."""
    return sorted((Counter(zxing.texts) - Counter(ours.texts)).elements())


def short(text: str, width: int = 48) -> str:
    shown = repr(text)
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


# ---------------------------------------------------------------------------------------------
# output


def table(header: Sequence[str], rows: Sequence[Sequence[object]], indent: int = 2) -> None:
    cells = [[str(c) for c in line] for line in (header, *rows)]
    cells = [line + [""] * (len(header) - len(line)) for line in cells]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for line in cells:
        parts = [line[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
        print(" " * indent + "  ".join(parts).rstrip())


def ms(values: Sequence[float]) -> tuple[str, str]:
    return f"{statistics.median(values) * 1000:.1f}", f"{statistics.mean(values) * 1000:.1f}"


def meets(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report_odd(lines: Sequence[str]) -> None:
    print(
        f"\n  qrcheck symbols of impossible geometry (no size, centre off the photo): {len(lines)}"
    )
    for line in lines:
        print(f"    {line}")


def loud(lines: Sequence[str]) -> None:
    print("  " + "!" * 94)
    for line in lines:
        print(f"  !!! {line}")
    print("  " + "!" * 94)


# ---------------------------------------------------------------------------------------------
# 1 and 2: the photo sets


def read_manifest(folder: Path) -> list[tuple[str, list[str], str]]:
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return [
            (row["image"], json.loads(row["expected_texts"]), row.get("category", ""))
            for row in csv.DictReader(handle)
        ]


def run_photo_set(folder: Path) -> list[tuple[str, list[str], str, Reading, Reading]]:
    out = []
    for name, expected, category in read_manifest(folder):
        gray = load_photo(folder / name).gray
        zxing = zxing_alone(gray)
        ours = qrcheck_alone(gray)
        out.append((name, expected, category, zxing, ours))
    return out


def report_qr_photos(folder: Path) -> list[str]:
    results = run_photo_set(folder)
    totals = {"zxing-cpp": Score(), "qrcheck": Score()}
    by_category: dict[str, list[Score]] = {}
    bar: list[str] = []
    errors: list[str] = []
    differences: list[str] = []
    undecoded: list[str] = []
    odd: list[str] = []
    for name, expected, category, zxing, ours in results:
        zs, qs = score_texts(expected, zxing), score_texts(expected, ours)
        totals["zxing-cpp"].add(zs)
        totals["qrcheck"].add(qs)
        cat = by_category.setdefault(category, [Score(), Score(), Score()])
        cat[0].add(zs)
        cat[1].add(qs)
        cat[2].expected += 1  # images
        if ours.error:
            errors.append(f"{name}: locate_codes raised {ours.error}")
        odd += [f"{name}: {line}" for line in ours.odd]
        missing = bar_misses(zxing, ours)
        if missing:
            bar.append(f"{name}: zxing-cpp decoded {', '.join(short(t) for t in missing)}")
        notes = []
        only_ours = sorted((Counter(ours.texts) - Counter(zxing.texts)).elements())
        for text in only_ours:
            kind = "correct" if text in expected else "WRONG TEXT"
            readers = "+".join(ours.readers.get(text, ())) or "?"
            notes.append(f"qrcheck only ({kind}, by {readers}): {short(text)}")
        for text in missing:
            notes.append(f"zxing-cpp only: {short(text)}")
        if len(ours.undecoded) != len(zxing.undecoded):
            notes.append(
                f"located, not decoded: qrcheck {len(ours.undecoded)}, "
                f"zxing-cpp {len(zxing.undecoded)}"
            )
        if qs.correct < qs.expected:
            undecoded.append(
                f"{name}: expected {qs.expected}, decoded {qs.correct}, located only "
                f"{qs.undecoded}, missed {qs.missed} (zxing-cpp: decoded {zs.correct}, "
                f"located only {zs.undecoded}, missed {zs.missed}); "
                f"qrcheck took {ours.seconds * 1000:.0f} ms"
            )
        if notes:
            differences.append(f"{name} (expected {len(expected)}):")
            differences += [f"    {n}" for n in notes]

    images = len(results)
    z, q = totals["zxing-cpp"], totals["qrcheck"]
    z_times = [r[3].seconds for r in results]
    q_times = [r[4].seconds for r in results]
    print(f"\n1. {folder}: {images} photos, {z.expected} expected codes")
    rows: list[Sequence[object]] = [
        ("expected codes", z.expected, q.expected, ""),
        ("decoded correctly", z.correct, q.correct, ""),
        ("decoded with a wrong text", z.wrong, q.wrong, ""),
        ("decoded twice (expected text seen again)", z.duplicate, q.duplicate, ""),
        ("located, not decoded (return_errors for zxing)", z.undecoded, q.undecoded, ""),
        ("expected codes neither decoded nor located", z.missed, q.missed, ""),
        ("symbols beyond the expected count", z.extra, q.extra, ""),
        ("time per photo, median (ms)", ms(z_times)[0], ms(q_times)[0], ""),
        ("time per photo, mean (ms)", ms(z_times)[1], ms(q_times)[1], ""),
        (
            "ratio qrcheck / zxing-cpp, total time",
            "",
            f"{sum(q_times) / sum(z_times):.1f}x",
            "",
        ),
        (
            "slowest photo for qrcheck (ms)",
            f"{max(z_times) * 1000:.1f}",
            f"{max(q_times) * 1000:.1f}",
            results[int(np.argmax(q_times))][0],
        ),
    ]
    table(("", "zxing-cpp", "qrcheck", ""), rows)

    print("\n  per category: images, expected codes, decoded correctly (zxing-cpp / qrcheck)")
    table(
        ("category", "images", "codes", "zxing-cpp", "qrcheck", "qrcheck located"),
        [
            (c, s[2].expected, s[0].expected, s[0].correct, s[1].correct, s[1].undecoded)
            for c, s in sorted(by_category.items())
        ],
    )

    print(f"\n  photos where qrcheck and zxing-cpp differ ({len(differences)} lines):")
    for line in differences or ["(none)"]:
        print(f"  {line}")
    print(f"\n  photos with expected codes qrcheck did not decode ({len(undecoded)}):")
    for line in undecoded or ["(none)"]:
        print(f"    {line}")
    report_odd(odd)
    if errors:
        loud(["locate_codes RAISED on:", *errors])
    return bar


def report_no_qr_photos(folder: Path) -> list[str]:
    results = run_photo_set(folder)
    z_times = [r[3].seconds for r in results]
    q_times = [r[4].seconds for r in results]
    lines = []
    counts = {"zxing-cpp": [0, 0, 0], "qrcheck": [0, 0, 0]}  # photos, decoded, located
    bar: list[str] = []
    errors = []
    odd: list[str] = []
    for name, _expected, _category, zxing, ours in results:
        for who, reading in (("zxing-cpp", zxing), ("qrcheck", ours)):
            if reading.texts or reading.undecoded:
                counts[who][0] += 1
                counts[who][1] += len(reading.texts)
                counts[who][2] += len(reading.undecoded)
                texts = ", ".join(short(t, 40) for t in reading.texts)
                where = ", ".join(f"({x:.0f},{y:.0f})" for x, y in reading.undecoded)
                lines.append(
                    f"{name}: {who} decoded {len(reading.texts)} [{texts}], "
                    f"located {len(reading.undecoded)} {where}"
                )
        if ours.error:
            errors.append(f"{name}: locate_codes raised {ours.error}")
        odd += [f"{name}: {line}" for line in ours.odd]
        missing = bar_misses(zxing, ours)
        if missing:
            bar.append(f"{name}: zxing-cpp decoded {', '.join(short(t) for t in missing)}")
    z, q = counts["zxing-cpp"], counts["qrcheck"]
    print(f"\n2. {folder}: {len(results)} photos without any QR code")
    table(
        ("", "zxing-cpp", "qrcheck"),
        [
            ("photos with a false detection", z[0], q[0]),
            ("false detections, decoded", z[1], q[1]),
            ("false detections, located only", z[2], q[2]),
            ("time per photo, median (ms)", ms(z_times)[0], ms(q_times)[0]),
            ("time per photo, mean (ms)", ms(z_times)[1], ms(q_times)[1]),
            ("ratio qrcheck / zxing-cpp, total time", "", f"{sum(q_times) / sum(z_times):.1f}x"),
        ],
    )
    print("\n  false detections:")
    for line in lines or ["(none)"]:
        print(f"    {line}")
    report_odd(odd)
    if errors:
        loud(["locate_codes RAISED on:", *errors])
    return bar


# ---------------------------------------------------------------------------------------------
# 3 and 4: simulated 12 MP boards


@dataclass
class Board:
    path: Path
    seed: int
    asked_module: float
    payloads: list[str]
    corners: list[np.ndarray]
    modules: list[float]


def render_boards(target: Path, count: int) -> list[Board]:
    from testkit.simulate import board_with_codes

    boards = []
    for seed, module in BOARDS[:count]:
        rgb, placed = board_with_codes(
            CODES_PER_BOARD, size=(4000, 3000), module_px=module, rng=seed
        )
        path = target / f"board-{seed}.jpg"
        Image.fromarray(rgb).save(path, quality=90)
        boards.append(
            Board(
                path,
                seed,
                module,
                [p.payload for p in placed],
                [np.array(p.corners, dtype=np.float32) for p in placed],
                [p.module_px for p in placed],
            )
        )
    return boards


@dataclass
class Found:
    decoded: int = 0
    wrong: int = 0
    located: int = 0  # undecoded, on a true code not decoded otherwise
    phantom: int = 0  # undecoded, where there is no code (or a second report of a decoded one)
    missed: int = 0
    phantoms: list[tuple[float, float]] = field(default_factory=list)


def against_truth(board: Board, reading: Reading) -> Found:
    found = Found()
    seen: set[int] = set()
    for text in reading.texts:
        if text in board.payloads and board.payloads.index(text) not in seen:
            seen.add(board.payloads.index(text))
            found.decoded += 1
        else:  # not on the board, or a second reading of a code already counted
            found.wrong += 1
    for x, y in reading.undecoded:
        inside = [
            i
            for i, quad in enumerate(board.corners)
            if cv2.pointPolygonTest(quad.reshape(-1, 1, 2), (float(x), float(y)), False) >= 0
        ]
        if inside and inside[0] not in seen:
            seen.add(inside[0])
            found.located += 1
        else:
            found.phantom += 1
            found.phantoms.append((x, y))
    found.missed = len(board.payloads) - len(seen)
    return found


def median_of(func: Callable[[], Reading], repeat: int) -> Reading:
    runs = [func() for _ in range(repeat)]
    best = runs[0]
    best.seconds = statistics.median(r.seconds for r in runs)
    return best


#: `locate_codes` with one part of the stack switched off, to see what each part costs
ABLATIONS = (
    ("without OpenCV's detector", LocateOptions(use_opencv=False)),
    ("without the finder-pattern detector", LocateOptions(use_finders=False)),
    ("without ZBar", LocateOptions(use_zbar=False)),
    ("zxing-cpp pass only (all three off)", LocateOptions(False, False, False)),
)


def stage_times(gray: np.ndarray, repeat: int) -> dict[str, float]:
    """Seconds of `locate_codes` with parts of the stack off, and of the finder detector alone
    (median of `repeat` runs each)."""
    stages = {
        name: median_of(lambda o=options: qrcheck_alone(gray, o), repeat).seconds
        for name, options in ABLATIONS
    }
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        find_finder_patterns(gray)
        runs.append(time.perf_counter() - start)
    stages["find_finder_patterns alone"] = statistics.median(runs)
    return stages


def report_boards(boards: list[Board], repeat: int) -> list[str]:
    catalog = load_catalog(ROOT / "catalog")
    view, center = catalog.as_of(AS_OF), catalog.center
    rows = []
    bar: list[str] = []
    phantoms: list[str] = []
    odd: list[str] = []
    times: dict[str, list[float]] = {k: [] for k in ("zxing", "ours", "load", "check")}
    ratios = []
    totals = {"zxing-cpp": Found(), "qrcheck": Found()}
    stages: dict[str, list[float]] = {}
    for board in boards:
        gray = load_photo(board.path).gray
        zxing = median_of(lambda g=gray: zxing_alone(g), repeat)
        ours = median_of(lambda g=gray: qrcheck_alone(g), repeat)
        if ours.error:
            loud([f"{board.path.name}: locate_codes RAISED {ours.error}"])
        load_seconds = []
        check_seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            load_photo(board.path)
            load_seconds.append(time.perf_counter() - start)
            start = time.perf_counter()
            checked = check_photo(board.path, view, center)
            check_seconds.append(time.perf_counter() - start)
        if checked.error is not None:
            loud([f"{board.path.name}: check_photo failed: {checked.error}"])
        for name, seconds in stage_times(gray, repeat).items():
            stages.setdefault(name, []).append(seconds)
        stages.setdefault("locate_codes, whole", []).append(ours.seconds)
        times["zxing"].append(zxing.seconds)
        times["ours"].append(ours.seconds)
        times["load"].append(statistics.median(load_seconds))
        times["check"].append(statistics.median(check_seconds))
        ratios.append(ours.seconds / zxing.seconds)
        zf, qf = against_truth(board, zxing), against_truth(board, ours)
        for key, f in (("zxing-cpp", zf), ("qrcheck", qf)):
            for name in ("decoded", "wrong", "located", "phantom", "missed"):
                setattr(totals[key], name, getattr(totals[key], name) + getattr(f, name))
        odd += [f"{board.path.name}: {line}" for line in ours.odd]
        for x, y in qf.phantoms:
            phantoms.append(f"{board.path.name} (seed {board.seed}): qrcheck at ({x:.0f}, {y:.0f})")
        for x, y in zf.phantoms:
            phantoms.append(f"{board.path.name} (seed {board.seed}): zxing at ({x:.0f}, {y:.0f})")
        missing = bar_misses(zxing, ours)
        if missing:
            bar.append(f"{board.path.name}: zxing-cpp decoded {', '.join(map(short, missing))}")
        rows.append(
            (
                f"board-{board.seed}.jpg",
                f"{board.asked_module:.0f} / {min(board.modules):.1f}-{max(board.modules):.1f}",
                f"{zxing.seconds:.3f}",
                f"{ours.seconds:.2f}",
                f"{ours.seconds / zxing.seconds:.0f}x",
                f"{times['check'][-1]:.2f}",
                f"{zf.decoded}/{zf.located}/{zf.wrong}/{zf.phantom}",
                f"{qf.decoded}/{qf.located}/{qf.wrong}/{qf.phantom}",
                f"{len(checked.codes)}",
            )
        )

    n = len(boards)
    print(
        f"\n3. {n} simulated board photos, 4000x3000 (12 MP), {CODES_PER_BOARD} codes each "
        f"(simulate.board_with_codes, JPEG q90 in a temp dir; times: median of {repeat} runs)"
    )
    print("   codes columns: decoded / located only (on a true code) / wrong text / phantom")
    table(
        (
            "photo",
            "module px asked/actual",
            "zxing s",
            "locate s",
            "ratio",
            "check_photo s",
            "zxing codes",
            "qrcheck codes",
            "check_photo codes",
        ),
        rows,
    )
    z, q = totals["zxing-cpp"], totals["qrcheck"]
    median_ours = statistics.median(times["ours"])
    median_check = statistics.median(times["check"])
    median_zxing = statistics.median(times["zxing"])
    median_load = statistics.median(times["load"])
    ratio = median_ours / median_zxing
    ratio_check = median_check / (median_load + median_zxing)
    expected = n * CODES_PER_BOARD
    print()
    table(
        ("", "zxing-cpp", "qrcheck", "target", ""),
        [
            ("codes on the boards (ground truth)", expected, expected, "", ""),
            ("decoded correctly", z.decoded, q.decoded, "", ""),
            ("decoded with a wrong text", z.wrong, q.wrong, "", ""),
            ("located, not decoded (on a true code)", z.located, q.located, "", ""),
            ("located where there is no code (phantom)", z.phantom, q.phantom, "", ""),
            ("codes neither decoded nor located", z.missed, q.missed, "", ""),
            (
                "median s per photo, readers only",
                f"{median_zxing:.3f}",
                f"{median_ours:.2f}",
                f"< {TARGET_SECONDS}",
                meets(median_ours < TARGET_SECONDS),
            ),
            (
                "ratio qrcheck / zxing-cpp, medians",
                "",
                f"{ratio:.1f}x",
                f"<= {TARGET_RATIO:.0f}x",
                meets(ratio <= TARGET_RATIO),
            ),
            (
                "ratio qrcheck / zxing-cpp, median per photo",
                "",
                f"{statistics.median(ratios):.1f}x",
            ),
            ("median s, load_photo of the JPEG", f"{median_load:.3f}", f"{median_load:.3f}", ""),
            (
                "median s per photo, load + read (check_photo)",
                f"{median_load + median_zxing:.3f}",
                f"{median_check:.2f}",
                f"< {TARGET_SECONDS}",
                meets(median_check < TARGET_SECONDS),
            ),
            (
                "ratio check_photo / (load_photo + zxing-cpp)",
                "",
                f"{ratio_check:.1f}x",
                f"<= {TARGET_RATIO:.0f}x",
                meets(ratio_check <= TARGET_RATIO),
            ),
        ],
    )
    print("\n  where locate_codes spends its time (LocateOptions switched off; median over boards)")
    whole = statistics.median(stages["locate_codes, whole"])
    stage_rows = [("locate_codes, default options", f"{whole:.3f}", "100%")]
    for name, values in stages.items():
        if name != "locate_codes, whole":
            value = statistics.median(values)
            stage_rows.append((name, f"{value:.3f}", f"{value / whole:.0%}"))
    table(("", "median s", "of default"), stage_rows)
    if phantoms:
        print("\n  phantom symbols (reported as located, not decoded, where no code is):")
        for line in phantoms:
            print(f"    {line}")
    report_odd(odd)
    return bar


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def report_parallel(boards: list[Board], repeat: int) -> None:
    catalog = load_catalog(ROOT / "catalog")
    view, center = catalog.as_of(AS_OF), catalog.center
    folder = boards[0].path.parent
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    reports = {}
    for _ in range(repeat):
        for workers in (1, 2):  # alternated, so that the machine's noise hits both alike
            cpu, start = _cpu_seconds(), time.perf_counter()
            reports[workers] = check_photos([folder], view, center, workers=workers)
            walls[workers].append(time.perf_counter() - start)
            cpus[workers].append(_cpu_seconds() - cpu)
    wall = {w: statistics.median(v) for w, v in walls.items()}
    busy = {
        w: statistics.median(c / t for c, t in zip(cpus[w], walls[w], strict=True)) for w in cpus
    }
    same = [[(c.located.text, c.action) for c in p.codes] for p in reports[1].photos] == [
        [(c.located.text, c.action) for c in p.codes] for p in reports[2].photos
    ]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    photos = len(reports[1].photos)
    best = photos / math.ceil(photos / 2)
    print(
        f"\n4. check_photos over the {photos} board JPEGs, wall clock, median of {repeat} "
        f"({cores} cores usable)"
    )
    table(
        ("", "wall s", "s per photo", "CPU s / wall s"),
        [
            ("workers=1", f"{wall[1]:.2f}", f"{wall[1] / photos:.2f}", f"{busy[1]:.2f}"),
            ("workers=2", f"{wall[2]:.2f}", f"{wall[2] / photos:.2f}", f"{busy[2]:.2f}"),
            ("speed-up workers=2 over workers=1", f"{wall[1] / wall[2]:.2f}x"),
            (f"best possible with {photos} photos on 2 workers", f"{best:.2f}x"),
            ("same codes and actions either way", "yes" if same else "NO"),
        ],
    )
    errors = [p for r in reports.values() for p in r.photos if p.error is not None]
    if errors:
        loud([f"{p.path.name}: {p.error}" for p in errors])


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 boards, 1 timing run each")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder holding qr-photos/ and no-qr-photos/ (default: %(default)s)",
    )
    args = parser.parse_args()
    qr_dir, no_qr_dir = args.data / "qr-photos", args.data / "no-qr-photos"
    for folder in (qr_dir, no_qr_dir):
        if not (folder / "manifest.csv").is_file():
            print(
                f"bench_check: data folder missing: {folder / 'manifest.csv'} not found "
                f"(pass --data DIR, the folder holding qr-photos/ and no-qr-photos/)",
                file=sys.stderr,
            )
            sys.exit(2)

    board_count, repeat = (2, 1) if args.quick else (len(BOARDS), 3)
    began = time.perf_counter()
    print(
        f"qrcheck check benchmark: zxing-cpp {version('zxing-cpp')}, pyzbar "
        f"{version('pyzbar')}, OpenCV {cv2.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs{', --quick' if args.quick else ''}"
    )
    for module in ("locate.py", "simulate.py", "check.py"):
        source = ROOT / "qrcheck" / module
        if source.exists():
            stamp = datetime.fromtimestamp(source.stat().st_mtime).isoformat(" ", "seconds")
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
            print(f"  qrcheck/{module}: sha256 {digest}, modified {stamp}")
    bar = report_qr_photos(qr_dir)
    bar += report_no_qr_photos(no_qr_dir)

    try:
        from testkit.simulate import board_with_codes  # noqa: F401
    except ImportError:
        print("\n3./4. skipped: testkit.simulate.board_with_codes is not available")
    else:
        with tempfile.TemporaryDirectory(prefix="qrcheck-bench-check-") as tmp:
            start = time.perf_counter()
            boards = render_boards(Path(tmp), board_count)
            rendering = time.perf_counter() - start
            bar += report_boards(boards, repeat)
            report_parallel(boards, repeat)
            print(f"\n  (rendering the {len(boards)} boards took {rendering:.1f} s, not counted)")

    print("\nbar: qrcheck decodes every code that zxing-cpp alone decodes")
    if bar:
        loud(["BAR NOT MET: zxing-cpp alone decoded codes qrcheck did not", *bar])
    else:
        print("  CONFIRMED on every photo (qr-photos, no-qr-photos, boards)")
    print(f"\ntotal benchmark time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
