"""The last look for nearly white codes: one finder pattern and the QR structure around it.

A posting faded almost to the paper's colour, unevenly (a fade is never quite even, and
yellowing and stains add their own patches), often keeps one finder pattern where the others
are gone. The finder search in `locate.py` then finds a lonely finder and no partners for it.
Here such a finder is asked whether it is the corner of a QR symbol, by what must surround one:

- the light separator ring around it, and a quiet zone outside it on two sides;
- a timing pattern running from its inner edge (row or column 6), alternating module by module
  at the finder's own module size, starting dark at module 8;
- module texture (dark and light modules mixed) in the quadrant the symbol must fill.

Everything is measured relative to the finder's own ink and paper levels, so a finder faded to a
few grey levels is judged like a fresh one. A finder that passes gives the symbol's corner and
axes; its size comes from how far the modules reach before the quiet zone (fading may cut it
short: the estimate is never larger than the symbol). Only `locate_codes` calls this, and only
when the usual search left finders unexplained or found nothing at all.

The same module also holds the second finder search used then: on a photo flattened against its
own paper and with local contrast stretched (CLAHE), finder rings a few grey levels deep close.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from qrcheck.vision.finders import _finders_at
from qrcheck.vision.shapes import Finder, _order_quad


@dataclass(frozen=True)
class FaintSymbol:
    """A symbol hypothesised from one finder pattern, with the evidence that it is one."""

    corners: np.ndarray  # 4x2, ordered by position in the image (TL, TR, BR, BL)
    finder: Finder
    modules: int  # estimated modules per side (never more than the symbol has)
    timing: float  # fraction of timing modules that alternate as they must
    contrast: float  # the finder's contrast relative to its paper (0..1)


#: the shortest timing run judged (a version 1 symbol has 5 timing modules)
TIMING_MODULES = 5
#: versions considered when estimating the size (version 10 = 57 modules)
MAX_MODULES = 57
#: the least contrast a finder may keep and still be judged (relative to paper): below this,
#: sensor noise makes up the pattern
MIN_CONTRAST = 0.025
#: module sizes tried, relative to the finder's outline
STRETCHES = (0.96, 1.0, 1.04)


def faint_finders(gray: np.ndarray, reduced: tuple[np.ndarray, float]) -> list[Finder]:
    """Finder patterns on the photo with its local contrast stretched (CLAHE after denoising)."""
    small, scale = reduced
    den = cv2.GaussianBlur(small, (0, 0), 1.0)
    tiles = (max(2, round(small.shape[1] / 125)), max(2, round(small.shape[0] / 125)))
    stretched = cv2.createCLAHE(clipLimit=4.0, tileGridSize=tiles).apply(den)
    found = _finders_at(stretched, 1.6, blur=False)
    return [Finder(f.x * scale, f.y * scale, f.size * scale, f.angle) for f in found]


def _finder_frame(gray: np.ndarray, f: Finder) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Centre and the two module vectors (one module long, along the finder's sides)."""
    h, w = gray.shape
    half = int(0.95 * f.size) + 2
    x0, y0 = int(f.x) - half, int(f.y) - half
    if x0 < 0 or y0 < 0 or x0 + 2 * half >= w or y0 + 2 * half >= h:
        return None
    crop = gray[y0 : y0 + 2 * half, x0 : x0 + 2 * half].astype(np.float32)
    crop = cv2.GaussianBlur(crop, (0, 0), max(0.6, 0.25 * f.module))
    lo, hi = np.percentile(crop, (2, 98))
    if hi - lo < 2:
        return None
    centre = (f.x - x0, f.y - y0)
    best = None
    # the midpoint first; a fade across the ring leaves part of it paler: higher thresholds
    for level in (0.5, 0.65, 0.8):
        dark = (crop < lo + level * (hi - lo)).astype(np.uint8)
        contours, _ = cv2.findContours(dark, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            area = cv2.contourArea(contour)
            if not 0.5 * f.size**2 <= area <= 1.8 * f.size**2:
                continue
            if cv2.pointPolygonTest(contour, centre, False) < 0:
                continue
            if best is None or area > cv2.contourArea(best):
                best = contour
        if best is not None:
            break
    if best is None:
        return None
    # the rectangle around the ring, not a polygon through it: blur rounds the corners
    poly = cv2.boxPoints(cv2.minAreaRect(best))
    quad = _order_quad(np.asarray(poly, np.float64)) + np.array([x0, y0], np.float64)
    p0, p1, p2, p3 = quad
    u = ((p1 - p0) + (p2 - p3)) / 2 / 7
    v = ((p3 - p0) + (p2 - p1)) / 2 / 7
    if not 0.6 <= np.linalg.norm(u) / max(np.linalg.norm(v), 1e-9) <= 1.6:
        return None
    return quad.mean(axis=0), u, v


class _Field:
    """The neighbourhood of a finder, flattened against its paper: 1.0 paper, lower is ink.

    Kept at about 3 pixels per module (averaging down also averages out sensor noise).
    """

    def __init__(self, gray: np.ndarray, f: Finder, reach: float) -> None:
        h, w = gray.shape
        r = int(reach)
        x0, y0 = max(0, int(f.x) - r), max(0, int(f.y) - r)
        x1, y1 = min(w, int(f.x) + r), min(h, int(f.y) + r)
        crop = gray[y0:y1, x0:x1]
        self.scale = max(1.0, f.module / 3)
        if self.scale > 1:
            size = (
                max(1, round(crop.shape[1] / self.scale)),
                max(1, round(crop.shape[0] / self.scale)),
            )
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        self.x0, self.y0 = x0, y0
        module = f.module / self.scale
        smooth = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), max(0.5, 0.3 * module))
        k = int(9 * module) | 1
        paper = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
        paper = cv2.GaussianBlur(paper, (0, 0), 3 * module)
        self.rel = smooth / np.maximum(paper, 1.0)
        self.shape = self.rel.shape

    def sample(self, points: np.ndarray) -> np.ndarray:
        """Values at photo points (... x 2); NaN outside the field."""
        shape = points.shape[:-1]
        xs = ((points[..., 0] - self.x0) / self.scale).astype(np.float32).reshape(1, -1)
        ys = ((points[..., 1] - self.y0) / self.scale).astype(np.float32).reshape(1, -1)
        out = cv2.remap(self.rel, xs, ys, cv2.INTER_LINEAR, borderValue=np.nan).reshape(shape)
        xs, ys = xs.reshape(shape), ys.reshape(shape)
        inside = (xs >= 0) & (ys >= 0) & (xs <= self.shape[1] - 1) & (ys <= self.shape[0] - 1)
        return np.where(inside, out, np.nan)


