"""Find every QR code in a photo, decoded or not.

The reader stack, cheapest first:

1. zxing-cpp on the whole photo, with `return_errors=True`: it decodes most codes and reports the
   position of symbols it found but could not decode (checksum errors, unreadable format info).
2. Candidate regions from detectors that see structure rather than data: our own finder-pattern
   detector (three nested squares in 1:1:3:1:1 proportions, grouped in L-shaped triples; it works
   on faded prints because it thresholds locally), and OpenCV's `QRCodeDetectorAruco`.
3. Every candidate that is not yet decoded is rectified from its corners and retried with
   preprocessing suited to the usual failures: contrast stretch and CLAHE (faded ink), Otsu and
   adaptive thresholds (uneven light), unsharp masking (blur), glare inpainting, upscaling (tiny
   modules); zxing-cpp and ZBar (pyzbar) both read each variant.

4. Only when something looks wrong (finder patterns no symbol explains, or nothing found at
   all): a last look for nearly white codes (`locate_faint.py`), with a contrast-stretched
   finder search and symbols hypothesised from a single finder pattern.
5. qrcheck's own postings (`locate_layout.py`): every posting card in the photo that holds no
   code found so far is asked for the remains of one where the posting's layout prints it
   (codes faded past their last finder pattern, while the card, header and title still show).

Results for the same symbol are merged (a decoded reading wins over a located-only one, and the
readers that decoded it are all recorded). A reading made in a candidate's crop counts as that
candidate's only at its place and size (a small neighbour inside the crop is reported as itself,
and the candidate stays), and a located-only symbol is dropped only when shown false: its
finder patterns belong to a code decoded beside it, or its centre lies inside another symbol
that is decoded or located by more detectors (printed codes do not overlap).

A symbol is reported undecoded only when it shows QR structure: zxing-cpp's own detector found
it, or at least two finder patterns sit at its corners, or one finder pattern sits at a corner
with its separator, a quiet zone on its two outer sides, a timing pattern running from it and
module texture in the square it implies, or it sits where one of our postings prints its code
and QR-like module texture is left there (blank paper, text and other notices never pass).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar

Quad = tuple[tuple[float, float], ...]

ZXING = "zxing-cpp"
ZBAR = "zbar"
OPENCV = "opencv"
FINDER = "finder-patterns"
#: one finder pattern and the QR structure around it (locate_faint.py)
FAINT = "single-finder"


@dataclass(frozen=True)
class Located:
    """One QR symbol found in a photo."""

    #: corners of the symbol (no quiet zone) in photo pixels: top-left, top-right,
    #: bottom-right, bottom-left as the symbol is read (for undecoded symbols: as estimated)
    corners: Quad
    text: str | None
    #: readers that decoded it, each with the preprocessing that made it work ("zxing-cpp",
    #: "zbar", "zxing-cpp+clahe", ...)
    readers: tuple[str, ...] = ()
    #: detectors that located it ("zxing-cpp", "finder-patterns", "opencv", "single-finder",
    #: "posting-layout")
    located_by: tuple[str, ...] = ()
    version: int | None = None
    ec_level: str | None = None
    #: zxing-cpp's estimate of the error correction capacity left unused (1.0 = none used)
    unused_ec: float | None = None
    inverted: bool = False
    finder_patterns: int = 0
    error: str | None = None

    @property
    def decoded(self) -> bool:
        return self.text is not None

    @property
    def center(self) -> tuple[float, float]:
        xs, ys = zip(*self.corners, strict=True)
        return sum(xs) / 4, sum(ys) / 4

    @property
    def side(self) -> float:
        """Mean side length in pixels."""
        pts = self.corners
        return sum(math.dist(pts[i], pts[(i + 1) % 4]) for i in range(4)) / 4


@dataclass(frozen=True)
class Finder:
    """A finder pattern: its centre and the side of its 7x7-module square, in photo pixels."""

    x: float
    y: float
    size: float

    @property
    def module(self) -> float:
        return self.size / 7


@dataclass
class _Candidate:
    corners: np.ndarray  # 4x2, TL TR BR BL
    source: str
    finders: int = 0
    error: str | None = None
    #: centres of the finder patterns it was built from (photo pixels)
    points: tuple[tuple[float, float], ...] = ()
    #: modules per side where known (zxing-cpp's version, or the finders' module size)
    modules: float | None = None
    #: (version, EC level, data mask) where zxing-cpp read the format information
    symbol: tuple[int, str, int] | None = None


# ---------------------------------------------------------------------------------------------
# zxing-cpp and ZBar


#: QR Code model 2 (and the old model 1): the family name `QRCode` also takes in Micro QR and
#: rMQR, whose finder-less partial reads inside a damaged QR code are false positions.
QR_FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)


def _zxing(image: np.ndarray, **options: object) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(
        image, formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, **options
    )


def _position(barcode: zxingcpp.Barcode) -> np.ndarray:
    p = barcode.position
    return np.array(
        [
            [p.top_left.x, p.top_left.y],
            [p.top_right.x, p.top_right.y],
            [p.bottom_right.x, p.bottom_right.y],
            [p.bottom_left.x, p.bottom_left.y],
        ],
        dtype=np.float64,
    )


def _meta(barcode: zxingcpp.Barcode) -> dict:
    extra = barcode.extra or {}
    version = extra.get("Version")
    try:
        version_number = int(version) if version not in (None, "") else None
    except (TypeError, ValueError):
        version_number = None
    uec = extra.get("UEC")
    return {
        "version": version_number,
        "ec_level": extra.get("ECLevel") or barcode.ec_level or None,
        "unused_ec": float(uec) if isinstance(uec, int | float) else None,
        "inverted": bool(getattr(barcode, "is_inverted", False)),
    }


def _zbar(image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    found = []
    for symbol in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = symbol.data.decode("utf-8")
        except UnicodeDecodeError:
            text = symbol.data.decode("latin-1")
        points = np.array([(p.x, p.y) for p in symbol.polygon], dtype=np.float64)
        if len(points) >= 4:
            found.append(
                (text, _order_quad(cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32)))))
            )
    return found


# ---------------------------------------------------------------------------------------------
# geometry


def _order_quad(points: np.ndarray) -> np.ndarray:
    """Four points ordered TL, TR, BR, BL by position in the image (for orientation-free quads)."""
    pts = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates, starting near the left
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _as_quad(points: np.ndarray) -> Quad:
    return tuple((round(float(x), 1), round(float(y), 1)) for x, y in points)


def _side(points: np.ndarray) -> float:
    pts = [(float(x), float(y)) for x, y in points]
    return sum(math.dist(pts[i], pts[(i + 1) % 4]) for i in range(4)) / 4


def _same_symbol(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two quads cover the same symbol (centres close relative to their size)."""
    ca = (sum(float(p[0]) for p in a) / 4, sum(float(p[1]) for p in a) / 4)
    cb = (sum(float(p[0]) for p in b) / 4, sum(float(p[1]) for p in b) / 4)
    return math.dist(ca, cb) < 0.35 * min(_side(a), _side(b))


