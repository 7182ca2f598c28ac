"""The shapes the reader works with: a located code, a finder pattern, a candidate square."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Quad = tuple[tuple[float, float], ...]

#: room around a rectified symbol for its quiet zone, as a share of its side (the readers'
#: crops, and the mesh that samples them)
CROP_MARGIN = 0.3


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
    """A finder pattern: its centre and the side of its 7x7-module square, in photo pixels, and
    the direction of the square's sides (degrees, 0-90) where it was measured."""

    x: float
    y: float
    size: float
    angle: float | None = None

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
