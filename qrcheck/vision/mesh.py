"""A local mesh of module centres for codes on crumpled or curved paper.

The homography of a symbol's corners puts every module where flat paper would have it. On a
crumpled posting (or a code printed on cloth) the modules drift from there by a fraction of a
module, differently from place to place, and a fixed grid samples the edges between them:
zxing-cpp's grid, fitted to the finders and the alignment pattern, misreads more codewords
than the error correction restores.

The mesh finds where the modules really are from the edges between them. In a rectified crop
the edges lie a module apart: the gradient magnitude, demodulated at the module frequency and
summed over a window, has a phase that is the local offset of the module grid (in x from the
vertical edges, in y from the horizontal ones). Windows from wide to narrow (MESH_FITS) refine
a smooth displacement field step by step: a wide window cannot wrap by a whole module where a
narrow one alone would, and a narrow one follows the creases a wide one smooths over.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from qrcheck.vision.shapes import CROP_MARGIN

#: the fits tried in turn: each a sequence of Gaussian windows (sigma, in modules), wide to
#: narrow, each refining the displacement the previous ones left; the second fit starts
#: narrower, for creases a window of 6 modules averages away
MESH_FITS: tuple[tuple[float, ...], ...] = ((6.0, 3.0, 1.5), (3.0, 1.5))

#: pixels per module of the resampled grid the edges are measured on (a 3x3 gradient needs a
#: few pixels a module; more only costs time)
MESH_PX = 6

#: coherence (|sum of phasors| / sum of magnitudes) below which a window's phase is trusted
#: only in part: a window of one colour (a finder's centre, the quiet zone) has no edges
COHERENCE = 0.25


def _grid(crop: np.ndarray, n: int, margin: float) -> tuple[float, float]:
    """(origin, module) of a rectified crop's module grid, in crop pixels."""
    size = crop.shape[0] / (1 + 2 * margin)
    return size * margin, size / n


def _edges(crop: np.ndarray, n: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The gradient magnitude across x and across y of the symbol and one module round it,
    resampled to MESH_PX pixels a module: pixel i's centre lies at (i + 0.5) / MESH_PX - 1
    modules from the symbol's edge."""
    origin, module = _grid(crop, n, margin)
    scale = MESH_PX / module
    side = (n + 2) * MESH_PX
    shift = -(origin - module) * scale - 0.5
    matrix = np.float32([[scale, 0, shift], [0, scale, shift]])
    source = crop.astype(np.float32)
    if scale < 1:  # against aliasing: the warp samples, it does not average
        source = cv2.GaussianBlur(source, (0, 0), 0.5 / scale)
    small = cv2.warpAffine(
        source, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    gx = np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3))
    return gx, gy


def _phase_step(
    magnitude: np.ndarray, along: np.ndarray, field: np.ndarray, window: float
) -> np.ndarray:
    """The residual grid offset (modules, per cell of the n + 2 grid) along the axis `along`
    counts modules on, left by `field`: the phase of the edges demodulated at the module
    frequency, relative to the grid `field` already moves, summed over a Gaussian window of
    `window` modules; trusted in part where the window's edges are not coherent."""
    cells = field.shape[0]
    dense = cv2.resize(field, magnitude.shape[::-1], interpolation=cv2.INTER_LINEAR)
    phase = (2 * math.pi) * (along - dense)
    real = magnitude * np.cos(phase)
    imag = magnitude * np.sin(phase)
    # per cell means (an exact reduction: the grid has MESH_PX pixels a cell)
    sums = [
        cv2.resize(a, (cells, cells), interpolation=cv2.INTER_AREA) for a in (real, imag, magnitude)
    ]
    blurred = [cv2.GaussianBlur(s, (0, 0), window, borderType=cv2.BORDER_CONSTANT) for s in sums]
    re, im, total = blurred
    coherence = np.hypot(re, im) / np.maximum(total, 1e-6)
    # edges at u = k + offset give phasors exp(2 pi i offset): the angle is the offset
    step = np.arctan2(im, re) / (2 * math.pi)
    return (step * np.clip(coherence / COHERENCE, 0, 1)).astype(np.float32)


