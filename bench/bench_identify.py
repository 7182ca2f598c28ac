"""Benchmark naming faded postings by OCR (`qrcheck.vision.identify.identify_posting`), issue 14.

Run by hand (not in CI):  .venv/bin/python bench/bench_identify.py [--count N] [--seed S]

Postings of procedures drawn from the bundled catalog (every state), faded 0.5-0.95 with
yellowing and scratches over the code (`simulate.age_print`), pinned three to a photo 6-30 mm apart
and photographed with a perspective tilt of 6-16 degrees (`simulate.photograph`, JPEG), a few turned
sideways or upside down. Layouts:

- qrcheck: qrcheck's own posting (`simulate.render_posting`, Vietnamese), several print and
  code sizes, codes from python-qrcode, segno and zxing-cpp's writer;
- qrcheck-en: the same in English;
- qrcheck-pdf (`--pdf N`, after the others and drawn apart from them, so they stay the same):
  qrcheck's real posting (`testkit.postings.qrcheck_posting`: `printing.posting.posting_pdf`
  rasterised by pdftoppm, the procedure code in large type right above the QR code);
- above / beside / below: another maker's card (`testkit.postings.plain_posting`):
  a system typeface, a code from segno or zxing-cpp, the code number with or without a label
  (or only the name), the text in grey ink.

Each posting is identified from its code's true corners. Counted: correct (the right code),
wrong (another code: must be 0), unknown; time per code (median, p90) and OCR calls per code
(OCR/c, the mean); for every posting, how much of its
text's contrast against the paper the ageing left (the median, and the share of its ink under
2 %, which no reader sees), so a miss can be told from a posting nobody could read; and the
share named of the postings whose text is legible (median contrast 2 % or more). The baseline,
measured in the same run on the same postings: Tesseract alone (one pytesseract call on the
rectified window, no preparation, no turning) with the same matcher.

`--no-text [--data DIR]`: instead, the time and OCR calls per undecodable code that has no
posting text round it (the real photos' and bench_reader's damaged and multiple boards).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.catalog.load import load_catalog  # noqa: E402
from qrcheck.vision.identify import (  # noqa: E402
    REACH,
    _gray,
    _rectify,
    identify_posting,
    match_text,
    tesseract_ocr,
)
from testkit.postings import plain_posting, qrcheck_posting, turn_card  # noqa: E402
from testkit.simulate import Condition, age_print, photograph, render_posting  # noqa: E402

AS_OF = date(2026, 11, 27)
LAYOUTS = ("qrcheck", "qrcheck", "qrcheck-en", "above", "beside", "below")
CENTER = "Trung tâm Phục vụ hành chính công phường Nam Gia Nghĩa"


@dataclass
class Row:
    layout: str
    code: str
    fade: float
    turned: int
    got: str | None = None
    basis: str = ""
    seconds: float = 0.0
    base_got: str | None = None
    base_seconds: float = 0.0
    calls: int = 0  # OCR calls identify_posting made
    ink: float = 0.0  # the text's median contrast against the paper left after ageing
    gone: float = 0.0  # the share of the text's ink left under 2 % contrast (nobody reads it)


def legibility(fresh: np.ndarray, aged: np.ndarray, box) -> tuple[float, float]:
    """(median contrast, share under 2 %) of the printed text's ink on the aged card: the ink
    is where the fresh card is printed, away from the code; contrast is 1 - ink / paper, the
    paper the median of the aged card where nothing is printed."""
    fresh_g = fresh[..., :3].mean(axis=2)
    aged_g = aged[..., :3].astype(np.float32).mean(axis=2)
    x0, y0, x1, y1 = box
    pad = 0.2 * (x1 - x0)
    away = np.ones(fresh_g.shape, bool)
    away[max(0, int(y0 - pad)) : int(y1 + pad), max(0, int(x0 - pad)) : int(x1 + pad)] = False
    paper_level = float(np.median(fresh_g))
    ink = away & (fresh_g < paper_level - 40)
    blank = away & (fresh_g > paper_level - 3)
    if not ink.any() or not blank.any():
        return 0.0, 1.0
    contrast = 1.0 - aged_g[ink] / float(np.median(aged_g[blank]))
    return float(np.median(contrast)), float(np.mean(contrast < 0.02))


def make_cards(count: int, rng: np.random.Generator, procedures) -> list[tuple]:
    codes = sorted(procedures)
    cards = []
    for i in range(count):
        layout = LAYOUTS[i % len(LAYOUTS)]
        proc = procedures[codes[int(rng.integers(len(codes)))]]
        fade = float(rng.choice([0.5, 0.7, 0.8, 0.85, 0.9, 0.95]))
        turned = int(rng.choice([1, 2, 3])) if i % 9 == 4 else 0
        px_mm = float(rng.uniform(5.0, 7.0))
        if layout.startswith("qrcheck"):
            encoder = ("python-qrcode", "segno", "zxing-cpp")[i % 3]
            card, box = render_posting(
                proc.code, proc.name, proc.field, CENTER, proc.payload, px_mm,
                qr_mm=float(rng.uniform(50, 75)), lang="en" if layout.endswith("en") else "vi",
                encoder=encoder, print_date=date(2024, 5, 2),
            )  # fmt: skip
        else:
            encoder = ("segno", "zxing-cpp")[i % 2]
            label = ("Mã TTHC: {}", "{}", "Mã số: {}", "")[i % 4]
            lines = (label.format(proc.code), proc.name) if label else (proc.name,)
            if i % 8 == 7:  # the number after the name
                lines = (proc.name, proc.code)
            grey = int(rng.integers(40, 110))
            card, box = plain_posting(
                lines, proc.payload, layout=layout, encoder=encoder, px_per_mm=px_mm,
                code_mm=float(rng.uniform(40, 60)), text_mm=float(rng.uniform(4.0, 6.0)),
                ink=(grey, grey, grey + 5), face=i,
            )  # fmt: skip
        condition = Condition(
            fade=fade, yellowing=float(rng.uniform(0, 0.6)), scratches=int(rng.integers(0, 6)),
            encoder=encoder,
        )  # fmt: skip
        fresh = card
        card = age_print(card, box, condition, rng=int(rng.integers(1 << 30)), px_per_mm=px_mm)
        ink, gone = legibility(fresh, card, box)
        card, box = turn_card(card, box, turned)
        row = Row(layout, proc.code, fade, turned, ink=ink, gone=gone)
        cards.append((card, box, condition, px_mm, row))
    return cards


def make_pdf_cards(count: int, rng: np.random.Generator, procedures) -> list[tuple]:
    """`count` of qrcheck's real postings (`testkit.postings.qrcheck_posting`: the PDF
    rasterised, the code in large type above the QR code), faded like `make_cards`' (drawn
    from their own `rng`, so adding them changes none of the other postings)."""
    codes = sorted(procedures)
    cards = []
    for i in range(count):
        proc = procedures[codes[int(rng.integers(len(codes)))]]
        fade = float(rng.choice([0.5, 0.7, 0.8, 0.85, 0.9, 0.95]))
        px_mm = float(rng.uniform(5.0, 7.0))
        lang = "en" if i % 3 == 2 else "vi"
        card, box = qrcheck_posting(
            proc.code, proc.name, proc.field, CENTER, proc.payload, px_per_mm=px_mm, lang=lang
        )
        condition = Condition(
            fade=fade, yellowing=float(rng.uniform(0, 0.6)), scratches=int(rng.integers(0, 6)),
        )  # fmt: skip
        fresh = card
        card = age_print(card, box, condition, rng=int(rng.integers(1 << 30)), px_per_mm=px_mm)
        ink, gone = legibility(fresh, card, box)
        row = Row("qrcheck-pdf", proc.code, fade, 0, ink=ink, gone=gone)
        cards.append((card, box, condition, px_mm, row))
    return cards


def baseline(image: np.ndarray, corners, procedures) -> str | None:
    window = _rectify(_gray(image), np.asarray(corners, np.float64), (REACH,) * 4)
    if window is None:
        return None
    return match_text(tesseract_ocr(window.image), procedures).code


def no_text(data: Path) -> None:
    """Time and OCR calls per undecodable code with no posting text round it: every symbol
    `locate_codes` leaves undecoded on the real photos of DATA/qr-photos and on bench_reader's
    simulated "damaged" and "multiple" boards (6 each), named by `identify_posting` (each
    should be unknown, with no OCR call)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_reader import real, simulated

    from qrcheck.vision.locate import locate_codes

    procedures = load_catalog(ROOT / "catalog").as_of(AS_OF).procedures
    cases = list(real(data / "qr-photos", "qr-photos")) if (data / "qr-photos").is_dir() else []
    cases += [c for c in simulated(6) if c.category in ("damaged", "multiple")]
    seconds, calls, named = [], [], 0
    for case in cases:
        for located in locate_codes(case.gray):
            if located.text is not None:
                continue
            count = [0]

            def counted(image: np.ndarray, count=count) -> str:
                count[0] += 1
                return tesseract_ocr(image)

            t0 = time.perf_counter()
            found = identify_posting(case.gray, located.corners, procedures, ocr=counted)
            seconds.append(time.perf_counter() - t0)
            calls.append(count[0])
            named += found.code is not None
    if not seconds:
        print("no undecoded code found")
        return
    seconds.sort()
    p90 = seconds[min(len(seconds) - 1, int(0.9 * len(seconds)))]
    print(
        f"undecoded codes with no text round them: {len(seconds)} ({named} named); "
        f"per code median {statistics.median(seconds):.2f} s, p90 {p90:.2f} s, "
        f"OCR calls mean {statistics.mean(calls):.1f}, max {max(calls)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=72)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--pdf", type=int, default=12, help="qrcheck's real postings added (a multiple of 3)"
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--dump", type=Path, help="save the window of every posting not named")
    parser.add_argument("--only", type=int, nargs="*", help="run only these postings (index)")
    parser.add_argument(
        "--no-text", action="store_true",
        help="only the undecodable codes with no text round them (see `no_text`)",
    )  # fmt: skip
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    if args.no_text:
        no_text(args.data)
        return
    procedures = load_catalog(ROOT / "catalog").as_of(AS_OF).procedures
    rng = np.random.default_rng(args.seed)
    cards = make_cards(args.count, rng, procedures)
    # after the others, from their own draw: the postings above stay those of earlier runs
    cards += make_pdf_cards(args.pdf, np.random.default_rng(args.seed + 1000), procedures)
    rows: list[Row] = []
    for start in range(0, len(cards), 3):
        group = cards[start : start + 3]
        px_mm = min(c[3] for c in group)
        shots = [(c[0], c[1], c[2], c[4].code, procedures[c[4].code].payload) for c in group]
        photo, placed = photograph(
            shots, (3200, 2400), rng, perspective_deg=float(rng.uniform(6, 16)),
            px_per_mm=px_mm, jpeg_quality=85, gap_mm=float(rng.uniform(6, 30)),
        )  # fmt: skip
        # photographed even when skipped (--only): the photos after it stay the same
        if args.only and not any(start + k in args.only for k in range(3)):
            continue
        for (_, _, _, _, row), code in zip(group, placed, strict=True):
            calls = [0]

            def counted(image: np.ndarray, calls=calls) -> str:
                calls[0] += 1
                return tesseract_ocr(image)

            t0 = time.perf_counter()
            found = identify_posting(photo, code.corners, procedures, ocr=counted)
            row.seconds = time.perf_counter() - t0
            row.calls = calls[0]
            row.got, row.basis = found.code, found.basis
            if not args.no_baseline:
                t0 = time.perf_counter()
                row.base_got = baseline(photo, code.corners, procedures)
                row.base_seconds = time.perf_counter() - t0
            rows.append(row)
            if args.dump and row.got != row.code:
                args.dump.mkdir(parents=True, exist_ok=True)
                window = _rectify(_gray(photo), np.asarray(code.corners, np.float64), (REACH,) * 4)
                if window is not None:
                    name = f"{len(rows):03d}-{row.layout}-{row.code}-{row.fade}.png"
                    cv2.imwrite(str(args.dump / name), window.image)
            mark = "ok" if row.got == row.code else ("WRONG" if row.got else "unknown")
            print(
                f"{row.layout:11} {row.code} fade {row.fade:.2f} turned {row.turned}: "
                f"{mark:7} {row.basis:12} {row.seconds:5.2f} s {row.calls:2} OCR"
                + (f" (named {row.got}: {found.read!r})" if mark == "WRONG" else "")
                + f"  text contrast {100 * row.ink:4.1f}%, {100 * row.gone:3.0f}% of it gone",
                flush=True,
            )
    report(rows, not args.no_baseline)


def report(rows: list[Row], with_baseline: bool) -> None:
    def line(name: str, part: list[Row]) -> str:
        ok = sum(r.got == r.code for r in part)
        wrong = sum(r.got is not None and r.got != r.code for r in part)
        base_ok = sum(r.base_got == r.code for r in part)
        base_wrong = sum(r.base_got is not None and r.base_got != r.code for r in part)
        times = sorted(r.seconds for r in part)
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        text = (
            f"{name:14} {len(part):4} {ok:4} {100 * ok / len(part):6.1f}% {wrong:5} "
            f"{len(part) - ok - wrong:7} {statistics.median(times):7.2f} {p90:6.2f}"
            f" {statistics.mean(r.calls for r in part):5.1f}"
        )
        if with_baseline:
            base_med = statistics.median(r.base_seconds for r in part)
            text += f" | {100 * base_ok / len(part):6.1f}% {base_wrong:5} {base_med:7.2f}"
        return text

    head = f"{'layout':14} {'n':>4} {'ok':>4} {'ok%':>7} {'wrong':>5} {'unknown':>7}"
    head += f" {'med s':>7} {'p90 s':>6} {'OCR/c':>5}"
    if with_baseline:
        head += f" | {'tess ok%':>7} {'wrong':>5} {'med s':>7}"
    print()
    print(head)
    for layout in sorted({r.layout for r in rows}):
        print(line(layout, [r for r in rows if r.layout == layout]))
    for fade in sorted({r.fade for r in rows}):
        print(line(f"fade {fade:.2f}", [r for r in rows if r.fade == fade]))
    print(line("turned", [r for r in rows if r.turned]) if any(r.turned for r in rows) else "")
    print(line("all", rows))
    if with_baseline:
        ratio = statistics.median(r.seconds for r in rows) / statistics.median(
            r.base_seconds for r in rows
        )
        print(f"median time per code, identify_posting / Tesseract alone: {ratio:.2f}")
    missed = [r for r in rows if r.got != r.code]
    named = [r.ink for r in rows if r.got == r.code] or [0.0]
    if missed:
        print(
            "not named: text contrast left "
            + ", ".join(f"{100 * r.ink:.1f}% ({100 * r.gone:.0f}% gone)" for r in missed)
            + f"; named ones: median {100 * statistics.median(named):.1f}%"
        )
    # half or more of the text's ink under 2 % contrast: no reader sees it (the figure beside
    # the bar's, as bench_reader counts the codes a perfect reader could decode)
    legible = [r for r in rows if r.ink >= 0.02]
    if legible:
        ok = sum(r.got == r.code for r in legible)
        print(
            f"text legible (median contrast >= 2 %): {len(legible)} of {len(rows)}, named "
            f"{ok} ({100 * ok / len(legible):.1f}%), wrong "
            f"{sum(r.got is not None and r.got != r.code for r in legible)}"
        )
    bases = {b: sum(r.basis == b for r in rows) for b in ("printed_code", "name", "link")}
    print("named on:", ", ".join(f"{k} {v}" for k, v in bases.items()))


if __name__ == "__main__":
    main()
