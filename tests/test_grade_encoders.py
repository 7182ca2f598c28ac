"""Grades of codes qrcheck did not make (issue 12): three independent encoders, every version.

A center's boards carry codes printed by the provincial portal's generator, online generators and
older postings. The grade's reference symbol used to be rebuilt by re-encoding the decoded text
with python-qrcode, so a sound code from another encoder (other segment choices, padding or mask)
was graded F with a hundred "wrong modules". The reference is now read from the symbol itself
(ISO/IEC 15415's reference decode: codewords through the symbol's own format information,
Reed-Solomon block by block, placed back with its own mask).

Every case here is made by segno, by zxing-cpp's writer or by python-qrcode, rendered by this file
(not by qrcheck's simulator), and "photographed" by a capture model of this file too: a small
perspective, the camera's blur, sensor noise and JPEG.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from qrcheck.board.check import check_photo, code_result
from qrcheck.catalog.load import load_catalog
from qrcheck.grade.measure import grade_code
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.qr_layout import blocks, correct, format_words, layout
from qrcheck.vision.shapes import Located
from testkit.encoders import ENCODERS, LEVELS, LINK, by_segno, by_zxing, capture, filling, render

TODAY = date(2026, 11, 27)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "catalog")


def the_code(gray: np.ndarray, text: str) -> Located:
    codes = locate_codes(gray)
    assert [c.text for c in codes] == [text]
    return codes[0]


# ---------------------------------------------------------------------------------------------
# the reference decode itself


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("version", [1, 2, 6, 7, 13, 22, 32, 40])
def test_the_corrected_symbol_is_the_encoders_symbol(encoder, version):
    """Read back through its own format information and mask, a clean symbol is reproduced
    module for module, whoever made it; with modules flipped, Reed-Solomon puts them back."""
    rng = np.random.default_rng(version)
    for ec in LEVELS:
        mask = int(rng.integers(8))
        modules = ENCODERS[encoder](filling(version, ec), version, ec, mask)
        word = next(w for w, e, m in format_words() if (e, m) == (ec, mask))
        fixed = correct(modules, version, ec, mask, word)
        assert fixed.complete and set(fixed.errors) == {0}
        assert (fixed.matrix == modules).all()
        assert fixed.unused_ec == 1.0
        damaged = modules.copy()
        rows, cols = layout(version).data_order
        spec = blocks(version, ec)
        # one flipped module in each of two codewords of block 0
        for word_index in np.flatnonzero(spec.block_of == 0)[:2]:
            damaged[rows[word_index * 8], cols[word_index * 8]] ^= True
        fixed = correct(damaged, version, ec, mask, word)
        assert (fixed.matrix == modules).all()
        assert fixed.errors[0] == 2
        assert fixed.unused_ec == pytest.approx(1 - 4 / spec.ec_counts[0])


# ---------------------------------------------------------------------------------------------
# clean codes grade A or B, every version, level and mask


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("version", range(1, 41))
def test_a_clean_code_grades_a_or_b_whoever_made_it(encoder, version):
    ec, mask = LEVELS[version % 4], version % 8
    text = filling(version, ec)
    gray = render(ENCODERS[encoder](text, version, ec, mask), 4 if version < 25 else 3)
    code = the_code(gray, text)
    grade = grade_code(code, gray)
    assert grade.grade in "AB", (grade.grade, grade.metrics.get("lowest"))
    assert grade.metrics["reference"] == "corrected"
    assert grade.metrics["mask"] == mask
    assert grade.metrics["reflectance_margin"]["wrong_modules"] == 0


@pytest.mark.parametrize("encoder", ["segno", "zxing-cpp", "python-qrcode"])
@pytest.mark.parametrize("ec", list(LEVELS))
def test_every_mask_and_level(encoder, ec):
    for mask in range(8):
        text = filling(5, ec)
        gray = render(ENCODERS[encoder](text, 5, ec, mask), 5)
        grade = grade_code(the_code(gray, text), gray)
        assert grade.grade in "AB", (mask, grade.metrics.get("lowest"))
        assert (grade.metrics["mask"], grade.metrics["ec_level"]) == (mask, ec)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("01234567890123456789012345", {"mode": "numeric"}),
        ("TTHC 1.001193 $%*+-./:", {"mode": "alphanumeric"}),
        ("点茗", {"mode": "kanji"}),
        ("1.001193 ĐĂNG KÝ KHAI SINH https://dichvucong.gov.vn", {}),  # segno mixes segments
        ("Đăng ký khai sinh — Cấp xã", {"eci": True, "encoding": "utf-8"}),
    ],
)
def test_every_segment_mode_and_eci(text, options):
    modules = by_segno(text, None, "M", None, **options)
    gray = render(modules, 6)
    grade = grade_code(the_code(gray, text), gray)
    assert grade.grade in "AB", grade.metrics.get("lowest")
    assert grade.metrics["reference"] == "corrected"


# ---------------------------------------------------------------------------------------------
# photographed: mild captures grade A/B; fading gives the same grade whatever the encoder


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("version", [1, 4, 10, 17, 27, 40])
def test_a_mild_phone_capture_grades_a_or_b(encoder, version):
    ec, mask = LEVELS[(version + 1) % 4], (version + 3) % 8
    text = filling(version, ec)
    gray = capture(render(ENCODERS[encoder](text, version, ec, mask), 6), seed=version)
    grade = grade_code(the_code(gray, text), gray)
    assert grade.grade in "AB", (grade.grade, grade.metrics.get("lowest"))
    assert grade.retake is None


@pytest.mark.parametrize("version", [3, 8])
def test_the_same_fading_gives_the_same_grade_whatever_the_encoder(version):
    text, ec = filling(version, "M"), "M"
    scores: dict[float, dict[str, float]] = {}
    for ink in (0.0, 0.3, 0.5, 0.65, 0.75):
        for name, encode in ENCODERS.items():
            gray = capture(render(encode(text, version, ec, 2), 6), seed=7, ink=ink)
            codes = locate_codes(gray)
            assert len(codes) == 1
            scores.setdefault(ink, {})[name] = grade_code(codes[0], gray).score
    for ink, by_encoder in scores.items():
        assert max(by_encoder.values()) - min(by_encoder.values()) <= 0.5, (ink, by_encoder)
    fresh, faded = scores[0.0], scores[0.75]
    for name in ENCODERS:
        assert fresh[name] >= 2.5  # A or B
        assert faded[name] < fresh[name] - 1.0


# ---------------------------------------------------------------------------------------------
# no photo lost to one code


@pytest.mark.parametrize("module_px", [1.5, 2.0, 3.0, 10.0])
def test_version_40_is_graded_at_every_module_size(module_px, tmp_path, catalog):
    """A version-40 symbol has 34,225 modules with its quiet zone: sampled in one remap row, it
    made OpenCV assert (`dst.cols < SHRT_MAX`) and the whole photo was lost."""
    text = filling(40, "L")
    gray = render(by_segno(text, 40, "L", 3), module_px)
    path = tmp_path / "v40.png"
    cv2.imwrite(str(path), gray)
    result = check_photo(path, catalog.as_of(TODAY), catalog.center)
    assert result.error is None
    (code,) = result.codes
    assert code.located.text == text
    assert "not_measured" not in code.grade.metrics
    if module_px < 2.5:  # maybe too small to judge the print: a retake at worst, never a reprint
        assert code.action in ("ok", "retake")
    else:
        assert code.grade.grade in "AB"


def test_a_code_whose_grading_fails_is_still_reported(caplog, catalog):
    gray = render(by_zxing(LINK, 7, "M", 1), 5)
    located = the_code(gray, LINK)

    def broken(code: Located, image: np.ndarray | None):
        raise cv2.error("remap: dst.cols < SHRT_MAX")

    with caplog.at_level(logging.WARNING, logger="qrcheck"):
        result = code_result(located, gray, catalog.as_of(TODAY), catalog.center, where="board.jpg",
                             grader=broken)  # fmt: skip
    assert result.located.text == LINK
    assert result.grade.metrics["not_measured"].startswith("error: remap")
    assert result.grade.grade in "ABCDF"
    assert result.reason == "grade.not_measured"
    assert result.verdict.status == "current"
    assert "board.jpg" in caplog.text and "SHRT_MAX" in caplog.text


def test_text_printed_into_the_quiet_zone_is_said_as_such(catalog):
    """Quiet-zone intrusion is real ISO damage, but staff are told "text printed against the
    code", not "the code has faded"."""
    modules = by_segno(LINK, 7, "M", 2)
    gray = render(modules, 6)
    top = 40 + 4 * 6 + modules.shape[0] * 6 + 6  # one module under the symbol
    left = 40 + 4 * 6
    gray[top : top + 12, left : left + modules.shape[0] * 6 * 6 // 10] = 24  # a line of text
    located = the_code(gray, LINK)
    result = code_result(located, gray, catalog.as_of(TODAY), catalog.center)
    assert result.grade.metrics["lowest"] == "quiet_zone"
    assert result.grade.metrics["symbol_contrast"]["grade"] == "A"
    assert result.action == "reprint"
    assert result.reason == "grade.quiet_zone"
    fresh = code_result(the_code(render(modules, 6), LINK), render(modules, 6),
                        catalog.as_of(TODAY), catalog.center)  # fmt: skip
    assert (fresh.action, fresh.reason) == ("ok", None)
