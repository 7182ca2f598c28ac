"""Printable postings (one PDF per procedure) and print sheets (several postings per A4 page).

The text is set in Be Vietnam Pro (SIL OFL, shipped in `qrcheck/fonts/`), a typeface drawn for
Vietnamese, embedded in every PDF. Text is NFC-normalised and every character is checked against
the font before drawing: a character the font lacks is an error, never an empty box on a board.
The QR code is drawn as vector squares, so it stays sharp at any size a printer prints it.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from qrcheck.errors import FontMissing, GenerationError
from qrcheck.i18n import t
from qrcheck.symbol import QUIET_ZONE, Symbol, module_runs

REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"
FONT_FILES = {REGULAR: "BeVietnamPro-Regular.ttf", BOLD: "BeVietnamPro-Bold.ttf"}
PAGE_SIZES = {"A5": A5, "A4": A4}

# The posting's geometry on an A5 page, in millimetres; every size scales with the page width.
# `simulate.render_posting` draws the same layout, and `locate_layout` finds a faded code on a
# photographed posting from it: change them together.
A5_MM = (148.0, 210.0)
#: page margin on every side
MARGIN_MM = 10.0
#: room kept between the code and the bottom margin: call to action, link, print line
FOOTER_MM = 24.0
#: printed size of the code (quiet zone included) on an A5 posting.
#: 70 mm gives ~1.2 mm modules for a version-8 code: it scans from about 50-70 cm.
QR_MM = 70.0
QR_SIZE_A5 = QR_MM * mm


def qr_square_mm(page_mm: tuple[float, float] = A5_MM) -> tuple[float, float, float]:
    """Where a posting of `page_mm` (width, height) prints its code: (left, top, side) of the
    code's square, quiet zone included, in mm from the page's top-left corner. The code is
    centred across the page, with the footer room and the bottom margin below it."""
    s = page_mm[0] / A5_MM[0]
    side = QR_MM * s
    return (page_mm[0] - side) / 2, page_mm[1] - (MARGIN_MM + FOOTER_MM) * s - side, side


@dataclass(frozen=True)
class PostingContent:
    """What one posting shows."""

    center_name: str
    code: str
    name: str
    field: str
    link: str
    tag: str
    decision: str
    print_date: date
    symbol: Symbol
    language: str = "vi"


@cache
def register_fonts() -> None:
    """Register the embedded fonts once per process; FontMissing when they cannot be loaded."""
    folder = resources.files("qrcheck").joinpath("fonts")
    for name, filename in FONT_FILES.items():
        resource = folder.joinpath(filename)
        try:
            with resources.as_file(resource) as path:
                pdfmetrics.registerFont(TTFont(name, str(path)))
        except (OSError, TTFError) as exc:
            raise FontMissing("posting.font_missing", path=str(resource), reason=str(exc)) from exc


def check_glyphs(text: str, font: str = REGULAR) -> str:
    """`text` in NFC; GenerationError naming the first character the font cannot draw."""
    register_fonts()
    text = unicodedata.normalize("NFC", text)
    face = pdfmetrics.getFont(font).face
    for char in text:
        if char not in "\n\t" and ord(char) not in face.charToGlyph:
            raise GenerationError(
                "posting.glyph_missing", char=char, codepoint=f"U+{ord(char):04X}", text=text[:60]
            )
    return text


def _wrap_chars(text: str, font: str, size: float, width: float) -> list[str]:
    """Break a link into lines that fit `width`, preferring breaks after / ? & = - ."""
    lines: list[str] = []
    current = ""
    for char in text:
        if pdfmetrics.stringWidth(current + char, font, size) > width and current:
            cut = max(current.rfind(c) for c in "/?&=-.#")
            if cut > len(current) // 2:
                lines.append(current[: cut + 1])
                current = current[cut + 1 :]
            else:
                lines.append(current)
                current = ""
        current += char
    if current:
        lines.append(current)
    return lines


def _fit_paragraph(
    text: str, font: str, width: float, height: float, largest: float, smallest: float
) -> tuple[float, list[str]]:
    """The largest font size (and its lines) at which `text` fits the box."""
    size = largest
    while True:
        lines = simpleSplit(text, font, size, width)
        if len(lines) * size * 1.25 <= height or size <= smallest:
            return size, lines
        size = max(smallest, size - 0.5)


def draw_symbol(canvas: Canvas, symbol: Symbol, x: float, y: float, size: float) -> None:
    """Draw the symbol (with its quiet zone) as a `size` square whose lower-left corner is x, y."""
    total = symbol.size + 2 * QUIET_ZONE
    unit = size / total
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    top = y + size
    for row, col, run in module_runs(symbol.modules):
        path.rect(
            x + (col + QUIET_ZONE) * unit,
            top - (row + QUIET_ZONE + 1) * unit,
            run * unit,
            unit,
        )
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def draw_posting(
    canvas: Canvas, content: PostingContent, x: float, y: float, width: float, height: float
) -> None:
    """Lay one posting out in the box (x, y, width, height); sizes scale with the box width."""
    register_fonts()
    lang = content.language
    s = width / A5[0]
    margin = MARGIN_MM * mm * s
    inner = width - 2 * margin
    cursor = y + height - margin

    def lines_at(text: str, font: str, size: float, align: str = "center") -> None:
        nonlocal cursor
        for line in simpleSplit(check_glyphs(text, font), font, size, inner):
            cursor -= size * 1.2
            if align == "center":
                canvas.drawCentredString(x + width / 2, cursor, line)
            else:
                canvas.drawString(x + margin, cursor, line)

    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(BOLD, 10.5 * s)
    lines_at(content.center_name.upper(), BOLD, 10.5 * s)
    cursor -= 2.5 * mm * s
    canvas.setLineWidth(0.6 * s)
    canvas.line(x + margin, cursor, x + width - margin, cursor)
    cursor -= 1.5 * mm * s

    label = t("posting.code_field", lang, code=content.code, field=content.field)
    canvas.setFont(REGULAR, 10 * s)
    lines_at(label, REGULAR, 10 * s)
    cursor -= 2 * mm * s

    qr_size = QR_SIZE_A5 * s
    footer_room = FOOTER_MM * mm * s  # call to action, link, print line
    name_room = cursor - (y + margin + footer_room + qr_size + 4 * mm * s)
    name = check_glyphs(content.name, BOLD)
    size, lines = _fit_paragraph(name, BOLD, inner, name_room, 17 * s, 6.5 * s)
    canvas.setFont(BOLD, size)
    block = len(lines) * size * 1.25
    cursor -= max(0.0, (name_room - block) / 2)  # centre the name in its room
    for line in lines:
        cursor -= size * 1.25
        canvas.drawCentredString(x + width / 2, cursor, line)

    qr_top = y + margin + footer_room + qr_size
    draw_symbol(canvas, content.symbol, x + (width - qr_size) / 2, qr_top - qr_size, qr_size)
    cursor = qr_top - qr_size - 1 * mm * s

    canvas.setFont(BOLD, 11 * s)
    lines_at(t("posting.scan", lang), BOLD, 11 * s)
    cursor -= 1 * mm * s
    canvas.setFont(REGULAR, 7.5 * s)
    for line in _wrap_chars(check_glyphs(content.link), REGULAR, 7.5 * s, inner):
        cursor -= 7.5 * s * 1.2
        canvas.drawCentredString(x + width / 2, cursor, line)

    small = 6.5 * s
    canvas.setFont(REGULAR, small)
    footer = t(
        "posting.printed",
        lang,
        date=content.print_date.strftime("%d/%m/%Y"),
        tag=content.tag or "—",
    )
    if content.decision:
        footer += " · " + t("posting.decision", lang, decision=content.decision)
    footer_lines = simpleSplit(check_glyphs(footer), REGULAR, small, inner)
    baseline = y + margin
    for line in reversed(footer_lines):
        canvas.drawCentredString(x + width / 2, baseline, line)
        baseline += small * 1.2


def _new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    canvas = Canvas(
        buffer, pagesize=pagesize, pageCompression=1, invariant=True, initialFontName=REGULAR
    )
    canvas.setTitle(title)
    canvas.setAuthor("qrcheck")
    canvas.setCreator("qrcheck")
    return canvas


def posting_pdf(content: PostingContent, paper: str = "A5") -> bytes:
    """One posting on one page of `paper` (A5 or A4)."""
    register_fonts()
    page = PAGE_SIZES[paper]
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, page, f"{content.code} {content.name}"[:200])
    draw_posting(canvas, content, 0, 0, page[0], page[1])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _cut_marks(canvas: Canvas, x: float, y: float, w: float, h: float) -> None:
    """Short crop marks outside each corner of a cell."""
    length, gap = 4 * mm, 1 * mm
    canvas.setLineWidth(0.3)
    for cx, dx in ((x, -1), (x + w, 1)):
        for cy, dy in ((y, -1), (y + h, 1)):
            canvas.line(cx + dx * gap, cy, cx + dx * (gap + length), cy)
            canvas.line(cx, cy + dy * gap, cx, cy + dy * (gap + length))


def print_sheet_pdf(contents: Sequence[PostingContent], title: str) -> bytes:
    """Every posting at A6 size, four to an A4 page, with cut marks; a header line per page."""
    register_fonts()
    page_w, page_h = A4
    cell_w, cell_h = 95 * mm, 134 * mm  # A6-like cells with room for marks and a page header
    gap_x = (page_w - 2 * cell_w) / 3
    gap_y = (page_h - 12 * mm - 2 * cell_h) / 3
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, A4, title)
    per_page = 4
    pages = max(1, -(-len(contents) // per_page))
    for index in range(0, len(contents), per_page):
        canvas.setFont(REGULAR, 8)
        canvas.drawString(
            gap_x, page_h - 8 * mm, check_glyphs(f"{title} · {index // per_page + 1}/{pages}")
        )
        for slot, content in enumerate(contents[index : index + per_page]):
            col, row = slot % 2, slot // 2
            cx = gap_x + col * (cell_w + gap_x)
            cy = page_h - 12 * mm - (row + 1) * (cell_h + gap_y)
            draw_posting(canvas, content, cx, cy, cell_w, cell_h)
            _cut_marks(canvas, cx, cy, cell_w, cell_h)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