_FINDER = np.zeros((7, 7), bool)
_FINDER[[0, 6], :] = _FINDER[:, [0, 6]] = True
_FINDER[2:5, 2:5] = True


def single_finder_symbol(gray: np.ndarray, f: Finder) -> FaintSymbol | None:
    """The QR symbol this finder is a corner of, when the structure around it says so."""
    frame = _finder_frame(gray, f)
    if frame is None:
        return None
    centre, u, v = frame
    module = float((np.linalg.norm(u) + np.linalg.norm(v)) / 2)
    field = _Field(gray, f, (MAX_MODULES + 8) * module * 1.1)
    offsets = np.array([(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25), (0, 0)])
    best: FaintSymbol | None = None
    for s1 in (1, -1):
        for s2 in (1, -1):
            # the ring's outline gives the module to a few percent, and perspective makes it
            # differ along the two axes
            for st1, st2 in itertools.product(STRETCHES, STRETCHES):
                e1, e2 = s1 * st1 * u, s2 * st2 * v
                corner = centre - 3.5 * e1 - 3.5 * e2

                def grid(cols: np.ndarray, rows: np.ndarray, e1=e1, e2=e2, corner=corner):
                    """Mean value of each module (col, row) of this hypothesis."""
                    c = cols[..., None] + 0.5 + offsets[:, 0]
                    r = rows[..., None] + 0.5 + offsets[:, 1]
                    pts = corner + c[..., None] * e1 + r[..., None] * e2
                    values = field.sample(pts)
                    counted = np.isfinite(values).sum(axis=-1)
                    total = np.where(np.isfinite(values), values, 0.0).sum(axis=-1)
                    return np.where(counted > 0, total / np.maximum(counted, 1), np.nan)

                symbol = _judge(grid, f, corner, e1, e2)
                if symbol is not None and (best is None or symbol.timing > best.timing):
                    best = symbol
    return best


