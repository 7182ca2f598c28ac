"""Postings printed by others than qrcheck (tests, bench): plain text near a code from another
encoder, in another typeface, in the layouts other offices use.

qrcheck's own layout is `testkit.simulate.render_posting` (drawn like it) and `qrcheck_posting`
(the real posting, rasterised from its PDF); the other cards let a test of the OCR
identification run on text and codes qrcheck did not lay out: "above" (a code line and the
name over the code, portrait), "beside" (the code at the left, the text at its right, landscape)
and "below" (the code first, the text under it). Cards are RGB uint8 like `render_posting`'s,
returned with the symbol's box (no quiet zone), so `simulate.age_print` and
`simulate.photograph` take them.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from qrcheck.printing.symbol import QUIET_ZONE
from testkit.simulate import INK, PAPER, Box, _wrap_words, make_symbol, posting_font

LAYOUTS = ("above", "beside", "below")
#: typefaces other makers print with (those installed that draw every Vietnamese letter);
#: Be Vietnam Pro when none is
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
VIETNAMESE = "ấậạảẫầẩặắằẳẵẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơưĐ"


@functools.cache
def _faces() -> tuple[str, ...]:
    """The installed SYSTEM_FONTS that draw every Vietnamese letter (not the missing-glyph box)."""
    faces = []
    for path in SYSTEM_FONTS:
        if not Path(path).is_file():
            continue
        font = ImageFont.truetype(path, 24)
        missing = bytes(font.getmask("\uffff"))
        if all(bytes(font.getmask(c)) != missing for c in VIETNAMESE):
            faces.append(path)
    return tuple(faces)


@functools.cache
def other_font(size_px: int, face: int = 0) -> ImageFont.FreeTypeFont:
    """A system typeface with Vietnamese letters (the `face`-th usable one, cycling)."""
    faces = _faces()
    if not faces:
        return posting_font(size_px)
    return ImageFont.truetype(faces[face % len(faces)], max(6, size_px))


def plain_posting(
    lines: tuple[str, ...],
    payload: str,
    *,
    layout: str = "above",
    encoder: str = "segno",
    px_per_mm: float = 6.0,
    code_mm: float = 50.0,
    text_mm: float = 5.0,
    ink: tuple[int, int, int] = INK,
    face: int = 0,
) -> tuple[np.ndarray, Box]:
    """A card with `lines` of text (wrapped) set in a system typeface `text_mm` high, near a
    `code_mm` code (quiet zone included) of `payload` made by `encoder`, laid out as `layout`
    (one of LAYOUTS); the text printed in `ink`. Returns the card and the symbol's box."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {LAYOUTS}")
    s = px_per_mm
    margin = round(8 * s)
    code_px = round(code_mm * s)
    font = other_font(round(text_mm * s), face)
    text_w = round((75 if layout == "beside" else max(code_mm + 20, 90)) * s)
    wrapped = [
        w for line in lines for w in _wrap_words(unicodedata.normalize("NFC", line), font, text_w)
    ]
    leading = round(font.size * 1.35)
    text_h = leading * len(wrapped)
    gap = round(6 * s)
    top = round(13 * s)  # room for the push pins at the top corners
    if layout == "beside":
        w = margin * 2 + code_px + gap + text_w
        h = top + margin + max(code_px, text_h)
        code_xy = (margin, top + (h - top - margin - code_px) // 2)
        text_xy = (margin + code_px + gap, top + (h - top - margin - text_h) // 2)
        anchor = "la"
    else:
        w = margin * 2 + max(code_px, text_w)
        h = top + margin + code_px + gap + text_h
        if layout == "above":
            text_xy, code_xy = (w // 2, top), ((w - code_px) // 2, top + text_h + gap)
        else:
            code_xy, text_xy = ((w - code_px) // 2, top), (w // 2, top + code_px + gap)
        anchor = "ma"
    image = Image.new("RGB", (w, h), PAPER)
    draw = ImageDraw.Draw(image)
    x, y = text_xy
    for line in wrapped:
        draw.text((x, y), line, font=font, fill=ink, anchor=anchor)
        y += leading
    card = np.array(image)
    symbol = make_symbol(payload, encoder)
    total = symbol.size + 2 * QUIET_ZONE
    k = max(2, math.ceil(4 * code_px / total))
    light = cv2.resize(
        symbol.bitmap(k).astype(np.float32) / 255, (code_px, code_px), interpolation=cv2.INTER_AREA
    )
    shade = np.array(INK, np.float32) + (np.array(PAPER, np.float32) - INK) * light[..., None]
    cx, cy = code_xy
    card[cy : cy + code_px, cx : cx + code_px] = np.round(shade).astype(np.uint8)
    unit = code_px / total
    q, n = QUIET_ZONE, symbol.size
    return card, (cx + q * unit, cy + q * unit, cx + (q + n) * unit, cy + (q + n) * unit)


def turn_card(card: np.ndarray, box: Box, quarter_turns: int) -> tuple[np.ndarray, Box]:
    """The card turned by `quarter_turns` x 90 degrees clockwise (as pinned up sideways or
    upside down), with its symbol box in the turned card."""
    out, (x0, y0, x1, y1) = card, box
    for _ in range(quarter_turns % 4):
        h = out.shape[0]
        out = np.ascontiguousarray(np.rot90(out, -1))  # clockwise: (x, y) -> (h - y, x)
        x0, y0, x1, y1 = h - y1, x0, h - y0, x1
    return out, (x0, y0, x1, y1)


def qrcheck_posting(
    code: str,
    name: str,
    field: str,
    center: str,
    payload: str,
    *,
    px_per_mm: float = 6.0,
    lang: str = "vi",
    print_date: date = date(2024, 5, 2),
) -> tuple[np.ndarray, Box]:
    """qrcheck's own A5 posting as it prints (`printing.posting.posting_pdf`, so the procedure
    code in large type right above the QR code, `CODE_LABEL_PT`), rasterised by poppler's
    pdftoppm at `px_per_mm`: the card (RGB uint8) and the symbol's box (no quiet zone).
    RuntimeError when pdftoppm is missing."""
    from qrcheck.printing.layout import A5_MM, qr_square_mm
    from qrcheck.printing.posting import PostingContent, posting_pdf
    from qrcheck.printing.symbol import make_symbol as qrcheck_symbol

    if shutil.which("pdftoppm") is None:
        raise RuntimeError("pdftoppm (poppler-utils) is not installed")
    symbol = qrcheck_symbol(payload)
    content = PostingContent(
        center, code, name, field, payload.split("#")[0], "TEWPAP", "", print_date, symbol,
        language=lang,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "posting.pdf"
        pdf.write_bytes(posting_pdf(content))
        subprocess.run(
            ["pdftoppm", "-r", f"{px_per_mm * 25.4:.2f}", "-png", "-singlefile", str(pdf),
             str(Path(folder) / "page")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        card = np.array(Image.open(Path(folder) / "page.png").convert("RGB"))
    sx, sy = card.shape[1] / A5_MM[0], card.shape[0] / A5_MM[1]
    left, top, side = qr_square_mm()
    unit = side / (symbol.size + 2 * QUIET_ZONE)
    q, n = QUIET_ZONE * unit, symbol.size * unit
    return card, ((left + q) * sx, (top + q) * sy, (left + q + n) * sx, (top + q + n) * sy)
