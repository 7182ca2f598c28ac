"""Our own postings: where a posting's code should be and none was found, the remains of one.

A posting that hung long enough can lose its code to fading while the rest of the card (its
paper, header and title) is still plainly there: no finder pattern survives for `locate.py` or
`locate_faint.py` to start from. But qrcheck printed that posting itself (`posting.py`), so it
knows where the code must be. This pass:

1. finds posting cards in the photo, cheaply enough for every photo: on a copy about 500 px
   across, regions between thin edges whose convex hull is a quadrilateral with the A5 aspect
   ratio (portrait or landscape, perspective allowed), brighter than a band around them. Only
   cards that hold no code found so far go further: their sides are then found on the finer
   copy the finder search uses (the outermost paper-to-board step at a few dozen points along
   each side, a line through them), so pins, shadows or a torn corner do not move the corners.
2. maps the posting's layout (`layout.qr_square_mm`, the one definition `posting.py` and
   `simulate.py` draw from) through the card's homography, for either end of the card up.
3. rectifies the card in linear light (4 px per mm) and asks, with everything measured against
   the card's own blank paper beside the code (the side margins, which the layout leaves
   empty), whether the remains of a code are there:
   - the side margins are blank (a text notice fails here: its text runs across them), and so
     is the quiet zone around the symbol; the card carries text above the code (header, title);
   - module-scale texture (block averages about one module wide, minus their surroundings three
     modules wide) in the symbol's square, well above the margins' noise in part of it, and
     spread wider than one finder pattern (a lone mark or logo is no code);
   - that texture is QR-like: its edges run along the card's axes, about as many across as
     along, and stop every module or few. Text has mostly vertical strokes plus curves and
     diagonals; a seal, a photo, a stain or noise has no preferred direction; ruled lines and
     tables run on.
   Only then is an undecoded symbol reported at the expected corners (quiet zone excluded),
   located by "posting-layout". Its version is unknown: the corners assume the version
   postings usually carry (version 8; versions 7 to 9 differ by 1 mm); the grade fits the
   version itself.

The photo stays untouched, and the whole pass reports nothing on a card of the posting's shape
whose code area is blank paper, on text notices, or anywhere off a card.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from qrcheck.printing.layout import A5_MM, MARGIN_MM, qr_square_mm
from qrcheck.printing.symbol import QUIET_ZONE

#: the detector named in `Located.located_by`
LAYOUT = "posting-layout"
#: the long side of the copy cards are looked for on
CARD_SIDE = 500
#: the shortest side a card may have, as a share of the photo's long side
CARD_MIN = 0.08
#: A5 (and every ISO A size): long side / short side
ASPECT = A5_MM[1] / A5_MM[0]
#: how far perspective may stretch the outline's side ratio
ASPECT_SLACK = 1.25
#: rectified card resolution, pixels per mm
PX_MM = 4.0
#: the version the corners of a reported symbol assume (qrcheck's postings carry version 7-8
#: for portal links; the symbol's side changes by 1 mm from version 7 to 9)
ASSUMED_VERSION = 8
#: the smallest module (photo pixels) worth reporting: below it no grade can see the print
MIN_MODULE_PX = 2.0
#: tile side (mm) on which texture is measured: about four modules
TILE_MM = 5.0
#: a tile holds remains when its texture is this many times the margins' (RMS)
TEXTURED = 3.0
#: evidence needed: textured tiles in the symbol square, and their share of QR-like direction
MIN_TILES = 2
#: and they must reach this many tiles apart (along either axis): a finder pattern alone,
#: 7 modules (8 mm) wide, touches 3 at most
MIN_SPAN_TILES = 4
MIN_EXCESS = 60.0  # summed excess power (in units of the margins' noise power)
MIN_AXIAL = 0.35  # 4-fold direction share (1: every edge along the axes; 0: no preference)
#: the 4-fold share less the |2-fold share| (0: as many horizontal edges as vertical ones):
#: module edges keep about 0.5, text about 0 (mostly vertical strokes, curves and diagonals)
MIN_AXIAL_NET = 0.25
#: edges that run on (ruled lines, a table's grid) rather than stop at module corners: the share
#: of edge energy left after averaging each edge over LINE_MM along itself
LINE_MM = 6.0
MAX_LINES = 0.8
#: the blank paper beside the code may hold this share of textured tiles (a scratch, a speck)
MARGIN_SPECKS = 0.1
QUIET_SPECKS = 0.15
#: tiles with text the card must show above its code (header, title): it is one of ours
MIN_TEXT_TILES = 3

_SRGB = np.arange(256) / 255.0
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4).astype(
    np.float32
)


@dataclass(frozen=True)
class Remains:
    """The evidence that a card's code area holds what is left of a code."""

    corners: np.ndarray  # the symbol's corners (no quiet zone) in photo pixels, TL TR BR BL
    tiles: int  # textured tiles in the symbol's square
    excess: float  # their summed excess power over the margins' noise
    axial: float  # the 4-fold (axis-aligned) direction share of their edges
    skew: float  # the 2-fold share (vertical against horizontal edges)
    lines: float  # the share of edge energy in edges that run on (ruled lines)
    module_px: float