def _fit(
    edges: tuple[np.ndarray, np.ndarray], n: int, windows: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) in modules, (n, n), from the edges `_edges` measured, over `windows`."""
    gx, gy = edges
    cells = n + 2
    u = ((np.arange(cells * MESH_PX, dtype=np.float32) + 0.5) / MESH_PX - 1)[None, :]
    along_x = np.ascontiguousarray(np.broadcast_to(u, gx.shape))
    along_y = np.ascontiguousarray(along_x.T)
    dx = np.zeros((cells, cells), np.float32)
    dy = np.zeros((cells, cells), np.float32)
    for window in windows:
        dx = dx + _phase_step(gx, along_x, dx, window)
        dy = dy + _phase_step(gy, along_y, dy, window)
    return dy[1:-1, 1:-1], dx[1:-1, 1:-1]


def mesh_fit(
    crop: np.ndarray, n: int, windows: Sequence[float], margin: float = CROP_MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """The displacement of a rectified symbol's module grid (symbol in the middle, `margin` of
    its side round it, `n` modules a side) from where the crop's corners put it: (dy, dx) in
    modules, each (n, n), one per module, refined over `windows` (Gaussian sigmas in modules,
    wide to narrow)."""
    return _fit(_edges(crop, n, margin), n, windows)


def mesh_centres(
    crop: np.ndarray,
    n: int,
    windows: Sequence[float] = MESH_FITS[0],
    margin: float = CROP_MARGIN,
) -> np.ndarray:
    """The centre of every module of a rectified symbol as the mesh places it: (n, n, 2), the
    (y, x) in crop pixels of the module at (row, col)."""
    dy, dx = mesh_fit(crop, n, windows, margin)
    return _centres(crop, n, dy, dx, margin)


def _centres(crop: np.ndarray, n: int, dy: np.ndarray, dx: np.ndarray, margin: float) -> np.ndarray:
    origin, module = _grid(crop, n, margin)
    index = np.arange(n, dtype=np.float32) + 0.5
    rows, cols = np.meshgrid(index, index, indexing="ij")
    return np.stack([origin + (rows + dy) * module, origin + (cols + dx) * module], axis=-1).astype(
        np.float32
    )


def mesh_fits(crop: np.ndarray, n: int, margin: float = CROP_MARGIN) -> Iterator[np.ndarray]:
    """The module centres of each fit of MESH_FITS in turn (as `mesh_centres` gives them; the
    edges measured once), for a reader to stop at the first that decodes."""
    edges = _edges(crop, n, margin)
    for windows in MESH_FITS:
        dy, dx = _fit(edges, n, windows)
        yield _centres(crop, n, dy, dx, margin)


def mesh_modules(
    crop: np.ndarray, centres: np.ndarray, smooth: np.ndarray | None = None
) -> np.ndarray:
    """Dark (True) or light, each module sampled at its mesh centre (the crop smoothed by a
    quarter module) against the mean of its neighbourhood, some 2-3 modules round it: the
    shading of a crease is slower than that. `smooth`: the smoothed crop, when already made
    (`readers._smoothed`)."""
    n = centres.shape[0]
    if smooth is None:
        module = float(np.median(np.diff(centres[:, :, 1], axis=1)))
        smooth = cv2.GaussianBlur(crop, (0, 0), max(0.5, module / 4)).astype(np.float32)
    values = cv2.remap(
        smooth,
        np.ascontiguousarray(centres[:, :, 1]),
        np.ascontiguousarray(centres[:, :, 0]),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    mean = cv2.GaussianBlur(values, (0, 0), max(1.5, n / 12))
    return values < mean
