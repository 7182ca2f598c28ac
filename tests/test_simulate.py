"""The print-and-photograph simulator: deterministic, exact ground truth, physical fading."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from testkit.simulate import (
    Condition,
    PlacedCode,
    age_print,
    board_with_codes,
    catalog_like_payloads,
    code_image,
    photograph,
    posting_font,
    render_posting,
    to_linear,
)

PAYLOAD = (
    "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7#v=LSTNIU"
)
CENTER = "Trung tâm Phục vụ hành chính công phường Nam Gia Nghĩa"
PX_PER_MM = 4.0  # small cards keep the tests fast


def corners_of(result: zxingcpp.Barcode) -> np.ndarray:
    p = result.position
    points = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    return np.array([(q.x, q.y) for q in points], dtype=float)


def decoded(image: np.ndarray) -> dict[str, np.ndarray]:
    """Decoded text -> corners (TL, TR, BR, BL) of every QR code zxing-cpp finds."""
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return {r.text: corners_of(r) for r in results if r.valid}


def contrast_in(image: np.ndarray, corners) -> float:
    """Michelson contrast of the symbol, in linear light: the code's quadrilateral is warped to
    a square and its 5th / 95th percentiles of luminance are compared."""
    square = np.array([(0, 0), (200, 0), (200, 200), (0, 200)], np.float32)
    m = cv2.getPerspectiveTransform(np.array(corners, np.float32), square)
    patch = cv2.warpPerspective(image[..., :3], m, (200, 200))[10:190, 10:190]
    lum = to_linear(patch) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    dark, light = np.percentile(lum, [5, 95])
    return float((light - dark) / (light + dark))


def box_corners(box) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def posting(payload: str, code: str = "1.001193", px_per_mm: float = PX_PER_MM):
    return render_posting(code, "Thủ tục đăng ký khai sinh", "Hộ tịch", CENTER, payload, px_per_mm)


@pytest.fixture(scope="module")
def payloads() -> list[str]:
    return catalog_like_payloads(4, rng=1)


@pytest.fixture(scope="module")
def fresh_board(payloads):
    """A fresh, sharp, noise-free board of four postings, in perspective."""
    cards = []
    for i, payload in enumerate(payloads):
        card, box = posting(payload, f"1.00000{i}")
        cards.append((card, box, Condition(), str(i), payload))
    return photograph(
        cards,
        (1600, 1200),
        rng=11,
        px_per_mm=PX_PER_MM,
        perspective_deg=15,
        noise=0,
        blur_px=0.6,
        sharpen=0,
        jpeg_quality=None,
    )


# ---------------------------------------------------------------------------------------------
# Determinism


def test_code_image_is_deterministic_for_a_seed():
    options = {"tilt_deg": 25, "noise": 0.03, "glare": 0.5, "damage": 0.05, "jpeg_quality": 80}
    first, truth = code_image(PAYLOAD, rng=3, **options)
    again, truth_again = code_image(PAYLOAD, rng=3, **options)
    other, _ = code_image(PAYLOAD, rng=4, **options)
    assert np.array_equal(first, again)
    assert truth == truth_again
    assert not np.array_equal(first, other)


def test_photograph_is_deterministic_for_a_seed(payloads):
    card, box = posting(payloads[0], px_per_mm=3.0)
    aged = age_print(card, box, Condition(fade=0.5, scratches=3, stain=True), rng=5)
    cards = [(aged, box, Condition(fade=0.5), "aged", payloads[0])]

    def shoot(seed: int):
        return photograph(cards, (640, 480), rng=seed, px_per_mm=3.0)

    (first, truth), (again, truth_again), (other, _) = shoot(7), shoot(7), shoot(8)
    assert np.array_equal(first, again)
    assert truth == truth_again
    assert not np.array_equal(first, other)
    assert np.array_equal(
        aged, age_print(card, box, Condition(fade=0.5, scratches=3, stain=True), rng=5)
    )


# ---------------------------------------------------------------------------------------------
# Ground truth


def test_rendered_posting_box_is_the_symbol():
    card, box = posting(PAYLOAD)
    found = decoded(card)
    assert list(found) == [PAYLOAD]
    assert np.abs(found[PAYLOAD] - np.array(box_corners(box))).max() < 1.5


def test_board_truth_corners_match_decoded_positions(fresh_board, payloads):
    image, placed = fresh_board
    assert image.shape == (1200, 1600, 3)
    assert [p.payload for p in placed] == payloads
    found = decoded(image)
    assert set(found) == set(payloads)
    for code in placed:
        assert isinstance(code, PlacedCode) and len(code.corners) == 4
        error = np.abs(found[code.payload] - np.array(code.corners)).max()
        assert error < 2.5, (code.label, error)
        assert 2 < code.module_px < 5


def test_code_image_decodes_at_full_contrast_where_the_truth_says():
    image, truth = code_image(PAYLOAD, rng=0)
    found = decoded(image)
    assert list(found) == [PAYLOAD]
    assert np.abs(found[PAYLOAD] - np.array(truth.corners)).max() < 1.5
    assert truth.module_px == pytest.approx(6, abs=0.01)


@pytest.mark.parametrize(
    "distortion",
    [
        {"tilt_deg": 35},
        {"rotate_deg": 45},
        {"curve": 0.3},
        {"invert": True},
        {"module_px": 3},
        {"shadow": 0.6},
        {"noise": 0.03, "blur_px": 1.0, "jpeg_quality": 75},
    ],
    ids=str,
)
def test_code_image_mild_distortions_still_decode(distortion):
    image, truth = code_image(PAYLOAD, rng=1, **distortion)
    found = decoded(image)
    assert list(found) == [PAYLOAD]
    assert np.abs(found[PAYLOAD] - np.array(truth.corners)).max() < 3


def test_code_image_contrast_is_the_reflectance_ratio():
    image, truth = code_image(PAYLOAD, contrast=0.4, rng=0)
    lum = to_linear(image)[..., 1]
    x0, y0 = np.floor(np.min(truth.corners, axis=0)).astype(int)
    x1, y1 = np.ceil(np.max(truth.corners, axis=0)).astype(int)
    dark, light = np.percentile(lum[y0:y1, x0:x1], [2, 98])
    assert (light - dark) / light == pytest.approx(0.4, abs=0.02)


def test_board_with_codes_places_distinct_codes_in_the_frame():
    image, placed = board_with_codes(20, size=(1200, 900), module_px=2.5, rng=2)
    assert image.shape == (900, 1200, 3)
    assert len({p.payload for p in placed}) == 20
    corners = np.array([p.corners for p in placed])
    assert corners.min() >= 0 and corners[..., 0].max() <= 1200 and corners[..., 1].max() <= 900
    assert all(
        p.payload.startswith("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/") for p in placed
    )
    assert np.median([p.module_px for p in placed]) == pytest.approx(2.5, rel=0.3)


def test_boards_mix_encoders_and_every_code_grades_sound():
    """Board photos carry codes of three encoders (qrcheck's own and two others), so a test or
    bench built on them cannot agree with qrcheck's generator by construction."""
    from qrcheck.grade.measure import grade_code
    from qrcheck.vision.locate import locate_codes
    from testkit.simulate import ENCODERS, make_symbol

    image, placed = board_with_codes(6, size=(2400, 1800), module_px=6, rng=4)
    assert [p.condition.encoder for p in placed] == [*ENCODERS, *ENCODERS]
    for p in placed:
        own = make_symbol(p.payload).modules
        theirs = make_symbol(p.payload, p.condition.encoder).modules
        if p.condition.encoder != "python-qrcode":  # really another symbol for the same text
            assert own.shape != theirs.shape or (own != theirs).any()
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    codes = locate_codes(gray)
    assert sorted(c.text for c in codes) == sorted(p.payload for p in placed)
    assert all(grade_code(c, gray).grade in "AB" for c in codes)


# ---------------------------------------------------------------------------------------------
# Ageing


def test_fading_lowers_contrast_monotonically_on_the_card():
    card, box = posting(PAYLOAD)
    fades = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.97)
    measured = [
        contrast_in(age_print(card, box, Condition(fade=f), rng=1), box_corners(box)) for f in fades
    ]
    assert all(a > b for a, b in itertools.pairwise(measured)), measured
    assert measured[0] > 0.9 and measured[-1] < 0.15