# ---------------------------------------------------------------------------------------------
# cards


def find_cards(reduced: tuple[np.ndarray, float]) -> list[np.ndarray]:
    """Outlines (4x2, photo pixels, clockwise from the top-left) of A5-shaped bright cards."""
    rough, blurred, to_photo = _rough_cards(reduced)
    found = (_refined(reduced, quad * to_photo) for quad in rough if _bright(blurred, quad))
    return [card for card in found if card is not None]


def smallest_card_px() -> float:
    """The shortest side (photo pixels) of a card whose code `remains_on_card` can report: below
    it the symbol's modules, at the assumed version, are smaller than MIN_MODULE_PX."""
    _, _, side = symbol_square_mm()
    return MIN_MODULE_PX * (17 + 4 * ASSUMED_VERSION) * A5_MM[0] / side


#: how much shorter than `smallest_card_px` a card's outline may look and still be searched:
#: the symbol's module follows the mean of its sides, while a card's outline is foreshortened
#: along one axis by at most 0.8 (its side ratio must stay within ASPECT_SLACK) and its opposite
#: sides differ by at most 1.3: its shortest side is then at least 0.77 of `smallest_card_px`
CARD_SLACK = 0.72


def can_hold_card(shape: tuple[int, ...]) -> bool:
    """True when a photo of this shape can hold a card whose code the layout pass reports: a
    photo smaller than that (most single-code snapshots) is spared the card search."""
    short = CARD_SLACK * smallest_card_px()
    return min(shape[:2]) >= short and max(shape[:2]) >= short * ASPECT


