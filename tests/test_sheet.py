"""The reprint sheet prints every posting at its own size (issue 16), and the posting itself
carries the procedure code in large type, the line against fake stickers and, for a posting hung
before its procedure comes into force, "Áp dụng từ …".

Sizes are measured, not trusted: every PDF is rasterised by poppler's pdftoppm and each code is
found and decoded by zxing-cpp, its side measured in millimetres. Text is read back with pypdf
(its position from the text matrix), drawings from the page's content stream.
"""

from __future__ import annotations

import math
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytesseract
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from qrcheck.catalog.load import load_catalog
from qrcheck.center import CenterSettings
from qrcheck.printing.generate import posting_content, render_key
from qrcheck.printing.layout import MARGIN_MM, code_label_mm, qr_square_mm
from qrcheck.printing.posting import (
    BOLD,
    REGULAR,
    PostingContent,
    SheetEntry,
    posting_pdf,
    print_sheet_pdf,
    register_fonts,
)
from qrcheck.vision.cards import LAYOUT, symbol_square_mm
from qrcheck.vision.locate import LocateOptions, locate_codes
from testkit.simulate import Condition, age_print, photograph

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)
DPI = 200
PT_MM = 25.4 / 72


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "catalog")


@pytest.fixture(scope="module")
def contents(catalog) -> list[PostingContent]:
    """Three postings of the bundled catalog, the one with the longest name first."""
    view = catalog.as_of(TODAY)
    procs = sorted(view.active(), key=lambda p: (-len(p.name), p.code))
    return [posting_content(p, catalog.center, TODAY) for p in (procs[0], procs[30], procs[-1])]


def _worst(content: PostingContent) -> PostingContent:
    """Every optional line at once: not yet in force, a decision, a link of three lines."""
    return replace(
        content,
        applies_from=date(2026, 12, 15),
        decision="Quyết định số 1234/QĐ-UBND ngày 01/11/2026 của Chủ tịch Ủy ban nhân dân "
        "tỉnh Lâm Đồng về việc công bố danh mục thủ tục hành chính",
        link=content.link + "?" + "&".join(f"tham_so_{k}=gia-tri-{k}" for k in range(9)),
    )


