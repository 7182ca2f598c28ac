"""Nearly white postings (issue 4): located from one finder pattern and the QR structure around it.

Each image is a posting card rendered, aged and photographed by `testkit.simulate` with fixed
seeds. Uneven fading that erases finder patterns is made exact here by painting them over with
paper before the card is aged; the rest of the symbol keeps its (nearly white) modules.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from qrcheck.grade.measure import grade_code
from qrcheck.vision.locate import LocateOptions, locate_codes
from qrcheck.vision.shapes import FAINT
from testkit.simulate import (
    PAPER,
    Condition,
    PlacedCode,
    age_print,
    catalog_like_payloads,
    make_symbol,
    photograph,
    render_posting,
)

PAYLOAD = catalog_like_payloads(1, rng=11)[0]
PX_PER_MM = 6.0


def _posting() -> tuple[np.ndarray, tuple[float, float, float, float], float, int]:
    card, box = render_posting("1.001193", "Đăng ký khai sinh", "Hộ tịch", "Trung tâm", PAYLOAD)
    n = make_symbol(PAYLOAD).size
    return card, box, (box[2] - box[0]) / n, n


def _paint(card: np.ndarray, box, module: float, cols: tuple[int, int], rows: tuple[int, int]):
    """Paper over the modules cols[0]..cols[1]-1, rows[0]..rows[1]-1 of the symbol."""
    x0, y0 = box[0] + cols[0] * module, box[1] + rows[0] * module
    x1, y1 = box[0] + cols[1] * module, box[1] + rows[1] * module
    card[round(y0) : round(y1), round(x0) : round(x1)] = PAPER


def _shoot(card: np.ndarray, box, condition: Condition, seed: int) -> tuple[np.ndarray, PlacedCode]:
    aged = age_print(card, box, condition, rng=seed)
    image, placed = photograph(
        [(aged, box, condition, "1.001193", PAYLOAD)],
        size=(1600, 1200),
        rng=seed,
        px_per_mm=PX_PER_MM,
        fill=0.8,
    )
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), placed[0]


def _inside(truth: PlacedCode, point: tuple[float, float]) -> bool:
    quad = np.array(truth.corners, np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(quad, (float(point[0]), float(point[1])), False) >= 0


@pytest.mark.parametrize(
    ("erased", "seed"),
    [
        ("top-left and top-right", 1),  # only the bottom-left finder is left
        ("top-left and bottom-left", 3),  # only the top-right finder is left
        ("top-right and bottom-left", 1),  # only the top-left finder is left
    ],
)
def test_nearly_white_code_with_one_finder_is_located_and_graded_d_or_f(erased, seed):
    card, box, module, n = _posting()
    if "top-left" in erased:
        _paint(card, box, module, (-1, 8), (-1, 8))
    if "top-right" in erased:
        _paint(card, box, module, (n - 8, n + 1), (-1, 8))
    if "bottom-left" in erased:
        _paint(card, box, module, (-1, 8), (n - 8, n + 1))
    gray, truth = _shoot(card, box, Condition(fade=0.95, yellowing=0.4), seed)

    # the usual search alone finds nothing here: one finder pattern is not a symbol
    assert locate_codes(gray, LocateOptions(use_faint=False)) == []

    found = locate_codes(gray)
    assert len(found) == 1, [c.corners for c in found]
    code = found[0]
    assert _inside(truth, code.center)
    assert code.text is None or code.text == PAYLOAD
    assert not code.decoded
    assert FAINT in code.located_by
    assert code.finder_patterns == 1
    # the estimate never reaches beyond the symbol by much
    assert code.side <= 1.15 * truth.module_px * n
    assert grade_code(code, gray).grade in ("D", "F")


def test_blank_yellowed_card_yields_nothing():
    card, box, module, n = _posting()
    _paint(card, box, module, (-4, n + 4), (-4, n + 4))  # the code is gone; the text stays
    gray, _ = _shoot(card, box, Condition(fade=0.6, yellowing=0.9, stain=True), 7)
    assert locate_codes(gray) == []


def test_a_lone_finder_shape_without_qr_structure_is_not_reported():
    """Three nested squares alone (a logo, a sign) have no timing pattern and no modules."""
    card, box, module, n = _posting()
    _paint(card, box, module, (-4, n + 4), (-4, n + 4))
    # the top-left finder pattern redrawn alone, as fresh print
    x0, y0 = box[0], box[1]
    ink = (26, 26, 30)
    for size, colour in ((7, ink), (5, PAPER), (3, ink)):
        offset = (7 - size) / 2
        a = (round(x0 + offset * module), round(y0 + offset * module))
        b = (round(x0 + (offset + size) * module), round(y0 + (offset + size) * module))
        card[a[1] : b[1], a[0] : b[0]] = colour
    gray, _ = _shoot(card, box, Condition(fade=0.9, yellowing=0.5), 9)
    assert locate_codes(gray) == []


def test_fresh_posting_is_found_once():
    card, box, _, _ = _posting()
    gray, truth = _shoot(card, box, Condition(), 4)
    found = locate_codes(gray)
    assert len(found) == 1
    assert found[0].text == PAYLOAD
    assert _inside(truth, found[0].center)
