"""Finder patterns: the three squares at a code's corners, found in the photo and grouped into
candidate codes (pairs and triples checked by their timing pattern and quiet zone)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from qrcheck.vision.shapes import Finder, _side


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
        finders += [Finder(f.x * scale, f.y * scale, f.size * scale, f.angle) for f in found]
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
            found.append(Finder(x0 + f.x * scale, y0 + f.y * scale, f.size * scale, f.angle))
    return found


def _contour_tree(binary: np.ndarray) -> tuple[Sequence, np.ndarray | None]:
    """`cv2.findContours(binary, RETR_TREE, CHAIN_APPROX_SIMPLE)`: the contours (each an array,
    or a `cv2.UMat` holding the same points: `_points`) and the hierarchy's rows (None when
    there is no contour).

    A noisy photo has thousands of contours and only a few dozen are looked at: given an array,
    OpenCV's binding makes every contour an array (about 1.3 us each, more than tracing it);
    given a UMat, it wraps each one in a cheaper UMat. Only with OpenCL off (a UMat then lives
    in host memory, as the array does)."""
    if cv2.ocl.useOpenCL():
        contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        return contours, None if hierarchy is None else hierarchy[0]
    contours, hierarchy = cv2.findContours(cv2.UMat(binary), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    rows = hierarchy.get()
    return contours, None if rows is None else rows[0]


def _points(contour: np.ndarray | cv2.UMat) -> np.ndarray:
    return contour.get() if isinstance(contour, cv2.UMat) else contour


def _finder_contours(binary: np.ndarray, min_module: float) -> list[Finder]:
    return _finders_in(*_contour_tree(binary), min_module)


def _finders_in(contours: Sequence, tree: np.ndarray | None, min_module: float) -> list[Finder]:
    """The finder patterns among a contour tree (`_contour_tree`'s)."""
    if tree is None:
        return []
    min_area = (7 * min_module) ** 2 * 0.6
    # three nested levels and no fourth, found with array operations: a photo has tens of
    # thousands of contours and only a few dozen candidates
    child = tree[:, 2]
    grandchild = np.where(child >= 0, tree[np.maximum(child, 0), 2], -1)
    great = np.where(grandchild >= 0, tree[np.maximum(grandchild, 0), 2], -1)
    nested = np.flatnonzero((child >= 0) & (grandchild >= 0) & (great < 0))
    found = []
    for index in nested:
        contour = _points(contours[index])
        child, grandchild = tree[index][2], tree[tree[index][2]][2]
        _, _, w, h = cv2.boundingRect(contour)
        if w * h < min_area:
            continue
        outer = cv2.contourArea(contour)
        if outer < min_area:
            continue
        rings = [contour, _points(contours[child]), _points(contours[grandchild])]
        middle = cv2.contourArea(rings[1])
        inner = cv2.contourArea(rings[2])
        if not (0.25 <= middle / outer <= 0.8 and 0.05 <= inner / outer <= 0.42):
            continue
        hull = cv2.convexHull(contour)
        if outer / max(cv2.contourArea(hull), 1) < 0.8:
            continue
        _, (rw, rh), turn = cv2.minAreaRect(contour)
        if max(rw, rh) > 2.6 * max(min(rw, rh), 1):
            continue
        centres = [_centroid(ring) for ring in rings]
        spread = max(math.dist(centres[0], c) for c in centres[1:])
        if spread > 0.18 * math.sqrt(outer):
            continue
        found.append(Finder(centres[0][0], centres[0][1], math.sqrt(outer), float(turn) % 90))
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
        # one timing pattern is enough: glare, a scratch or a curl of the paper can hide the other;
        # but then the finders' squares must run along both legs (two finders of one code and
        # one of its neighbour, turned otherwise, show the first code's timing pattern too)
        if gray is not None:
            timings = (_timing_ok(gray, a, b, c), _timing_ok(gray, a, c, b))
            if not any(timings) or (not all(timings) and not _squares_along_legs(a, b, c)):
                continue
        ab = (b.x - a.x, b.y - a.y)
        ac = (c.x - a.x, c.y - a.y)
        if ab[0] * ac[1] - ab[1] * ac[0] < 0:  # make b the top-right one
            b, c = c, b
        triples.append((a, b, c))
        used |= {id(a), id(b), id(c)}
    return triples


#: how far (degrees) a finder's square may turn from the legs of its triple (perspective
#: shears the squares of one code a little; a neighbouring code's are turned anyhow)
LEG_SLACK = 15.0


def _squares_along_legs(a: Finder, b: Finder, c: Finder) -> bool:
    """True when every finder's square (where measured) has its sides along the triple's legs
    (a the corner finder; b and c at the ends of its legs)."""

    def direction(p: Finder, q: Finder) -> float:
        return math.degrees(math.atan2(q.y - p.y, q.x - p.x)) % 90

    def off(f: Finder, leg: float) -> float:
        if f.angle is None:
            return 0.0
        d = abs(f.angle - leg) % 90
        return min(d, 90 - d)

    ab, ac = direction(a, b), direction(a, c)
    return max(off(a, ab), off(a, ac), off(b, ab), off(c, ac)) <= LEG_SLACK


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


def _downscaled(gray: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    h, w = gray.shape
    factor = max(h, w) / longest
    if factor <= 1:
        return gray, 1.0
    size = (max(1, round(w / factor)), max(1, round(h / factor)))  # a thin strip keeps a row
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return small, w / small.shape[1]
