"""Benchmark the reader: codes located and decoded per category, qrcheck against zxing-cpp alone.

Run by hand (not in CI):  .venv/bin/python bench/bench_reader.py [--quick] [--data DIR]

Prints issue 13's table for the dev data, both readers measured in the same run on the same
grayscale pixels (the machines here are shared and noisy: the ratios matter, not the times):

- the real photos of DIR/qr-photos (manifest.csv: expected texts per photo; no corners, so a code
  counts as located when it is decoded or when a located-only symbol is left for it);
- DIR/no-qr-photos: every symbol reported there is a false code;
- simulated hard categories, each code's corners known (`testkit.simulate.code_image`, and for
  `encoders` codes from segno and zxing-cpp's writer through `testkit.encoders`):
  perspective (tilt 40-60 degrees), blurred (Gaussian sigma 0.3-0.6 module, a blur of about
  2 modules), curved paper, bright_spots (several small blown-out reflections), glare (one
  large one), damaged (blots over 8-30% of the modules), high_version (versions 15-40), multiple
  (4 to 9 codes of varied sizes, quiet zones touching or 1-2 modules apart, every third
  one damaged, under a common tilt), encoders, crumpled (codes from segno and zxing-cpp's
  writer on crumpled paper, `testkit.encoders.crumple`), and blank (boards of
  text, checkerboards, blank paper: any symbol is false).

A code is located when a reported symbol's centre is within max(10 px, 25% of its side) of the
true centre, decoded when that symbol's text is the code's text. A false code is a reported
symbol near no code, or one with a wrong text. zxing-cpp alone: `read_barcodes(gray, QR model
2 + model 1, text_mode=Plain)`, timed; what it locates comes from that call plus a second one with
`return_errors=True` (not timed). qrcheck: `locate_codes`, then `grade_code` on every symbol
(what `qrcheck check` does per code besides the catalog), both timed.

The whole check: every photo (the simulated ones written as PNG files first) through
`check.check_photo` with the repository's catalog, against `load_photo` + zxing-cpp alone on the
same file, both timed in the same run ("check ratio"; the issue's bar is 3x). The modules a check
loads on first need (the OCR that names undecodable codes) are imported before the timing, as
zxing-cpp is: a run pays that once, not per photo.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qrcheck.vision.identify  # noqa: E402,F401  (imported on first need by check_photo)
from qrcheck.board.check import check_photo  # noqa: E402
from qrcheck.catalog.load import load_catalog  # noqa: E402
from qrcheck.grade.measure import grade_code  # noqa: E402
from qrcheck.vision.locate import locate_codes  # noqa: E402
from qrcheck.vision.photos import load_photo  # noqa: E402
from qrcheck.vision.shapes import Located  # noqa: E402
from testkit.encoders import ENCODERS, PAPER, capture, crumple, filling, render  # noqa: E402
from testkit.simulate import catalog_like_payloads, close_codes_board, code_image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import _quad, _side  # noqa: E402  (the same zxing-cpp geometry)

FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)
#: module size of the simulated codes (px): a phone photo of a board at arm's length
MODULE = 5.0
PHONE = {"noise": 0.02, "jpeg_quality": 85}
#: the catalog's day the whole check judges links on (as bench_check)
AS_OF = date(2026, 11, 27)


@dataclass
class Truth:
    text: str
    #: symbol corners (None for the real photos: only the text is known)
    corners: np.ndarray | None = None
    #: whether a perfect reader could decode it (`oracle_decodable`; real photos: True)
    decodable: bool = True

    @property
    def centre(self) -> np.ndarray:
        assert self.corners is not None
        return self.corners.mean(axis=0)

    @property
    def side(self) -> float:
        assert self.corners is not None
        c = self.corners
        return float(np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)]))


@dataclass
class Case:
    category: str
    name: str
    gray: np.ndarray
    truths: list[Truth]
    #: the photo's file (real photos; simulated ones are written out for the whole check)
    path: Path | None = None


# ---------------------------------------------------------------------------------------------
# the oracle: could a perfect reader decode a simulated code?


def oracle_decodable(payload: str, damage: float, seed: int) -> bool:
    """Whether a perfect reader could decode a `code_image` code blotted with `damage` drawn
    from `seed` (its rng): the blots are drawn again (the same draws: `_blots` is the first to
    use the code's rng) on the flat, noise-free reflectance at 8 px per module, and the modules
    are sampled at their true centres. A perfect reader either treats every codeword under a
    blot as an erasure (Reed-Solomon corrects as many erasures as the block has check
    codewords) or reads the blotted modules as they are (half as many wrong codewords): the code
    is decodable when, in every block, one of the two fits. Codes without blots are decodable
    (no case but the blots destroys modules past what a noise-free capture shows; glare and
    bright spots are counted decodable, an upper bound)."""
    if damage <= 0:
        return True
    from qrcheck.printing.symbol import ERROR_CORRECTION, QUIET_ZONE
    from qrcheck.vision.qr_layout import blocks, layout
    from testkit.simulate import _blots, _flat_code, make_symbol

    symbol = make_symbol(payload)
    n, k, margin = symbol.size, 8, QUIET_ZONE + 12
    truth = symbol.modules
    flat = _flat_code(symbol, k, margin, 1.0, False)
    drawn = []
    for base in (flat, flat.max() + flat.min() - flat):  # the code and its negative
        refl = base.copy()
        _blots(refl, n, k, margin, damage, np.random.default_rng(seed))
        drawn.append((base, refl))
    # each module's middle half: what it shows, and whether a blot touched it
    inner = slice(k // 4, k - k // 4)

    def per_module(image: np.ndarray) -> np.ndarray:
        cells = image[margin * k : (margin + n) * k, margin * k : (margin + n) * k]
        return cells.reshape(n, k, n, k)[:, inner, :, inner].mean(axis=(1, 3))

    (base, blotted), (neg, neg_blotted) = drawn
    middle = float(flat.max() + flat.min()) / 2
    seen = per_module(blotted) < middle
    covered = (np.abs(per_module(blotted - base)) > 1e-3) | (
        np.abs(per_module(neg_blotted - neg)) > 1e-3
    )
    lay, spec = layout(symbol.version), blocks(symbol.version, ERROR_CORRECTION)
    rows, cols = lay.data_order
    total = spec.total * 8
    wrong = (seen != truth)[rows[:total], cols[:total]].reshape(spec.total, 8).any(axis=1)
    erased = covered[rows[:total], cols[:total]].reshape(spec.total, 8).any(axis=1)
    for b, ec_count in enumerate(spec.ec_counts):
        where = spec.block_of == b
        if min(int(erased[where].sum()), 2 * int(wrong[where].sum())) > ec_count:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# simulated categories


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _one(category: str, name: str, payload: str, canvas=(900, 900), **options) -> Case:
    image, truth = code_image(payload, canvas=canvas, **{**PHONE, **options})
    return Case(category, name, _gray(image), [Truth(payload, np.array(truth.corners))])


def _bright_spots(gray: np.ndarray, corners: np.ndarray, count: int, rng) -> np.ndarray:
    """`count` small blown-out reflections (a lamination's sparkle, a lamp's dots) over a code."""
    side = float(np.linalg.norm(corners[1] - corners[0]))
    out = gray.astype(np.float32)
    yy, xx = np.mgrid[0 : gray.shape[0], 0 : gray.shape[1]].astype(np.float32)
    for _ in range(count):
        u, v = rng.uniform(0.1, 0.9, 2)
        top = corners[0] + u * (corners[1] - corners[0])
        bottom = corners[3] + u * (corners[2] - corners[3])
        cx, cy = top + v * (bottom - top)
        r = rng.uniform(0.04, 0.1) * side
        out += 255 * 1.6 * np.exp(-((((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)) ** 2))
    return np.clip(out, 0, 255).astype(np.uint8)


def _tilted(gray: np.ndarray, corners: list[np.ndarray], tilt: float, rng):
    """The whole image seen under a perspective of about `tilt` degrees (a random direction)."""
    h, w = gray.shape
    src = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    k = math.tan(math.radians(tilt)) * 0.25
    side = int(rng.integers(4))
    dst = src.copy()
    a, b = side, (side + 1) % 4  # this edge moves away from the camera: it shrinks
    mid = (src[a] + src[b]) / 2
    dst[a] = src[a] + (mid - src[a]) * k
    dst[b] = src[b] + (mid - src[b]) * k
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(
        gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=int(gray[0, 0])
    )
    moved = [cv2.perspectiveTransform(c.reshape(-1, 1, 2), m).reshape(-1, 2) for c in corners]
    return warped, moved


def _phone(gray: np.ndarray, rng, blur: float = 0.6) -> np.ndarray:
    """Camera blur, sensor noise and JPEG on a composed grayscale image."""
    out = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), blur)
    out += rng.normal(0, 3.0, out.shape)
    ok, data = cv2.imencode(
        ".jpg", np.clip(out, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def multiple(n: int, seed: int, gap: float = 0.0, tilt: float = 20.0, module: float = MODULE):
    """`n` codes of varied sizes in a grid, their quiet zones `gap` modules apart (0: touching),
    under a common tilt, with varied small distortions each; every third one is damaged."""
    rng = np.random.default_rng(seed)
    canvas, codes = close_codes_board(n, seed, rng, gap, module)
    truths = [text for text, _ in codes]
    placed = [corners for _, corners in codes]
    warped, moved = _tilted(canvas, placed, tilt, rng)
    # close_codes_board blots every third code (i % 3 == 1) by 20%, from rng seed * 31 + i
    return _phone(warped, rng, 0.5), [
        Truth(t, c, oracle_decodable(t, 0.2 if i % 3 == 1 else 0.0, seed * 31 + i))
        for i, (t, c) in enumerate(zip(truths, moved, strict=True))
    ]


def other_encoder(encoder: str, seed: int, tilt: float = 35.0):
    """A code from another encoder (segno, zxing-cpp's writer), its own capture model, tilted."""
    rng = np.random.default_rng(seed)
    version = int(rng.integers(3, 12))
    ec = "LMQH"[int(rng.integers(4))]
    modules = ENCODERS[encoder](filling(version, ec), version, ec, int(rng.integers(8)))
    flat = render(modules, MODULE)
    n = modules.shape[0]
    pad = 40 + 4 * MODULE
    corners = np.array(
        [(pad, pad), (pad + n * MODULE, pad), (pad + n * MODULE,) * 2, (pad, pad + n * MODULE)],
        dtype=np.float32,
    )
    big = np.pad(flat, 150, constant_values=PAPER)
    corners += 150
    warped, (moved,) = _tilted(big, [corners], tilt, rng)
    return capture(warped, seed), [Truth(filling(version, ec), moved)]


def _tilted_flat(flat: np.ndarray, n: int, module: float, tilt: float, rng):
    """A code image `render` made (`n` modules of `module` px, its quiet zone) on 100 px more
    paper, tilted: the photo and the symbol's corners in it."""
    pad = 40 + 4 * module
    corners = np.array(
        [(pad, pad), (pad + n * module, pad), (pad + n * module,) * 2, (pad, pad + n * module)],
        dtype=np.float32,
    )
    big = np.pad(flat, 100, constant_values=PAPER)
    warped, (moved,) = _tilted(big, [corners + 100], tilt, rng)
    return warped, moved


def crumpled(seed: int) -> Case:
    """A code from segno or zxing-cpp's writer on crumpled paper (`crumple`: creases moving
    the modules by up to 0.4-0.6 of a module), mildly tilted, its own capture model."""
    rng = np.random.default_rng(seed)
    encoder = ("segno", "zxing-cpp")[seed % 2]
    version = int(rng.integers(3, 8))
    ec = "LMQH"[int(rng.integers(4))]
    text = filling(version, ec)
    modules = ENCODERS[encoder](text, version, ec, int(rng.integers(8)))
    module = MODULE + 1
    shift = float(rng.uniform(0.4, 0.6)) * module
    flat = crumple(render(modules, module), seed, shift=shift)
    warped, moved = _tilted_flat(flat, modules.shape[0], module, float(rng.uniform(5, 20)), rng)
    name = f"{encoder}-v{version}{ec}-s{seed}"
    return Case("crumpled", name, capture(warped, seed), [Truth(text, moved)])


def high_version(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    version = int(rng.integers(15, 41))
    text = filling(version, "M")
    modules = ENCODERS["segno"](text, version, "M", int(rng.integers(8)))
    module = float(rng.uniform(3.0, 4.5))
    flat = render(modules, module)
    warped, moved = _tilted_flat(flat, modules.shape[0], module, float(rng.uniform(5, 25)), rng)
    return Case("high_version", f"v{version}-s{seed}", capture(warped, seed), [Truth(text, moved)])


def blank(seed: int) -> Case:
    """Nothing to find: text, a checkerboard or paper texture."""
    rng = np.random.default_rng(seed)
    kind = seed % 3
    h, w = 900, 1200
    if kind == 0:
        image = np.full((h, w), 235, np.uint8)
        for row in range(40, h - 40, 34):
            x = 40
            while x < w - 120:
                word = int(rng.integers(20, 110))
                cv2.rectangle(image, (x, row), (x + word, row + 14), 40, -1)
                x += word + int(rng.integers(10, 25))
    elif kind == 1:
        cell = int(rng.integers(6, 20))
        yy, xx = np.mgrid[0:h, 0:w]
        image = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 30, 230).astype(np.uint8)
    else:
        noise = cv2.resize(rng.normal(0, 1, (h // 20, w // 20)), (w, h))
        image = np.clip(200 + 25 * noise, 0, 255).astype(np.uint8)
    warped, _ = _tilted(image, [], float(rng.uniform(0, 30)), rng)
    return Case("blank", f"kind{kind}-s{seed}", _phone(warped, rng), [])


def simulated(per: int) -> Iterator[Case]:
    """`per` cases of every simulated category (deterministic)."""
    payloads = catalog_like_payloads(8 * per + 8, rng=13)
    p = iter(payloads)
    for i in range(per):
        tilt = 40 + 20 * i / max(per - 1, 1)
        yield _one(
            "perspective", f"tilt{tilt:.0f}", next(p), tilt_deg=tilt, rng=i, module_px=MODULE + 1
        )
    for i in range(per):
        sigma = 0.3 + 0.3 * i / max(per - 1, 1)
        yield _one(
            "blurred",
            f"sigma{sigma:.2f}m",
            next(p),
            blur_px=sigma * (MODULE + 1),
            rng=i,
            module_px=MODULE + 1,
        )
    for i in range(per):
        curve = 0.5 + 0.5 * i / max(per - 1, 1)
        yield _one("curved", f"curve{curve:.2f}", next(p), curve=curve, rng=i, module_px=MODULE)
    for i in range(per):
        rng = np.random.default_rng(i)
        case = _one(
            "bright_spots",
            f"spots-s{i}",
            next(p),
            rng=i,
            module_px=MODULE,
            tilt_deg=float(rng.uniform(0, 30)),
        )
        case.gray = _bright_spots(case.gray, case.truths[0].corners, 2 + i % 4, rng)
        yield case
    for i in range(per):
        glare = 0.4 + 0.6 * i / max(per - 1, 1)
        yield _one("glare", f"glare{glare:.2f}", next(p), glare=glare, rng=i, module_px=MODULE)
    for i in range(per):
        damage = 0.08 + 0.22 * i / max(per - 1, 1)
        case = _one(
            "damaged", f"damage{damage:.2f}", next(p), damage=damage, rng=i, module_px=MODULE
        )
        case.truths[0].decodable = oracle_decodable(case.truths[0].text, damage, i)
        yield case
    for i in range(per):
        yield crumpled(i)
    for i in range(per):
        yield high_version(i)
    for i in range(per):
        n = 4 + i % 6
        gray, truths = multiple(n, i, gap=float(i % 3), tilt=float(10 + 5 * (i % 5)))
        yield Case("multiple", f"{n}codes-s{i}", gray, truths)
    for i in range(per):
        encoder = ("segno", "zxing-cpp")[i % 2]
        gray, truths = other_encoder(encoder, i, tilt=float(20 + 5 * (i % 7)))
        yield Case("encoders", f"{encoder}-s{i}", gray, truths)
    for i in range(per):
        yield blank(i)


def real(folder: Path, name: str) -> Iterator[Case]:
    """The photos of a folder with a manifest.csv (expected texts), or every photo (none)."""
    manifest = folder / "manifest.csv"
    if manifest.exists():
        with manifest.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                truths = [Truth(t) for t in json.loads(row["expected_texts"])]
                path = folder / row["image"]
                yield Case(name, row["image"], load_photo(path).gray, truths, path)
    else:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".bmp"):
                yield Case(name, str(path.relative_to(folder)), load_photo(path).gray, [], path)


# ---------------------------------------------------------------------------------------------
# reading and scoring


@dataclass
class Symbol:
    centre: np.ndarray
    text: str | None


@dataclass
class Outcome:
    located: int = 0
    decoded: int = 0
    false: int = 0
    #: decoded with a text that is not the code's (counted in `false` too)
    wrong: int = 0
    seconds: float = 0.0
    #: the truths (indices) each reader located / decoded
    located_set: set[int] = field(default_factory=set)
    decoded_set: set[int] = field(default_factory=set)


def zxing_alone(gray: np.ndarray) -> tuple[list[Symbol], float]:
    start = time.perf_counter()
    found = zxingcpp.read_barcodes(gray, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    seconds = time.perf_counter() - start
    errors = zxingcpp.read_barcodes(
        gray, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    symbols: list[Symbol] = []
    quads: list[np.ndarray] = []
    for barcode in [*found, *errors]:
        quad = _quad(barcode)
        if _side(quad) < 1:
            continue  # no position ("Invalid symbol size" errors)
        side = _side(quad)
        if any(
            np.linalg.norm(quad.mean(0) - q.mean(0)) < 0.35 * min(side, _side(q)) for q in quads
        ):
            continue
        quads.append(quad)
        symbols.append(Symbol(quad.mean(axis=0), barcode.text if barcode.valid else None))
    return symbols, seconds


def qrcheck_reader(gray: np.ndarray) -> tuple[list[Symbol], float, float]:
    """Symbols, seconds to locate, seconds to grade them all."""
    start = time.perf_counter()
    located: list[Located] = locate_codes(gray)
    middle = time.perf_counter()
    for item in located:
        try:
            grade_code(item, gray)
        except Exception as exc:  # check.code_result reports the code anyway
            print(f"    grading failed: {type(exc).__name__}: {exc}")
    end = time.perf_counter()
    symbols = [Symbol(np.array(item.center), item.text) for item in located]
    return symbols, middle - start, end - middle


def score(case: Case, symbols: Sequence[Symbol]) -> Outcome:
    out = Outcome()
    if case.truths and case.truths[0].corners is None:  # real photo: texts only
        left = [t.text for t in case.truths]
        undecoded = 0
        for s in symbols:
            if s.text is not None and s.text in left:
                index = left.index(s.text)
                left[index] = None  # type: ignore[call-overload]
                out.decoded_set.add(index)
            elif s.text is not None:
                out.false += 1
                out.wrong += 1
            else:
                undecoded += 1
        out.decoded = len(out.decoded_set)
        missing = len(case.truths) - out.decoded
        out.located = out.decoded + min(undecoded, missing)
        out.false += max(0, undecoded - missing)
        return out
    for s in symbols:
        hits = [
            i
            for i, t in enumerate(case.truths)
            if np.linalg.norm(s.centre - t.centre) <= max(10.0, 0.25 * t.side)
        ]
        if not hits:
            out.false += 1
            continue
        index = hits[0]
        if s.text is not None and s.text != case.truths[index].text:
            out.false += 1
            out.wrong += 1
            continue
        out.located_set.add(index)
        if s.text is not None:
            out.decoded_set.add(index)
    out.located, out.decoded = len(out.located_set), len(out.decoded_set)
    return out


@dataclass
class Row:
    codes: int = 0
    images: int = 0
    zx_located: int = 0
    zx_decoded: int = 0
    zx_false: int = 0
    zx_seconds: float = 0.0
    q_located: int = 0
    q_decoded: int = 0
    q_false: int = 0
    q_seconds: float = 0.0
    grade_seconds: float = 0.0
    zx_wrong: int = 0
    q_wrong: int = 0
    #: codes a perfect reader could decode (`oracle_decodable`), and of them, decoded
    decodable: int = 0
    zx_decodable: int = 0
    q_decodable: int = 0
    #: codes decoded that the oracle calls undecodable (a wrong oracle: should stay 0)
    beyond: int = 0
    #: the whole check against load_photo + zxing-cpp alone, on the same files
    check_seconds: float = 0.0
    load_zx_seconds: float = 0.0
    #: cases where qrcheck located or decoded less than zxing-cpp alone
    losses: list[str] = field(default_factory=list)


def whole_check(path: Path, checking: tuple) -> tuple[float, float]:
    """Seconds of `check_photo` on a file, and of `load_photo` + zxing-cpp alone on it."""
    start = time.perf_counter()
    gray = load_photo(path).gray
    zxingcpp.read_barcodes(gray, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    middle = time.perf_counter()
    result = check_photo(path, *checking)
    end = time.perf_counter()
    if result.error is not None:
        print(f"    check_photo failed on {path.name}: {result.error}")
    return end - middle, middle - start


def run(cases: Iterator[Case], verbose: bool = False, check: bool = True) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    catalog = load_catalog(ROOT / "catalog")
    checking = (catalog.as_of(AS_OF), catalog.center)
    folder = tempfile.TemporaryDirectory(prefix="qrcheck-bench-reader-")
    for number, case in enumerate(cases):
        zs, zt = zxing_alone(case.gray)
        qs, qt, gt = qrcheck_reader(case.gray)
        z, q = score(case, zs), score(case, qs)
        path = case.path
        if path is None and check:  # a simulated photo: a PNG file (lossless) for the whole check
            path = Path(folder.name) / f"{number:04d}.png"
            cv2.imwrite(str(path), case.gray)
        check_seconds, load_zx_seconds = whole_check(path, checking) if check else (0.0, 0.0)
        row = rows.setdefault(case.category, Row())
        row.check_seconds += check_seconds
        row.load_zx_seconds += load_zx_seconds
        row.zx_wrong += z.wrong
        row.q_wrong += q.wrong
        row.codes += len(case.truths)
        able = {i for i, t in enumerate(case.truths) if t.decodable}
        row.decodable += len(able)
        row.zx_decodable += len(z.decoded_set & able)
        row.q_decodable += len(q.decoded_set & able)
        row.beyond += len((z.decoded_set | q.decoded_set) - able)
        row.images += 1
        row.zx_located += z.located
        row.zx_decoded += z.decoded
        row.zx_false += z.false
        row.zx_seconds += zt
        row.q_located += q.located
        row.q_decoded += q.decoded
        row.q_false += q.false
        row.q_seconds += qt
        row.grade_seconds += gt
        lost = (z.located_set - q.located_set) | (z.decoded_set - q.decoded_set)
        if lost or q.located < z.located or q.decoded < z.decoded:
            row.losses.append(
                f"{case.name}: zxing-cpp {z.located}/{z.decoded}, qrcheck {q.located}/{q.decoded}"
            )
        if verbose:
            print(
                f"  {case.category:14} {case.name:28} codes {len(case.truths):2} "
                f"(decodable {len(able):2})  "
                f"zxing {z.located}/{z.decoded} ({zt * 1000:6.1f} ms)  "
                f"qrcheck {q.located}/{q.decoded} false {q.false} "
                f"({qt * 1000:6.1f} + {gt * 1000:5.1f} ms; check {check_seconds * 1000:6.1f} "
                f"ms, load + zxing {load_zx_seconds * 1000:5.1f} ms)"
            )
    folder.cleanup()
    return rows


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(rows: dict[str, Row]) -> None:
    header = (
        "category",
        "images",
        "codes",
        "decodable",
        "located",
        "decoded",
        "of decodable q/z",
        "zxing loc/dec",
        "false q/z",
        "wrong q/z",
        "locate ratio",
        "with grading",
        "check ratio",
    )

    def line(name: str, r: Row) -> tuple:
        return (
            name,
            r.images,
            r.codes,
            r.decodable,
            r.q_located,
            r.q_decoded,
            f"{_pct(r.q_decodable, r.decodable)} / {_pct(r.zx_decodable, r.decodable)}",
            f"{r.zx_located} / {r.zx_decoded}",
            f"{r.q_false} / {r.zx_false}",
            f"{r.q_wrong} / {r.zx_wrong}",
            f"{r.q_seconds / max(r.zx_seconds, 1e-9):.1f}x",
            f"{(r.q_seconds + r.grade_seconds) / max(r.zx_seconds, 1e-9):.1f}x",
            f"{r.check_seconds / max(r.load_zx_seconds, 1e-9):.1f}x",
        )

    lines = []
    total = Row()
    for name, r in rows.items():
        lines.append(line(name, r))
        for attr in (
            "codes",
            "images",
            "decodable",
            "zx_decodable",
            "q_decodable",
            "beyond",
            "zx_located",
            "zx_decoded",
            "zx_false",
            "zx_wrong",
            "q_located",
            "q_decoded",
            "q_false",
            "q_wrong",
            "zx_seconds",
            "q_seconds",
            "grade_seconds",
            "check_seconds",
            "load_zx_seconds",
        ):
            setattr(total, attr, getattr(total, attr) + getattr(r, attr))
    lines.append(line("all", total))
    cells = [[str(c) for c in line] for line in (header, *lines)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for line in cells:
        print(
            "  "
            + "  ".join(
                [line[0].ljust(widths[0])]
                + [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
            )
        )
    coded = {k: r for k, r in rows.items() if r.codes}
    if total.codes:
        average = np.mean([r.q_decoded / r.codes for r in coded.values()])
        zx_average = np.mean([r.zx_decoded / r.codes for r in coded.values()])
        print(
            f"\n  qrcheck: located {_pct(total.q_located, total.codes)}, decoded "
            f"{_pct(total.q_decoded, total.codes)}, category average (decoded) "
            f"{100 * average:.1f}%, false codes {total.q_false} "
            f"({_pct(total.q_false, total.codes)} of the codes)"
        )
        able = {k: r for k, r in coded.items() if r.decodable}
        print(
            f"  of the codes a perfect reader could decode ({total.decodable}): qrcheck "
            f"{_pct(total.q_decodable, total.decodable)} (category average "
            f"{100 * np.mean([r.q_decodable / r.decodable for r in able.values()]):.1f}%), "
            f"zxing-cpp alone {_pct(total.zx_decodable, total.decodable)}; decoded although "
            f"the oracle says no perfect reader could: {total.beyond}"
        )
        print(
            f"  zxing-cpp alone: located {_pct(total.zx_located, total.codes)}, decoded "
            f"{_pct(total.zx_decoded, total.codes)}, category average {100 * zx_average:.1f}%,"
            f" false codes {total.zx_false}"
        )
    print(
        f"  time: locate_codes {total.q_seconds:.2f} s, zxing-cpp alone {total.zx_seconds:.2f} s; "
        f"whole check_photo {total.check_seconds:.2f} s, load_photo + zxing-cpp alone "
        f"{total.load_zx_seconds:.2f} s: check ratio "
        f"{total.check_seconds / max(total.load_zx_seconds, 1e-9):.1f}x (bar: 3x)"
    )
    losses = [(k, text) for k, r in rows.items() for text in r.losses]
    print(f"\n  images where qrcheck located or decoded less than zxing-cpp alone: {len(losses)}")
    for k, text in losses:
        print(f"    {k}: {text}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 simulated images per category")
    parser.add_argument("--per", type=int, default=12, help="simulated images per category")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", default="", help="comma-separated categories")
    parser.add_argument("--verbose", action="store_true", help="one line per image")
    parser.add_argument(
        "--no-check", action="store_true", help="skip the whole check (check ratio 0.0x)"
    )
    args = parser.parse_args(argv)
    per = 4 if args.quick else args.per
    only = {c for c in args.only.split(",") if c}

    def wanted(cases: Iterator[Case]) -> Iterator[Case]:
        return (c for c in cases if not only or c.category in only)

    sources: list[tuple[str, Callable[[], Iterator[Case]]]] = [
        ("real photos", lambda: wanted(real(args.data / "qr-photos", "qr-photos"))),
        ("photos without codes", lambda: wanted(real(args.data / "no-qr-photos", "no-qr"))),
        (f"simulated, {per} per category", lambda: wanted(simulated(per))),
    ]
    for title, source in sources:
        print(f"\n{title}:")
        rows = run(source(), args.verbose, not args.no_check)
        if rows:
            report(rows)


if __name__ == "__main__":
    main()