def _rough_cards(
    reduced: tuple[np.ndarray, float], min_px: float = 0.0
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Card outlines on the coarse copy, that copy (blurred) and its scale to photo pixels.
    Whether each is brighter than its surroundings is left to `_bright`, asked only of the
    cards that go further. `min_px`: the shortest card side (photo pixels) worth outlining."""
    image, scale = reduced
    small = image
    # halving (OpenCV's fastest way down) while both sides stay usable: a thin strip of a
    # photo holds no card anyway
    while max(small.shape) > CARD_SIDE and min(small.shape) >= 16:
        small = cv2.resize(
            small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA
        )
    to_photo = np.array([image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]])
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    # regions between thin edges, 4-connected (an 8-connected edge line stops them): the
    # header and pins near a card's edge stay apart from it
    edges = cv2.Canny(blurred, 20, 60)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(255 - edges, connectivity=4)
    sh, sw = small.shape
    min_side = max(CARD_MIN * max(sh, sw), min_px / (scale * float(to_photo.max())))
    cards = []
    # the size tests on every region at once: edges cut a photo into thousands of regions
    bw, bh, area = stats[:, 2], stats[:, 3], stats[:, 4]
    box = bw.astype(np.int64) * bh
    fit = (np.minimum(bw, bh) >= min_side) & (box <= 0.95 * sh * sw) & (area >= 0.3 * box)
    for index in np.flatnonzero(fit[1:]) + 1:
        x, y, bw, bh, _ = stats[index]
        mask = (labels[y : y + bh, x : x + bw] == index).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        quad = _card_quad(max(contours, key=len) + np.array([x, y], np.int32))
        if quad is not None:
            cards.append(quad)
    return cards, blurred, to_photo * scale


def _refined(reduced: tuple[np.ndarray, float], rough: np.ndarray) -> np.ndarray | None:
    """A rough outline's corners (photo pixels) fitted on the reduced copy, or None."""
    image, scale = reduced
    coarse = max(image.shape) / CARD_SIDE if max(image.shape) > CARD_SIDE else 1.0
    refined = _refine(image, rough / scale, coarse, EDGE_REACH * coarse)
    return None if refined is None else refined * scale


def _card_quad(contour: np.ndarray) -> np.ndarray | None:
    """The outline's convex hull as a quadrilateral of A5 proportions (clockwise from the
    top-left). Pins and text near the edge bite into the outline, never into its hull; a
    corner cut off (torn, folded) leaves a fifth side, dropped here."""
    hull = cv2.convexHull(contour)
    area = cv2.contourArea(hull)
    if area <= 0 or cv2.contourArea(contour) < 0.85 * area:
        return None
    corners = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2)
    corners = corners.astype(np.float64)
    if len(corners) == 5:
        lengths = [np.linalg.norm(corners[(i + 1) % 5] - corners[i]) for i in range(5)]
        cut = int(np.argmin(lengths))
        if lengths[cut] > 0.25 * sorted(lengths)[2]:
            return None
        # the two sides beside the cut meet where the corner was
        lines = [(corners[i], corners[(i + 1) % 5] - corners[i]) for i in range(5) if i != cut]
        met = _meet(lines)
        if met is None:
            return None
        corners = met
    if len(corners) != 4:
        return None
    sides = [float(np.linalg.norm(corners[(i + 1) % 4] - corners[i])) for i in range(4)]
    a, b = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    ratio = max(a, b) / max(min(a, b), 1e-9)
    if not ASPECT / ASPECT_SLACK <= ratio <= ASPECT * ASPECT_SLACK:
        return None
    # perspective makes opposite sides differ, not by much for a photo of a board
    if max(sides[0], sides[2]) > 1.3 * min(sides[0], sides[2]):
        return None
    if max(sides[1], sides[3]) > 1.3 * min(sides[1], sides[3]):
        return None
    return _clockwise(corners)


def _line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)
    return np.array([x0[0], y0[0]], np.float64), np.array([vx[0], vy[0]], np.float64)


