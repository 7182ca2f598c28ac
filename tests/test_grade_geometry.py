"""The grade's geometry search (`measure._fit_geometry`) against the per-candidate search it
replaced: one remap of one crop for every (orientation, version) candidate must choose the same
version and orientation, with the same fit, as sampling each candidate on its own did."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qrcheck.grade.measure import (
    _fit_geometry,
    _orientations,
    _pattern_cells,
    _read_format,
    _Sampler,
)
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from qrcheck.vision.qr_layout import format_words, layout, size_of
from qrcheck.vision.shapes import Located
from testkit.encoders import ENCODERS, capture, filling, render

REPO = Path(__file__).resolve().parent.parent


def old_fit(gray: np.ndarray, code: Located) -> tuple[int, np.ndarray, float]:
    """The old path: a sampler per candidate, numpy's correlation."""
    corners = np.array(code.corners, np.float64)
    if code.version and code.decoded:
        return code.version, corners, 1.0
    best = (-2.0, 1, corners)
    versions = [v for v in range(1, 41) if code.side / size_of(v) >= 1.2]
    if code.version:
        versions = [code.version]
    for oriented in _orientations(corners) if not code.decoded else [corners]:
        for v in versions:
            lay = layout(v)
            sampler = _Sampler(gray, oriented, lay.n, 0)
            rows, cols = zip(
                *(lay.segments[k] for k in ("finder_tl", "finder_tr", "finder_bl",
                                            "timing_h", "timing_v")),
                strict=True,
            )  # fmt: skip
            r, c = np.concatenate(rows), np.concatenate(cols)
            values = sampler.points(np.c_[c + 0.5, r + 0.5])
            expected = lay.expected[r, c].astype(np.float64)
            ok = ~np.isnan(values)
            if ok.sum() < 20 or values[ok].std() == 0:
                fit = -1.0
            else:
                fit = float(-np.corrcoef(values[ok], expected[ok])[0, 1])
            if fit > best[0]:
                best = (fit, v, oriented)
    return best[1], best[2], best[0]


def variants(code: Located) -> list[Located]:
    """The code undecoded (version known or not) and decoded without a version (as ZBar)."""
    return [
        replace(code, text=None, version=None),
        replace(code, text=None),
        replace(code, version=None),
    ]


def assert_same(gray: np.ndarray, code: Located) -> int:
    new, old = _fit_geometry(gray, code), old_fit(gray, code)
    assert new[0] == old[0]
    assert np.array_equal(new[1], old[1])
    assert new[2] == pytest.approx(old[2], abs=1e-9)
    return new[0]


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_the_search_finds_what_the_old_one_found_on_other_encoders_codes(encoder) -> None:
    for seed, version in enumerate((2, 5, 9)):
        modules = ENCODERS[encoder](filling(version, "M"), version, "M", seed)
        gray = capture(render(modules, 4.0), seed=seed)
        codes = locate_codes(gray)
        assert codes
        for code in codes:
            for variant in variants(code):
                assert assert_same(gray, variant) == version  # and it is the right version
        # a rotated photo: the undecoded code's orientation must be found again
        turned = np.ascontiguousarray(np.rot90(gray))
        for code in locate_codes(turned):
            assert assert_same(turned, replace(code, text=None, version=None)) == version


def test_the_search_finds_what_the_old_one_found_on_real_photos() -> None:
    checked = 0
    for path in sorted((REPO / "samples" / "photos").rglob("*")):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        gray = load_photo(path).gray
        for code in locate_codes(gray):
            for variant in variants(code):
                assert_same(gray, variant)
                checked += 1
    assert checked >= 24


def test_the_pattern_cells_are_the_layouts_finders_and_timing_patterns() -> None:
    for version in range(1, 41):
        lay = layout(version)
        names = ("finder_tl", "finder_tr", "finder_bl", "timing_h", "timing_v")
        r = np.concatenate([lay.segments[k][0] for k in names])
        c = np.concatenate([lay.segments[k][1] for k in names])
        uv, expected = _pattern_cells(version)
        assert np.array_equal(uv, np.c_[c + 0.5, r + 0.5])
        assert np.array_equal(expected, lay.expected[r, c].astype(np.float64))


def old_read_format(measured: np.ndarray, lay, ec_hint: str | None):
    """The old path: bit by bit, word by word."""
    best = (99, None, None, None)
    for rows, cols in lay.format_copies:
        bits = sum(int(measured[r, c]) << i for i, (r, c) in enumerate(zip(rows, cols)))  # noqa: B905
        for word, ec, mask in format_words():
            if ec_hint in ("L", "M", "Q", "H") and ec != ec_hint:
                continue
            distance = bin(bits ^ word).count("1")
            if distance < best[0]:
                best = (distance, ec, mask, word)
    if best[0] > 3 and ec_hint not in ("L", "M", "Q", "H"):
        return None, None, None
    return best[1], best[2], best[3]


def test_the_format_information_is_read_as_bit_by_bit() -> None:
    """Both copies damaged by 0 to 7 flipped bits (ties, words past 3 errors), with and without
    the reader's EC level as a hint."""
    rng = np.random.default_rng(5)
    outcomes = set()
    for trial in range(600):
        version = int(rng.integers(1, 12))
        lay = layout(version)
        word, ec, mask = format_words()[int(rng.integers(32))]
        measured = rng.random((lay.n, lay.n)) < 0.5
        for rows, cols in lay.format_copies:
            bits = np.array([(word >> i) & 1 for i in range(15)], bool)
            flips = rng.choice(15, int(rng.integers(0, 8)), replace=False)
            bits[flips] ^= True
            measured[rows, cols] = bits
        hint = [None, "L", "M", "Q", "H", ec][trial % 6]
        got = _read_format(measured, lay, hint)
        assert got == old_read_format(measured, lay, hint)
        outcomes.add(got == (ec, mask, word))
    assert outcomes == {True, False}