def test_fading_lowers_contrast_monotonically_in_the_photo(payloads):
    fades = (0.0, 0.4, 0.7, 0.9)
    cards = []
    for fade, payload in zip(fades, payloads, strict=True):
        card, box = posting(payload)
        cards.append(
            (
                age_print(card, box, Condition(fade=fade), rng=2),
                box,
                Condition(fade=fade),
                "",
                payload,
            )
        )
    image, placed = photograph(cards, (1600, 1200), rng=3, px_per_mm=PX_PER_MM, light_gradient=0.2)
    measured = [contrast_in(image, code.corners) for code in placed]
    assert all(a > b for a, b in itertools.pairwise(measured)), measured


def test_age_print_tears_a_corner_into_the_code_and_inverts():
    card, box = posting(PAYLOAD)
    torn = age_print(card, box, Condition(torn_corner=True), rng=4)
    assert torn.shape == (*card.shape[:2], 4)
    alpha = torn[..., 3]
    assert alpha[0, 0] == 255 and alpha[-1, -1] == 0
    x0, y0, x1, y1 = (round(v) for v in box)
    assert 0 < (alpha[y0:y1, x0:x1] == 0).mean() < 0.1  # a bite out of the symbol's corner

    inverted = age_print(card, box, Condition(invert=True), rng=4)
    quiet = inverted[y0 - 3 : y0 - 1, x0:x1]  # inside the quiet zone, just above the symbol
    assert quiet.mean() < 60 and card[y0 - 3 : y0 - 1, x0:x1].mean() > 200
    assert list(decoded(inverted)) == [PAYLOAD]