def _meet(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    """Corner i where side i-1 and side i (each a point and a direction) meet."""
    out = []
    for i in range(len(lines)):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        matrix = np.array([d1, -d2]).T
        if abs(np.linalg.det(matrix)) < 1e-6 * np.linalg.norm(d1) * np.linalg.norm(d2):
            return None
        s = np.linalg.solve(matrix, p2 - p1)
        out.append(p1 + s[0] * d1)
    return np.array(out)


#: points along each side where the edge is looked for, and how far across it (coarse pixels:
#: the outline found on the coarse copy runs inside the edge, and pins near the top corners can
#: pull it further in)
EDGE_POINTS = 24
EDGE_REACH = 3.0


def _refine(image: np.ndarray, quad: np.ndarray, coarse: float, reach: float) -> np.ndarray | None:
    """The corners on the finer image: on each side, the outermost strong bright-to-dark step
    across it at a few dozen points, a line fitted through them, the corners where they meet."""
    steps = np.arange(-reach, reach + 0.5, 0.5)
    p, q = quad, np.roll(quad, -1, axis=0)
    length = np.linalg.norm(q - p, axis=1)
    u = (q - p) / length[:, None]
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    inward = np.einsum("ij,ij->i", n, quad.mean(axis=0) - p) > 0
    n[inward] *= -1  # outward
    # away from the corners (pins, shadows and torn paper round them); three parallel profiles
    # half a coarse pixel apart, averaged, against noise and the board's texture
    t = np.linspace(0.12, 0.88, EDGE_POINTS)
    at = p[:, None, :] + (t[None, :, None] * length[:, None, None]) * u[:, None, :]  # 4 x P x 2
    across = np.array([-0.5, 0.0, 0.5]) * coarse
    pts = (
        at[:, :, None, None, :]
        + across[None, None, :, None, None] * u[:, None, None, None, :]
        + steps[None, None, None, :, None] * n[:, None, None, None, :]
    )  # 4 x P x 3 x S x 2
    flat = pts.reshape(4 * EDGE_POINTS, -1, 2).astype(np.float32)
    values = cv2.remap(
        image, flat[..., 0], flat[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)
    values = values.reshape(4 * EDGE_POINTS, 3, len(steps)).mean(axis=1)
    values = cv2.GaussianBlur(values, (0, 0), sigmaX=max(0.7, coarse / 2), sigmaY=0.01)
    depth = np.maximum(-np.diff(values, axis=1), 0)  # outward, paper to board: a drop
    last = depth.shape[1] - 1
    strong = depth >= 0.5 * depth.max(axis=1, keepdims=True)
    k = last - np.argmax(strong[:, ::-1], axis=1)  # the outermost strong drop
    rows = np.arange(len(k))
    for _ in range(3):  # up to the steepest point of that drop
        k = np.where((k > 0) & (depth[rows, np.maximum(k - 1, 0)] > depth[rows, k]), k - 1, k)
        k = np.where((k < last) & (depth[rows, np.minimum(k + 1, last)] > depth[rows, k]), k + 1, k)
    found = depth[rows, k].reshape(4, EDGE_POINTS)
    edge = at + (steps[k] + 0.25).reshape(4, EDGE_POINTS, 1) * n[:, None, :]
    lines = []
    for side in range(4):
        good = found[side] >= max(4.0, 0.4 * float(np.median(found[side])))
        if good.sum() < EDGE_POINTS // 2:
            return None
        lines.append(_line(edge[side][good]))
    refined = _meet(lines)
    if refined is None or np.abs(refined - quad).max() > 2 * reach:
        return None
    return refined


def _clockwise(quad: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL by position in the image."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]
    return np.roll(quad, -int(np.argmin(quad.sum(axis=1))), axis=0)


def _bright(image: np.ndarray, quad: np.ndarray) -> bool:
    """Paper: the card is brighter than a band just outside it, and not dark itself."""
    centre = quad.mean(axis=0)
    outer = centre + 1.12 * (quad - centre)
    h, w = image.shape
    x0, y0 = np.clip(np.floor(outer.min(axis=0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(outer.max(axis=0)).astype(int) + 1, 0, [w, h])
    crop = image[y0:y1, x0:x1]
    shift = np.array([x0, y0])
    mask = np.zeros(crop.shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(outer - shift).astype(np.int32), 1)
    cv2.fillConvexPoly(mask, np.round(quad - shift).astype(np.int32), 2)
    inside, ring = crop[mask == 2], crop[mask == 1]
    if inside.size == 0 or ring.size < 20:
        return False
    paper = float(np.percentile(inside, 75))
    return paper >= 90 and paper > float(np.median(ring)) + 12


# ---------------------------------------------------------------------------------------------
# the layout on a card


def _card_homography(card: np.ndarray, turn: int) -> np.ndarray:
    """Card millimetres (portrait, header up) -> photo pixels, the card turned `turn` times."""
    quad = np.roll(card, -turn, axis=0)
    if np.linalg.norm(quad[1] - quad[0]) > np.linalg.norm(quad[3] - quad[0]):
        quad = np.roll(quad, 1, axis=0)  # landscape in the photo: its short side is on top
    w, h = A5_MM
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return cv2.getPerspectiveTransform(src, quad.astype(np.float32))


def _project(matrix: np.ndarray, points) -> np.ndarray:
    pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, matrix).reshape(-1, 2)


def symbol_square_mm(version: int = ASSUMED_VERSION) -> tuple[float, float, float]:
    """(left, top, side) of the symbol itself (quiet zone excluded) on an A5 posting, in mm."""
    left, top, side = qr_square_mm()
    n = 17 + 4 * version
    quiet = side * QUIET_ZONE / (n + 2 * QUIET_ZONE)
    return left + quiet, top + quiet, side - 2 * quiet


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in card mm


def _rectify(
    gray: np.ndarray, reduced: tuple[np.ndarray, float], matrix: np.ndarray, box: Box
) -> np.ndarray:
    """A box of the card (mm) in linear light at PX_MM pixels per mm, taken from the photo or
    its reduced copy, whichever is nearest that resolution without falling below it."""
    x0, y0, x1, y1 = box
    size = (round((x1 - x0) * PX_MM), round((y1 - y0) * PX_MM))
    to_card = np.array([[1 / PX_MM, 0, x0], [0, 1 / PX_MM, y0], [0, 0, 1]])  # px -> card mm
    photo_px_mm = math.sqrt(abs(np.linalg.det(_jacobian(matrix, ((x0 + x1) / 2, (y0 + y1) / 2)))))
    source, factor = gray, 1.0
    if photo_px_mm / reduced[1] >= PX_MM * 0.9:
        source, factor = reduced
    to_source = np.diag([1 / factor, 1 / factor, 1.0]) @ matrix @ to_card
    out = cv2.warpPerspective(
        source,
        to_source,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return _LINEAR[out]


def _jacobian(matrix: np.ndarray, at: tuple[float, float]) -> np.ndarray:
    x, y = at
    d = 1e-3
    p = _project(matrix, [(x, y), (x + d, y), (x, y + d)])
    return np.array([(p[1] - p[0]) / d, (p[2] - p[0]) / d]).T


class _Texture:
    """Module-scale texture of a box of a rectified card, relative to its paper: the power of
    block averages about one module wide minus their surroundings three modules wide; with
    `directions`, also the edges' |g|^2, |g|^2 cos(2 theta) and |g|^2 cos(4 theta)."""

    def __init__(self, card: np.ndarray, box: Box, directions: bool) -> None:
        self.origin = box[:2]
        # paper: the brightest level around, a few mm wide (at a quarter of the resolution)
        h, w = card.shape
        quarter = cv2.resize(card, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        quarter = cv2.morphologyEx(quarter, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        quarter = cv2.GaussianBlur(quarter, (0, 0), 2.0)
        rel = card / np.maximum(cv2.resize(quarter, (w, h), interpolation=cv2.INTER_LINEAR), 1e-4)
        module = max(1, round(1.2 * PX_MM))
        high = cv2.blur(rel, (module, module)) - cv2.blur(rel, (3 * module, 3 * module))
        planes = [high * high]
        if directions:
            smooth = cv2.GaussianBlur(rel, (0, 0), 0.2 * PX_MM)
            gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
            gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
            gx2, gy2 = gx * gx, gy * gy
            m2 = gx2 + gy2
            c2 = gx2 - gy2
            # edges that run on: each gradient averaged along its edge over LINE_MM
            run = round(LINE_MM * PX_MM)
            along = cv2.blur(gy, (run, 1)) ** 2 + cv2.blur(gx, (1, run)) ** 2
            planes += [m2, c2, (c2 * c2 - 4 * gx2 * gy2) / np.maximum(m2, 1e-12), along]
        self.planes = np.dstack(planes)

    def tiles(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """The planes' means over TILE_MM tiles of a box (card mm), one row per tile; a box
        thinner than a tile is one tile deep."""
        ox, oy = self.origin
        side = round(TILE_MM * PX_MM)
        box = self.planes[
            round((y0 - oy) * PX_MM) : round((y1 - oy) * PX_MM),
            round((x0 - ox) * PX_MM) : round((x1 - ox) * PX_MM),
        ]
        th, tw = min(side, box.shape[0]), min(side, box.shape[1])
        ny, nx = box.shape[0] // th, box.shape[1] // tw
        box = box[: ny * th, : nx * tw]
        depth = box.shape[2]
        return box.reshape(ny, th, nx, tw, depth).mean(axis=(1, 3)).reshape(-1, depth)


def remains_on_card(
    gray: np.ndarray, reduced: tuple[np.ndarray, float], matrix: np.ndarray
) -> Remains | None:
    """The remains of a code where the posting with this homography (card mm -> photo px)
    prints it; None when the evidence is not there (see the module docstring). The cheapest
    questions first: most cards that are not ours fail at the margins or the square."""
    left, top, side = qr_square_mm()
    sx, sy, sside = symbol_square_mm()
    corners = _project(
        matrix, [(sx, sy), (sx + sside, sy), (sx + sside, sy + sside), (sx, sy + sside)]
    )
    module_px = float(
        np.mean([np.linalg.norm(corners[(i + 1) % 4] - corners[i]) for i in range(4)])
    ) / (17 + 4 * ASSUMED_VERSION)
    if module_px < MIN_MODULE_PX:
        return None
    w = A5_MM[0]
    band = (MARGIN_MM, top - 1.0, w - MARGIN_MM, top + side + 1.0)
    tex = _Texture(_rectify(gray, reduced, matrix, band), band, directions=True)
    # the blank paper beside the code: the side margins between the page margin and the code
    inset = 2.0
    margins = np.concatenate(
        [
            tex.tiles(MARGIN_MM + inset, top, left - inset, top + side),
            tex.tiles(left + side + inset, top, w - MARGIN_MM - inset, top + side),
        ]
    )
    noise = float(np.median(margins[:, 0]))
    if not noise > 0:
        return None
    threshold = TEXTURED**2 * noise
    if np.mean(margins[:, 0] > threshold) > MARGIN_SPECKS:
        return None  # something printed beside the code area: not our layout
    # the symbol's square: module texture clearly above the margins' in part of it
    square = tex.tiles(sx, sy, sx + sside, sy + sside)
    marked = square[:, 0] > threshold
    textured = square[marked]
    excess = float(np.sum(textured[:, 0] / noise - 1))
    if len(textured) < MIN_TILES or excess < MIN_EXCESS:
        return None
    # spread wider than one finder pattern (8 mm): a lone mark or logo is no code
    per_row = round(math.sqrt(len(square)))
    rows, cols = np.divmod(np.flatnonzero(marked), per_row)
    if max(np.ptp(rows), np.ptp(cols)) + 1 < MIN_SPAN_TILES:
        return None
    # the quiet zone: the outer band of the code's square, clear of the symbol's texture
    # (the texture filter reaches 1.9 mm: the band keeps that far from the symbol, about 5 mm
    # in, and from the title and the caption beyond the square, 3 mm and more out)
    depth, edge = 1.8, 0.8
    x0, y0, x1, y1 = left + edge, top + edge, left + side - edge, top + side - edge
    ring = np.concatenate(
        [
            tex.tiles(x0, y0, x1, y0 + depth),
            tex.tiles(x0, y1 - depth, x1, y1),
            tex.tiles(x0, y0, x0 + depth, y1),
            tex.tiles(x1 - depth, y0, x1, y1),
        ]
    )
    if np.mean(ring[:, 0] > threshold) > QUIET_SPECKS:
        return None
    # QR-like edges: along the card's axes, as many across as along
    energy = float(np.sum(textured[:, 1] - np.median(margins[:, 1])))
    if energy <= 0:
        return None
    axial = float(np.sum(textured[:, 3])) / energy
    skew = float(np.sum(textured[:, 2])) / energy
    if axial < MIN_AXIAL or axial - abs(skew) < MIN_AXIAL_NET:
        return None
    # module edges stop every module or few (the colours are random); ruled lines run on
    lines = float(np.sum(textured[:, 4] - np.median(margins[:, 4]))) / energy
    if lines > MAX_LINES:
        return None
    # text above the code (header, title): the card is one of our postings
    head = (MARGIN_MM + inset, MARGIN_MM, w - MARGIN_MM - inset, top - 2.0)
    text = _Texture(_rectify(gray, reduced, matrix, head), head, directions=False)
    if np.count_nonzero(text.tiles(*head)[:, 0] > threshold) < MIN_TEXT_TILES:
        return None
    return Remains(corners, len(textured), excess, axial, skew, lines, module_px)


def layout_remains(
    gray: np.ndarray,
    reduced: tuple[np.ndarray, float],
    taken: Sequence[tuple[float, float]],
) -> list[Remains]:
    """Remains of codes on posting cards that hold none of the `taken` points (centres of the
    codes already located); the cards' corners are only refined for those. Cards too small
    for a code `remains_on_card` could report are not looked for."""
    found: list[Remains] = []
    if not can_hold_card(gray.shape):
        return found
    rough, blurred, to_photo = _rough_cards(reduced, CARD_SLACK * smallest_card_px())
    for quad in rough:
        contour = (quad * to_photo).astype(np.float32).reshape(-1, 1, 2)
        if any(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in taken):
            continue
        card = _refined(reduced, quad * to_photo) if _bright(blurred, quad) else None
        if card is None:
            continue
        best = None
        for turn in (0, 2):
            remains = remains_on_card(gray, reduced, _card_homography(card, turn))
            if remains is not None and (best is None or remains.excess > best.excess):
                best = remains
        if best is not None:
            found.append(best)
    return found
