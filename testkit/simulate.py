"""Synthetic postings and phone photos of boards, for samples, tests and benchmarks.

Everything here is deterministic given a seed: every function that draws at random takes `rng`
(a `numpy.random.Generator`, an int seed, or None for seed 0) and never touches global random
state. Pure numpy, OpenCV and PIL.

The physical model, in the order things happen to a posting:

1. `render_posting` prints an A5 card (Be Vietnam Pro text, the QR at 70 mm) on white paper.
2. `age_print` ages the print on the board. All of it is done in linear light (reflectance):
   fading is a loss of ink *density* (D = -log10 R, D shrinks by `fade`, so dark areas rise
   toward paper white), yellowing tints the paper, scratches lift ink, a stain absorbs light, a
   torn corner removes paper (the card gains an alpha channel).
3. `photograph` pins the cards on a cork or painted board, looks at it through a pinhole camera
   tilted in a random direction, lights it unevenly (gradient and vignetting), adds lamination
   glare, optical blur, signal-dependent sensor noise, phone sharpening and a JPEG round trip.
   The ground truth (`PlacedCode.corners`) is the symbol's corners carried through every
   geometric step exactly (each card is warped straight from its own pixels to the photo).

`code_image` makes one code on paper with a single chosen distortion, for focused tests of the
reader stack; `board_with_codes` makes a 12-MP photo of many distinct catalog-like codes.

Coordinates: pixel (i, j) covers [j, j+1) x [i, i+1), so the image's top-left corner is (0, 0);
corners are in that convention. (OpenCV warps use pixel centres; `_cv` converts.)
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from qrcheck.i18n import t
from qrcheck.payload import split_payload
from qrcheck.printing.layout import A5_MM, FOOTER_MM, MARGIN_MM, QR_MM
from qrcheck.printing.posting import BOLD, FONT_FILES, REGULAR
from qrcheck.printing.symbol import QUIET_ZONE, Symbol
from qrcheck.printing.symbol import make_symbol as _make_symbol

PT_MM = 25.4 / 72  # one typographic point in millimetres
PAPER = (250, 249, 245)  # sRGB of office paper
INK = (26, 26, 30)  # sRGB of printed black
RngLike = np.random.Generator | int | None
Box = tuple[float, float, float, float]
Card = tuple[np.ndarray, Box, "Condition", str, str]


@dataclass(frozen=True)
class Condition:
    """What happened to one printed posting."""

    fade: float = 0.0  # 0 fresh .. 1 nearly white: ink density loss
    yellowing: float = 0.0  # 0..1 paper yellowing
    scratches: int = 0  # light scratches across the code
    stain: bool = False  # a brownish stain over part of the code
    torn_corner: bool = False  # the card's corner torn off, biting into the code's corner
    glare: float = 0.0  # 0..1 lamination glare: a blown-out bright blob over the code
    invert: bool = False  # light modules on dark
    encoder: str = "python-qrcode"  # which encoder printed the code (see ENCODERS)


@dataclass(frozen=True)
class PlacedCode:
    """Ground truth for one code in a rendered photo."""

    payload: str
    corners: tuple[tuple[float, float], ...]  # symbol (no quiet zone) TL, TR, BR, BL; photo px
    condition: Condition
    module_px: float  # approximate module size in the photo
    label: str = ""


#: the encoders a posting can be printed with: qrcheck's own (python-qrcode, through
#: `symbol.make_symbol`) and two independent ones, so that a bench or a test whose postings come
#: from another encoder than qrcheck prints with cannot agree with itself by construction
ENCODERS = ("python-qrcode", "segno", "zxing-cpp")


@cache
def make_symbol(payload: str, encoder: str = "python-qrcode") -> Symbol:
    """`payload` encoded at level Q by `encoder` (one of ENCODERS), remembered (rendering asks
    for the same payload often); "python-qrcode" is `symbol.make_symbol`, qrcheck's own."""
    if encoder == "python-qrcode":
        return _make_symbol(payload)
    from testkit.encoders import encode_auto

    modules = encode_auto(encoder, payload, "Q")
    return Symbol(payload, (modules.shape[0] - 17) // 4, modules)


def as_rng(rng: RngLike) -> np.random.Generator:
    """`rng` itself, or a Generator seeded with it (None means seed 0: still deterministic)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)


# ---------------------------------------------------------------------------------------------
# Colour: sRGB <-> linear light


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_TO_LINEAR = _srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)
_LUT_STEPS = 1 << 14
_grid = np.arange(_LUT_STEPS + 1) / _LUT_STEPS
_TO_SRGB = np.round(
    255 * np.where(_grid <= 0.0031308, _grid * 12.92, 1.055 * _grid ** (1 / 2.4) - 0.055)
).astype(np.uint8)


def to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear reflectance in 0..1."""
    return _TO_LINEAR[image]


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """float linear (clipped to 0..1) -> uint8 sRGB."""
    index = np.clip(linear, 0.0, 1.0).astype(np.float32)
    index *= _LUT_STEPS
    index += 0.5
    return _TO_SRGB[index.astype(np.uint16)]


PAPER_LIN = to_linear(np.array(PAPER, np.uint8))
INK_LIN = to_linear(np.array(INK, np.uint8))


# ---------------------------------------------------------------------------------------------
# Small helpers: noise fields, homographies


def smooth_noise(shape: tuple[int, int], cell: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-deviation noise (float32) whose features are about `cell` pixels wide."""
    h, w = shape
    cell = max(cell, 1.0)
    gh, gw = int(h / cell) + 3, int(w / cell) + 3
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(small, (round(gw * cell), round(gh * cell)), interpolation=cv2.INTER_CUBIC)
    field = big[:h, :w]
    return (field - field.mean()) / (field.std() + 1e-6)


def _fractal(shape: tuple[int, int], cells: Sequence[float], rng: np.random.Generator):
    """Sum of `smooth_noise` octaves, weighted by their size, renormalised to unit deviation."""
    total = sum(c**0.5 * smooth_noise(shape, c, rng) for c in cells)
    return total / (total.std() + 1e-6)


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _rotate(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


def _scale(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


def project(m: np.ndarray, points) -> np.ndarray:
    """Points (N, 2) through the homography `m`."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.c_[pts, np.ones(len(pts))] @ m.T
    return out[:, :2] / out[:, 2:3]


def _cv(m: np.ndarray) -> np.ndarray:
    """A pixel-edge homography as OpenCV wants it (pixel centres at integers)."""
    return _translate(-0.5, -0.5) @ m @ _translate(0.5, 0.5)


def _corners_of(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


def _side_px(corners: np.ndarray) -> float:
    return float(np.mean(np.linalg.norm(corners - np.roll(corners, -1, axis=0), axis=1)))


def _placed(payload: str, corners: np.ndarray, condition: Condition, label: str) -> PlacedCode:
    """Ground truth, rounded to what JSON needs (0.01 px corners)."""
    rounded = tuple((round(float(x), 2), round(float(y), 2)) for x, y in corners)
    module_px = round(_side_px(corners) / make_symbol(payload, condition.encoder).size, 3)
    return PlacedCode(payload, rounded, condition, module_px, label)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


# ---------------------------------------------------------------------------------------------
# Printing a posting


@cache
def _font_bytes(bold: bool) -> bytes:
    folder = resources.files("qrcheck").joinpath("fonts")
    return folder.joinpath(FONT_FILES[BOLD if bold else REGULAR]).read_bytes()


@cache
def posting_font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled Be Vietnam Pro at `size_px` pixels (PIL)."""
    return ImageFont.truetype(io.BytesIO(_font_bytes(bold)), max(6, size_px))


def _wrap_words(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def _wrap_link(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break a link into lines that fit, preferring breaks after / ? & = - . #"""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and font.getlength(current + char) > width:
            cut = max(current.rfind(c) for c in "/?&=-.#")
            cut = cut + 1 if cut > len(current) // 2 else len(current)
            lines.append(current[:cut])
            current = current[cut:]
        current += char
    return [*lines, current] if current else lines


def _draw_lines(draw, lines: Sequence[str], font, cx: float, y: float, leading=1.22) -> float:
    """Centred lines from top `y` down; returns the y below the last one."""
    for line in lines:
        draw.text((cx, y), line, font=font, fill=INK, anchor="ma")
        y += font.size * leading
    return y


def draw_symbol(card: np.ndarray, symbol: Symbol, x: int, y: int, side: int) -> Box:
    """Print `symbol` (quiet zone included) as a `side`-pixel square at (x, y) of an RGB array,
    antialiased in linear light; returns the symbol's box without the quiet zone."""
    total = symbol.size + 2 * QUIET_ZONE
    k = max(2, math.ceil(4 * side / total))
    light = cv2.resize(
        symbol.bitmap(k).astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_AREA
    )
    linear = INK_LIN + (PAPER_LIN - INK_LIN) * light[..., None]
    card[y : y + side, x : x + side] = to_srgb(linear)
    unit = side / total
    q, n = QUIET_ZONE, symbol.size
    return (x + q * unit, y + q * unit, x + (q + n) * unit, y + (q + n) * unit)


def render_posting(
    code: str,
    name: str,
    field: str,
    center: str,
    payload: str,
    px_per_mm: float = 6.0,
    *,
    qr_mm: float = QR_MM,
    print_date: date | None = None,
    lang: str = "vi",
    encoder: str = "python-qrcode",
) -> tuple[np.ndarray, Box]:
    """An A5 posting card (RGB uint8) laid out like `posting.draw_posting`, and the box
    (x0, y0, x1, y1) of its QR symbol in card pixels, without the quiet zone; the code is made
    by `encoder` (one of ENCODERS: a posting printed by another tool than qrcheck)."""
    s = px_per_mm
    w, h = round(A5_MM[0] * s), round(A5_MM[1] * s)
    image = Image.new("RGB", (w, h), PAPER)
    draw = ImageDraw.Draw(image)
    margin, cx = MARGIN_MM * s, w / 2
    inner = w - 2 * margin

    def font(points: float, bold: bool = False) -> ImageFont.FreeTypeFont:
        return posting_font(round(points * PT_MM * s), bold)

    def nfc(text: str) -> str:
        return unicodedata.normalize("NFC", text)

    head = font(10.5, bold=True)
    y = _draw_lines(draw, _wrap_words(nfc(center).upper(), head, inner), head, cx, margin)
    y += 2 * s
    draw.line([(margin, y), (w - margin, y)], fill=INK, width=max(1, round(0.25 * s)))
    y += 2.5 * s
    label = font(10)
    text = nfc(t("posting.code_field", lang, code=code, field=field))
    y = _draw_lines(draw, _wrap_words(text, label, inner), label, cx, y) + 2 * s

    qr_px = round(qr_mm * s)
    qr_top = round(h - margin - FOOTER_MM * s - qr_px)
    room = qr_top - 3 * s - y
    for points in np.arange(17, 6, -0.5):
        title = font(points, bold=True)
        lines = _wrap_words(nfc(name), title, inner)
        if len(lines) * title.size * 1.25 <= room:
            break
    _draw_lines(draw, lines, title, cx, y + max(0.0, (room - len(lines) * title.size * 1.25) / 2))

    link, tag = split_payload(payload)
    y = qr_top + qr_px + 1.5 * s
    scan = font(11, bold=True)
    y = _draw_lines(draw, _wrap_words(nfc(t("posting.scan", lang)), scan, inner), scan, cx, y)
    small = font(7.5)
    _draw_lines(draw, _wrap_link(link, small, inner), small, cx, y + 1 * s)
    when = print_date.strftime("%d/%m/%Y") if print_date else "—"
    foot = font(6.5)
    draw.text(
        (cx, h - margin),
        t("posting.printed", lang, date=when, tag=tag or "—"),
        font=foot,
        fill=INK,
        anchor="md",
    )

    card = np.array(image)
    symbol = make_symbol(payload, encoder)
    box = draw_symbol(card, symbol, round((w - qr_px) / 2), qr_top, qr_px)
    return card, box


def render_sticker(
    payload: str, caption: str, px_per_mm: float = 6.0, size_mm: tuple[float, float] = (74, 94)
) -> tuple[np.ndarray, Box]:
    """A glossy sticker (like the fake ones pasted over official codes): a coloured band with a
    bold caption and a QR code; returns it with its symbol box."""
    s = px_per_mm
    w, h = round(size_mm[0] * s), round(size_mm[1] * s)
    image = Image.new("RGB", (w, h), (252, 252, 252))
    draw = ImageDraw.Draw(image)
    band = round(16 * s)
    draw.rectangle([0, 0, w, band], fill=(196, 30, 36))
    bold = posting_font(round(9 * PT_MM * s), bold=True)
    lines = _wrap_words(unicodedata.normalize("NFC", caption).upper(), bold, w - 6 * s)
    y = (band - len(lines) * bold.size * 1.2) / 2 + 0.1 * bold.size
    for line in lines:
        draw.text((w / 2, y), line, font=bold, fill=(255, 240, 200), anchor="ma")
        y += bold.size * 1.2
    card = np.array(image)
    side = round(min(w - 6 * s, h - band - 6 * s))
    box = draw_symbol(card, make_symbol(payload), round((w - side) / 2), band + round(3 * s), side)
    return card, box


def paste_sticker(
    card: np.ndarray, sticker: np.ndarray, sticker_box: Box, center: tuple[float, float]
) -> tuple[np.ndarray, Box]:
    """`sticker` stuck on `card` with its symbol centred on `center` (card px), with the faint
    shadow of its raised edge; returns the new card and the sticker symbol's box in it."""
    sh, sw = sticker.shape[:2]
    sx0, sy0, sx1, sy1 = sticker_box
    x = round(center[0] - (sx0 + sx1) / 2)
    y = round(center[1] - (sy0 + sy1) / 2)
    out = card.copy()
    lin = to_linear(out[..., :3])
    shadow = np.zeros(lin.shape[:2], np.float32)
    edge = max(1, round(sw / 250))
    shadow[y + edge : y + sh + edge, x + edge : x + sw + edge] = 1
    shadow = cv2.GaussianBlur(shadow, (0, 0), 1.5 * edge)
    lin *= 1 - 0.35 * shadow[..., None]
    out[..., :3] = to_srgb(lin)
    out[y : y + sh, x : x + sw, :3] = sticker[..., :3]
    return out, (sx0 + x, sy0 + y, sx1 + x, sy1 + y)


# ---------------------------------------------------------------------------------------------
# Ageing a print


def _module_px(card: np.ndarray, box: Box) -> float:
    """Module size of a fresh printed code, from the run of its top-left finder (7 modules)."""
    x0, y0, x1, _ = box
    start = math.ceil(x0)
    row = card[int(y0 + 1.5), start : int(x1), :3].mean(axis=1)
    light = np.flatnonzero(row > 128)
    run = light[0] + start - x0 if light.size else (x1 - x0) / 3
    return run / 7


def _invert_code(card: np.ndarray, box: Box) -> np.ndarray:
    """Swap ink and paper inside the code's quiet-zone square (light modules on dark)."""
    out = card.copy()
    q = QUIET_ZONE * _module_px(card, box)
    x0, y0 = max(0, round(box[0] - q)), max(0, round(box[1] - q))
    x1, y1 = round(box[2] + q), round(box[3] + q)
    region = out[y0:y1, x0:x1, :3].astype(np.int16)
    out[y0:y1, x0:x1, :3] = np.clip(np.array(PAPER) + np.array(INK) - region, 0, 255)
    return out


def _fade(lin: np.ndarray, fade: float, rng: np.random.Generator) -> np.ndarray:
    """Density loss: D = -log(R / paper) shrinks by `fade` (a little unevenly, and the dye's
    blue-absorbing part lasts longest, so faded black turns brownish)."""
    h, w = lin.shape[:2]
    amount = np.clip(fade * (1 + 0.08 * smooth_noise((h, w), w / 3, rng)), 0, 1)[..., None]
    keep = (1 - amount) ** np.array([1.0, 0.97, 0.9], np.float32)  # density kept, per channel
    ratio = np.clip(lin / PAPER_LIN, 1e-4, 1.0)
    return PAPER_LIN * ratio**keep


def _yellow(lin: np.ndarray, yellowing: float, rng: np.random.Generator) -> np.ndarray:
    h, w = lin.shape[:2]
    uneven = 1 + 0.25 * smooth_noise((h, w), w / 4, rng)[..., None]
    loss = np.array([0.05, 0.12, 0.42], np.float32) * yellowing * uneven
    return lin * np.clip(1 - loss, 0, 1)


def _stain(lin: np.ndarray, box: Box, rng: np.random.Generator) -> np.ndarray:
    """A dried coffee-like stain over part of the code: soft body, darker rim."""
    h, w = lin.shape[:2]
    side = box[2] - box[0]
    cx = rng.uniform(box[0] + 0.2 * side, box[2] - 0.2 * side)
    cy = rng.uniform(box[1] + 0.2 * side, box[3] - 0.2 * side)
    r = rng.uniform(0.18, 0.3) * side
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, ang = rng.uniform(0.7, 1.3), rng.uniform(0, math.pi)
    dx, dy = xx - cx, yy - cy
    u, v = dx * math.cos(ang) + dy * math.sin(ang), -dx * math.sin(ang) + dy * math.cos(ang)
    dist = np.hypot(u * a, v / a) / r + 0.12 * smooth_noise((h, w), r / 2, rng)
    body = np.clip((1 - dist) * 8, 0, 1)
    rim = np.exp(-(((dist - 0.97) / 0.05) ** 2))
    alpha = (0.45 * body + 0.4 * rim)[..., None]
    colour = np.array([0.78, 0.55, 0.3], np.float32)  # transmittance of the dried stain
    return lin * (1 - alpha * (1 - colour))


def _scratches(lin: np.ndarray, box: Box, count: int, px_mm: float, rng: np.random.Generator):
    """Light, slightly curved scratches across the code: ink lifted to bare paper."""
    h, w = lin.shape[:2]
    mask = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    side = x1 - x0
    for _ in range(count):
        angle = rng.uniform(0, math.pi)
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        half = rng.uniform(0.35, 0.8) * side
        d = np.array([math.cos(angle), math.sin(angle)])
        ts = np.linspace(-half, half, 8)
        bow = rng.uniform(-0.04, 0.04) * side * (1 - (ts / half) ** 2)
        pts = np.c_[cx + ts * d[0] - bow * d[1], cy + ts * d[1] + bow * d[0]]
        width = max(1, round(rng.uniform(0.15, 0.5) * px_mm))
        cv2.polylines(
            mask, [np.round(pts * 16).astype(np.int32)], False, 1.0, width, cv2.LINE_AA, shift=4
        )
    mask = cv2.GaussianBlur(mask, (0, 0), 0.6) * 0.9
    return lin + mask[..., None] * (PAPER_LIN * 1.02 - lin)


def _tear(card_shape: tuple[int, int], box: Box, px_mm: float, rng: np.random.Generator):
    """(alpha, fringe) of a corner torn off the card through the code's bottom-right corner."""
    h, w = card_shape
    bite = rng.uniform(0.1, 0.18) * (box[2] - box[0])
    dx, dy = w - (box[2] - bite), h - (box[3] - bite)  # the tear passes this far from the corner
    a, b = 2 * dx, 2 * dy
    ts = np.linspace(0, 1, 60)
    line = np.c_[w - a * (1 - ts), h - b * ts]
    normal = np.array([b, a]) / math.hypot(a, b)
    wobble = np.cumsum(rng.normal(0, 0.35 * px_mm, len(ts)))
    wobble -= np.linspace(wobble[0], wobble[-1], len(ts))
    line += (wobble + rng.normal(0, 0.25 * px_mm, len(ts)))[:, None] * normal
    poly = np.vstack([line, [(w + 5, h - b - 5), (w + 5, h + 5), (w - a - 5, h + 5)]])
    hole = np.zeros((h, w), np.uint8)
    cv2.fillPoly(hole, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    size = max(3, round(1.2 * px_mm)) | 1
    fringe = cv2.dilate(hole, np.ones((size, size), np.uint8)).astype(np.float32) / 255
    alpha = 1 - hole.astype(np.float32) / 255
    return alpha, np.clip(fringe - (1 - alpha), 0, 1)


def age_print(
    card: np.ndarray,
    qr_box: Box,
    condition: Condition,
    rng: RngLike = None,
    px_per_mm: float | None = None,
) -> np.ndarray:
    """The card after `condition` happened to it (RGB uint8; RGBA when a corner is torn off,
    alpha 0 where the paper is gone). `px_per_mm` defaults to an A5 card's."""
    rng = as_rng(rng)
    px_mm = px_per_mm or card.shape[1] / A5_MM[0]
    rgb = _invert_code(card, qr_box) if condition.invert else card[..., :3]
    lin = to_linear(rgb[..., :3])
    if condition.fade:
        lin = _fade(lin, condition.fade, rng)
    if condition.yellowing:
        lin = _yellow(lin, condition.yellowing, rng)
    if condition.scratches:
        lin = _scratches(lin, qr_box, condition.scratches, px_mm, rng)
    if condition.stain:
        lin = _stain(lin, qr_box, rng)
    if not condition.torn_corner:
        return to_srgb(lin)
    alpha, fringe = _tear(lin.shape[:2], qr_box, px_mm, rng)
    lin += fringe[..., None] * (PAPER_LIN * 1.03 - lin)  # torn paper shows its white core
    return np.dstack([to_srgb(lin), np.round(alpha * 255).astype(np.uint8)])


# ---------------------------------------------------------------------------------------------
# Photographing a board


def layout_grid(n: int, frame: tuple[int, int], cell_mm: tuple[float, float], gap_mm: float):
    """(columns, rows) that show `n` cells of `cell_mm` largest in a frame of `frame` pixels."""

    def scale(cols: int) -> float:
        rows = -(-n // cols)
        width = cols * cell_mm[0] + (cols - 1) * gap_mm
        height = rows * cell_mm[1] + (rows - 1) * gap_mm
        return min(frame[0] / width, frame[1] / height)

    cols = max(range(1, n + 1), key=scale)
    return cols, -(-n // cols)


def grid_extent(cols: int, rows: int, cell_mm: tuple[float, float], gap_mm: float):
    return cols * cell_mm[0] + (cols - 1) * gap_mm, rows * cell_mm[1] + (rows - 1) * gap_mm


def _place_cards(sizes_mm: Sequence[tuple[float, float]], frame, gap_mm, rng):
    """Board transforms (card mm -> board mm, board centred on the grid) and the grid extent."""
    cell = (max(s[0] for s in sizes_mm), max(s[1] for s in sizes_mm))
    cols, rows = layout_grid(len(sizes_mm), frame, cell, gap_mm)
    placements = []
    for i, (cw, ch) in enumerate(sizes_mm):
        row, col = divmod(i, cols)
        in_row = min(cols, len(sizes_mm) - row * cols)
        x = (col - (in_row - 1) / 2) * (cell[0] + gap_mm) + rng.uniform(-0.2, 0.2) * gap_mm
        y = (row - (rows - 1) / 2) * (cell[1] + gap_mm) + rng.uniform(-0.2, 0.2) * gap_mm
        angle = rng.uniform(-2.5, 2.5)
        placements.append(_translate(x, y) @ _rotate(angle) @ _translate(-cw / 2, -ch / 2))
    return placements, grid_extent(cols, rows, cell, gap_mm)


def _camera(extent_mm, frame, tilt_deg: float, fill: float, rng) -> np.ndarray:
    """Homography board mm (origin at the grid centre) -> photo px: a phone (~26 mm-equivalent
    lens) tilted `tilt_deg` about a random axis, at the distance that makes the grid fill
    `fill` of the frame, the grid centred."""
    w, h = frame
    f = 0.78 * max(w, h)
    phi = rng.uniform(0, 2 * math.pi)
    axis = np.array([math.cos(phi), math.sin(phi), 0.0]) * math.radians(tilt_deg)
    rot = cv2.Rodrigues(axis)[0] @ _rotate(rng.uniform(-2, 2))
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    gw, gh = extent_mm
    grid = np.array([(-gw / 2, -gh / 2), (gw / 2, -gh / 2), (gw / 2, gh / 2), (-gw / 2, gh / 2)])
    distance = f * max(gw / w, gh / h) / fill
    for _ in range(6):
        m = k @ np.c_[rot[:, :2], [0, 0, distance]]
        pts = project(m, grid)
        span = pts.max(axis=0) - pts.min(axis=0)
        distance *= max(span[0] / (fill * w), span[1] / (fill * h))
    m = k @ np.c_[rot[:, :2], [0, 0, distance]]
    pts = project(m, grid)
    shift = np.array([w / 2, h / 2]) - (pts.max(axis=0) + pts.min(axis=0)) / 2
    return _translate(*shift) @ m


def _texture(kind: str, shape, px_mm: float, rng) -> np.ndarray:
    """Linear-light texture (float32): "cork", a "painted" steel notice board, or the "wall"."""
    if kind == "cork":
        base = to_linear(np.array([170, 122, 78], np.uint8))
        grain = _fractal(shape, [0.6 * px_mm, 1.5 * px_mm], rng)
        tone = np.exp(0.16 * smooth_noise(shape, 20 * px_mm, rng) + 0.2 * grain)
        tone[grain < -2.0] *= 0.6
        tone[grain > 2.1] *= 1.25
        return base * tone[..., None]
    colour = (150, 172, 186) if kind == "painted" else (222, 216, 200)
    tone = 1 + 0.03 * _fractal(shape, [1.0 * px_mm, 40 * px_mm], rng)
    return to_linear(np.array(colour, np.uint8)) * tone[..., None]


def _background(h_board, frame, extent_mm, card_outlines, kind: str, rng) -> np.ndarray:
    """The wall with the board (cork or painted, in an aluminium frame) and the cards' soft
    shadows, rendered in the board plane and seen through `h_board`; linear RGB float32."""
    w, h = frame
    inv = np.linalg.inv(h_board)
    seen = project(inv, [(0, 0), (w, 0), (w, h), (0, h)])
    lo, hi = np.clip(seen.min(axis=0), -3000, 3000), np.clip(seen.max(axis=0), -3000, 3000)
    centre_scale = math.sqrt(abs(np.linalg.det(h_board[:2, :2] / h_board[2, 2])))
    px_mm = min(3.5, centre_scale, math.sqrt(5e6 / np.prod(hi - lo)))
    tw, th = (np.ceil((hi - lo) * px_mm)).astype(int)
    to_photo = h_board @ _translate(*lo) @ _scale(1 / px_mm)
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    bx, by = xx / px_mm + lo[0], yy / px_mm + lo[1]
    gw, gh = extent_mm[0] / 2 + 45, extent_mm[1] / 2 + 45
    board = (np.abs(bx) < gw) & (np.abs(by) < gh)
    frame_band = (np.abs(bx) < gw + 16) & (np.abs(by) < gh + 16) & ~board
    tex = _texture("wall", (th, tw), px_mm, rng)
    tex[board] = _texture(kind, (th, tw), px_mm, rng)[board]
    tex[frame_band] = to_linear(np.array([168, 170, 172], np.uint8))  # aluminium
    tex *= _shadows((th, tw), card_outlines, lo, px_mm, rng)[..., None]
    return cv2.warpPerspective(
        tex.astype(np.float32),
        _cv(to_photo),
        frame,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


def _shadows(shape, outlines, lo, px_mm, rng) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    offset = np.array([rng.uniform(-1.5, 1.5), rng.uniform(1.5, 3.5)])
    for outline in outlines:
        pts = (outline + offset - lo) * px_mm
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(mask, (0, 0), 2.5 * px_mm)
    return 1 - 0.45 * mask


def _warp_card(photo, card: np.ndarray, to_photo: np.ndarray):
    """Composite `card` (RGB or RGBA uint8) into the linear `photo` through `to_photo` (card px
    -> photo px); returns (y0, y1, x0, x1, alpha) of the region it covers."""
    h, w = card.shape[:2]
    fh, fw = photo.shape[:2]
    pts = project(to_photo, [(0, 0), (w, 0), (w, h), (0, h)])
    x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - 2, 0, [fw, fh])
    x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + 2, 0, [fw, fh])
    if x1 <= x0 or y1 <= y0:
        return None
    lin = to_linear(card[..., :3])
    alpha = (
        card[..., 3:4].astype(np.float32) / 255
        if card.shape[2] == 4
        else np.ones_like(lin[..., :1])
    )
    rgba = np.concatenate([lin * alpha, alpha], axis=2)  # premultiplied
    shrink = math.sqrt(abs(np.linalg.det(_jacobian(to_photo, (w / 2, h / 2)))))
    if shrink < 0.8:  # antialias before downsampling
        rgba = cv2.GaussianBlur(rgba, (0, 0), 0.45 * math.sqrt(1 / shrink**2 - 1))
    m = _cv(_translate(-x0, -y0) @ to_photo)
    out = cv2.warpPerspective(
        rgba,
        m,
        (int(x1 - x0), int(y1 - y0)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    a = out[..., 3:4]
    region = photo[y0:y1, x0:x1]
    region[:] = region * (1 - a) + out[..., :3]
    return y0, y1, x0, x1, a[..., 0]


def _jacobian(m: np.ndarray, p) -> np.ndarray:
    """2x2 derivative of the homography `m` at point p."""
    e = 0.5
    base = project(m, [p])[0]
    dx = project(m, [(p[0] + e, p[1])])[0] - base
    dy = project(m, [(p[0], p[1] + e)])[0] - base
    return np.c_[dx, dy] / e


def _pin(photo, centre, radius: float, colour) -> None:
    """A push pin's round head, shaded, with a highlight and a small shadow."""
    r = max(radius, 2.0)
    x0, y0 = int(centre[0] - 2 * r), int(centre[1] - 2 * r)
    x1, y1 = int(centre[0] + 2.5 * r), int(centre[1] + 2.5 * r)
    fh, fw = photo.shape[:2]
    if x0 < 0 or y0 < 0 or x1 > fw or y1 > fh:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    d = np.hypot(xx - centre[0], yy - centre[1]) / r
    ds = np.hypot(xx - centre[0] - 0.35 * r, yy - centre[1] - 0.5 * r) / r
    region = photo[y0:y1, x0:x1]
    region *= (1 - 0.5 * np.clip(1.3 - ds, 0, 1) ** 0.7)[..., None]
    cover = np.clip((1 - d) * r + 0.5, 0, 1)[..., None]
    shade = (0.5 + 0.5 * np.sqrt(np.clip(1 - d**2, 0, 1)))[..., None]
    spot = np.exp(
        -((np.hypot(xx - centre[0] + 0.3 * r, yy - centre[1] + 0.35 * r) / (0.22 * r)) ** 2)
    )
    head = to_linear(np.array(colour, np.uint8)) * shade + 0.7 * spot[..., None]
    region[:] = region * (1 - cover) + head * cover


def _lighting(frame, gradient: float, rng) -> np.ndarray:
    """Illumination: a linear gradient in a random direction times lens vignetting."""
    w, h = frame
    sw, sh = max(8, w // 16), max(8, h // 16)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    u, v = (xx + 0.5) / sw - 0.5, (yy + 0.5) / sh - 0.5
    ang = rng.uniform(0, 2 * math.pi)
    ramp = (u * math.cos(ang) + v * math.sin(ang)) / 0.7
    light = (1 + gradient * ramp) * (1 - 0.35 * (u**2 + v**2) / 0.5)
    light = cv2.resize(light, frame, interpolation=cv2.INTER_CUBIC)
    return light / light.max()


def _glare(photo, corners: np.ndarray, strength: float, window, rng) -> None:
    """A blown-out elongated reflection (a ceiling tube in the lamination) over part of a code,
    limited to the card it lies on."""
    y0, y1, x0, x1, alpha = window
    side = _side_px(corners)
    centre = corners.mean(axis=0) + rng.uniform(-0.25, 0.25, 2) * side
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    ang = rng.uniform(0, math.pi)
    dx, dy = xx - centre[0], yy - centre[1]
    u = (dx * math.cos(ang) + dy * math.sin(ang)) / (rng.uniform(0.3, 0.45) * side)
    v = (-dx * math.sin(ang) + dy * math.cos(ang)) / (rng.uniform(0.12, 0.2) * side)
    r2 = u**2 + v**2
    blob = 2.5 * np.exp(-(r2**2)) + 0.25 * np.exp(-r2 / 6)
    photo[y0:y1, x0:x1] += (strength * blob * alpha)[..., None]


def _finish(lin: np.ndarray, blur_px, noise, sharpen, jpeg_quality, rng) -> np.ndarray:
    """Optics and sensor: blur, signal-dependent noise, tone curve, sharpening, JPEG."""
    if blur_px > 0:
        lin = cv2.GaussianBlur(lin, (0, 0), blur_px)
    if noise > 0:
        sigma = np.clip(lin, 0, None)  # shot noise (variance ~ signal) plus read noise
        sigma *= noise**2
        sigma += (0.3 * noise) ** 2
        np.sqrt(sigma, out=sigma)
        sigma *= rng.standard_normal(lin.shape, dtype=np.float32)
        lin = lin + sigma
    srgb = to_srgb(lin)
    if sharpen > 0:
        soft = cv2.GaussianBlur(srgb, (0, 0), 1.6)
        srgb = cv2.addWeighted(srgb, 1 + sharpen, soft, -sharpen, 0)
    return _jpeg(srgb, jpeg_quality) if jpeg_quality else srgb


PIN_COLOURS = ((200, 30, 40), (30, 80, 190), (240, 190, 20), (30, 150, 70), (235, 235, 235))


def photograph(
    cards: Sequence[Card],
    size: tuple[int, int] = (4000, 3000),
    rng: RngLike = None,
    *,
    perspective_deg: float = 12.0,
    light_gradient: float = 0.35,
    noise: float = 0.02,
    blur_px: float = 1.0,
    jpeg_quality: int | None = 88,
    px_per_mm: float = 6.0,
    fill: float = 0.88,
    gap_mm: float = 28.0,
    board: str = "cork",
    sharpen: float = 0.4,
    pins: bool = True,
) -> tuple[np.ndarray, list[PlacedCode]]:
    """A phone photo (RGB uint8, `size` = (width, height)) of `cards` pinned on a board, and the
    ground truth of every code on them.

    `cards` are (card image, symbol box, condition, label, payload), as `render_posting` and
    `age_print` make them, all printed at `px_per_mm`. The camera tilts up to `perspective_deg`
    in a random direction; `light_gradient` is the brightness variation across the frame;
    `noise` the sensor noise (linear light at full scale); `blur_px` the optical blur (sigma);
    `jpeg_quality` None skips the JPEG round trip; `board` is "cork" or "painted"; `fill` the
    share of the frame the grid of cards spans; `sharpen` the phone's unsharp-mask amount;
    `pins` push pins at the cards' top corners. Glare comes from each card's condition.
    """
    rng = as_rng(rng)
    frame = (int(size[0]), int(size[1]))
    sizes = [(c[0].shape[1] / px_per_mm, c[0].shape[0] / px_per_mm) for c in cards]
    placements, extent = _place_cards(sizes, frame, gap_mm, rng)
    tilt = rng.uniform(0.5, 1.0) * perspective_deg
    h_board = _camera(extent, frame, tilt, fill, rng)
    outlines = [
        project(p, [(0, 0), (w, 0), (w, h), (0, h)])
        for p, (w, h) in zip(placements, sizes, strict=True)
    ]
    photo = _background(h_board, frame, extent, outlines, board, rng)

    placed: list[PlacedCode] = []
    windows = []
    for (card, box, condition, label, payload), place in zip(cards, placements, strict=True):
        to_photo = h_board @ place @ _scale(1 / px_per_mm)
        windows.append(_warp_card(photo, card, to_photo))
        corners = project(to_photo, _corners_of(box))
        placed.append(_placed(payload, corners, condition, label))
    if pins:
        for place, (w, _) in zip(placements, sizes, strict=True):
            colour = PIN_COLOURS[rng.integers(len(PIN_COLOURS))]
            for x in (9.0, w - 9.0):
                at = project(h_board @ place, [(x, 7.0)])[0]
                radius = 4.5 * math.sqrt(abs(np.linalg.det(_jacobian(h_board, (0, 0)))))
                _pin(photo, at, radius, colour)

    tint = rng.uniform(-0.05, 0.07)
    light = _lighting(frame, light_gradient, rng)[..., None]
    photo *= light * (np.array([1 + tint, 1.0, 1 - tint], np.float32) * 0.93 / PAPER_LIN.max())
    for code, window in zip(placed, windows, strict=True):
        if code.condition.glare > 0 and window is not None:
            _glare(photo, np.array(code.corners), code.condition.glare, window, rng)
    image = _finish(photo, blur_px, noise, sharpen, jpeg_quality, rng)
    return image, placed


# ---------------------------------------------------------------------------------------------
# One code, one distortion


def _blots(refl: np.ndarray, n: int, k: int, margin: int, damage: float, rng) -> None:
    """Blot `damage` of the symbol's modules (finder patterns spared) with ink or paper disks."""
    covered = np.zeros((n, n), bool)
    spared = np.zeros((n, n), bool)
    spared[:8, :8] = spared[:8, -8:] = spared[-8:, :8] = True
    target = damage * (~spared).sum()
    my, mx = np.mgrid[0:n, 0:n] + 0.5
    for _ in range(500):
        if covered[~spared].sum() >= target:
            break
        cx, cy = rng.uniform(0, n, 2)
        if spared[int(cy), int(cx)]:
            continue
        r = rng.uniform(1.2, 3.0)
        covered |= np.hypot(mx - cx, my - cy) <= r
        value = float(refl.max() if rng.random() < 0.5 else refl.min())
        centre = (round((cx + margin) * k * 16), round((cy + margin) * k * 16))
        cv2.circle(refl, centre, round(r * k * 16), value, -1, cv2.LINE_AA, shift=4)


def _flat_code(symbol: Symbol, k: int, margin: int, contrast: float, invert: bool) -> np.ndarray:
    """Reflectance (float32, one channel) of the code on paper: k px per module, `margin`
    modules of paper around the symbol."""
    dark = np.pad(symbol.modules, margin, constant_values=False)
    if invert:
        q = slice(margin - QUIET_ZONE, margin + symbol.size + QUIET_ZONE)
        dark[q, q] = ~dark[q, q]
    paper = float(PAPER_LIN.mean())
    refl = np.where(dark, paper * (1 - contrast), paper).astype(np.float32)
    return np.kron(refl, np.ones((k, k), np.float32))


@dataclass(frozen=True)
class _Sheet:
    """A sheet of paper (units: modules, origin at the code centre) seen by a pinhole camera:
    tilted about a random axis, rotated in plane, optionally bent round a vertical cylinder of
    `radius` (bulging away from the camera)."""

    rot: np.ndarray
    focal: float
    distance: float
    radius: float  # math.inf: flat

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Sheet points (N, 2) -> image points relative to the principal point."""
        u, v = uv[:, 0], uv[:, 1]
        if math.isinf(self.radius):
            x, z = u, np.zeros_like(u)
        else:
            x, z = (
                self.radius * np.sin(u / self.radius),
                self.radius * (1 - np.cos(u / self.radius)),
            )
        p = np.c_[x, v, z] @ self.rot.T + [0, 0, self.distance]
        return self.focal * p[:, :2] / p[:, 2:3]

    def to_sheet(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image points (relative to the principal point) -> (sheet points, missed mask)."""
        dx, dy = xy[:, 0] / self.focal, xy[:, 1] / self.focal
        a = np.stack(
            [dx * self.rot[0, i] + dy * self.rot[1, i] + self.rot[2, i] for i in range(3)], 1
        )
        b = -self.rot.T @ np.array([0, 0, self.distance])  # camera centre, sheet frame
        if math.isinf(self.radius):
            s = -b[2] / a[:, 2]
            missed = np.zeros(len(xy), bool)
        else:  # nearest intersection with x^2 + (z - r)^2 = r^2
            r, bz = self.radius, b[2] - self.radius
            qa = a[:, 0] ** 2 + a[:, 2] ** 2
            qb = 2 * (a[:, 0] * b[0] + a[:, 2] * bz)
            qc = b[0] ** 2 + bz**2 - r**2
            disc = qb**2 - 4 * qa * qc
            missed = disc < 0
            s = (-qb - np.sqrt(np.clip(disc, 0, None))) / (2 * qa)
        p = s[:, None] * a + b
        u = (
            p[:, 0]
            if math.isinf(self.radius)
            else self.radius * np.arctan2(p[:, 0], self.radius - p[:, 2])
        )
        return np.c_[u, p[:, 1]], missed


def _sheet(side: float, module_px: float, tilt_deg, rotate_deg, curve: float, rng) -> _Sheet:
    """A phone ~1.8 code widths away (so perspective is as strong as close up), tilted
    `tilt_deg` about a random axis; `curve` 1 bends the code over 120 degrees of arc."""
    phi = rng.uniform(0, 2 * math.pi)
    axis = np.array([math.cos(phi), math.sin(phi), 0.0]) * math.radians(tilt_deg)
    rot = cv2.Rodrigues(axis)[0] @ _rotate(rotate_deg)
    focal = 1.8 * side * module_px
    radius = side / 2 / (curve * math.radians(60)) if curve > 0 else math.inf
    return _Sheet(rot, focal, focal / module_px, radius)


def code_image(
    payload: str,
    module_px: float = 6,
    contrast: float = 1.0,
    blur_px: float = 0,
    noise: float = 0,
    tilt_deg: float = 0,
    rotate_deg: float = 0,
    curve: float = 0,
    glare: float = 0,
    invert: bool = False,
    shadow: float = 0,
    damage: float = 0,
    jpeg_quality: int | None = None,
    canvas: tuple[int, int] | None = None,
    rng: RngLike = None,
) -> tuple[np.ndarray, PlacedCode]:
    """One code on paper (RGB uint8) and its ground truth.

    `contrast` = (paper - ink) / paper in reflectance (1.0 black on white, 0.15 very faded);
    `tilt_deg` perspective tilt about a random axis (up to ~45); `rotate_deg` in-plane rotation;
    `curve` 0..1 bends the paper round a vertical cylinder (1: the code spans 120 degrees of it);
    `glare` 0..1 a blown-out spot; `shadow` 0..1 a soft shadow edge and uneven light;
    `damage` the fraction of modules under ink or paper blots (finders spared); `canvas` the
    image size (width, height), default the code with 6 modules of paper round its quiet zone.
    """
    rng = as_rng(rng)
    symbol = make_symbol(payload)
    n, q = symbol.size, QUIET_ZONE
    margin = q + 12
    k = max(8, math.ceil(2 * module_px))
    refl = _flat_code(symbol, k, margin, contrast, invert)
    if damage > 0:
        _blots(refl, n, k, margin, damage, rng)
    if k > module_px:
        refl = cv2.GaussianBlur(refl, (0, 0), 0.45 * k / module_px)

    sheet = _sheet(n + 2 * q, module_px, tilt_deg, rotate_deg, curve, rng)
    edge = np.linspace(-n / 2 - q - 6, n / 2 + q + 6, 41)
    ends = np.full_like(edge, edge[-1])
    ring = np.r_[np.c_[edge, -ends], np.c_[edge, ends], np.c_[-ends, edge], np.c_[ends, edge]]
    seen = sheet.to_image(ring)
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    if canvas is None:
        canvas = (math.ceil(hi[0] - lo[0]), math.ceil(hi[1] - lo[1]))
    shift = np.array(canvas) / 2 - (lo + hi) / 2

    w, h = canvas
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    plane, missed = sheet.to_sheet(np.c_[xx.ravel(), yy.ravel()] - shift)
    mx = ((plane[:, 0] + n / 2 + margin) * k - 0.5).reshape(h, w).astype(np.float32)
    my = ((plane[:, 1] + n / 2 + margin) * k - 0.5).reshape(h, w).astype(np.float32)
    mx[missed.reshape(h, w)] = -10
    paper = float(PAPER_LIN.mean())
    lin = cv2.remap(
        refl, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=paper
    )
    square = np.array([(-n / 2, -n / 2), (n / 2, -n / 2), (n / 2, n / 2), (-n / 2, n / 2)])
    corners = sheet.to_image(square) + shift
    lin = lin * _code_light((h, w), shadow, rng) * np.float32(0.93 / paper)
    if glare > 0:
        full = (0, h, 0, w, np.ones((h, w), np.float32))
        lin3 = np.repeat(lin[..., None], 3, axis=2)
        _glare(lin3, corners, glare, full, rng)
        lin = lin3[..., 0]
    rgb = np.repeat(lin[..., None], 3, axis=2) * (PAPER_LIN / PAPER_LIN.mean())
    image = _finish(rgb.astype(np.float32), blur_px, noise, 0.0, jpeg_quality, rng)
    condition = Condition(fade=round(1 - contrast, 3), glare=glare, invert=invert)
    return image, _placed(payload, corners, condition, "code_image")


def _code_light(shape: tuple[int, int], shadow: float, rng) -> np.ndarray:
    """Uneven light for `code_image`: a soft shadow edge across the frame plus a gradient."""
    h, w = shape
    if shadow <= 0:
        return np.ones(shape, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - w / 2) * math.cos(ang) + (yy - h / 2) * math.sin(ang)) / max(w, h)
    offset = rng.uniform(-0.15, 0.15)
    edge = 1 / (1 + np.exp(-(ramp - offset) / 0.04))
    return ((1 - 0.75 * shadow * edge) * (1 - 0.3 * shadow * ramp)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Many codes in one photo

_NAMES = (
    ("Hộ tịch", "Thủ tục đăng ký khai sinh"),
    ("Hộ tịch", "Thủ tục đăng ký kết hôn"),
    ("Chứng thực", "Thủ tục chứng thực bản sao từ bản chính giấy tờ, văn bản"),
    ("Bảo trợ xã hội", "Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở, sửa chữa nhà ở"),
    ("Đất đai", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất"),
    ("Người có công", "Thủ tục giải quyết chế độ ưu đãi đối với người có công với cách mạng"),
)
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def catalog_like_payloads(n: int, rng: RngLike = None) -> list[str]:
    """`n` distinct portal links with version tags, shaped like the catalog's payloads."""
    rng = as_rng(rng)
    out: list[str] = []
    while len(out) < n:
        hexes = "".join(rng.choice(list("0123456789abcdef"), 28))
        uid = f"019d2bfd-{hexes[:4]}-7{hexes[4:7]}-b{hexes[7:10]}-{hexes[10:22]}"
        tag = "".join(rng.choice(list(_B32), 6))
        link = f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{uid}#v={tag}"
        if link not in out:
            out.append(link)
    return out


def board_with_codes(
    n: int,
    size: tuple[int, int] = (4000, 3000),
    module_px: float = 5.0,
    rng: RngLike = None,
    encoders: Sequence[str] = ENCODERS,
    **photo_options,
) -> tuple[np.ndarray, list[PlacedCode]]:
    """A photo of `n` postings of distinct catalog-like codes, their printed size chosen so the
    modules come out about `module_px` wide (within what an A5 card allows), the codes made by
    `encoders` in turn (by default qrcheck's own and two others, as real boards mix them).
    `photo_options` go to `photograph` (defaults: 8 degrees of tilt, fresh prints)."""
    rng = as_rng(rng)
    payloads = catalog_like_payloads(n, rng)
    fill, gap = photo_options.pop("fill", 0.92), photo_options.pop("gap_mm", 20.0)
    cols, rows = layout_grid(n, size, A5_MM, gap)
    scale = fill * min(np.divide(size, grid_extent(cols, rows, A5_MM, gap)))  # photo px per mm
    modules = make_symbol(payloads[0]).size + 2 * QUIET_ZONE
    qr_mm = float(np.clip(module_px / scale * modules, 30, 112))
    px_mm = float(np.clip(1.6 * scale, 3.0, 8.0))
    cards: list[Card] = []
    for i, payload in enumerate(payloads):
        field, name = _NAMES[i % len(_NAMES)]
        code = f"1.{100000 + i * 7919 % 900000:06d}"
        encoder = encoders[i % len(encoders)]
        card, box = render_posting(
            code, name, field, "Trung tâm Phục vụ hành chính công", payload, px_mm, qr_mm=qr_mm,
            encoder=encoder,
        )  # fmt: skip
        cards.append((card, box, Condition(encoder=encoder), code, payload))
    options = {"perspective_deg": 8.0, **photo_options}
    return photograph(cards, size, rng, px_per_mm=px_mm, fill=fill, gap_mm=gap, **options)


def close_codes_board(
    n: int, seed: int, rng: np.random.Generator, gap: float = 0.0, module_px: float = 5.0
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """`n` codes side by side on flat paper (grayscale, untilted), for the reader's hardest
    neighbourhood: sizes `module_px` give or take 30%, quiet zones `gap` modules apart (0:
    touching), each slightly tilted and turned, every fourth a short text (a small code), every
    third damaged past what its error correction restores. Returns the board and each code's
    (text, corners); `rng` is drawn from for the sizes (callers go on drawing from it)."""
    tiles, texts = [], []
    for i, link in enumerate(catalog_like_payloads(n, rng=seed + 100)):
        text = f"QR-{seed}-{i}" if i % 4 == 3 else link
        size = module_px * float(rng.uniform(0.7, 1.3))
        image, truth = code_image(
            text,
            module_px=size,
            rng=seed * 31 + i,
            tilt_deg=float(rng.uniform(0, 15)),
            rotate_deg=float(rng.uniform(0, 360)),
            damage=0.2 if i % 3 == 1 else 0.0,
        )
        gray, corners = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.array(truth.corners)
        # crop to the quiet zone (4 modules) plus half the gap around the symbol
        reach = (4 + gap / 2) * size
        x0, y0 = np.maximum(corners.min(axis=0) - reach, 0).astype(int)
        x1, y1 = np.minimum(corners.max(axis=0) + reach, gray.shape[::-1]).astype(int)
        tiles.append((gray[y0:y1, x0:x1], corners - np.array([x0, y0])))
        texts.append(text)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell_w, cell_h = max(t.shape[1] for t, _ in tiles), max(t.shape[0] for t, _ in tiles)
    margin = 60
    paper = int(np.median(tiles[0][0][:3]))
    board = np.full((rows * cell_h + 2 * margin, cols * cell_w + 2 * margin), paper, np.uint8)
    placed = []
    for i, (tile, corners) in enumerate(tiles):
        x, y = margin + (i % cols) * cell_w, margin + (i // cols) * cell_h
        board[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
        placed.append((texts[i], corners + np.array([x, y])))
    return board, placed