def test_glare_blows_out_part_of_the_code():
    image, truth = code_image(PAYLOAD, glare=1.0, rng=5)
    x0, y0 = np.floor(np.min(truth.corners, axis=0)).astype(int)
    x1, y1 = np.ceil(np.max(truth.corners, axis=0)).astype(int)
    saturated = (image[y0:y1, x0:x1].min(axis=2) == 255).mean()
    assert 0.02 < saturated < 0.5


# ---------------------------------------------------------------------------------------------
# Text


def test_bundled_font_draws_vietnamese_diacritics():
    font = posting_font(64)
    assert font.getname()[0] == "Be Vietnam Pro"

    def ink(text: str) -> np.ndarray:
        canvas = Image.new("L", (120, 160), 255)
        ImageDraw.Draw(canvas).text((20, 40), text, font=font, fill=0)
        return np.asarray(canvas) < 128

    plain, marked = ink("e"), ink("ệ")
    assert not np.array_equal(plain, marked)
    rows_plain = np.flatnonzero(plain.any(axis=1))
    rows_marked = np.flatnonzero(marked.any(axis=1))
    assert rows_marked.min() < rows_plain.min() and rows_marked.max() > rows_plain.max()


def test_render_posting_prints_text_above_and_below_the_code():
    card, box = posting(PAYLOAD)
    assert card.shape == (round(210 * PX_PER_MM), round(148 * PX_PER_MM), 3)
    dark = card.mean(axis=2) < 128
    assert dark[: int(box[1]) - 20].mean() > 0.003  # center name, code, field, procedure name
    assert dark[int(box[3]) + 20 :].mean() > 0.003  # call to action, link, print line