def rasterise(pdf: bytes, tmp_path: Path, page: int = 1, dpi: float = DPI) -> np.ndarray:
    source = tmp_path / "in.pdf"
    source.write_bytes(pdf)
    prefix = tmp_path / f"page{page}"
    subprocess.run(
        [
            *("pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(page), "-l", str(page)),
            *("-singlefile", str(source), str(prefix)),
        ],
        check=True,
    )
    return np.array(Image.open(f"{prefix}.png").convert("L"))


def codes_mm(image: np.ndarray, dpi: int = DPI) -> dict[str, tuple[float, float, float]]:
    """payload -> (side, centre x, centre y) in mm of every QR code zxing-cpp finds."""
    found = {}
    for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        p = result.position
        corners = [(c.x, c.y) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
        sides = [math.dist(corners[k], corners[(k + 1) % 4]) for k in range(4)]
        cx = sum(c[0] for c in corners) / 4
        cy = sum(c[1] for c in corners) / 4
        found[result.text] = tuple(v * 25.4 / dpi for v in (float(np.mean(sides)), cx, cy))
    return found


def payload_of(content: PostingContent) -> str:
    return content.symbol.payload


def page_text(pdf: bytes, page: int = 0) -> str:
    import io

    text = PdfReader(io.BytesIO(pdf)).pages[page].extract_text()
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_runs(pdf: bytes, page: int = 0) -> list[tuple[str, str, float, float, float]]:
    """(text, font, size, x, baseline y) of every string drawn on the page, in points."""
    import io

    runs: list[tuple[str, str, float, float, float]] = []

    def visit(text, cm, tm, font_dict, font_size) -> None:
        text = text.strip("\n")
        if text.strip() and font_dict is not None:
            name = str(font_dict["/BaseFont"])
            font = BOLD if name.endswith(BOLD) else REGULAR
            runs.append((unicodedata.normalize("NFC", text), font, font_size, tm[4], tm[5]))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return runs


def ink_box(run, low: float = 0.22, high: float = 0.78) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a string's ink, roughly: its width by the font, from a
    descender's depth below the baseline to an accented letter's height above it."""
    register_fonts()
    text, font, size, x, y = run
    width = pdfmetrics.stringWidth(text, font, size)
    return x, y - low * size, x + width, y + high * size


def drawn_points(pdf: bytes, page: int = 0) -> list[tuple[float, float]]:
    """Every corner of every rectangle and every end of every line the page draws, in points
    (reportlab draws postings without transformations)."""
    import io

    reader = PdfReader(io.BytesIO(pdf))
    points = []
    for operands, op in ContentStream(reader.pages[page].get_contents(), reader).operations:
        if op == b"cm":
            assert [float(v) for v in operands] == [1, 0, 0, 1, 0, 0]
        elif op == b"re":
            x, y, w, h = (float(v) for v in operands)
            points += [(x, y), (x + w, y + h)]
        elif op in (b"m", b"l"):
            points.append((float(operands[0]), float(operands[1])))
    return points


def page_size_mm(pdf: bytes, page: int = 0) -> tuple[int, int]:
    import io

    box = PdfReader(io.BytesIO(pdf)).pages[page].mediabox
    return round(float(box.width) * PT_MM), round(float(box.height) * PT_MM)


def page_count(pdf: bytes) -> int:
    import io

    return len(PdfReader(io.BytesIO(pdf)).pages)


# ---------------------------------------------------------------------------------------------
# the sheet prints the postings at their own size


@pytest.mark.parametrize(
    ("paper", "printer", "page_mm", "per_page"),
    [("A5", "A4", (297, 210), 2), ("A5", "A5", (148, 210), 1), ("A4", "A4", (210, 297), 1)],
)
def test_the_code_on_the_sheet_is_as_big_as_on_the_posting(
    contents, tmp_path: Path, paper, printer, page_mm, per_page
) -> None:
    original = codes_mm(rasterise(posting_pdf(contents[1], paper), tmp_path))
    (side, _, _) = original[payload_of(contents[1])]
    expected = qr_square_mm((148, 210) if paper == "A5" else (210, 297))[2]
    modules = contents[1].symbol.size
    assert side == pytest.approx(expected * modules / (modules + 8), abs=0.3)

    sheet = print_sheet_pdf(contents, "Tờ in lại", paper, printer_paper=printer)
    assert page_count(sheet) == -(-len(contents) // per_page)
    assert page_size_mm(sheet) == page_mm
    found = codes_mm(rasterise(sheet, tmp_path))
    on_first = [payload_of(c) for c in contents[:per_page]]
    assert sorted(found) == sorted(on_first)  # every code on the page decodes
    for payload in on_first:
        assert found[payload][0] == pytest.approx(side, abs=0.3), payload


def test_two_a5_postings_side_by_side_each_where_its_posting_prints_the_code(
    contents, tmp_path: Path
) -> None:
    """The code sits where `qr_square_mm` says within each A5 half, so a reprint cut from the
    sheet is laid out as the original (the layout locator finds its faded code the same way)."""
    sheet = print_sheet_pdf(contents[:2], "Tờ in lại")
    assert page_count(sheet) == 1
    found = codes_mm(rasterise(sheet, tmp_path))
    left, top, side = qr_square_mm()
    for slot, content in enumerate(contents[:2]):
        _, cx, cy = found[payload_of(content)]
        assert cx == pytest.approx(0.5 + slot * 148 + left + side / 2, abs=0.5)
        assert cy == pytest.approx(top + side / 2, abs=0.5)


def test_the_sheet_takes_plain_contents_and_entries(contents) -> None:
    plain = print_sheet_pdf(contents, "Tờ in lại")
    entries = print_sheet_pdf([SheetEntry(c) for c in contents], "Tờ in lại")
    assert plain == entries


def test_a4_postings_are_not_squeezed_onto_a5_paper(contents) -> None:
    with pytest.raises(ValueError):
        print_sheet_pdf(contents, "Tờ in lại", "A4", printer_paper="A5")


def test_cut_marks_lie_on_the_cut_between_the_two_postings(contents) -> None:
    sheet = print_sheet_pdf(contents[:2], "Tờ in lại")
    import io

    reader = PdfReader(io.BytesIO(sheet))
    ops = ContentStream(reader.pages[0].get_contents(), reader).operations
    moves = [(float(a[0]), float(a[1])) for a, op in ops if op == b"m"]
    lines = [(float(a[0]), float(a[1])) for a, op in ops if op == b"l"]
    cut_x = (0.5 + 148) * mm
    marks = [(m, e) for m, e in zip(moves, lines, strict=True) if m[0] == pytest.approx(cut_x)]
    assert len(marks) == 2
    for start, end in marks:
        assert end[0] == pytest.approx(cut_x)
        # within the blank margin band of the postings (their content starts 10 mm in)
        for y in (start[1], end[1]):
            assert min(y, 210 * mm - y) < MARGIN_MM * mm


# ---------------------------------------------------------------------------------------------
# what the sheet says beside each posting


def test_each_posting_carries_its_board_in_the_margin(contents) -> None:
    entries = [SheetEntry(contents[0], "Quầy 5"), SheetEntry(contents[1], "Quầy 1"), contents[2]]
    sheet = print_sheet_pdf(entries, "Tờ in lại")
    first, second = page_text(sheet, 0), page_text(sheet, 1)
    assert "Bảng: Quầy 5" in first and "Bảng: Quầy 1" in first
    assert "Bảng" not in second  # the third has no board yet
    assert "Tờ in lại · trang 1/2" in first and "Tờ in lại · trang 2/2" in second
    top = 210 * mm
    boards = [r for r in text_runs(sheet) if r[0].startswith("Bảng:")]
    assert len(boards) == 2
    for slot, run in enumerate(sorted(boards, key=lambda r: r[3])):
        left, bottom, right, upper = ink_box(run, 0.265, 1.0)
        # in the margin band above the posting's content (its first line starts 10 mm down),
        # within the posting's half of the page, and small
        assert top - MARGIN_MM * mm < bottom and upper < top
        assert slot * 148 * mm < left and right < (slot + 1) * 148 * mm
        assert run[2] <= 7
    assert "Bảng" not in page_text(posting_pdf(contents[0]))


def test_the_sheet_in_english_says_board(contents) -> None:
    content = replace(contents[0], language="en")
    assert "Board: Counter 2" in page_text(print_sheet_pdf([SheetEntry(content, "Counter 2")], "x"))


# ---------------------------------------------------------------------------------------------
# the posting itself


@pytest.mark.parametrize(
    ("applies_from", "shown"),
    [(date(2026, 12, 15), True), (TODAY, False), (date(2026, 1, 1), False), (None, False)],
)
def test_applies_from_only_on_a_posting_not_yet_in_force(contents, applies_from, shown) -> None:
    content = replace(contents[1], applies_from=applies_from)
    for pdf in (posting_pdf(content), print_sheet_pdf([SheetEntry(content, "Quầy 1")], "x")):
        text = page_text(pdf)
        assert ("Áp dụng từ 15/12/2026" in text) is shown
        assert ("Áp dụng từ" in text) is shown


def test_the_line_against_fake_stickers_names_the_official_host(contents) -> None:
    assert contents[0].official_host == "dichvucong.gov.vn"  # from the catalog's portal links
    assert "Chỉ quét mã dẫn tới dichvucong.gov.vn" in page_text(posting_pdf(contents[0]))
    assert "Chỉ quét mã" not in page_text(posting_pdf(replace(contents[0], official_host="")))
    english = page_text(posting_pdf(replace(contents[0], language="en")))
    assert "Only scan codes that lead to dichvucong.gov.vn" in english


def test_official_host_is_the_host_the_code_leads_to_when_official(catalog) -> None:
    proc = next(iter(catalog.as_of(TODAY).active()))
    stranger = CenterSettings(name="Trung tâm", official_domains=("example.gov.vn",))
    assert posting_content(proc, stranger, TODAY).official_host == ""
    sub = CenterSettings(name="Trung tâm", official_domains=("gov.vn",))
    assert posting_content(proc, sub, TODAY).official_host == "dichvucong.gov.vn"
    # stable links: the codes lead to the center's own domain, and the posting names it
    stable = CenterSettings(
        name="Trung tâm", link_mode="stable", stable_template="https://qr.hcc.example.vn/t/{code}"
    )
    own = replace(proc, payload=f"https://QR.hcc.example.vn/t/{proc.code}#v={proc.tag}")
    assert posting_content(own, stable, TODAY).official_host == "qr.hcc.example.vn"
    # a posting is made again when the host it names changes
    elsewhere = replace(catalog.center, official_domains=("example.gov.vn",))
    assert render_key(proc, catalog.center, "A5") != render_key(proc, elsewhere, "A5")
    assert render_key(proc, catalog.center, "A5") == render_key(
        proc, replace(catalog.center, legacy_paths=("/x",)), "A5"
    )


@pytest.mark.parametrize("paper", ["A5", "A4"])
def test_the_procedure_code_is_printed_large_right_above_the_code(contents, paper) -> None:
    """Alone in the band `code_label_mm` names, between the name and the QR code."""
    content = _worst(contents[0])  # the longest name of the catalog: it still leaves the room
    pdf = posting_pdf(content, paper)
    page_w, page_h = (148, 210) if paper == "A5" else (210, 297)
    scale = page_w / 148
    _, top, _ = qr_square_mm((page_w, page_h))
    qr_top = (page_h - top) * mm
    runs = text_runs(pdf)
    big = [r for r in runs if r[0] == content.code]
    assert len(big) == 1
    _, font, size, _, y = big[0]
    assert font == BOLD and size >= 18 * scale
    assert qr_top < y < qr_top + 8 * mm * scale
    left, bottom, right, upper = ink_box(big[0], 0.0, 0.75)  # digits: no descender
    assert (left + right) / 2 == pytest.approx(page_w * mm / 2, abs=0.5)
    band_left, band_top, band_w, band_h = code_label_mm((page_w, page_h))
    band = (
        band_left * mm,
        (page_h - band_top - band_h) * mm,
        (band_left + band_w) * mm,
        (page_h - band_top) * mm,
    )
    assert band[0] <= left and right <= band[2] and band[1] <= bottom and upper <= band[3]
    for run in runs:
        if run[0] != content.code:
            assert run[2] < size  # every other line is smaller
            x0, y0, x1, y1 = ink_box(run)
            assert x1 <= band[0] or band[2] <= x0 or y1 <= band[1] or band[3] <= y0, run


@pytest.mark.parametrize("code", ["1.001193", "1.013962", "2.001035"])
def test_ocr_reads_the_large_code_from_a_posting_photographed_from_afar(
    catalog, tmp_path: Path, code
) -> None:
    """At 1.5 pixels a millimetre (an A5 posting 220 pixels wide, as on a photo of a whole
    board) tesseract reads the procedure code from its band, where the code-and-field line is
    too small to read."""
    content = posting_content(catalog.as_of(TODAY).procedures[code], catalog.center, TODAY)
    px_mm = 1.5
    page = rasterise(posting_pdf(content), tmp_path, dpi=px_mm * 25.4)
    left, top, width, height = (round(v * px_mm) for v in code_label_mm())
    band = Image.fromarray(page[top : top + height, left : left + width])
    read = pytesseract.image_to_string(band, config="--psm 7")
    assert "".join(ch for ch in read if ch.isdigit() or ch == ".").strip(".") == code


@pytest.mark.parametrize("paper", ["A5", "A4"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_nothing_overlaps_nor_leaves_the_page(contents, paper, which) -> None:
    """With every optional line at once, no two strings overlap, none touches the code's square,
    and nothing is drawn outside the page: on the posting and on the sheet."""
    content = _worst(contents[which])
    page_w, page_h = (148, 210) if paper == "A5" else (210, 297)
    sheet_w = 297 if paper == "A5" else 210
    left, top, side = qr_square_mm((page_w, page_h))
    for pdf, width, offset in (
        (posting_pdf(content, paper), page_w, 0.0),
        (print_sheet_pdf([SheetEntry(content, "Quầy 5")] * 2, "Tờ in lại", paper), sheet_w, 0.5),
    ):
        if paper == "A4":
            offset = 0.0
        square = (
            (offset + left) * mm,
            (page_h - top - side) * mm,
            (offset + left + side) * mm,
            (page_h - top) * mm,
        )
        runs = text_runs(pdf)
        boxes = [ink_box(r) for r in runs]
        for k, a in enumerate(boxes):
            for b in boxes[k + 1 :]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, (runs[k], runs[boxes.index(b)])
            touches = not (
                a[2] <= square[0] or square[2] <= a[0] or a[3] <= square[1] or square[3] <= a[1]
            )
            assert not touches, runs[k]
        for run in runs:
            x0, y0, x1, y1 = ink_box(run, 0.265, 1.0)
            assert x0 >= 0 and x1 <= width * mm and y0 >= 0 and y1 <= page_h * mm, run
        for x, y in drawn_points(pdf):
            assert -0.01 <= x <= width * mm + 0.01 and -0.01 <= y <= page_h * mm + 0.01


def test_a_reprint_cut_from_the_sheet_faded_past_its_finders_is_found_by_the_layout(
    catalog, tmp_path: Path
) -> None:
    """The left half of a sheet page, cut off and aged until no finder pattern of its code is
    left (seed 61, as in test_posting_layout), is found where the posting's layout prints the
    code: the sheet keeps the original's layout, and the large code above the QR code does not
    throw the layout locator off."""
    proc = catalog.as_of(TODAY).procedures["1.001193"]
    content = posting_content(proc, catalog.center, TODAY)
    other = posting_content(catalog.as_of(TODAY).procedures["1.013962"], catalog.center, TODAY)
    sheet = print_sheet_pdf([SheetEntry(content, "Quầy 1"), SheetEntry(other, "Quầy 2")], "x")
    px_mm = 6.0
    page = rasterise(sheet, tmp_path, dpi=px_mm * 25.4)  # exactly 6 px a mm
    left_px = round(0.5 * px_mm)
    card = np.stack([page[:, left_px : left_px + round(148 * px_mm)]] * 3, axis=-1)
    x, y, side = (v * px_mm for v in symbol_square_mm(content.symbol.version))
    box = (x, y, x + side, y + side)
    faded = Condition(fade=0.97)
    aged = age_print(card, box, faded, rng=61)
    image, placed = photograph(
        [(aged, box, faded, content.code, content.symbol.payload)],
        size=(2000, 1500),
        rng=61,
        fill=0.6,
    )
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert locate_codes(gray, LocateOptions(use_layout=False)) == []  # no finder left
    (found,) = locate_codes(gray)
    assert found.located_by == (LAYOUT,)
    error = np.abs(np.array(found.corners) - np.array(placed[0].corners)).max()
    assert error < 4 * placed[0].module_px