# ---------------------------------------------------------------------------------------------
# finder patterns


def _binarize(gray: np.ndarray, block: int, blur: bool = True) -> np.ndarray:
    """Dark = 255, thresholded against the local mean so faded ink and uneven light still split.

    A light blur first: sensor noise otherwise breaks paper into tens of thousands of specks,
    each a contour to trace.
    """
    return cv2.adaptiveThreshold(
        cv2.GaussianBlur(gray, (3, 3), 0) if blur else gray,
        255,
        cv2.ADAPTIVE_THRESH_MEAN_C,
        cv2.THRESH_BINARY_INV,
        block | 1,
        4,
    )


#: the finest level of the finder search: photos larger than this (long side) are averaged down
#: first, which also averages out sensor noise; tiny codes in huge photos are zxing-cpp's job
FINDER_MAX_SIDE = 2000


def find_finder_patterns(
    gray: np.ndarray,
    min_module: float = 1.6,
    reduced: tuple[np.ndarray, float] | None = None,
    blur: bool = True,
) -> list[Finder]:
    """Finder patterns at every scale: nested dark/light/dark squares with 7:5:3 sides.

    `reduced` is the photo already scaled down to FINDER_MAX_SIDE, with its factor.
    """
    finders: list[Finder] = []
    level, scale = reduced or _downscaled(gray, FINDER_MAX_SIDE)
    first = True
    while min(level.shape) >= 60:
        smallest = min_module if first else 2.5
        found = _finders_at(level, smallest, blur)
        finders += [Finder(f.x * scale, f.y * scale, f.size * scale) for f in found]
        if min(level.shape) < 180:
            break
        smaller = cv2.resize(
            level, (level.shape[1] // 3, level.shape[0] // 3), interpolation=cv2.INTER_AREA
        )
        scale *= level.shape[1] / smaller.shape[1]
        level, first = smaller, False
    return _dedupe_finders(finders)


def _finders_at(gray: np.ndarray, min_module: float, blur: bool = True) -> list[Finder]:
    binary = _binarize(gray, 41, blur)
    found = _finder_contours(binary, min_module)
    if not blur:  # the careful pass also closes thin light scratches across the rings
        closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        found += _finder_contours(closed, max(min_module, 2.0))
    return found


def finders_near(gray: np.ndarray, lonely: Sequence[Finder]) -> list[Finder]:
    """A closer look around finder patterns that found no partners.

    Thin light scratches cut the dark rings of the partners open, and the blur of the fast pass
    widens them; here, without the blur and with the scratches closed, they show again. Only the
    neighbourhood of a lonely finder is searched, so clean photos pay nothing for it.
    """
    found: list[Finder] = []
    h, w = gray.shape
    for finder in lonely[:12]:
        reach = 12 * finder.size
        x0, y0 = max(0, int(finder.x - reach)), max(0, int(finder.y - reach))
        x1, y1 = min(w, int(finder.x + reach)), min(h, int(finder.y + reach))
        crop = gray[y0:y1, x0:x1]
        scale = max(1.0, finder.module / 4)  # about 4 px per module is plenty
        if scale > 1:
            crop = cv2.resize(
                crop,
                (round(crop.shape[1] / scale), round(crop.shape[0] / scale)),
                interpolation=cv2.INTER_AREA,
            )
        binary = cv2.adaptiveThreshold(
            crop, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 41, 4
        )
        closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        for f in _finder_contours(closed, 2.0):
            found.append(Finder(x0 + f.x * scale, y0 + f.y * scale, f.size * scale))
    return found


def _finder_contours(binary: np.ndarray, min_module: float) -> list[Finder]:
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    tree = hierarchy[0]
    min_area = (7 * min_module) ** 2 * 0.6
    # three nested levels and no fourth, found with array operations: a photo has tens of
    # thousands of contours and only a few dozen candidates
    child = tree[:, 2]
    grandchild = np.where(child >= 0, tree[np.maximum(child, 0), 2], -1)
    great = np.where(grandchild >= 0, tree[np.maximum(grandchild, 0), 2], -1)
    nested = np.flatnonzero((child >= 0) & (grandchild >= 0) & (great < 0))
    found = []
    for index in nested:
        contour = contours[index]
        child, grandchild = tree[index][2], tree[tree[index][2]][2]
        _, _, w, h = cv2.boundingRect(contour)
        if w * h < min_area:
            continue
        outer = cv2.contourArea(contour)
        if outer < min_area:
            continue
        middle = cv2.contourArea(contours[child])
        inner = cv2.contourArea(contours[grandchild])
        if not (0.25 <= middle / outer <= 0.8 and 0.05 <= inner / outer <= 0.42):
            continue
        hull = cv2.convexHull(contour)
        if outer / max(cv2.contourArea(hull), 1) < 0.8:
            continue
        _, (rw, rh), _ = cv2.minAreaRect(contour)
        if max(rw, rh) > 2.6 * max(min(rw, rh), 1):
            continue
        centres = [_centroid(contours[i]) for i in (index, child, grandchild)]
        spread = max(math.dist(centres[0], c) for c in centres[1:])
        if spread > 0.18 * math.sqrt(outer):
            continue
        found.append(Finder(centres[0][0], centres[0][1], math.sqrt(outer)))
    return found


def _centroid(contour: np.ndarray) -> tuple[float, float]:
    m = cv2.moments(contour)
    if m["m00"] == 0:
        x, y, w, h = cv2.boundingRect(contour)
        return x + w / 2, y + h / 2
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def _dedupe_finders(finders: Sequence[Finder]) -> list[Finder]:
    kept: list[Finder] = []
    for f in sorted(finders, key=lambda f: -f.size):
        if all(math.dist((f.x, f.y), (k.x, k.y)) > 0.3 * k.size for k in kept):
            kept.append(f)
    return kept


NEAREST = 6


def group_finders(
    finders: Sequence[Finder], gray: np.ndarray | None = None
) -> list[tuple[Finder, Finder, Finder]]:
    """L-shaped triples (corner, top-right, bottom-left) that can be one QR symbol's finders.

    With the image, each triple must also show a timing pattern: alternating modules along row
    or column 6 between two of its finders.
    """
    options = []
    for a in finders:
        # a symbol's own finders are among the nearest ones of a similar size
        near = sorted(
            (f for f in finders if f is not a and max(f.size, a.size) <= 1.7 * min(f.size, a.size)),
            key=lambda f: (f.x - a.x) ** 2 + (f.y - a.y) ** 2,
        )[:NEAREST]
        for i, b in enumerate(near):
            for c in near[i + 1 :]:
                score = _triple_score(a, b, c)
                if score is not None:
                    options.append((score, a, b, c))
    used: set[int] = set()
    triples = []
    for _, a, b, c in sorted(options, key=lambda o: o[0]):
        if {id(a), id(b), id(c)} & used:
            continue
        # one timing pattern is enough: glare, a scratch or a curl of the paper can hide the other
        if gray is not None and not (_timing_ok(gray, a, b, c) or _timing_ok(gray, a, c, b)):
            continue
        ab = (b.x - a.x, b.y - a.y)
        ac = (c.x - a.x, c.y - a.y)
        if ab[0] * ac[1] - ab[1] * ac[0] < 0:  # make b the top-right one
            b, c = c, b
        triples.append((a, b, c))
        used |= {id(a), id(b), id(c)}
    return triples


def pair_candidates(
    finders: Sequence[Finder], gray: np.ndarray, taken: Iterable[Finder] = ()
) -> list[tuple[np.ndarray, tuple[tuple[float, float], ...]]]:
    """Symbols whose third finder pattern is lost (glare, a scratch, a torn corner).

    Two finder patterns of one size, and a timing pattern that runs from one of them where the
    symbol's geometry puts it: the third finder is placed where it must have been.
    """
    used = {id(f) for f in taken}
    free = [f for f in finders if id(f) not in used]
    quads = []
    for i, p in enumerate(free):
        for q in free[i + 1 :]:
            if max(p.size, q.size) > 1.5 * min(p.size, q.size):
                continue
            distance = math.dist((p.x, p.y), (q.x, q.y))
            size = (p.size + q.size) / 2
            if not 1.9 * size <= distance <= 26 * size:
                continue
            quad = _pair_quad(p, q, gray)
            if quad is not None and _inside(quad, gray.shape):
                quads.append((quad, ((p.x, p.y), (q.x, q.y))))
    return quads


def _inside(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    """True when a symbol with these corners lies (almost) within the photo."""
    h, w = shape[:2]
    margin = 0.05 * _side(quad)
    return bool(
        (quad[:, 0] >= -margin).all()
        and (quad[:, 0] <= w + margin).all()
        and (quad[:, 1] >= -margin).all()
        and (quad[:, 1] <= h + margin).all()
    )


def _pair_quad(p: Finder, q: Finder, gray: np.ndarray) -> np.ndarray | None:
    pp, pq = np.array([p.x, p.y]), np.array([q.x, q.y])
    d = pq - pp
    normal = np.array([-d[1], d[0]])
    size = (p.size + q.size) / 2
    hypotheses = []
    for sign in (1, -1):
        # p and q on one side of the symbol; the lost finder beside p
        r = Finder(*(pp + sign * normal), size)
        hypotheses.append((min(1.0, _timing_rate(gray, p, q, r)), p, q, r))
        # p and q on a diagonal; the lost finder is the corner one
        corner = (pp + pq) / 2 + sign * normal / 2
        c = Finder(corner[0], corner[1], size)
        # both of its timing patterns start at the lost corner: they must agree on average
        # (noise can push one line of data modules past the threshold, rarely both)
        rates = [min(1.0, _timing_rate(gray, c, p, q)), min(1.0, _timing_rate(gray, c, q, p))]
        hypotheses.append((sum(rates) / 2 + DIAGONAL_ALLOWANCE, c, p, q))
    # data modules can pass for a timing pattern now and then: the most regular one wins,
    # unless its square has code around it where the symbol's quiet zone must be and another
    # one's square has not (a square half over the code, shifted to the wrong side of the pair)
    passing = []
    for rate, a, b, c in sorted(hypotheses, key=lambda h: -h[0]):
        if rate < TIMING_RATE:
            break
        ab = (b.x - a.x, b.y - a.y)
        ac = (c.x - a.x, c.y - a.y)
        if ab[0] * ac[1] - ab[1] * ac[0] < 0:
            b, c = c, b
        quad = _triple_quad(a, b, c)
        if _inside(quad, gray.shape):
            passing.append(quad)
    if len(passing) < 2:
        return passing[0] if passing else None
    module = size / 7
    inked = [_ring_ink(gray, quad, module) for quad in passing]
    best = int(np.argmin(inked))
    return passing[best] if inked[best] < inked[0] - RING_MARGIN else passing[0]


#: how much less ink a square's quiet-zone ring must show to win over a more regular timing
RING_MARGIN = 0.1


def _ring_ink(gray: np.ndarray, quad: np.ndarray, module: float) -> float:
    """The share of ink in a ring 1 to 3 modules outside a symbol's square, where its quiet
    zone is (ink against the square's own light and dark levels)."""
    centre = quad.mean(axis=0)
    t = np.linspace(0.03, 0.97, 24)
    inside = [quad[0] + (quad[1] - quad[0]) * u + (quad[3] - quad[0]) * v for u in t for v in t]
    ring = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        along = b - a
        out = np.array([along[1], -along[0]]) / max(float(np.linalg.norm(along)), 1e-9)
        if out @ ((a + b) / 2 - centre) < 0:
            out = -out
        for depth in (1.5, 2.5):
            ring += [a + along * u + out * depth * module for u in t]
    points = np.array([*inside, *ring], dtype=np.float32)
    xs = np.clip(points[:, 0], 0, gray.shape[1] - 1).reshape(1, -1)
    ys = np.clip(points[:, 1], 0, gray.shape[0] - 1).reshape(1, -1)
    values = cv2.remap(gray, xs, ys, cv2.INTER_LINEAR).astype(np.float32).ravel()
    lo, hi = np.percentile(values[: len(inside)], (10, 90))
    if hi - lo < 8:
        return 0.0
    return float(np.mean(values[len(inside) :] < (lo + hi) / 2))


def _triple_score(a: Finder, b: Finder, c: Finder) -> float | None:
    sizes = (a.size, b.size, c.size)
    if max(sizes) > 1.7 * min(sizes):
        return None
    ab = math.dist((a.x, a.y), (b.x, b.y))
    ac = math.dist((a.x, a.y), (c.x, c.y))
    if min(ab, ac) < 1.9 * a.size or max(ab, ac) > 26 * a.size:
        return None
    if max(ab, ac) > 1.6 * min(ab, ac):
        return None
    cos = ((b.x - a.x) * (c.x - a.x) + (b.y - a.y) * (c.y - a.y)) / (ab * ac)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
    if not 55 <= angle <= 125:
        return None
    # the corner finder is the one facing the hypotenuse: bc must be the longest side
    bc = math.dist((b.x, b.y), (c.x, c.y))
    if bc < max(ab, ac):
        return None
    # prefer compact triples: finders of neighbouring codes also form right angles
    compact = 0.04 * max(ab, ac) / a.size
    return (
        abs(angle - 90) / 35 + abs(ab - ac) / max(ab, ac) + (max(sizes) / min(sizes) - 1) + compact
    )


def _timing_rate(gray: np.ndarray, a: Finder, b: Finder, c: Finder) -> float:
    """How regularly the timing pattern between finders a and b alternates (1.0: every module).

    It runs 3 modules from the line of the two centres, on the side of c, from the edge of one
    finder to the edge of the other: one dark/light change per module.
    """
    pa, pb, pc = (np.array([f.x, f.y]) for f in (a, b, c))
    module = (a.module + b.module) / 2
    length = float(np.linalg.norm(pb - pa))
    modules = length / module - 7
    if modules < 3:
        return 0.0
    u = (pb - pa) / length
    v = pc - pa
    v = v - u * float(v @ u)
    v /= max(float(np.linalg.norm(v)), 1e-9)
    start = pa + u * 3.5 * module + v * 3 * module
    steps = max(8, int(modules * 4))
    t = np.linspace(0, (modules) * module, steps)
    # a band across the middle of the timing modules, averaged: faded ink drowns in sensor noise
    # along a single line of pixels
    offsets = np.linspace(-0.3, 0.3, 5) * module
    points = start + np.outer(t, u)
    band = points[None, :, :] + offsets[:, None, None] * v[None, None, :]
    xs = np.clip(band[..., 0], 0, gray.shape[1] - 1).astype(np.float32)
    ys = np.clip(band[..., 1], 0, gray.shape[0] - 1).astype(np.float32)
    values = cv2.remap(gray, xs, ys, cv2.INTER_LINEAR).astype(np.float32).mean(axis=0)
    # glare blows parts of a code out to white: judge the pattern where it can still be seen
    seen = values < 245
    if seen.mean() < 0.35:
        return 0.0
    values_seen = values[seen]
    if values_seen.max() - values_seen.min() < 8:
        return 0.0
    dark = values < (values_seen.max() + values_seen.min()) / 2
    both_seen = seen[1:] & seen[:-1]
    changes = int(np.count_nonzero((dark[1:] != dark[:-1]) & both_seen))
    modules = modules * float(both_seen.mean())
    return changes / max(modules, 1e-9)


#: a timing pattern changes at every module; data modules change about every other one
TIMING_RATE = 0.7
#: a lost corner finder leaves two timing patterns to judge by: their mean may be a little lower
DIAGONAL_ALLOWANCE = 0.05


def _timing_ok(gray: np.ndarray, a: Finder, b: Finder, c: Finder) -> bool:
    """True when the timing pattern between finders a and b alternates as it should."""
    return _timing_rate(gray, a, b, c) >= TIMING_RATE


def _triple_quad(a: Finder, b: Finder, c: Finder) -> np.ndarray:
    """The symbol's corners estimated from its three finder patterns (a = top-left)."""
    pa, pb, pc = (np.array([f.x, f.y]) for f in (a, b, c))
    u = (pb - pa) / np.linalg.norm(pb - pa)
    v = (pc - pa) / np.linalg.norm(pc - pa)
    tl = pa - 3.5 * a.module * (u + v)
    tr = pb + 3.5 * b.module * (u - v)
    bl = pc + 3.5 * c.module * (v - u)
    br = tr + bl - tl
    return np.array([tl, tr, br, bl])


def _finders_at_corners(quad: np.ndarray, finders: Sequence[Finder]) -> int:
    """How many finder patterns sit where a symbol with these corners has its three."""
    side = _side(quad)
    count = 0
    tl, tr, br, bl = quad
    for corner, inward in ((tl, br), (tr, bl), (bl, tr)):
        for f in finders:
            if not 0.08 * side <= f.size <= 0.7 * side:
                continue
            expected = corner + (inward - corner) * (
                3.5 * f.module / (side * math.sqrt(2))
            ) * math.sqrt(2)
            if math.dist((f.x, f.y), expected) < max(0.6 * f.size, 0.08 * side):
                count += 1
                break
    return count


def _finders_any_corner(quad: np.ndarray, finders: Sequence[Finder]) -> int:
    """Finder patterns at any three of the four corners (orientation of the quad unknown)."""
    best = 0
    for shift in range(4):
        best = max(best, _finders_at_corners(np.roll(quad, -shift, axis=0), finders))
    return best


# ---------------------------------------------------------------------------------------------
# retries on rectified crops


#: room around a rectified symbol for its quiet zone, as a share of its side
CROP_MARGIN = 0.3


def _rectify(
    gray: np.ndarray, quad: np.ndarray, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """The quad warped to a square with room for the quiet zone; returns image and homography."""
    side = _side(quad)
    size = int(min(640, max(360, 1.4 * side)))
    pad = size * margin
    target = np.array(
        [[pad, pad], [pad + size, pad], [pad + size, pad + size], [pad, pad + size]],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    total = int(size + 2 * pad)
    crop = cv2.warpPerspective(
        gray, matrix, (total, total), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, matrix


def _percentiles(image: np.ndarray, qs: Sequence[float]) -> list[float]:
    """`np.percentile(image, qs)` of an 8-bit image (linear interpolation), from its histogram:
    a crop's full sort costs more than reading it once."""
    counts = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()
    total = np.cumsum(counts)
    last = int(total[-1]) - 1
    out = []
    for q in qs:
        at = q / 100 * last
        k = math.floor(at)
        a, b = np.searchsorted(total, (k, min(k + 1, last)), side="right")
        out.append(float(a) + (at - k) * float(b - a))
    return out


def _stretch(image: np.ndarray) -> np.ndarray:
    lo, hi = _percentiles(image, (1, 99))
    if hi - lo < 1:
        return image
    return np.clip((image.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


#: the deblurring crop's unsharp mask (px of the 360-640 px crop, about half a module of a
#: typical posting's code): out of focus by half a module and more, the plain sharpening is
#: too narrow to restore the modules' edges
DEBLUR = 4.0


#: how far (px of the half-size crop) the paper and ink around a blown-out area reach into it
GLARE_REACH = 8.0


def _deglared(crop: np.ndarray, blob: np.ndarray) -> np.ndarray:
    """The crop with its blown-out areas (`blob`: 1 there) filled from what surrounds them, at
    half size (a normalised convolution: each filled pixel is the mean of the pixels seen
    around it, weighted by their distance), then contrast-stretched. Nothing of the modules
    under the glare can come back; the fill keeps a white blob from ruining the binarizers'
    threshold around it (zxing-cpp and ZBar read the code from its error correction)."""
    half = cv2.resize(crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(cv2.dilate(blob, np.ones((5, 5), np.uint8)), half.shape[::-1]) > 0
    seen = (~mask).astype(np.float32)
    weight = cv2.GaussianBlur(seen, (0, 0), GLARE_REACH)
    total = cv2.GaussianBlur(half.astype(np.float32) * seen, (0, 0), GLARE_REACH)
    fill = np.where(weight > 1e-3, total / np.maximum(weight, 1e-3), float(np.median(half)))
    filled = np.where(mask, fill, half).astype(np.uint8)
    return _stretch(cv2.resize(filled, crop.shape[::-1], interpolation=cv2.INTER_CUBIC))


def _variants(crop: np.ndarray) -> Iterable[tuple[str, np.ndarray]]:
    """Preprocessed versions of a rectified crop, in the order worth trying."""
    yield "", crop
    stretched = _stretch(crop)
    yield "stretch", stretched
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(crop)
    yield "clahe", clahe
    _, otsu = cv2.threshold(
        cv2.GaussianBlur(stretched, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    yield "otsu", otsu
    block = max(15, (crop.shape[0] // 12) | 1)
    yield (
        "adaptive",
        cv2.adaptiveThreshold(
            stretched, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 2
        ),
    )
    blurred = cv2.GaussianBlur(stretched, (0, 0), 2.0)
    yield "sharpen", cv2.addWeighted(stretched, 2.2, blurred, -1.2, 0)
    wide = cv2.GaussianBlur(stretched, (0, 0), DEBLUR)
    yield "deblur", cv2.addWeighted(stretched, 3.0, wide, -2.0, 0)
    # glare: blown-out areas far wider than a module (paper and light modules are white too)
    saturated = (crop >= 245).astype(np.uint8)
    blob = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((15, 15), np.uint8))
    if 0.01 < blob.mean() < 0.5:
        yield "deglare", _deglared(crop, blob)
    yield "upscale", cv2.resize(stretched, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)


#: the crops ZBar reads too: ZBar costs about ten times zxing-cpp's read of a crop, and the
#: codes it decodes where zxing-cpp does not (dev photos and simulated hard cases) read in these
ZBAR_VARIANTS = ("", "clahe", "otsu")


def _retry(
    gray: np.ndarray, candidate: _Candidate, zbar: bool = True
) -> tuple[Located | None, list[Located]]:
    """Decode a candidate from its rectified crop: its own reading (None when nothing reads
    it) and the other codes read in the crop on the way.

    The crop has room for the quiet zone, so a small neighbour can lie wholly inside it: a
    reading counts as the candidate's only where it is the candidate's symbol (centre inside
    its quad, about its size). Taking a neighbour's reading for the candidate's would merge the
    candidate into that neighbour, and a code zxing-cpp located would vanish from the report.
    """
    crop, matrix = _rectify(gray, candidate.corners)
    inverse = np.linalg.inv(matrix)
    others: list[Located] = []
    # ZBar's time follows the pixels it scans: a crop blown up from a small symbol is read at
    # half size, still magnified, as sharp as the photo; so is one with modules so large that
    # half of them is still plenty
    size = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    zbar_half = size >= ZBAR_HALVING * _side(candidate.corners) or (
        candidate.modules is not None and size >= ZBAR_HALF_MODULE * candidate.modules
    )

    def keep(found: Located) -> Located | None:
        if _reads_candidate(np.array(found.corners), candidate):
            return found
        if all(o.text != found.text for o in others):
            others.append(found)
        return None

    for name, image in _variants(crop):
        scale = image.shape[0] / crop.shape[0]
        for barcode in _zxing(image, try_downscale=True):
            if barcode.valid:
                points = _unwarp(_position(barcode) / scale, inverse)
                reader = f"{ZXING}+{name}" if name else f"{ZXING}+rectified"
                found = keep(
                    Located(
                        _as_quad(points),
                        barcode.text,
                        (reader,),
                        (candidate.source,),
                        finder_patterns=candidate.finders,
                        **_meta(barcode),
                    )
                )
                if found is not None:
                    return found, others
        for text, quad in _zbar_read(image, zbar_half) if zbar and name in ZBAR_VARIANTS else ():
            points = _unwarp(quad / scale, inverse)
            reader = f"{ZBAR}+{name}" if name else f"{ZBAR}+rectified"
            found = keep(
                Located(
                    _as_quad(points),
                    text,
                    (reader,),
                    (candidate.source,),
                    finder_patterns=candidate.finders,
                )
            )
            if found is not None:
                return found, others
    if candidate.source != ZXING and candidate.finders < 2:
        return None, others
    # paper curved round a cylinder (a posting bulging off the board, a code on a bottle): a
    # symbol whose structure shows and nothing read is unrolled along either of its axes
    for axis in (0, 1):
        for angle in BENDS:
            bent, unbend = _unrolled(crop, axis, math.radians(angle))
            for barcode in _zxing(bent, try_downscale=True):
                if not barcode.valid:
                    continue
                points = _unwarp(unbend(_position(barcode)), inverse)
                found = keep(
                    Located(
                        _as_quad(points),
                        barcode.text,
                        (f"{ZXING}+unrolled",),
                        (candidate.source,),
                        finder_patterns=candidate.finders,
                        **_meta(barcode),
                    )
                )
                if found is not None:
                    return found, others
    # glare and blots: where zxing-cpp read the format, the modules under a blown-out or
    # blotted area are erasures, which Reed-Solomon corrects twice as many of as errors
    for grow in (0, 1) if candidate.symbol else ():
        read = erasure_read(crop, *candidate.symbol, grow=grow)  # type: ignore[misc]
        if read is not None:
            version, ec_level, _ = candidate.symbol  # type: ignore[misc]
            found = keep(
                Located(
                    _as_quad(candidate.corners),
                    read[0],
                    (f"{ZXING}+erasures",),
                    (candidate.source,),
                    version=version,
                    ec_level=ec_level,
                    unused_ec=read[1],
                    finder_patterns=candidate.finders,
                )
            )
            if found is not None:
                return found, others
    return None, others


def _format_of(barcode: zxingcpp.Barcode) -> tuple[int, str, int] | None:
    """(version, EC level, data mask) of a symbol zxing-cpp could not decode, when it read
    them (checksum errors: the data failed, the format information did not)."""
    extra = barcode.extra or {}
    try:
        version, mask = int(extra["Version"]), int(extra["DataMask"])
    except (KeyError, TypeError, ValueError):
        return None
    ec_level = extra.get("ECLevel")
    if not 1 <= version <= 40 or not 0 <= mask <= 7 or ec_level not in ("L", "M", "Q", "H"):
        return None
    return version, str(ec_level), mask


#: check codewords a block must keep unused after an erasure correction: what is left to
#: detect a wrong correction with (each one leaves 1 chance in 256 of missing it)
ERASURE_MARGIN = 2


@cache
def _rs_codec(ec_count: int):
    import reedsolo

    return reedsolo.RSCodec(ec_count, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)


def _module_grid(crop: np.ndarray, n: int, grow: int) -> tuple[np.ndarray, np.ndarray]:
    """The modules of a rectified crop (symbol in the middle, CROP_MARGIN round it): dark
    against their neighbourhood's mean, and erased where they lie in a patch of at least 3 x 3
    modules of one colour (random data never has one, masked data rarely: glare blows such a
    patch out, a blot inks it) grown by `grow` modules (its fringe is doubtful too)."""
    size = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    module = size / n
    centres = (size * CROP_MARGIN + (np.arange(n) + 0.5) * module).astype(np.float32)
    smooth = cv2.GaussianBlur(crop, (0, 0), max(0.5, module / 4)).astype(np.float32)
    mx, my = np.meshgrid(centres, centres)
    values = cv2.remap(smooth, mx, my, cv2.INTER_LINEAR)
    dark = values < cv2.GaussianBlur(values, (0, 0), max(1.5, n / 12))
    share = cv2.blur(dark.astype(np.float32), (3, 3), borderType=cv2.BORDER_CONSTANT)
    uniform = ((share <= 0.01) | (share >= 0.99)).astype(np.uint8)
    erased = cv2.dilate(uniform, np.ones((3 + 2 * grow,) * 2, np.uint8)) > 0
    return dark, erased


def erasure_read(
    crop: np.ndarray, version: int, ec_level: str, mask: int, grow: int = 0
) -> tuple[str, float] | None:
    """The text of a symbol (rectified crop, format known) read with its uniform patches as
    erasures, and the error correction it left unused (1 - (erasures + 2 errors) / check
    codewords, worst block: what the glare or blots cost the code); None unless every
    Reed-Solomon block corrects with ERASURE_MARGIN to spare. The corrected modules are drawn
    clean and read by zxing-cpp (which parses the segments)."""
    import reedsolo

    from qrcheck.grade.qr_layout import blocks, format_bits, layout, mask_matrix, version_bits

    n = 17 + 4 * version
    dark, erased = _module_grid(crop, n, grow)
    lay, spec = layout(version), blocks(version, ec_level)
    rows, cols = lay.data_order
    k = spec.total * 8
    flip = mask_matrix(n, mask)[rows[:k], cols[:k]]
    bits = (dark[rows[:k], cols[:k]] ^ flip).astype(np.uint8)
    gone = erased[rows[:k], cols[:k]].reshape(spec.total, 8).any(axis=1)
    words = np.packbits(bits.reshape(spec.total, 8), axis=1, bitorder="big").ravel()
    fixed = words.copy()
    unused = 1.0
    for b, ec_count in enumerate(spec.ec_counts):
        where = np.flatnonzero(spec.block_of == b)
        erase = [int(i) for i in np.flatnonzero(gone[where])]
        if len(erase) > ec_count - ERASURE_MARGIN:
            return None
        try:
            _, full, errata = _rs_codec(int(ec_count)).decode(
                bytearray(words[where].tobytes()), erase_pos=erase or None
            )
        except reedsolo.ReedSolomonError:
            return None
        errors = len(errata) - len(erase)
        if 2 * errors + len(erase) > ec_count - ERASURE_MARGIN:
            return None
        unused = min(unused, 1 - (2 * errors + len(erase)) / float(ec_count))
        fixed[where] = np.frombuffer(bytes(full), np.uint8)
    out = np.where(lay.fixed, lay.expected, dark)
    new = np.unpackbits(fixed[:, None], axis=1, bitorder="big").ravel().astype(bool)
    out[rows[:k], cols[:k]] = new ^ flip
    word = format_bits(ec_level, mask)
    for r, c in lay.format_copies:
        out[r, c] = [(word >> i) & 1 == 1 for i in range(15)]
    if version >= 7:
        vbits = version_bits(version)
        for r, c in lay.version_copies:
            out[r, c] = [(vbits >> i) & 1 == 1 for i in range(18)]
    clean = np.pad(np.where(out, 0, 255).astype(np.uint8), 4, constant_values=255)
    clean = cv2.resize(clean, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    texts = [b.text for b in _zxing(clean) if b.valid]
    return (texts[0], round(unused, 3)) if texts else None


#: half the arc (degrees) a curved symbol is assumed to span, for the unrolled reads: mild,
#: strong (a third of a turn) and between; each decodes curved codes the others miss
BENDS = (25.0, 40.0, 55.0)


def _unrolled(
    crop: np.ndarray, axis: int, half_arc: float
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A rectified crop (symbol in the middle, CROP_MARGIN round it) unrolled as if the paper
    were bent round a cylinder along `axis` (0: the bend runs along the crop's x), the symbol
    spanning 2 * `half_arc` radians of it, seen from afar: the homography of its corners maps
    the middle modules too narrow and the outer ones too wide; here every module gets its
    width back (x = sin(s * a) / sin(a) for arc position s in -1..1). Returns the image and
    the map of its points back to the crop's."""
    n = crop.shape[0]
    half = n / (1 + 2 * CROP_MARGIN) / 2
    centre = n / 2
    ratio = math.sin(half_arc)
    reach = math.pi / 2 / half_arc  # beyond it the paper turns away

    def to_crop(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2).copy()
        s = np.clip((pts[:, axis] - centre) / half, -reach, reach)
        pts[:, axis] = centre + half * np.sin(s * half_arc) / ratio
        return pts

    line = np.arange(n, dtype=np.float64)
    s = np.clip((line - centre) / half, -reach, reach)
    along = (centre + half * np.sin(s * half_arc) / ratio).astype(np.float32)
    across = line.astype(np.float32)
    if axis == 0:
        mx, my = np.meshgrid(along, across)
    else:
        mx, my = np.meshgrid(across, along)
    bent = cv2.remap(crop, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return bent, to_crop


#: a crop at least this many times the symbol's size in the photo is read by ZBar at half size
ZBAR_HALVING = 2.5
#: and so is one with at least this many pixels per module (4 at half size: ZBar's scanner
#: reads 2 and more)
ZBAR_HALF_MODULE = 8.0


def _zbar_read(image: np.ndarray, half: bool) -> list[tuple[str, np.ndarray]]:
    if not half:
        return _zbar(image)
    small = cv2.resize(
        image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
    )
    return [(text, quad * (image.shape[1] / small.shape[1])) for text, quad in _zbar(small)]


def _reads_candidate(quad: np.ndarray, candidate: _Candidate) -> bool:
    """True when a symbol read in a candidate's crop is the candidate's own symbol."""
    if _same_symbol(quad, candidate.corners):
        return True
    centre = quad.mean(axis=0)
    contour = candidate.corners.astype(np.float32).reshape(-1, 1, 2)
    inside = cv2.pointPolygonTest(contour, (float(centre[0]), float(centre[1])), False) >= 0
    sides = sorted((_side(quad), _side(candidate.corners)))
    return inside and sides[1] <= 2 * max(sides[0], 1.0)


def _unwarp(points: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), inverse).reshape(
        -1, 2
    )


# ---------------------------------------------------------------------------------------------
# the whole stack


@dataclass(frozen=True)
class LocateOptions:
    """Knobs of the reader stack (defaults suit phone photos of boards)."""

    use_opencv: bool = True
    use_finders: bool = True
    #: also read rectified crops with ZBar
    use_zbar: bool = True
    #: the last looks for nearly white codes: single-finder symbols when something looks wrong
    #: (locate_faint.py) and, with `use_layout`, codes faded past every finder on qrcheck's own
    #: postings (locate_layout.py)
    use_faint: bool = True
    #: qrcheck's own postings: the remains of a code where a posting card holds none
    #: (locate_layout.py; part of the last looks, so off too without `use_faint`)
    use_layout: bool = True
    max_candidates: int = 60


def locate_codes(gray: np.ndarray, options: LocateOptions = LocateOptions()) -> list[Located]:
    """Every QR symbol in a grayscale photo, decoded where any reader can, merged per symbol."""
    results: list[Located] = []
    candidates: list[_Candidate] = []

    for barcode in _zxing(gray, return_errors=True):
        quad = _position(barcode)
        if barcode.valid:
            results.append(
                Located(_as_quad(quad), barcode.text, (ZXING,), (ZXING,), **_meta(barcode))
            )
        elif _side(quad) >= 8:  # zxing-cpp also reports format errors at position (0, 0)
            version = _meta(barcode)["version"]
            candidates.append(
                _Candidate(
                    quad,
                    ZXING,
                    finders=3,
                    error=str(barcode.error.type),
                    modules=17 + 4 * version if version else None,
                    symbol=_format_of(barcode),
                )
            )

    finders: list[Finder] = []
    reduced = _downscaled(gray, FINDER_MAX_SIDE)
    lonely: list[Finder] = []
    if options.use_finders:
        # the codes zxing-cpp decoded are blanked for the search: their own finder patterns are
        # explained, and their modules are most of the contours a photo of one code has
        finders = find_finder_patterns(gray, reduced=_blanked(reduced, results))
        if not finders and not results and not candidates:
            # nothing at all: look again without the noise blur (fine art codes lose their
            # finder rings to it); photos with codes never pay for this
            finders = find_finder_patterns(gray, reduced=reduced, blur=False)
        triples = group_finders(finders, gray)
        in_triples = {id(f) for triple in triples for f in triple}
        decoded = [r for r in results if r.decoded]
        lonely = [
            f
            for f in finders
            if id(f) not in in_triples and not any(_holds(r, (f.x, f.y)) for r in decoded)
        ]
        if lonely:
            finders = _dedupe_finders([*finders, *finders_near(gray, lonely)])
            triples = group_finders(finders, gray)
        for a, b, c in triples:
            points = tuple((f.x, f.y) for f in (a, b, c))
            quad = _triple_quad(a, b, c)
            module = (a.module + b.module + c.module) / 3
            candidates.append(
                _Candidate(quad, FINDER, 3, points=points, modules=_side(quad) / module)
            )
        grouped = [f for triple in triples for f in triple]
        for quad, points in pair_candidates(finders, gray, grouped):
            module = np.mean([f.module for f in finders if (f.x, f.y) in points])
            candidates.append(
                _Candidate(quad, FINDER, 2, points=points, modules=_side(quad) / module)
            )

    merged = _merge(results)
    # located-only symbols wait until every candidate has been read: a candidate read later
    # can show that one's finder patterns to be part of a code decoded next to it
    pending: list[Located] = []
    origins: list[_Candidate] = []
    budget = options.max_candidates
    merged = _read_candidates(
        gray, candidates[:budget], finders, merged, pending, origins, options.use_zbar
    )
    budget -= min(budget, len(candidates))
    # OpenCV's detector is a second opinion, asked only when finder patterns are left that no
    # decoded code explains, nor a symbol zxing-cpp located (lonely ones, or those of a symbol
    # built from our finders that nothing could read: OpenCV's quad may read where ours did
    # not). It looks for the same patterns: where the finder search saw none at all, or every
    # one belongs to a code read or placed by zxing-cpp, it has never added a code. Without the
    # finder search: when zxing-cpp left a symbol undecoded or found nothing
    if options.use_finders:
        placed = [p for p, o in zip(pending, origins, strict=True) if o.source == ZXING]
        doubt = bool(_unexplained(finders, [*(r for r in merged if r.decoded), *placed]))
    else:
        doubt = not results or any(c.source == ZXING for c in candidates)
    if options.use_opencv and budget and doubt:
        opencv = _opencv_candidates(reduced)
        merged = _read_candidates(
            gray, opencv[:budget], finders, merged, pending, origins, options.use_zbar
        )
    for found, candidate in zip(pending, origins, strict=True):
        if any(r.decoded and _covers(r, candidate) for r in merged):
            continue  # its finder patterns belong to a code decoded beside it
        merged = _merge([*merged, found])
    if options.use_finders and options.use_faint:
        merged = _faint_pass(gray, reduced, finders, merged, options)
    if options.use_faint and options.use_layout:
        merged = _layout_pass(gray, reduced, merged)
    merged = _without_overlaps(merged)
    return sorted(merged, key=lambda r: (round(r.center[1] / 50), r.center[0]))


def _blanked(
    reduced: tuple[np.ndarray, float], found: Sequence[Located]
) -> tuple[np.ndarray, float]:
    """The reduced photo with every decoded symbol painted over in its own paper's shade."""
    decoded = [r for r in found if r.decoded]
    if not decoded:
        return reduced
    image, scale = reduced
    out = image.copy()
    h, w = image.shape
    for item in decoded:
        quad = np.round(np.array(item.corners) / scale).astype(np.int32)
        x0, y0 = np.clip(quad.min(axis=0), 0, [w, h])
        x1, y1 = np.clip(quad.max(axis=0) + 1, 0, [w, h])
        if x1 <= x0 or y1 <= y0:
            continue
        local = quad - [x0, y0]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, local, 255)
        counts = cv2.calcHist([image[y0:y1, x0:x1]], [0], mask, [256], [0, 256]).ravel()
        if counts.sum() > 0:  # its paper: the 90th percentile of its pixels
            paper = int(np.searchsorted(np.cumsum(counts), 0.9 * counts.sum()))
            cv2.fillConvexPoly(out, quad, min(paper, 255))
    return out, scale


def _unexplained(finders: Sequence[Finder], found: Sequence[Located]) -> list[Finder]:
    """The finder patterns that lie in none of the symbols found."""
    return [f for f in finders if not any(_holds(r, (f.x, f.y)) for r in found)]


def _opencv_candidates(reduced: tuple[np.ndarray, float]) -> list[_Candidate]:
    """Symbols OpenCV's `QRCodeDetectorAruco` sees, on a copy at most 1280 px across."""
    small, factor = _downscaled(reduced[0], 1280)
    factor *= reduced[1]
    try:
        ok, points = cv2.QRCodeDetectorAruco().detectMulti(small)
    except cv2.error:
        ok, points = False, None
    if not ok or points is None:
        return []
    return [_Candidate(_order_quad(quad * factor), OPENCV) for quad in points]


def _read_candidates(
    gray: np.ndarray,
    candidates: Sequence[_Candidate],
    finders: Sequence[Finder],
    merged: list[Located],
    pending: list[Located],
    origins: list[_Candidate],
    zbar: bool,
) -> list[Located]:
    """Every candidate not yet part of a symbol found, retried; returns the merged symbols.
    Candidates nothing reads but that show QR structure go to `pending` (with their origin
    in `origins`), to be reported once every candidate has been read."""
    for candidate in candidates:
        if any(_covers(r, candidate) for r in merged):
            _note_locator(merged, candidate)
            continue
        if any(_covers(r, candidate) for r in pending):
            _note_locator(pending, candidate)
            continue
        if candidate.source != ZXING:
            candidate.finders = max(
                candidate.finders, _finders_any_corner(candidate.corners, finders)
            )
        found, neighbours = _retry(gray, candidate, zbar)
        merged = _merge([*merged, *neighbours])
        if found is not None:
            merged = _merge([*merged, found])
        elif candidate.finders >= 2:  # QR structure: reported even if nothing reads it
            pending.append(
                Located(
                    _as_quad(candidate.corners),
                    None,
                    (),
                    (candidate.source,),
                    finder_patterns=candidate.finders,
                    error=candidate.error,
                )
            )
            origins.append(candidate)
    return merged


def _without_overlaps(found: Sequence[Located]) -> list[Located]:
    """Without the located-only symbols shown false by a better one: printed codes do not
    overlap, so a located-only symbol whose centre lies inside another symbol that is decoded,
    or located by more detectors, is a false position (zxing-cpp, with `return_errors`, now and
    then reports a square spanning parts of two codes)."""

    def better(other: Located, item: Located) -> bool:
        return other.decoded or len(other.located_by) > len(item.located_by)

    return [
        item
        for item in found
        if item.decoded
        or not any(
            other is not item and better(other, item) and _holds(other, item.center)
            for other in found
        )
    ]


def _faint_pass(
    gray: np.ndarray,
    reduced: tuple[np.ndarray, float],
    finders: Sequence[Finder],
    merged: list[Located],
    options: LocateOptions,
) -> list[Located]:
    """Nearly white codes, looked for only when something looks wrong: finder patterns that no
    symbol explains, or no symbol at all. One finder is enough here when the QR structure
    around it is there (separator, quiet zone, timing pattern, module texture; see
    `locate_faint`)."""
    from qrcheck.vision.faint import faint_finders, faint_symbols

    def unexplained(found: Iterable[Finder]) -> list[Finder]:
        return [f for f in found if not any(_holds(r, (f.x, f.y)) for r in merged)]

    lonely = unexplained(finders)
    if merged and not lonely:
        return merged
    pool = _dedupe_finders([*lonely, *unexplained(faint_finders(gray, reduced))])
    for symbol in faint_symbols(gray, pool):
        quad = symbol.corners
        centre = (float(quad[:, 0].mean()), float(quad[:, 1].mean()))
        if not _inside(quad, gray.shape) or any(
            _holds(r, centre) or _same_symbol(quad, np.array(r.corners)) for r in merged
        ):
            continue
        candidate = _Candidate(quad, FAINT, 1, points=((symbol.finder.x, symbol.finder.y),))
        found, neighbours = _retry(gray, candidate, options.use_zbar)
        merged = _merge([*merged, *neighbours])
        if found is None and any(_covers(r, candidate) for r in neighbours):
            continue  # its finder belongs to a neighbour read instead
        found = found or Located(_as_quad(quad), None, (), (FAINT,), finder_patterns=1)
        merged = _merge([*merged, found])
    return merged


def _layout_pass(
    gray: np.ndarray, reduced: tuple[np.ndarray, float], merged: list[Located]
) -> list[Located]:
    """Codes faded past their last finder pattern on qrcheck's own postings: on every posting
    card that holds no code found so far, the remains of one where the layout prints it
    (see `locate_layout`). Reported undecoded, at the symbol's expected corners."""
    from qrcheck.vision.cards import LAYOUT, layout_remains

    for remains in layout_remains(gray, reduced, [r.center for r in merged]):
        merged = [*merged, Located(_as_quad(remains.corners), None, (), (LAYOUT,))]
    return merged


def _holds(found: Located, point: tuple[float, float]) -> bool:
    contour = np.array(found.corners, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def _covers(found: Located, candidate: _Candidate) -> bool:
    """True when a candidate is (part of) a symbol already found."""
    if _same_symbol(candidate.corners, np.array(found.corners)):
        return True
    return any(_holds(found, point) for point in candidate.points)


def _note_locator(merged: list[Located], candidate: _Candidate) -> None:
    for index, item in enumerate(merged):
        if _covers(item, candidate):
            if candidate.source not in item.located_by:
                merged[index] = replace(
                    item,
                    located_by=(*item.located_by, candidate.source),
                    finder_patterns=max(item.finder_patterns, candidate.finders),
                )
            return


def _downscaled(gray: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    h, w = gray.shape
    factor = max(h, w) / longest
    if factor <= 1:
        return gray, 1.0
    size = (max(1, round(w / factor)), max(1, round(h / factor)))  # a thin strip keeps a row
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return small, w / small.shape[1]


def _merge(items: Sequence[Located]) -> list[Located]:
    """One entry per symbol: decoded readings win; readers and locators are united."""
    merged: list[Located] = []

    def priority(r: Located) -> tuple[bool, bool]:
        # zxing-cpp first: where ZBar reads the same symbol differently (text encodings),
        # zxing-cpp's reading is kept
        return (not r.decoded, not any(x.startswith(ZXING) for x in r.readers))

    for item in sorted(items, key=priority):
        quad = np.array(item.corners)
        for index, other in enumerate(merged):
            if not _same_symbol(quad, np.array(other.corners)):
                continue
            sizes = sorted((_side(quad), _side(np.array(other.corners))))
            if (
                item.decoded
                and other.decoded
                and item.text != other.text
                and sizes[1] > 1.5 * sizes[0]
            ):
                continue  # two different symbols, one inside the other
            merged[index] = replace(
                other,
                readers=tuple(dict.fromkeys((*other.readers, *item.readers))),
                located_by=tuple(dict.fromkeys((*other.located_by, *item.located_by))),
                version=other.version or item.version,
                ec_level=other.ec_level or item.ec_level,
                unused_ec=other.unused_ec if other.unused_ec is not None else item.unused_ec,
                finder_patterns=max(other.finder_patterns, item.finder_patterns),
            )
            break
        else:
            merged.append(item)
    return merged
