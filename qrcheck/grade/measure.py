"""Readability grades for located codes (A-F, score 0.0-4.0): ISO/IEC 15415-informed.

Informed by ISO/IEC 15415 (2D print quality) and ISO/IEC 18004 (QR Code), adapted to phone
photos; not conformant (no calibrated reflectance, no prescribed aperture or lighting).

For each located code:

1. The symbol is rectified from its corners and version (N = 17 + 4V modules; an unknown version
   and orientation are found by fitting the finder and timing patterns), and every module's
   reflectance is sampled over the centre region of the module (the photo averaged over about
   half a module, read at the module's centre; the whole grid in one remap), in linear light
   (the photo's sRGB tone curve undone). The illumination over the symbol is fitted (a smooth
   surface through the quiet zone and the light modules) and divided out, so reflectances are
   relative to paper white measured in the quiet zone, under uneven light too.
2. The module colours the symbol *should* have come from re-encoding the decoded text with the
   symbol's version, EC level and mask (read from its format information); for an undecoded
   symbol, the fixed patterns are known and the data modules are taken as measured.
3. Print-quality parameters, each graded A-F: decode; symbol contrast (paper white minus the ink
   of solid dark areas, relative to paper white; the weakest region's contrast is reported
   beside it); modulation and reflectance margin (per module, graded per codeword with the
   notional unused error correction, as ISO 15415 does; a module of the wrong colour has zero
   margin); unused error correction (zxing-cpp's UEC, or the share of each Reed-Solomon block's
   capacity the sampled codewords leave unused); fixed pattern damage (finders with separators,
   timing patterns, format and version information); quiet zone intrusion. Modulation, margin
   and fixed pattern damage are measured against the *local* ink level (a smooth surface fitted
   through the modules that should be dark, robust to local defects): fading that varies
   smoothly over a posting is followed as phone readers' local thresholds follow it, while
   voids, spots and scratches stand out of the surface and still count (see `_fit_dark`).
   The overall grade is the lowest parameter's, as in ISO 15415.
4. The score (0.0-4.0) uses ISO/IEC 15415's grade-point ranges (A 3.5-4.0, B 2.5-3.5, C 1.5-2.5,
   D 0.5-1.5, F below 0.5): it is the lowest parameter's score, interpolated within its band
   where the parameter has a continuous value (symbol contrast, unused error correction), so it
   keeps falling as the ink fades even while the grade is still A. Parameters graded by counts
   (fixed patterns, quiet zone) score their grade's integer (A 4, B 3, ...).
5. Photo-quality figures, kept apart (`metrics["photo"]`): module size in pixels, blur (edge
   spread across module boundaries), crosstalk between neighbouring modules (the camera's blur,
   undone before modulation is measured), sensor noise on a module's reading, glare (blown-out
   areas over the symbol, whose modules are left out of the print measurements) and exposure.
   When the grade is D or F and the photo, not the print, may be the cause, `Grade.retake` says
   how to take the photo again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np

from qrcheck.vision.qr_layout import (
    EC_BITS,
    Corrected,
    Layout,
    blocks,
    codeword_cells,
    correct,
    format_words,
    layout,
    reference_matrix,
    size_of,
    version_bits,
)
from qrcheck.vision.shapes import ZBAR, ZXING, Located

GRADES = "FDCBA"  # index = score
#: ISO/IEC 15415 bands (value >= threshold), A, B, C, D
SC_BANDS = ((0.70, "A"), (0.55, "B"), (0.40, "C"), (0.20, "D"))
MOD_BANDS = ((0.50, "A"), (0.40, "B"), (0.30, "C"), (0.20, "D"))
UEC_BANDS = ((0.62, "A"), (0.50, "B"), (0.37, "C"), (0.25, "D"))
#: share of quiet-zone modules that read dark (value <= threshold): A, B, C, D
QZ_BANDS = ((0.005, "A"), (0.02, "B"), (0.05, "C"), (0.10, "D"))
#: share of a timing pattern's modules in error (value <= threshold): A, B, C, D
TIMING_BANDS = ((0.0, "A"), (0.05, "B"), (0.10, "C"), (0.15, "D"))

#: below this module size (pixels) a photo cannot show whether the print is sound
MIN_MODULE_PX = 2.5
#: above this share of the symbol under blown-out glare, glare may be what fails the code
GLARE_RETAKE = 0.02
#: above this blur (Gaussian sigma, in modules) module centres are smeared by the camera
BLUR_RETAKE = 0.42
#: paper white darker than this (sRGB 0-255) is too dark to measure; clipped beyond CLIP_RETAKE
DARK_PAPER = 45
CLIP_RETAKE = 0.5
QUIET = 4  # modules of quiet zone examined

_SRGB = np.arange(256) / 255.0
TO_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4).astype(
    np.float32
)


@dataclass(frozen=True)
class Grade:
    grade: str
    score: float
    metrics: dict[str, object] = field(default_factory=dict)
    #: when the photo rather than the posting prevents a judgement: a message key saying how
    #: to retake it
    retake: str | None = None


# ---------------------------------------------------------------------------------------------
# bands and scores


def band(value: float, bands: tuple[tuple[float, str], ...]) -> str:
    for threshold, letter in bands:
        if value >= threshold:
            return letter
    return "F"


#: ISO/IEC 15415's grade-point ranges (as for the overall grade of several scans): a score at or
#: above LOWEST[g] earns the letter g. Integer grades (4 A .. 0 F) sit inside their letter's range.
LOWEST = {"A": 3.5, "B": 2.5, "C": 1.5, "D": 0.5}


def band_score(value: float, bands: tuple[tuple[float, str], ...]) -> float:
    """A continuous score on the grade-point scale (0.0-4.0) that keeps falling as the value
    falls, within grade A too: from 4.0 at a perfect 1.0 down to 3.5 at the A threshold,
    interpolated across B (3.5-2.5), C (2.5-1.5) and D (1.5-0.5) between the thresholds, and
    from 0.5 at the D threshold down to 0.0 at zero (so `letter(score)` is the band's grade)."""
    edges = [b[0] for b in bands]
    if value >= edges[0]:
        top = max(1.0 - edges[0], 1e-9)
        return float(min(4.0, 3.5 + 0.5 * (value - edges[0]) / top))
    for i in range(1, 4):
        if value >= edges[i]:
            return (3.5 - i) + (value - edges[i]) / (edges[i - 1] - edges[i])
    if edges[3] <= 0:
        return 0.0
    return float(np.clip(0.5 * value / edges[3], 0.0, 0.4999))


def below_score(value: float, bands: tuple[tuple[float, str], ...]) -> float:
    """Grade (4..0) for a value where lower is better (value <= threshold)."""
    for i, (threshold, _) in enumerate(bands):
        if value <= threshold + 1e-12:
            return float(4 - i)
    return 0.0


def letter(score: float) -> str:
    """The letter grade of a score (ISO/IEC 15415 grade-point ranges, see LOWEST)."""
    for grade, lowest in LOWEST.items():
        if score >= lowest - 1e-9:
            return grade
    return "F"


def at_least(score: float, grade: str) -> bool:
    return score >= LOWEST[grade] - 1e-9


def count_score(errors: int) -> float:
    """ISO/IEC 18004-style segment grading: 0 errors A, 1 B, 2 C, 3 D, more F."""
    return float(max(0, 4 - errors))


def _entry(value: float | None, score: float, **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {}
    if value is not None:
        entry["value"] = round(float(value), 3)
    entry["grade"] = letter(score)
    entry["score"] = _floor2(score)
    entry.update(extra)
    return entry


def _floor2(x: float) -> float:
    return math.floor(float(x) * 100 + 1e-9) / 100


def _median(values: np.ndarray) -> float:
    """np.median of the values (the same number, NaN when one is NaN) without its overhead,
    which on the few hundred modules of a symbol costs more than the partition itself."""
    x = np.asarray(values, np.float64).ravel()
    n = x.size
    if n == 0:
        return float("nan")
    k = n // 2
    # the largest value placed last too: NaN, when there is one (partition sorts NaN last)
    part = np.partition(x, (k - 1, k, n - 1) if n % 2 == 0 else (k, n - 1))
    if np.isnan(part[-1]):
        return float("nan")
    if n % 2:
        return float(part[k])
    return float((part[k - 1] + part[k]) / 2)


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile (linear interpolation) of the values, the same number to the last bit,
    NaN when one is NaN, without its overhead."""
    x = np.asarray(values, np.float64).ravel()
    n = x.size
    if n == 0:
        return float("nan")
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        lo = hi = n - 1
    else:
        lo = math.floor(virtual)
        hi = lo + 1
    part = np.partition(x, sorted({lo, hi, n - 1}))
    if np.isnan(part[-1]):
        return float("nan")
    a, b = float(part[lo]), float(part[hi])
    gamma = virtual - lo
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


def _spread(count: int, k: int) -> np.ndarray:
    """`np.linspace(0, count - 1, k).astype(int)`: k indices spread evenly over 0..count-1."""
    if k == 1:
        return np.zeros(1, int)
    step = (count - 1) / (k - 1)
    y = np.arange(k) * 1.0
    y = y / (k - 1) * (count - 1) if step == 0 else y * step
    y[-1] = count - 1
    return y.astype(int)


# ---------------------------------------------------------------------------------------------
# geometry and sampling


def module_px(code: Located) -> float | None:
    """Estimated module size in pixels (from the version when known, else None)."""
    if code.version:
        return code.side / size_of(code.version)
    return None


class _Sampler:
    """Samples of a photo at symbol coordinates (modules; (0, 0) the symbol's top-left corner)
    through the homography given by the symbol's corners: linear light by default, or any
    image of the crop (`raw`, a glare mask) stacked as channels and read in one remap."""

    def __init__(self, gray: np.ndarray, corners: np.ndarray, n: int, margin: float):
        self.n = n
        square = np.array([(0, 0), (n, 0), (n, n), (0, n)], np.float32)
        self.h = cv2.getPerspectiveTransform(square, corners.astype(np.float32))
        outer = np.array(
            [
                (-margin, -margin),
                (n + margin, -margin),
                (n + margin, n + margin),
                (-margin, n + margin),
            ]
        )
        pts = self.to_photo(outer)
        hgt, wid = gray.shape
        x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 2
        self.x0, self.y0 = max(0, x0), max(0, y0)
        x1, y1 = min(wid, x1), min(hgt, y1)
        self.raw = gray[self.y0 : max(self.y0, y1), self.x0 : max(self.x0, x1)]
        self.lin = cv2.LUT(self.raw, TO_LINEAR) if self.raw.size else self.raw.astype(np.float32)

    def to_photo(self, uv: np.ndarray) -> np.ndarray:
        pts = np.asarray(uv, np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.h.astype(np.float64)).reshape(-1, 2)

    def points(self, uv: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        """Values at symbol points: (k,) for a one-channel image, (k, channels) for a stack;
        NaN outside the photo."""
        src = self.lin if image is None else image
        channels = 1 if src.ndim == 2 else src.shape[2]
        if src.size == 0:
            return np.full((len(uv), channels) if channels > 1 else len(uv), np.nan)
        return self.at(self.to_photo(uv), src)

    def at(self, xy: np.ndarray, src: np.ndarray) -> np.ndarray:
        """Values of `src` (the crop, or a stack of crops) at photo points `xy` (k, 2)."""
        channels = 1 if src.ndim == 2 else src.shape[2]
        # OpenCV's remap takes maps of fewer than 32,767 rows and columns: the points are laid
        # out as rows of _MAP_WIDTH (a version-40 symbol with its quiet zone has 34,225 modules).
        # One row whenever they fit: OpenCV splits a map's rows over its threads, whose waking
        # and waiting cost more CPU time than remapping a few thousand points on this one (each
        # point's value is the same whatever the map's shape)
        k = len(xy)
        rows = max(1, -(-k // _MAP_WIDTH))
        width = min(k, _MAP_WIDTH) if k else 1
        mx = np.full(rows * width, -1e6, np.float32)
        my = np.full(rows * width, -1e6, np.float32)
        mx[:k] = xy[:, 0] - 0.5 - self.x0
        my[:k] = xy[:, 1] - 0.5 - self.y0
        out = cv2.remap(
            np.ascontiguousarray(src, dtype=np.float32),
            mx.reshape(rows, width),
            my.reshape(rows, width),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(-1.0, -1.0, -1.0, -1.0),
        )
        out = out.reshape(rows * width, channels)[:k] if channels > 1 else out.ravel()[:k]
        return np.where(out < 0, np.nan, out).astype(np.float64)


#: points per row of a remap map (OpenCV refuses maps of 32,767 rows or columns and more)
_MAP_WIDTH = 32766


@cache
def _grid(n: int):
    """The module grid of an n-module symbol with its examined quiet zone, flattened: rows,
    cols, inside the symbol, the illumination fit's terms, and the module centres."""
    full = n + 2 * QUIET
    gr, gc = np.mgrid[0:full, 0:full] - QUIET
    gr, gc = gr.ravel(), gc.ravel()
    inside = (gr >= 0) & (gr < n) & (gc >= 0) & (gc < n)
    terms = _poly_terms((gc + 0.5) / n * 2 - 1, (gr + 0.5) / n * 2 - 1)
    centres = np.c_[gc + 0.5, gr + 0.5].astype(np.float64)
    for array in (gr, gc, inside, terms, centres):
        array.flags.writeable = False
    return gr, gc, inside, terms, centres


@cache
def _grid_index(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices into `_grid(n)`'s arrays of the modules inside the symbol (row by row, as
    `inside` picks them) and of the quiet zone's, and the symbol's indices (row-major, n x n)
    of the finder cores' 3 x 3 modules (as a boolean mask over the symbol picks them)."""
    _, _, inside, _, _ = _grid(n)
    core = np.zeros((n, n), bool)
    for r0, c0 in ((3, 3), (3, n - 4), (n - 4, 3)):
        core[r0 - 1 : r0 + 2, c0 - 1 : c0 + 2] = True
    arrays = (np.flatnonzero(inside), np.flatnonzero(~inside), np.flatnonzero(core))
    for array in arrays:
        array.flags.writeable = False
    return arrays


@cache
def _inside_terms(n: int) -> np.ndarray:
    """`_grid(n)`'s illumination terms of the modules inside the symbol (`_rows(terms, inside)`)."""
    _, _, inside, terms, _ = _grid(n)
    rows = _rows(terms, inside)
    rows.flags.writeable = False
    return rows


def _orientations(corners: np.ndarray) -> list[np.ndarray]:
    return [np.roll(corners, -k, axis=0) for k in range(4)]


@cache
def _pattern_cells(version: int) -> tuple[np.ndarray, np.ndarray]:
    """Module centres (u, v) of the finder and timing patterns of a version, and their
    expected colours (1.0 dark): what `_fit_geometry` compares with the photo. The same cells,
    in the same order, as `layout(version).segments` (built without the whole layout: the search
    tries up to 40 versions)."""
    n = size_of(version)
    rows, cols, dark = [], [], []
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        rr, cc = np.mgrid[-1:8, -1:8]
        d = np.maximum(np.abs(rr - 3), np.abs(cc - 3))
        r, c = rr + r0, cc + c0
        keep = (r >= 0) & (r < n) & (c >= 0) & (c < n)
        rows.append(r[keep])
        cols.append(c[keep])
        dark.append((d[keep] != 2) & (d[keep] != 4))
    span = np.arange(8, n - 8)
    for r, c in ((np.full(span.size, 6), span), (span, np.full(span.size, 6))):
        rows.append(r)
        cols.append(c)
        dark.append(span % 2 == 0)
    r, c = np.concatenate(rows), np.concatenate(cols)
    uv = np.c_[c + 0.5, r + 0.5].astype(np.float64)
    expected = np.concatenate(dark).astype(np.float64)
    for array in (uv, expected):
        array.flags.writeable = False
    return uv, expected


def _correlation(values: np.ndarray, expected: np.ndarray) -> float:
    """How well sampled reflectances fit a light/dark pattern: minus their correlation with it
    (1 perfect), -1 when too few samples or a flat sampling leave nothing to compare, NaN (as
    numpy's correlation) when the pattern's cells left are of one colour."""
    ok = ~np.isnan(values)
    if ok.sum() < 20:
        return -1.0
    x, y = values[ok], expected[ok]
    x = x - x.mean()
    y = y - y.mean()
    xx, yy = float(x @ x), float(y @ y)
    if xx == 0:
        return -1.0
    if yy == 0:
        return float("nan")  # the samples left show one colour: no fit, never the best
    return float(np.clip(-(x @ y) / math.sqrt(xx * yy), -1.0, 1.0))


def _fit_geometry(gray: np.ndarray, code: Located) -> tuple[int, np.ndarray, float]:
    """(version, corners TL TR BR BL, fit) of the symbol; for an undecoded one (or one without a
    known version) the version and orientation whose finder and timing patterns fit best.

    Every candidate (orientation, version) is sampled in one remap of one crop of the photo in
    linear light, each through its own homography."""
    corners = np.array(code.corners, np.float64)
    if code.version and code.decoded:
        return code.version, corners, 1.0  # the reader's own geometry
    side = code.side
    versions = [v for v in range(1, 41) if side / size_of(v) >= 1.2]
    if code.version:
        versions = [code.version]
    candidates = [
        (oriented, v)
        for oriented in (_orientations(corners) if not code.decoded else [corners])
        for v in versions
    ]
    if not candidates:
        return 1, corners, -2.0
    crop = _Sampler(gray, corners, 1, 0)  # the corners' bounding box, whatever the orientation
    points, patterns = [], []
    for oriented, v in candidates:
        uv, expected = _pattern_cells(v)
        n = size_of(v)
        square = np.array([(0, 0), (n, 0), (n, n), (0, n)], np.float32)
        h = cv2.getPerspectiveTransform(square, oriented.astype(np.float32))
        points.append(cv2.perspectiveTransform(uv.reshape(-1, 1, 2), h).reshape(-1, 2))
        patterns.append(expected)
    xy = np.concatenate(points)
    values = crop.at(xy, crop.lin) if crop.lin.size else np.full(len(xy), np.nan)
    best = (-2.0, 1, corners)
    start = 0
    for (oriented, v), expected in zip(candidates, patterns, strict=True):
        fit = _correlation(values[start : start + len(expected)], expected)
        start += len(expected)
        if fit > best[0]:
            best = (fit, v, oriented)
    return best[1], best[2], best[0]


# ---------------------------------------------------------------------------------------------
# illumination


def _poly_terms(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)


def _rows(array: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`array[keep]` for a boolean `keep` over the rows, at half the cost."""
    return np.take(array, np.flatnonzero(keep), axis=0)


@cache
def _ridge(size: int) -> np.ndarray:
    ridge = 1e-9 * np.eye(size)
    ridge.flags.writeable = False
    return ridge


def _lstsq(terms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least squares through the normal equations (6 unknowns: far cheaper than lstsq)."""
    gram = terms.T @ terms + _ridge(terms.shape[1])
    return np.linalg.solve(gram, terms.T @ values)


def _fit_light(terms: np.ndarray, values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Coefficients of a quadratic surface through the light samples (robust to stains)."""
    usable = keep & np.isfinite(values)
    ok = usable
    picked = np.flatnonzero(ok)
    if picked.size < 12:  # too few for a surface: a level (the median of the samples)
        coef = np.zeros(terms.shape[1])
        coef[0] = _median(values[picked]) if picked.size else 1.0
        return coef
    for _ in range(3):
        coef = _lstsq(np.take(terms, picked, axis=0), values[picked])
        ratio = values / np.maximum(terms @ coef, 1e-6)
        again = usable & (ratio > 0.85) & (ratio < 1.2)
        if (again == ok).all():
            break
        ok = again
        picked = np.flatnonzero(ok)
        if picked.size < 12:
            break
    return coef


def _fit_dark(terms: np.ndarray, values: np.ndarray, keep: np.ndarray, level: float):
    """The ink's reflectance over the symbol: a quadratic surface through the modules that
    should be dark, robust to local defects (scratches, voids, spots), which stand out of it.

    Fading is rarely even: the ink's density loss varies smoothly over a posting. Phone readers
    threshold locally and follow such a gradient, so modulation, reflectance margin and fixed
    pattern damage are measured against the local ink level; how faded the symbol is shows in
    the symbol contrast, which reports its weakest region too."""
    usable = keep & np.isfinite(values)
    ok = usable
    for _ in range(4):
        picked = np.flatnonzero(ok)
        if picked.size < 30:
            return np.full(len(values), level)
        coef = _lstsq(np.take(terms, picked, axis=0), values[picked])
        fit = terms @ coef
        residual = np.abs(values - fit)
        spread = 1.4826 * _median(residual[picked])
        again = usable & (residual <= max(3 * spread, 0.04))
        if (again == ok).all():
            break
        ok = again
    return fit


# ---------------------------------------------------------------------------------------------
# measuring one symbol


@dataclass
class _Symbol:
    lay: Layout
    r: np.ndarray  # n x n reflectance relative to paper white (NaN outside the photo)
    ring: np.ndarray  # (k,) quiet-zone module reflectances
    ring_glare: np.ndarray
    ring_raw: np.ndarray  # (k,) quiet-zone modules in the photo's own levels (0-255)
    truth: np.ndarray  # n x n expected colour (True dark)
    reference: str
    corrections: Corrected | None
    glare: np.ndarray  # n x n bool
    ec: str | None
    mask: int | None
    format_word: int | None
    paper: float
    ink: float
    white: float  # paper white (relative, ~1)
    dark: float  # ink of solid dark areas (relative)
    noise: float  # the camera's noise on one module's reading (relative)
    sampler: _Sampler
    illum: np.ndarray
    measured: np.ndarray  # n x n colours as first thresholded (True dark), before the reference


def _glare_mask(raw: np.ndarray, module: float) -> np.ndarray:
    """Blown-out areas wider than a few modules (light modules alone are never that wide unless
    the whole photo is overexposed), grown by a module for the veil around them."""
    mask = _glare_or_none(raw, module)
    return np.zeros(raw.shape, np.float32) if mask is None else mask


def _glare_or_none(raw: np.ndarray, module: float) -> np.ndarray | None:
    """`_glare_mask`, or None when it would be empty (most photos: nothing blown out that wide),
    found before the mask is grown."""
    if not raw.size or raw.max() < 250:
        return None
    saturated = (raw >= 250).astype(np.uint8)
    width = max(3, round(2.5 * module))
    blobs = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((width, width), np.uint8))
    if not blobs.any():
        return None
    grow = max(3, round(4 * module)) | 1
    return cv2.dilate(blobs, np.ones((grow, grow), np.uint8)).astype(np.float32)


def _sample_modules(
    sampler: _Sampler, centres: np.ndarray, module: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(linear light, glare, the photo's own levels) at every module centre: each image of the
    crop averaged over about half a module, then read at the centres.

    One image at a time, for the same numbers as a stack of the three (each channel is filtered
    and interpolated on its own either way): no stack to build, and a photo with nothing blown
    out (most) has no glare image to filter and read."""
    k = 2 * int(module // 4) + 1
    xy = sampler.to_photo(centres)

    def read(image: np.ndarray) -> np.ndarray:
        if k > 1:
            image = cv2.blur(image, (k, k), borderType=cv2.BORDER_REPLICATE)
        return sampler.at(xy, image)

    values, raw = read(sampler.lin), read(sampler.raw.astype(np.float32))
    glare_image = _glare_or_none(sampler.raw, module)
    glare = np.zeros(len(values), bool) if glare_image is None else read(glare_image) > 0.2
    return values, glare, raw


def _measure(gray: np.ndarray, code: Located) -> _Symbol | None:
    version, corners, _ = _fit_geometry(gray, code)
    lay = layout(version)
    n = lay.n
    sampler = _Sampler(gray, corners, n, QUIET + 0.5)
    if sampler.lin.size == 0:
        return None
    module = code.side / n
    gr, _, _, terms, centres = _grid(n)
    in_idx, out_idx, core_idx = _grid_index(n)
    # every module's centre region: linear light, glare and the photo's own levels
    values, glare, raw = _sample_modules(sampler, centres, module)

    # first guess: dark = the finder cores, light = above the midpoint
    cores = values[in_idx[core_idx]]
    cores, finite = cores[np.isfinite(cores)], values[np.isfinite(values)]
    if finite.size < 20:
        return None
    core_dark = _median(cores) if cores.size else float(finite.min())
    light0 = _percentile(finite, 90)
    keep = (values > (core_dark + light0) / 2) & ~glare
    coef = _fit_light(terms, values, keep)
    rel = values / np.maximum(terms @ coef, 1e-4)
    sym_r = rel[in_idx].reshape(n, n)
    cores = sym_r.ravel()[core_idx]
    cores = cores[np.isfinite(cores)]
    dark0 = _median(cores) if cores.size else 0.0
    threshold = (1 + dark0) / 2
    measured = sym_r < threshold

    ec, mask, word = _read_format(measured, lay, code.ec_level)
    truth, reference, corrections = _reference(code, lay, measured, ec, mask, word)

    # refit the light on the quiet zone and the modules that should be light (unless the first
    # fit rested on much the same samples: then it stands)
    light = np.ones(len(gr), bool)
    light[in_idx] = ~truth.ravel()
    refit = light & ~glare & (rel > threshold)
    if np.count_nonzero(refit != keep) > 0.01 * len(gr):
        coef = _fit_light(terms, values, refit)
    illum = np.maximum(terms @ coef, 1e-4)
    rel = values / illum
    sym_r = rel[in_idx].reshape(n, n)
    sym_glare = glare[in_idx].reshape(n, n)
    ring, ring_glare, ring_raw = rel[out_idx], glare[out_idx], raw[out_idx]

    solid = _solid_dark(truth) & ~sym_glare & np.isfinite(sym_r)
    if solid.sum() < 5:
        solid = truth & ~sym_glare & np.isfinite(sym_r)
    dark = _median(sym_r[solid]) if solid.any() else float("nan")
    clean_ring = ring[~ring_glare & np.isfinite(ring)]
    light_ring = clean_ring[clean_ring > (1 + dark) / 2] if np.isfinite(dark) else clean_ring
    if light_ring.size >= 8:
        white = _median(light_ring)
    else:
        lights = sym_r[~truth & ~sym_glare & np.isfinite(sym_r)]
        white = _median(lights) if lights.size else 1.0
    # the camera's noise on a module's reading: the spread of the quiet zone's paper
    noise = 1.4826 * _median(np.abs(light_ring - white)) if light_ring.size >= 8 else 0.0
    paper = _median(illum[in_idx])
    ink = paper * dark if np.isfinite(dark) else float("nan")
    return _Symbol(
        lay, sym_r, ring, ring_glare, ring_raw, truth, reference, corrections, sym_glare, ec, mask,
        word,
        paper, ink, white, dark, noise, sampler, coef, measured,
    )  # fmt: skip


def _solid_dark(truth: np.ndarray) -> np.ndarray:
    """Dark modules whose eight neighbours are dark too (blur does not reach their centres)."""
    n = truth.shape[0]
    padded = np.zeros((n + 2, n + 2), bool)
    padded[1:-1, 1:-1] = truth
    out = truth.copy()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            out &= padded[1 + dr : 1 + dr + n, 1 + dc : 1 + dc + n]
    return out


@cache
def _format_table() -> tuple[np.ndarray, tuple[tuple[int, str, int], ...]]:
    """Every valid format word's 15 bits (rows) beside `format_words()`."""
    words = format_words()
    table = np.array([[(w >> i) & 1 for i in range(15)] for w, _, _ in words], bool)
    table.flags.writeable = False
    return table, words


def _read_format(measured: np.ndarray, lay: Layout, ec_hint: str | None):
    """(EC level, mask, format word) from the better copy of the format information: the valid
    word nearest either copy (the first copy, then the first word, on a tie)."""
    table, words = _format_table()
    allowed = [ec_hint not in EC_BITS or ec == ec_hint for _, ec, _ in words]
    best = (99, None, None, None)
    for rows, cols in lay.format_copies:
        distances = np.count_nonzero(table != measured[rows, cols][None, :], axis=1)
        distances = np.where(allowed, distances, 99)
        i = int(np.argmin(distances))
        if distances[i] < best[0]:
            word, ec, mask = words[i]
            best = (int(distances[i]), ec, mask, word)
    if best[0] > 3 and ec_hint not in EC_BITS:
        return None, None, None
    return best[1], best[2], best[3]


def _reference(
    code: Located, lay: Layout, measured: np.ndarray, ec: str | None, mask, word
) -> tuple[np.ndarray, str, Corrected | None]:
    """(expected colours, how they were found, the Reed-Solomon corrections).

    ISO/IEC 15415's reference decode: the sampled codewords, read through the symbol's own
    format information (EC level, mask) and version, corrected block by block and placed back
    with the symbol's own mask ("corrected"). This holds whatever encoder made the symbol: its
    segment choices, padding and mask are read from the symbol, not redone. When a block has more
    errors than it can correct, a decoded symbol is re-encoded from its text (right only when
    qrcheck's own encoder made it the same way, so accepted only when close: "re-encoded"); an
    undecoded one keeps the corrected blocks and takes the others as measured ("partly
    corrected"), or everything but the fixed patterns as measured ("measured").
    """
    fallback = np.where(lay.fixed, lay.expected, measured)
    if ec is None or mask is None or word is None:
        return fallback, "measured", None
    fixed = correct(measured, lay.version, ec, mask, word)
    if fixed.complete:
        return fixed.matrix, "corrected", fixed
    if code.decoded:
        data_r, data_c = lay.data_order
        best = (1.0, None)
        for as_bytes in (True, False):
            matrix = reference_matrix(code.text, lay.version, ec, mask, as_bytes)
            if matrix is None or matrix.shape != measured.shape:
                continue
            wrong = float((matrix[data_r, data_c] != measured[data_r, data_c]).mean())
            best = min(best, (wrong, matrix), key=lambda item: item[0])
        if best[1] is not None and best[0] <= 0.3:
            return best[1], "re-encoded", fixed
    if any(e >= 0 for e in fixed.errors):
        return fixed.matrix, "partly corrected", fixed
    return fallback, "measured", fixed


# ---------------------------------------------------------------------------------------------
# parameters


def _module_levels(values: np.ndarray) -> np.ndarray:
    """Grade (0..4) of each module's modulation or margin with the ISO bands."""
    return np.searchsorted(_MOD_EDGES, values, side="right")


_MOD_EDGES = np.array([b[0] for b in reversed(MOD_BANDS)])  # D, C, B, A
_MOD_EDGES.flags.writeable = False


_LEVELS = np.array([4, 3, 2, 1])


def _codeword_grades(
    parameters: list[np.ndarray], excluded: np.ndarray, lay: Layout, ec: str
) -> list[tuple[float, dict[str, float]]]:
    """ISO 15415 codeword grading of several parameters' module levels over one symbol, in one
    pass: each codeword takes its worst module's grade; at each grade level the codewords below
    it count as errors in a notional unused error correction, and the parameter's grade is the
    best min(level, notional UEC grade) over the levels. (grade, notional UEC) per parameter."""
    spec = blocks(lay.version, ec)
    flat = codeword_cells(lay.version, ec)
    levels = np.stack(parameters).reshape(len(parameters), -1)  # (parameters, n * n)
    cw_levels = levels[:, flat].reshape(len(parameters), spec.total, 8)
    cw_levels = cw_levels.min(axis=2)
    cw_excluded = excluded.ravel()[flat].reshape(spec.total, 8).any(axis=1)
    # the codewords counted per parameter, block and level (0..4); those below each grade
    # level (4, 3, 2, 1) are the errors at that level: (parameters x levels, blocks)
    nblocks = len(spec.ec_counts)
    counted = ~cw_excluded
    bins = (np.arange(len(parameters))[:, None] * nblocks + spec.block_of[None, :]) * 5 + cw_levels
    hist = np.bincount(bins[:, counted].ravel(), minlength=len(parameters) * nblocks * 5)
    below = hist.reshape(len(parameters), nblocks, 5).cumsum(axis=2)[:, :, _LEVELS - 1]
    errors = below.transpose(0, 2, 1).reshape(-1, nblocks)
    uecs = np.clip(1 - 2 * errors / spec.ec_counts[None, :], 0, 1).min(axis=1)
    results = []
    for p in range(len(parameters)):
        best, notional = 0.0, {}
        for level, uec in zip(_LEVELS, uecs[p * 4 : p * 4 + 4], strict=True):
            notional[GRADES[level]] = round(float(uec), 3)
            best = max(best, min(float(level), band_score(float(uec), UEC_BANDS)))
        results.append((best, notional))
    return results


def _timing_score(errors: int, count: int) -> float:
    return below_score(errors / max(count, 1), TIMING_BANDS)


def _count_score(errors: int, _count: int) -> float:
    return count_score(errors)


@cache
def _segment_parts(version: int, with_format: bool):
    """The segments `_fixed_patterns` scores for a version, one after the other: (names,
    scorers, sizes, start of each, flat indices of all their modules, flat indices of the
    format and version information's modules); finders and timing patterns first, then the
    format information's copies (when its word was read) and the version information's."""
    lay = layout(version)
    n = lay.n
    names: list[str] = []
    scorers: list[Callable[[int, int], float]] = []
    cells: list[np.ndarray] = []
    for name in ("finder_tl", "finder_tr", "finder_bl", "timing_h", "timing_v"):
        r, c = lay.segments[name]
        names.append(name)
        scorers.append(_count_score if name.startswith("finder") else _timing_score)
        cells.append(r * n + c)
    info: list[np.ndarray] = []
    copies = (lay.format_copies if with_format else ()), lay.version_copies
    for label, label_copies in zip(("format", "version_info"), copies, strict=True):
        for rows, cols in label_copies:
            names.append(label)
            scorers.append(_count_score)
            cells.append(rows * n + cols)
            info.append(rows * n + cols)
    sizes = [len(cell) for cell in cells]
    starts = np.cumsum([0, *sizes[:-1]])
    flat = np.concatenate(cells)
    info_flat = np.concatenate(info) if info else np.zeros(0, flat.dtype)
    for array in (starts, flat, info_flat):
        array.flags.writeable = False
    return tuple(names), tuple(scorers), tuple(sizes), starts, flat, info_flat


@cache
def _info_expected(version: int, format_word: int | None) -> np.ndarray:
    """The expected bits of the format information's copies (when its word was read) and of
    the version information's, in `_segment_parts`'s order."""
    lay = layout(version)
    bits: list[np.ndarray] = []
    for copies, word in (
        (lay.format_copies if format_word is not None else (), format_word),
        (lay.version_copies, version_bits(version) if version >= 7 else None),
    ):
        for rows, _ in copies:
            bits.append(np.array([(word >> i) & 1 for i in range(len(rows))], bool))
    expected = np.concatenate(bits) if bits else np.zeros(0, bool)
    expected.flags.writeable = False
    return expected


def _fixed_patterns(s: _Symbol, wrong: np.ndarray, levels: np.ndarray, dark: np.ndarray) -> dict:
    """Scores of the finders, timing patterns, format and version information: every segment's
    modules in error at each grade level counted in one pass (`_segment_score` per segment)."""
    lay = s.lay
    scores: dict[str, float] = {}
    if lay.format_copies and s.format_word is None:
        scores["format"] = 0.0
    with_format = s.format_word is not None
    names, scorers, sizes, starts, flat, info_flat = _segment_parts(lay.version, with_format)
    # modules in error: the finders' and timing patterns' wrong modules, then the information
    # bits read wrong or not seen
    info_wrong = (dark.ravel()[info_flat] != _info_expected(lay.version, s.format_word)) | ~(
        np.isfinite(s.r.ravel()[info_flat])
    )
    bad = np.concatenate([wrong.ravel()[flat[: len(flat) - len(info_flat)]], info_wrong])[
        None, :
    ] | (levels.ravel()[flat][None, :] < _LEVELS[:, None])
    bad &= ~s.glare.ravel()[flat][None, :]
    errors = np.add.reduceat(bad.astype(np.int64), starts, axis=1).T.tolist()  # per segment
    levels_f = [float(level) for level in _LEVELS]
    for name, scorer, size, counts in zip(names, scorers, sizes, errors, strict=True):
        score = max(min(level, scorer(e, size)) for level, e in zip(levels_f, counts, strict=True))
        scores[name] = max(scores.get(name, 0.0), score)  # the better copy of format/version
    order = ("finder_tl", "finder_tr", "finder_bl", "timing_h", "timing_v", "format")
    return {k: scores[k] for k in (*order, "version_info") if k in scores}


def _uncrosstalk(s: _Symbol) -> tuple[np.ndarray, float]:
    """Module reflectances with the camera's crosstalk between neighbouring modules removed.

    At 3-5 pixels per module a phone's blur spreads each module into its neighbours, which ISO's
    sharp, calibrated imaging does not: a perfect print would lose modulation on every isolated
    module. The spread is fitted over the symbol (reflectance against the number of dark edge
    and corner neighbours each module should have) and each module is given the value it would
    have among neighbours of its own colour. Print defects local to a module stay: neighbours
    are taken from the expected colours, not the measured ones.
    """
    t = s.truth.astype(np.float64)
    n = t.shape[0]
    padded = np.zeros((n + 2, n + 2))
    padded[1:-1, 1:-1] = t
    edges = sum(
        padded[1 + dr : 1 + dr + n, 1 + dc : 1 + dc + n]
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
    )
    corners = sum(
        padded[1 + dr : 1 + dr + n, 1 + dc : 1 + dc + n]
        for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1))
    )
    ok = np.isfinite(s.r) & ~s.glare
    if ok.sum() < 50:
        return s.r, 0.0
    terms = np.column_stack([np.ones(np.count_nonzero(ok)), t[ok], edges[ok], corners[ok]])
    coef = _lstsq(terms, s.r[ok])
    c_edge, c_corner = max(0.0, -coef[2]), max(0.0, -coef[3])
    spread = 4 * (c_edge + c_corner)
    if spread > 0.6 * max(-coef[1] + 4 * (c_edge + c_corner), 1e-6):
        return s.r, float(spread)  # nothing left of the module itself: not a blur to undo
    corrected = s.r + c_edge * edges + c_corner * corners - spread * t
    return corrected, float(spread)


#: edges sampled per direction for the blur profile (their mean is all that is kept)
BLUR_EDGES = 48
_STEPS = np.linspace(-1.0, 1.0, 21)


def _blur(s: _Symbol, module: float) -> float | None:
    """Edge spread across module boundaries: the Gaussian sigma (in modules) of the mean edge
    profile over boundaries with two modules of one colour on each side."""
    t, n = s.truth, s.lay.n
    ok = ~s.glare & np.isfinite(s.r)
    steps = _STEPS
    points, flips = [], []
    for axis in (0, 1):
        tt = t if axis == 1 else t.T
        okk = ok if axis == 1 else ok.T
        a, b, c, d = tt[:, :-3], tt[:, 1:-2], tt[:, 2:-1], tt[:, 3:]
        edge = (a == b) & (c == d) & (b != c)
        edge &= okk[:, 1:-2] & okk[:, 2:-1]
        rows, cols = np.nonzero(edge)
        if rows.size == 0:
            continue
        pick = _spread(rows.size, min(rows.size, BLUR_EDGES))
        rows, cols = rows[pick], cols[pick] + 2  # boundary at the left edge of column cols
        along = cols[:, None] + steps[None, :]
        across = rows[:, None] + 0.5 + np.zeros_like(steps)[None, :]
        uv = np.stack([along, across], -1) if axis == 1 else np.stack([across, along], -1)
        points.append(uv.reshape(-1, 2))
        flips.append(~tt[rows, cols - 1])  # light then dark: read backwards
    if not points:
        return None
    uv = np.concatenate(points)
    vals = s.sampler.points(uv)
    light = np.maximum(_poly_terms(uv[:, 0] / n * 2 - 1, uv[:, 1] / n * 2 - 1) @ s.illum, 1e-4)
    rel = (vals / light).reshape(-1, len(steps))
    flip = np.concatenate(flips)
    rel[flip] = rel[flip][:, ::-1]
    if not np.isfinite(rel).any(axis=0).all():
        return None
    missing = np.isnan(rel)  # np.nanmean's own sum and count, without its overhead
    profile = np.where(missing, 0.0, rel).sum(axis=0) / np.count_nonzero(~missing, axis=0)
    lo, hi = profile[:3].mean(), profile[-3:].mean()
    if not np.isfinite(lo) or hi - lo < 0.05:
        return None
    p = (profile - lo) / (hi - lo)
    p = np.maximum.accumulate(p)
    x10 = float(np.interp(0.1, p, steps))
    x90 = float(np.interp(0.9, p, steps))
    return max(0.0, (x90 - x10) / 2.563)


# ---------------------------------------------------------------------------------------------
# the grade


def _base_metrics(code: Located) -> dict[str, object]:
    return {
        "basis": "ISO/IEC 15415-informed (not conformant), adapted to phone photos",
        "readers": list(code.readers),
        "located_by": list(code.located_by),
        "finder_patterns": code.finder_patterns,
        "version": code.version,
        "ec_level": code.ec_level,
    }


def _decode_entry(code: Located) -> tuple[dict[str, object], float]:
    if not code.decoded:
        return {"value": False, "grade": "F", "score": 0.0}, 0.0
    direct = any(r in (ZXING, ZBAR) for r in code.readers)
    return {"value": True, "grade": "A", "score": 4.0, "direct": direct}, 4.0


def _provisional(code: Located, metrics: dict[str, object]) -> Grade:
    """Decode and zxing-cpp's UEC only: when no photo is given or the symbol cannot be sampled."""
    entry, score = _decode_entry(code)
    metrics["decode"] = entry
    scores = {"decode": score}
    if code.decoded and code.unused_ec is not None:
        s = band_score(code.unused_ec, UEC_BANDS)
        metrics["unused_error_correction"] = _entry(code.unused_ec, s, source="zxing-cpp")
        scores["unused_error_correction"] = s
    worst = _floor2(min(scores.values()))
    size = module_px(code)
    metrics["photo"] = {"module_px": round(size, 2) if size else None}
    retake = "grade.retake_closer" if size is not None and size < MIN_MODULE_PX else None
    return Grade(letter(worst), worst, metrics, None if at_least(worst, "C") else retake)


def unmeasured_grade(code: Located, reason: str) -> Grade:
    """The grade of a code whose measurement failed (a fault of qrcheck, not of the print):
    from its decode and zxing-cpp's unused error correction alone, as without a photo, with
    `metrics["not_measured"]` saying why."""
    metrics = _base_metrics(code)
    metrics["not_measured"] = reason
    return _provisional(code, metrics)


def _inverted(s: _Symbol) -> bool:
    """True when the quiet zone is darker than the ink: light modules printed on a dark ground."""
    ring = s.ring_raw[np.isfinite(s.ring_raw)]
    if not ring.size or not np.isfinite(s.ink):
        return False
    return _median(ring) < float(_srgb(s.ink))


def _negative_around(gray: np.ndarray, code: Located) -> np.ndarray:
    """A copy of the photo with the code and its surroundings inverted (the rest untouched)."""
    quad = np.array(code.corners, dtype=np.float64)
    pad = code.side * 0.5
    x0, y0 = np.floor(quad.min(axis=0) - pad).astype(int).clip(0)
    x1, y1 = np.ceil(quad.max(axis=0) + pad).astype(int)
    negative = gray.copy()
    negative[y0:y1, x0:x1] = 255 - negative[y0:y1, x0:x1]
    return negative


def grade_code(code: Located, gray: np.ndarray | None = None) -> Grade:
    """The grade of one located code (see the module docstring)."""
    metrics = _base_metrics(code)
    if gray is None or code.side < 10:
        return _provisional(code, metrics)
    s = _measure(gray, code)
    if s is not None and _inverted(s):
        # light modules on a dark ground (an inverted print): grade the negative
        gray = _negative_around(gray, code)
        s = _measure(gray, code)
        metrics["inverted"] = True
    if s is None or not np.isfinite(s.dark):
        return _provisional(code, metrics)
    lay, n = s.lay, s.lay.n
    module = code.side / n
    metrics["version"] = lay.version
    metrics["ec_level"] = code.ec_level or s.ec
    metrics["mask"] = s.mask
    metrics["reference"] = s.reference

    scores: dict[str, float] = {}
    decode, scores["decode"] = _decode_entry(code)
    metrics["decode"] = decode

    white = s.white if s.white > 0 else 1.0
    contrast = float(np.clip((white - s.dark) / white, 0, 1))
    scores["symbol_contrast"] = band_score(contrast, SC_BANDS)
    metrics["symbol_contrast"] = _entry(contrast, scores["symbol_contrast"])

    threshold = (white + s.dark) / 2  # the global threshold, for the quiet zone
    finite = np.isfinite(s.r)
    r, crosstalk = _uncrosstalk(s)
    # the local ink level and threshold (see _fit_dark)
    keep = (s.truth & ~s.glare).ravel()
    ink = _fit_dark(_inside_terms(n), r.ravel(), keep, s.dark).reshape(n, n)
    ink = np.clip(ink, min(s.dark, 0.0), white - 0.01)
    weakest = float(np.clip((white - _percentile(ink[s.truth], 95)) / white, 0, 1))
    metrics["symbol_contrast"]["weakest_region"] = round(min(weakest, contrast), 3)
    span = np.maximum(white - ink, 1e-6)
    local = (white + ink) / 2
    modulation = np.where(finite, 2 * np.abs(r - local) / span, 0.0)
    if contrast < 0.05:
        modulation[:] = 0.0
    measured_dark = r < local
    wrong = (measured_dark != s.truth) | ~finite
    margin = np.where(wrong, 0.0, modulation)
    excluded = s.glare
    ec = code.ec_level if code.ec_level in EC_BITS else (s.ec or "Q")
    mod_levels, rm_levels = _module_levels(modulation), _module_levels(margin)
    usable = ~excluded & finite
    (scores["modulation"], _), (scores["reflectance_margin"], notional) = _codeword_grades(
        [mod_levels, rm_levels], excluded, lay, ec
    )
    low = _percentile(modulation[usable], 5) if usable.any() else 0.0
    metrics["modulation"] = _entry(low, scores["modulation"], statistic="5th percentile")
    wrong_count = int((wrong & usable).sum())
    metrics["reflectance_margin"] = _entry(
        _percentile(margin[usable], 5) if usable.any() else 0.0,
        scores["reflectance_margin"],
        statistic="5th percentile",
        wrong_modules=wrong_count,
        notional_uec=notional,
    )

    # unused error correction: from the corrections the reference decode made, block by block
    # (zxing-cpp's own figure, from its reading of the photo, is kept beside it); else zxing-cpp's;
    # else what the sampled codewords leave against a re-encoded reference
    fixes = s.corrections
    if fixes is not None and fixes.complete:
        uec, source = fixes.unused_ec, "reed-solomon"
    elif code.decoded and code.unused_ec is not None:
        uec, source = code.unused_ec, "zxing-cpp"
    elif code.decoded and s.reference == "re-encoded":
        uec, source = notional["D"], "sampled"
    else:
        uec, source = None, None
    if uec is not None:
        extra: dict[str, object] = {"source": source}
        if fixes is not None:
            extra["corrected_per_block"] = list(fixes.errors)
        if code.unused_ec is not None and source != "zxing-cpp":
            extra["zxing_cpp"] = round(float(code.unused_ec), 3)
        scores["unused_error_correction"] = band_score(uec, UEC_BANDS)
        metrics["unused_error_correction"] = _entry(uec, scores["unused_error_correction"], **extra)

    segments = _fixed_patterns(s, wrong, mod_levels, measured_dark)
    scores["fixed_pattern_damage"] = min(segments.values())
    metrics["fixed_pattern_damage"] = _entry(
        None,
        scores["fixed_pattern_damage"],
        segments={k: letter(v) for k, v in segments.items()},
    )

    ring_ok = np.isfinite(s.ring) & ~s.ring_glare
    visible = float(ring_ok.mean()) if s.ring.size else 0.0
    if ring_ok.sum() >= 8:
        intrusion = float((s.ring[ring_ok] < threshold).mean())
        scores["quiet_zone"] = below_score(intrusion, QZ_BANDS)
        metrics["quiet_zone"] = _entry(intrusion, scores["quiet_zone"], visible=round(visible, 3))

    photo = _photo_figures(s, module, crosstalk)
    metrics["photo"] = photo
    lowest = min(scores, key=lambda k: scores[k])
    worst = _floor2(scores[lowest])
    metrics["lowest"] = lowest
    retake = None
    if not at_least(worst, "C"):
        retake = _retake(scores, photo, s)
        if retake:
            metrics["photo"]["prevents_judgement"] = True
    return Grade(letter(worst), worst, metrics, retake)


#: parameters the camera cannot fake: measured on solid areas and the print itself
_PRINT = ("symbol_contrast", "quiet_zone")


#: glare over more than this share of a code (whose solid areas still show sound ink) hides too
#: much of it for the rest to be judged: the photo must be taken again
GLARE_HIDES = 0.25


def _retake(scores: dict[str, float], photo: dict, s: _Symbol) -> str | None:
    """The message key saying how to retake the photo, when the photo (not the print) may be
    what makes the grade D or F; None when the print itself is shown to be weak."""
    contrast_ok = at_least(scores["symbol_contrast"], "C")
    if not contrast_ok:
        return None  # faded ink shows in solid areas whatever the camera did
    size, blur = photo["module_px"], photo.get("blur_modules")
    if size < MIN_MODULE_PX:
        return "grade.retake_closer"
    if blur is not None and blur > BLUR_RETAKE:
        return "grading.retake_blur"
    if photo["glare"] > GLARE_HIDES:
        return "grade.retake_glare"  # so much is hidden that the rest cannot speak for it
    if photo["glare"] > GLARE_RETAKE:
        # the print outside the glare is sound: the glare is what hides the rest
        clean = [scores[k] for k in ("modulation", "quiet_zone") if k in scores]
        if at_least(min(clean, default=4.0), "C"):
            return "grade.retake_glare"
    if photo["paper_level"] < DARK_PAPER or photo["clipped"] > CLIP_RETAKE:
        return "grading.retake_exposure"
    return None


def _photo_figures(s: _Symbol, module: float, crosstalk: float) -> dict:
    ring = s.ring[np.isfinite(s.ring)]
    raw_ring = s.ring_raw[np.isfinite(s.ring_raw)]
    paper_srgb = _median(raw_ring) if raw_ring.size else float("nan")
    blur = _blur(s, module)
    return {
        "module_px": round(module, 2),
        "blur_px": round(blur * module, 2) if blur is not None else None,
        "blur_modules": round(blur, 3) if blur is not None else None,
        "crosstalk": round(crosstalk, 3),
        "noise": round(s.noise, 4),
        "glare": round(float(s.glare.mean()), 3),
        "paper_level": round(paper_srgb, 1) if np.isfinite(paper_srgb) else 0.0,
        "ink_level": round(float(_srgb(s.ink)), 1) if np.isfinite(s.ink) else None,
        "clipped": round(float((raw_ring >= 254).mean()), 3) if raw_ring.size else 0.0,
        "quiet_zone_white": round(_median(ring), 3) if ring.size else None,
    }


def _srgb(linear: float) -> float:
    x = min(max(linear, 0.0), 1.0)
    return 255 * (x * 12.92 if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055)


def glare_fraction(gray: np.ndarray, code: Located) -> float:
    """Share of the symbol's pixels that are blown out (glare on lamination or a shiny print)."""
    quad = np.array(code.corners, dtype=np.float64)
    x0, y0 = np.floor(quad.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return 0.0
    mask = np.zeros(crop.shape, dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    inside = mask.astype(bool)
    if not inside.any():
        return 0.0
    module = code.side / size_of(code.version) if code.version else code.side / 25
    return float(_glare_mask(crop, module)[inside].mean())
