"""The readability grade (ISO/IEC 15415-informed): measurements against known truth, bands,
photo problems that call for a retake, and the best grade kept over several photos."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from qrcheck.board.check import check_photo, check_photos
from qrcheck.catalog.load import load_catalog
from qrcheck.grade.measure import (
    LOWEST,
    MOD_BANDS,
    QZ_BANDS,
    SC_BANDS,
    TIMING_BANDS,
    UEC_BANDS,
    band,
    band_score,
    below_score,
    count_score,
    grade_code,
    letter,
)
from qrcheck.printing.symbol import QUIET_ZONE, make_symbol
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.qr_layout import blocks, layout
from testkit.simulate import code_image

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "catalog")


@pytest.fixture(scope="module")
def payload(catalog) -> str:
    return catalog.as_of(TODAY).procedures["1.001193"].payload


def encode(linear: np.ndarray, gamma: float | str) -> np.ndarray:
    """Linear light (0..1) -> 8-bit as a camera with this tone curve stores it."""
    x = np.clip(linear, 0, 1)
    if gamma == "srgb":
        v = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    else:
        v = x ** (1 / float(gamma))
    return np.round(255 * v).astype(np.uint8)


def synthetic(
    payload: str,
    contrast: float,
    exposure: float,
    gamma,
    seed: int = 0,
    flips=(),
    contrast_right: float | None = None,
):
    """A code of known contrast ((paper - ink) / paper in reflectance), lit at `exposure`
    (paper's linear level) with a gentle light gradient, stored with `gamma`, slightly noisy.
    With `contrast_right`, the ink fades unevenly: its contrast runs smoothly from `contrast`
    at the left edge to `contrast_right` at the right."""
    modules = make_symbol(payload).modules.copy()
    for r, c in flips:
        modules[r, c] = ~modules[r, c]
    k = 6
    padded = np.pad(modules, QUIET_ZONE + 3, constant_values=False)
    right = contrast if contrast_right is None else contrast_right
    across = np.linspace(contrast, right, padded.shape[1])[None, :]
    refl = np.where(padded, 1 - across, 1.0).astype(np.float64)
    refl = np.kron(refl, np.ones((k, k)))
    _h, w = refl.shape
    ramp = 1 + 0.15 * (np.arange(w) / w - 0.5)[None, :]
    rng = np.random.default_rng(seed)
    linear = refl * exposure * ramp + rng.normal(0, 0.004, refl.shape)
    return encode(linear, gamma)


def graded(gray: np.ndarray):
    found = locate_codes(gray)
    assert len(found) == 1
    return found[0], grade_code(found[0], gray)


# ---------------------------------------------------------------------------------------------
# measurements against known truth


@pytest.mark.parametrize("gamma", ["srgb", 2.0, 2.4])
@pytest.mark.parametrize("exposure", [0.25, 0.85])
@pytest.mark.parametrize("contrast", [0.3, 0.6, 0.9])
def test_symbol_contrast_is_measured_within_5_points(payload, contrast, exposure, gamma) -> None:
    _, grade = graded(synthetic(payload, contrast, exposure, gamma))
    measured = grade.metrics["symbol_contrast"]["value"]
    assert abs(measured - contrast) <= 0.05, (measured, contrast, exposure, gamma)
    assert grade.metrics["symbol_contrast"]["grade"] == band(measured, SC_BANDS)


def test_unused_error_correction_falls_as_modules_are_flipped(payload) -> None:
    symbol = make_symbol(payload)
    lay = layout(symbol.version)
    spec = blocks(symbol.version, "Q")  # make_symbol encodes at level Q
    rows, cols = lay.data_order
    rng = np.random.default_rng(5)
    order = rng.permutation(rows.size)
    values = []
    for count in (0, 8, 16, 28):
        flips = list(zip(rows[order[:count]], cols[order[:count]], strict=True))
        code, grade = graded(synthetic(payload, 0.9, 0.85, "srgb", flips=flips))
        assert code.text == payload
        uec = grade.metrics["unused_error_correction"]
        assert uec["source"] == "reed-solomon"
        # the corrections made are exactly the codewords the flips hit, block by block
        hit = {int(i) // 8 for i in order[:count] if i < spec.total * 8}
        per_block = [0] * len(spec.ec_counts)
        for word in hit:
            per_block[int(spec.block_of[word])] += 1
        assert uec["corrected_per_block"] == per_block
        expected = min(1 - 2 * e / ec for e, ec in zip(per_block, spec.ec_counts, strict=True))
        assert uec["value"] == pytest.approx(expected, abs=0.001)
        values.append(uec["value"])
        # the cross-check: zxing-cpp's own reading of the photo agrees
        assert uec["zxing_cpp"] == pytest.approx(expected, abs=0.01)  # it rounds to 0.01
        assert grade.metrics["reflectance_margin"]["wrong_modules"] == count
    assert values[0] == 1.0
    assert all(a > b for a, b in itertools.pairwise(values)), values


def test_a_fresh_sharp_code_grades_a_or_b(payload) -> None:
    image, _ = code_image(payload, canvas=(800, 800), noise=0.02, jpeg_quality=85, rng=1)
    _code, grade = graded(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    assert grade.grade in ("A", "B"), grade.metrics
    assert grade.retake is None
    assert grade.grade == letter(grade.score)
    for name in ("symbol_contrast", "modulation", "reflectance_margin", "fixed_pattern_damage"):
        assert grade.metrics[name]["grade"] in ("A", "B"), name
    assert grade.metrics["reference"] == "corrected"


def test_faded_codes_grade_lower_the_more_they_fade(payload) -> None:
    scores = []
    for contrast in (0.95, 0.6, 0.45, 0.3, 0.18):
        image, _ = code_image(payload, contrast=contrast, canvas=(700, 700), noise=0.02, rng=2)
        _, grade = graded(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        scores.append(grade.score)
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1], scores
    assert letter(scores[-1]) in ("D", "F")


def test_the_score_falls_with_contrast_within_grade_a_too(payload) -> None:
    scores = []
    for contrast in (0.98, 0.9, 0.8, 0.72):
        _, grade = graded(synthetic(payload, contrast, 0.85, "srgb"))
        assert grade.grade == "A", grade.metrics
        scores.append(grade.score)
    assert all(a > b for a, b in itertools.pairwise(scores)), scores


def test_even_fading_across_the_symbol_is_not_damage(payload) -> None:
    """Ink that fades smoothly from one side to the other (as real postings do) is followed
    like phone readers' local thresholds follow it: the fixed patterns and modules stay sound,
    the symbol contrast (and its weakest region) tells how faded it is."""
    _, grade = graded(synthetic(payload, 0.75, 0.85, "srgb", contrast_right=0.4))
    for name in ("modulation", "reflectance_margin", "fixed_pattern_damage"):
        assert grade.metrics[name]["grade"] == "A", (name, grade.metrics[name])
    contrast = grade.metrics["symbol_contrast"]
    assert 0.4 <= contrast["value"] <= 0.75
    assert contrast["weakest_region"] < contrast["value"]
    assert grade.grade == band(contrast["value"], SC_BANDS)


def test_local_defects_still_count_under_uneven_fading(payload) -> None:
    """Voids punched into a finder pattern stand out of the fitted ink level."""
    voids = [(2, 2), (2, 3), (3, 2), (3, 3), (4, 4)]
    _, grade = graded(synthetic(payload, 0.75, 0.85, "srgb", contrast_right=0.4, flips=voids))
    assert grade.metrics["fixed_pattern_damage"]["segments"]["finder_tl"] in ("D", "F")
    assert grade.grade in ("D", "F")


def test_photo_figures_sit_under_photo(payload) -> None:
    _, grade = graded(synthetic(payload, 0.9, 0.85, "srgb"))
    photo = grade.metrics["photo"]
    assert "photo_crosstalk" not in grade.metrics
    assert {"module_px", "blur_modules", "crosstalk", "noise", "glare"} <= photo.keys()
    assert 0 <= photo["noise"] < 0.05


# ---------------------------------------------------------------------------------------------
# the photo, not the print


@pytest.mark.parametrize(
    ("distortion", "reason"),
    [
        ({"blur_px": 3.5}, "grading.retake_blur"),
        ({"glare": 0.6, "rng": 0}, "grade.retake_glare"),
        ({"glare": 1.0, "rng": 2}, "grade.retake_glare"),
    ],
)
def test_a_bad_photo_of_a_fresh_code_asks_for_a_retake(
    tmp_path: Path, catalog, payload, distortion, reason
) -> None:
    options = {"canvas": (800, 800), "noise": 0.02, "jpeg_quality": 85, "rng": 1, **distortion}
    image, _ = code_image(payload, **options)
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    (code,) = check_photo(path, catalog.as_of(TODAY), catalog.center).codes
    assert code.grade.grade in ("D", "F")
    assert (code.action, code.reason) == ("retake", reason)
    assert code.grade.metrics["symbol_contrast"]["grade"] in ("A", "B")


def test_a_faded_code_needs_a_reprint_even_in_a_blurred_photo(tmp_path, catalog, payload) -> None:
    image, _ = code_image(payload, contrast=0.15, blur_px=2.5, canvas=(800, 800), noise=0.02)
    path = tmp_path / "faded.png"
    Image.fromarray(image).save(path)
    (code,) = check_photo(path, catalog.as_of(TODAY), catalog.center).codes
    assert code.action == "reprint"


def test_the_best_grade_of_several_photos_is_kept(tmp_path, catalog, payload) -> None:
    folder = tmp_path / "board-3"
    folder.mkdir()
    for name, contrast in (("a.png", 0.32), ("b.png", 1.0)):
        image, _ = code_image(payload, contrast=contrast, canvas=(700, 700), noise=0.02)
        Image.fromarray(image).save(folder / name)
    view = catalog.as_of(TODAY)
    alone = check_photo(folder / "a.png", view, catalog.center).codes[0]
    assert alone.action == "reprint"
    report = check_photos([folder], view, catalog.center)
    first, second = (p.codes[0] for p in report.photos)
    assert first.grade.grade == second.grade.grade in ("A", "B")
    assert first.action == "ok"
    assert first.grade.metrics["best_of"]["photo"].endswith("b.png")
    assert first.grade.metrics["best_of"]["this_photo"]["grade"] == alone.grade.grade


# ---------------------------------------------------------------------------------------------
# bands


@pytest.mark.parametrize("bands", [SC_BANDS, MOD_BANDS, UEC_BANDS], ids=["SC", "MOD", "UEC"])
def test_band_edges(bands) -> None:
    lower = {"A": "B", "B": "C", "C": "D", "D": "F"}
    for edge, grade in bands:
        assert band(edge, bands) == grade == letter(band_score(edge, bands))
        assert band(edge - 1e-6, bands) == lower[grade] == letter(band_score(edge - 1e-6, bands))
    assert band_score(1.0, bands) == 4.0 and band_score(0.0, bands) == 0.0


def test_iso_band_values() -> None:
    assert [e for e, _ in SC_BANDS] == [0.70, 0.55, 0.40, 0.20]
    assert [e for e, _ in UEC_BANDS] == [0.62, 0.50, 0.37, 0.25]
    assert [e for e, _ in MOD_BANDS] == [0.50, 0.40, 0.30, 0.20]


@pytest.mark.parametrize("bands", [QZ_BANDS, TIMING_BANDS], ids=["quiet zone", "timing"])
def test_lower_is_better_band_edges(bands) -> None:
    for index, (edge, _) in enumerate(bands):
        assert below_score(edge, bands) == 4 - index
        assert below_score(edge + 1e-3, bands) == 3 - index


def test_scores_use_iso_grade_point_ranges() -> None:
    assert LOWEST == {"A": 3.5, "B": 2.5, "C": 1.5, "D": 0.5}
    assert [letter(x) for x in (4.0, 3.5, 3.49, 2.5, 2.49, 1.5, 1.49, 0.5, 0.49, 0.0)] == list(
        "AABBCCDDFF"
    )
    assert 3.5 < band_score(0.85, SC_BANDS) < band_score(0.95, SC_BANDS) < 4.0


def test_fixed_pattern_segments_grade_by_module_errors() -> None:
    assert [letter(count_score(e)) for e in range(6)] == ["A", "B", "C", "D", "F", "F"]


def test_an_inverted_print_is_graded_as_its_negative() -> None:
    """Light modules on a dark ground: a sound sticker, not a faded one."""
    from qrcheck.printing.symbol import make_symbol
    from qrcheck.vision.locate import locate_codes

    tile = 255 - make_symbol("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x#v=AAAAAA").bitmap(6)
    photo = np.full((tile.shape[0] + 120, tile.shape[1] + 120), 30, dtype=np.uint8)
    photo[60:-60, 60:-60] = np.clip(tile.astype(int) * 0.85 + 20, 0, 255).astype(np.uint8)
    (code,) = locate_codes(photo)
    grade = grade_code(code, photo)
    assert grade.metrics.get("inverted") is True
    assert grade.grade in ("A", "B"), grade.metrics


@given(
    data=st.binary(min_size=1, max_size=120),
    ec=st.integers(7, 30),
    damage=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
)
def test_the_fast_syndrome_check_agrees_with_reed_solomon(data: bytes, ec: int, damage) -> None:
    """grading.layout.syndromes_zero (numpy) says a block is a valid codeword exactly when
    reedsolo's syndromes are all zero; corrupted blocks (up to 3 bytes, fewer than the code's
    distance) are never taken as valid."""
    import reedsolo

    from qrcheck.vision.qr_layout import _codec, syndromes_zero

    code = bytearray(_codec(ec).encode(data))
    for where, flip in damage:
        code[where % len(code)] ^= flip
    expected = max(reedsolo.rs_calc_syndromes(code, ec)) == 0
    assert syndromes_zero(np.frombuffer(bytes(code), np.uint8), ec) == expected


def test_codeword_placement_covers_every_data_module_once_in_zigzag_order() -> None:
    """The vectorised placement (layout.data_order): every non-function module exactly once,
    starting at the bottom-right corner upward two columns wide, and skipping the timing column."""
    from qrcheck.vision.qr_layout import layout as _layout

    for version in range(1, 41):
        lay = _layout(version)
        rows, cols = lay.data_order
        seen = np.zeros((lay.n, lay.n), int)
        np.add.at(seen, (rows, cols), 1)
        assert (seen == (~lay.function).astype(int)).all(), version
        assert 6 not in set(cols.tolist())
    rows, cols = _layout(1).data_order
    assert list(zip(rows[:6].tolist(), cols[:6].tolist(), strict=True)) == [
        (20, 20), (20, 19), (19, 20), (19, 19), (18, 20), (18, 19)
    ]  # fmt: skip
