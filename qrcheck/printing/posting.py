"""Printable postings (one PDF per procedure) and print sheets (reprints at the postings' size).

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
from qrcheck.printing.layout import (
    CODE_LABEL_GAP_MM,
    CODE_LABEL_PT,
    FOOTER_MM,
    MARGIN_MM,
    QR_MM,
)
from qrcheck.printing.symbol import QUIET_ZONE, Symbol, module_runs

REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"
FONT_FILES = {REGULAR: "BeVietnamPro-Regular.ttf", BOLD: "BeVietnamPro-Bold.ttf"}
PAGE_SIZES = {"A5": A5, "A4": A4}

#: the posting's geometry (`printing.layout`, which the photo check reads too) in PDF units
QR_SIZE_A5 = QR_MM * mm


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
    #: the day the procedure comes into force; the posting says "Áp dụng từ …" when it is after
    #: `print_date` (a posting hung ahead of a scheduled change)
    applies_from: date | None = None
    #: the host the code leads to (the center's portal or its own domain); the posting warns
    #: citizens to scan only codes leading there (fake stickers). "" = no such line.
    official_host: str = ""

    @property
    def not_yet_in_force(self) -> bool:
        return self.applies_from is not None and self.applies_from > self.print_date


@dataclass(frozen=True)
class SheetEntry:
    """One posting of a print sheet and the board it goes to ("" = none yet)."""

    content: PostingContent
    location: str = ""


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


def _fitting_size(text: str, font: str, largest: float, width: float) -> float:
    """`largest`, or the size at which `text` is `width` wide when it would be wider."""
    wide = pdfmetrics.stringWidth(text, font, largest)
    return largest if wide <= width else largest * width / wide


def draw_posting(
    canvas: Canvas, content: PostingContent, x: float, y: float, width: float, height: float
) -> None:
    """Lay one posting out in the box (x, y, width, height); sizes scale with the box width.

    Top to bottom: the center, the code and field line ("Áp dụng từ …" under it for a posting
    not yet in force), the procedure's name, its code in large type right above the QR code
    (what a reader still reads when the code has faded), the QR code, then in the footer room
    the call to scan, the line naming the only host a genuine code leads to, the link and the
    print line. The QR code's square is always `layout.qr_square_mm`'s."""
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
    if content.not_yet_in_force and content.applies_from is not None:
        cursor -= 0.5 * mm * s
        canvas.setFont(BOLD, 10.5 * s)
        when = content.applies_from.strftime("%d/%m/%Y")
        lines_at(t("posting_sheet.applies_from", lang, date=when), BOLD, 10.5 * s)
    cursor -= 2 * mm * s

    qr_size = QR_SIZE_A5 * s
    footer_room = FOOTER_MM * mm * s  # call to action, official host, link, print line
    qr_top = y + margin + footer_room + qr_size
    # the procedure code, large, centred right above the QR code
    code_text = check_glyphs(content.code, BOLD)
    code_size = _fitting_size(code_text, BOLD, CODE_LABEL_PT * s, inner)
    code_baseline = qr_top + CODE_LABEL_GAP_MM * mm * s
    code_room = code_size * 1.2 + CODE_LABEL_GAP_MM * mm * s

    name_room = cursor - (qr_top + code_room + 3 * mm * s)
    name = check_glyphs(content.name, BOLD)
    size, lines = _fit_paragraph(name, BOLD, inner, name_room, 17 * s, 6.5 * s)
    canvas.setFont(BOLD, size)
    block = len(lines) * size * 1.25
    cursor -= max(0.0, (name_room - block) / 2)  # centre the name in its room
    for line in lines:
        cursor -= size * 1.25
        canvas.drawCentredString(x + width / 2, cursor, line)

    canvas.setFont(BOLD, code_size)
    canvas.drawCentredString(x + width / 2, code_baseline, code_text)
    draw_symbol(canvas, content.symbol, x + (width - qr_size) / 2, qr_top - qr_size, qr_size)
    cursor = qr_top - qr_size - 1 * mm * s

    canvas.setFont(BOLD, 11 * s)
    lines_at(t("posting.scan", lang), BOLD, 11 * s)
    if content.official_host:
        warning = t("posting_sheet.only_host", lang, host=content.official_host)
        canvas.setFont(BOLD, 8 * s)
        lines_at(warning, BOLD, 8 * s)
    small = 6.5 * s
    footer = t(
        "posting.printed",
        lang,
        date=content.print_date.strftime("%d/%m/%Y"),
        tag=content.tag or "—",
    )
    # the decision that announced the record is not printed: a re-announcement that changes
    # nothing a posting shows must not make every posting on the walls out of date
    footer_lines = simpleSplit(check_glyphs(footer), REGULAR, small, inner)
    # the link takes the room left above the print line; a long one is set smaller to fit it
    footer_top = y + margin + (len(footer_lines) - 1) * small * 1.2 + small + 1 * mm * s
    cursor -= 1 * mm * s
    link = check_glyphs(content.link)
    link_size = 7.5 * s
    link_lines = _wrap_chars(link, REGULAR, link_size, inner)
    while link_size > 5 * s and cursor - len(link_lines) * link_size * 1.2 < footer_top:
        link_size -= 0.25 * s
        link_lines = _wrap_chars(link, REGULAR, link_size, inner)
    canvas.setFont(REGULAR, link_size)
    for line in link_lines:
        cursor -= link_size * 1.2
        canvas.drawCentredString(x + width / 2, cursor, line)

    canvas.setFont(REGULAR, small)
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


#: how the postings of each original size go on the paper in the printer: (page size, cells
#: per page side by side). A5 originals go two to a landscape A4 page, side by side (the page
#: is two A5 sheets wide, give or take a millimetre) or one to an A5 page; A4 ones one per page.
_SHEET_LAYOUTS: dict[tuple[str, str], tuple[tuple[float, float], int]] = {
    ("A5", "A4"): ((A4[1], A4[0]), 2),
    ("A5", "A5"): (A5, 1),
    ("A4", "A4"): (A4, 1),
}
#: the sheet's own lines (board label, page line) in the postings' blank margin band: their
#: baselines from the posting's top and bottom edges, clear of a printer's unprintable edge
#: (about 5 mm) and of the posting's content (10 mm in)
_NOTE_PT = 6.5
_NOTE_TOP_MM = 7.5
_NOTE_BOTTOM_MM = 5.5


def _cut_marks(canvas: Canvas, cut_x: float, page_h: float) -> None:
    """Marks along the cut between two postings side by side, at the top and bottom of the page
    (from 2 mm in, clear of a printer's unprintable edge, to 8 mm: within the postings' blank
    margins, so a straight cut takes them off)."""
    canvas.saveState()
    canvas.setLineWidth(0.3)
    canvas.setStrokeColorRGB(0, 0, 0)
    for start, end in ((2 * mm, 8 * mm), (page_h - 2 * mm, page_h - 8 * mm)):
        canvas.line(cut_x, start, cut_x, end)
    canvas.restoreState()


def _note(canvas: Canvas, text: str, x: float, y: float, room: float, align: str = "left") -> None:
    """A small grey line of the sheet's own at x, y, made smaller if it would be wider than
    `room`."""
    line = check_glyphs(text)
    canvas.saveState()
    canvas.setFillColorRGB(0.25, 0.25, 0.25)
    canvas.setFont(REGULAR, _fitting_size(line, REGULAR, _NOTE_PT, room))
    if align == "right":
        canvas.drawRightString(x, y, line)
    else:
        canvas.drawString(x, y, line)
    canvas.restoreState()


def print_sheet_pdf(
    contents: Sequence[PostingContent | SheetEntry],
    title: str,
    paper: str = "A5",
    *,
    printer_paper: str = "A4",
) -> bytes:
    """The postings to reprint, each at the size of the originals (`paper`, "A5" or "A4"), so
    its code comes out exactly as big as `posting_pdf` prints it.

    On `printer_paper` "A4", A5 postings go two to a landscape A4 page, side by side, with
    marks along the cut between them; on "A5" paper, one to a page; A4 postings one to an A4
    page. The board each posting goes to ("Bảng: Quầy 5") and the sheet's title and page are
    printed small in the blank margin band around the posting's content, above and below it,
    never on the content itself."""
    register_fonts()
    try:
        page, per_page = _SHEET_LAYOUTS[(paper, printer_paper)]
    except KeyError:
        raise ValueError(
            f"cannot print {paper} postings at their size on {printer_paper}"
        ) from None
    cell_w, cell_h = PAGE_SIZES[paper]
    entries = [e if isinstance(e, SheetEntry) else SheetEntry(e) for e in contents]
    left = (page[0] - per_page * cell_w) / 2
    bottom = (page[1] - cell_h) / 2
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, page, title)
    pages = max(1, -(-len(entries) // per_page))
    for number, index in enumerate(range(0, len(entries), per_page), start=1):
        on_page = entries[index : index + per_page]
        for slot, entry in enumerate(on_page):
            content = entry.content
            cx = left + slot * cell_w
            draw_posting(canvas, content, cx, bottom, cell_w, cell_h)
            margin = MARGIN_MM * mm * cell_w / A5[0]
            room = cell_w - 2 * margin
            if entry.location:
                board = t("posting_sheet.board", content.language, location=entry.location)
                _note(canvas, board, cx + margin, bottom + cell_h - _NOTE_TOP_MM * mm, room)
            if slot == len(on_page) - 1:
                line = t(
                    "posting_sheet.page", content.language, title=title, page=number, pages=pages
                )
                _note(
                    canvas, line, cx + cell_w - margin, bottom + _NOTE_BOTTOM_MM * mm, room, "right"
                )
        for slot in range(1, len(on_page)):
            _cut_marks(canvas, left + slot * cell_w, page[1])
        canvas.showPage()
    if not entries:
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