def _judge(grid, f: Finder, corner: np.ndarray, e1: np.ndarray, e2: np.ndarray):
    idx = np.arange(7)
    cols, rows = np.meshgrid(idx, idx)
    finder = grid(cols, rows)
    if not np.isfinite(finder).all():
        return None
    ink = float(np.median(finder[_FINDER]))
    # the separator and the quiet zone beyond it: the paper the finder sits on
    ring = np.r_[np.arange(-1, 8)]
    sep = np.concatenate(
        [grid(ring, np.full(9, -1)), grid(ring, np.full(9, 7)), grid(np.full(7, -1), idx),
         grid(np.full(7, 7), idx)]
    )  # fmt: skip
    if not np.isfinite(sep).all():
        return None
    paper = float(np.median(sep))
    contrast = paper - ink
    if contrast < MIN_CONTRAST:
        return None

    def z(values: np.ndarray) -> np.ndarray:  # 0 = the finder's ink, 1 = its paper
        return (values - ink) / contrast

    zf, zs = z(finder), z(sep)
    # the finder itself: its dark modules dark (a fade across it may pale a few) and every
    # light one light
    dark = zf[_FINDER]
    if np.mean(dark > 0.55) > 0.12 or dark.max() > 0.9 or np.nanmin(zf[~_FINDER]) < 0.45:
        return None
    if np.nanmin(zs) < 0.6:
        return None
    # quiet zone on the two outer sides: light and plain, 3 modules deep
    band = np.arange(-4, -1)
    along = np.arange(-4, 12)
    qc, qr = np.meshgrid(along, band)
    quiet = np.concatenate([grid(qc, qr).ravel(), grid(qr, qc).ravel()])
    if np.isnan(quiet).mean() > 0.2:
        return None
    quiet = z(quiet[np.isfinite(quiet)])
    if np.mean(quiet < 0.6) > 0.04:
        return None
    # a timing pattern from the inner edge, along one axis or the other: from the separator
    # (module 7, light) on, every dark module darker than the light ones beside it. Single
    # modules lose contrast to blur, so the test is relative, not against the finder's ink
    k = np.arange(7, 9 + TIMING_MODULES)
    six = np.full(k.shape, 6)
    timing = 0.0
    for line in (z(grid(k, six)), z(grid(six, k))):
        if not np.isfinite(line).all():
            continue
        sign = np.where(np.arange(1, len(line) - 1) % 2 == 1, 1.0, -1.0)  # module 8: dark
        swing = sign * ((line[:-2] + line[2:]) / 2 - line[1:-1])
        if swing.min() <= 0.05 or swing.mean() < 0.2:
            continue
        timing = max(timing, float(swing.mean()))
    if timing == 0:
        return None
    # data modules in the quadrant the symbol fills (between the timing patterns): dark and
    # light mixed, as deep as the timing pattern's dark modules
    inner = np.arange(8, 8 + TIMING_MODULES)
    dc, dr = np.meshgrid(inner, inner)
    data = z(grid(dc, dr))
    if np.isnan(data).any():
        return None
    dark_share = float(np.mean(data < 1 - timing / 2))
    if not 0.12 <= dark_share <= 0.88:
        return None
    n = _extent(grid, z)
    quad = np.array([corner, corner + n * e1, corner + n * (e1 + e2), corner + n * e2])
    return FaintSymbol(_order_quad(quad), f, n, timing, float(contrast))


def _extent(grid, z) -> int:
    """Modules per side: how far ink reaches along both axes before a quiet zone (4 plain
    modules), rounded to a version's size; at least version 1's 21."""
    reaches = []
    rows = np.arange(0, 21)
    for axis in (0, 1):
        last = 20
        plain = 0
        for i in range(21, MAX_MODULES + 4):
            line = np.full(rows.shape, i)
            values = z(grid(line, rows) if axis == 0 else grid(rows, line))
            if np.isnan(values).mean() > 0.5:
                break
            if np.nanmin(values) < 0.45:
                last, plain = i, 0
            else:
                plain += 1
                if plain >= 4:
                    break
        reaches.append(last + 1)
    # the shorter reach: text or a neighbour beside the symbol can stretch one of them, fading
    # only shortens them
    reach = min(max(min(reaches), 21), MAX_MODULES)
    # versions have 17 + 4v modules; never round past what was seen
    return int(21 + 4 * math.floor((reach - 21) / 4))


def faint_symbols(gray: np.ndarray, lonely: Sequence[Finder], limit: int = 16) -> list[FaintSymbol]:
    """Symbols hypothesised from lonely finder patterns (largest first, at most `limit`)."""
    found: list[FaintSymbol] = []
    for f in sorted(lonely, key=lambda f: -f.size)[:limit]:
        symbol = single_finder_symbol(gray, f)
        if symbol is not None:
            found.append(symbol)
    return found
