"""qrcheck's own postings (issue 4): a code faded past its last finder pattern is still found
where the posting's layout prints it, from the remains of its modules; nothing is made up on
cards without a code.

Each image is an A5 card rendered, aged and photographed by `testkit.simulate` with fixed seeds.
Seed 61 fades the code unevenly until no finder pattern is left (the card, header and title
still show): every earlier pass of the reader stack finds nothing on it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from qrcheck.board.decide import decide
from qrcheck.grade.measure import grade_code
from qrcheck.links.verdict import Verdict
from qrcheck.printing.layout import qr_square_mm
from qrcheck.vision.cards import LAYOUT, find_cards, symbol_square_mm
from qrcheck.vision.locate import LocateOptions, locate_codes
from testkit.simulate import (
    INK,
    PAPER,
    Condition,
    age_print,
    catalog_like_payloads,
    make_symbol,
    photograph,
    posting_font,
    render_posting,
)

PAYLOAD = catalog_like_payloads(1, rng=11)[0]
PX_PER_MM = 6.0
FADED = Condition(fade=0.97)
#: age_print's seed that leaves no finder pattern of the code (see the module docstring)
NO_FINDER_SEED = 61
OLD_PATH = LocateOptions(use_layout=False)


def _posting() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    return render_posting(
        "1.001193",
        "Đăng ký khai sinh",
        "Hộ tịch",
        "Trung tâm Phục vụ hành chính công phường Nam Gia Nghĩa",
        PAYLOAD,
        PX_PER_MM,
    )


def _photo(card: np.ndarray, box, condition: Condition, seed: int = NO_FINDER_SEED):
    """The card aged with `seed`, photographed alone (2000 x 1500, the card about 60% of it)."""
    aged = age_print(card, box, condition, rng=seed)
    image, placed = photograph(
        [(aged, box, condition, "1.001193", PAYLOAD)], size=(2000, 1500), rng=seed, fill=0.6
    )
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), placed[0]


def _blank_code_area(card: np.ndarray) -> np.ndarray:
    """The same posting printed without its code: the code's square left as paper."""
    left, top, side = (round(v * PX_PER_MM) for v in qr_square_mm())
    blank = card.copy()
    blank[top : top + side, left : left + side] = PAPER
    return blank


def _text_sheet() -> np.ndarray:
    """A plain white A5 sheet with only text on it, margin to margin."""
    w, h = round(148 * PX_PER_MM), round(210 * PX_PER_MM)
    image = Image.new("RGB", (w, h), PAPER)
    draw = ImageDraw.Draw(image)
    title, body = posting_font(round(5 * PX_PER_MM), bold=True), posting_font(round(3 * PX_PER_MM))
    draw.text((w / 2, 12 * PX_PER_MM), "THÔNG BÁO", font=title, fill=INK, anchor="ma")
    line = "Công dân đến nộp hồ sơ vui lòng lấy số thứ tự và chờ gọi tên tại quầy tiếp nhận. "
    y = 30 * PX_PER_MM
    for k in range(28):
        start = (k * 7) % 40
        draw.text((10 * PX_PER_MM, y), (line * 2)[start : start + 58], font=body, fill=INK)
        y += 6 * PX_PER_MM
    return np.array(image)


def _corner_error(found, truth) -> float:
    return float(np.abs(np.array(found.corners) - np.array(truth.corners)).max())


def test_simulated_posting_prints_its_code_where_the_layout_says():
    _, box = _posting()
    left, top, side = symbol_square_mm(make_symbol(PAYLOAD).version)
    expected = (left, top, left + side, top + side)
    assert np.allclose(np.array(box) / PX_PER_MM, expected, atol=0.2)


@pytest.fixture(scope="module")
def faded() -> tuple[np.ndarray, object]:
    card, box = _posting()
    return _photo(card, box, FADED)


def test_faded_code_without_finders_is_located_by_the_layout(faded):
    gray, truth = faded
    assert locate_codes(gray, OLD_PATH) == []  # no finder pattern left for the old passes
    found = locate_codes(gray)
    assert len(found) == 1
    code = found[0]
    assert code.located_by == (LAYOUT,)
    assert code.text is None and code.version is None
    # the expected corners (quiet zone excluded, the version postings usually carry)
    assert _corner_error(code, truth) < 4 * truth.module_px


def test_faded_code_from_the_layout_is_graded_for_reprint(faded):
    gray, _ = faded
    (code,) = locate_codes(gray)
    grade = grade_code(code, gray)
    assert grade.grade in ("D", "F")
    assert grade.retake is None  # the print is what failed, not the photo
    action, _ = decide(grade, Verdict("unreadable", detail_key="verdict.unreadable"))
    assert action == "reprint"


def test_card_without_a_printed_code_gives_nothing():
    card, box = _posting()
    gray, _ = _photo(_blank_code_area(card), box, FADED)
    assert len(find_cards(_reduced(gray))) == 1  # the card itself is seen
    assert locate_codes(gray) == []


def test_fresh_posting_is_found_once():
    card, box = _posting()
    gray, _ = _photo(card, box, Condition(), seed=3)
    found = locate_codes(gray)
    assert len(found) == 1
    assert found[0].text == PAYLOAD
    assert LAYOUT not in found[0].located_by


def test_card_with_a_ruled_table_where_the_code_would_be_gives_nothing():
    """Grid lines are edges along the card's axes too, but they run on: no module stops them."""
    card, box = _posting()
    sheet = Image.fromarray(_blank_code_area(card))
    draw = ImageDraw.Draw(sheet)
    left, top, _ = (v * PX_PER_MM for v in qr_square_mm())
    s = PX_PER_MM
    for k in range(8):
        y = top + (8 + 7.5 * k) * s
        draw.line([left + 8 * s, y, left + 62 * s, y], fill=INK, width=2)
    for k in range(5):
        x = left + (8 + 13.5 * k) * s
        draw.line([x, top + 8 * s, x, top + 60.5 * s], fill=INK, width=2)
    gray, _ = _photo(np.array(sheet), box, Condition(), seed=7)
    assert locate_codes(gray) == []


def test_text_only_sheet_gives_nothing():
    sheet = _text_sheet()
    gray, _ = _photo(sheet, (300.0, 300.0, 600.0, 600.0), Condition(), seed=5)
    assert len(find_cards(_reduced(gray))) == 1
    assert locate_codes(gray) == []


def test_faded_text_only_sheet_gives_nothing():
    sheet = _text_sheet()
    gray, _ = _photo(sheet, (300.0, 300.0, 600.0, 600.0), FADED)
    assert locate_codes(gray) == []


def _reduced(gray: np.ndarray) -> tuple[np.ndarray, float]:
    from qrcheck.vision.finders import FINDER_MAX_SIDE, _downscaled

    return _downscaled(gray, FINDER_MAX_SIDE)
