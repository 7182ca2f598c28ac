"""The posting's geometry, in millimetres: where a posting prints its code and its procedure code.

`printing.posting` lays the PDF out from these, and the photo check finds a posting's faded code
(`vision.cards`) and reads the code printed large above it (`vision.identify`) from them. They live
here, apart from the PDF machinery, so that checking a photo never loads reportlab.
"""

from __future__ import annotations

# The posting's geometry on an A5 page, in millimetres; every size scales with the page width.
# `locate_layout` finds a faded code on a photographed posting from it, and `identify` reads the
# code printed large above it (`code_label_mm`): change them together. (`testkit.simulate.
# render_posting` draws the same page without that large code; `testkit.postings.
# qrcheck_posting` rasterises this one.)
A5_MM = (148.0, 210.0)
#: page margin on every side
MARGIN_MM = 10.0
#: room kept between the code and the bottom margin: call to action, link, print line
FOOTER_MM = 24.0
#: printed size of the code (quiet zone included) on an A5 posting.
#: 70 mm gives ~1.2 mm modules for a version-8 code: it scans from about 50-70 cm.
QR_MM = 70.0


def qr_square_mm(page_mm: tuple[float, float] = A5_MM) -> tuple[float, float, float]:
    """Where a posting of `page_mm` (width, height) prints its code: (left, top, side) of the
    code's square, quiet zone included, in mm from the page's top-left corner. The code is
    centred across the page, with the footer room and the bottom margin below it."""
    s = page_mm[0] / A5_MM[0]
    side = QR_MM * s
    return (page_mm[0] - side) / 2, page_mm[1] - (MARGIN_MM + FOOTER_MM) * s - side, side


#: the procedure code printed large right above the QR code (what a reader of the text still
#: reads when the code has faded): its size on an A5 posting, and its baseline's height above
#: the code's square
CODE_LABEL_PT = 20.0
CODE_LABEL_GAP_MM = 2.5


def code_label_mm(page_mm: tuple[float, float] = A5_MM) -> tuple[float, float, float, float]:
    """Where a posting of `page_mm` prints its procedure code in large type: (left, top, width,
    height) of a band across the content width, in mm from the page's top-left corner, that
    holds the code's digits and nothing else (the name ends above it, the QR code starts
    below)."""
    s = page_mm[0] / A5_MM[0]
    _, qr_top, _ = qr_square_mm(page_mm)
    bottom = qr_top - (CODE_LABEL_GAP_MM - 1.0) * s
    height = (CODE_LABEL_PT * 25.4 / 72 + 2.0) * s
    return MARGIN_MM * s, bottom - height, page_mm[0] - 2 * MARGIN_MM * s, height
