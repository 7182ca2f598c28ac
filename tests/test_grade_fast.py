"""The grade's small fast paths give the numbers of the code they replaced: numpy's median,
percentile and linspace, the fixed patterns scored segment by segment (the grade must not move)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from qrcheck.grade.measure import (
    _LEVELS,
    TIMING_BANDS,
    _fixed_patterns,
    _glare_mask,
    _measure,
    _median,
    _percentile,
    _spread,
    below_score,
    count_score,
)
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from qrcheck.vision.qr_layout import version_bits

REPO = Path(__file__).resolve().parent.parent


def test_the_median_is_numpys_to_the_last_bit() -> None:
    rng = np.random.default_rng(11)
    for size in [*range(1, 40), 255, 256, 1000, 1001]:
        for values in (rng.random(size), rng.integers(0, 5, size).astype(np.float64)):
            assert _median(values) == float(np.median(values))
    with_nan = rng.random(11)
    with_nan[3] = np.nan
    assert np.isnan(_median(with_nan))
    assert np.isnan(_median(np.array([])))


def test_the_percentile_is_numpys_to_the_last_bit() -> None:
    rng = np.random.default_rng(12)
    for size in [*range(1, 60), 199, 200, 201, 1000]:
        for values in (rng.random(size), rng.integers(0, 4, size).astype(np.float64)):
            for q in (5, 90, 95, 50, 0, 100):
                assert _percentile(values, q) == float(np.percentile(values, q)), (size, q)
    with_nan = rng.random(30)
    with_nan[7] = np.nan
    assert np.isnan(_percentile(with_nan, 5))


def test_the_spread_indices_are_linspaces() -> None:
    for count in range(1, 400):
        for k in range(1, min(count, 60) + 1):
            expected = np.linspace(0, count - 1, k).astype(int)
            assert np.array_equal(_spread(count, k), expected), (count, k)


def old_segment_score(wrong, levels, excluded, scorer) -> float:
    """The old path: one segment at a time."""
    bad = (wrong[None, :] | (levels[None, :] < _LEVELS[:, None])) & ~excluded[None, :]
    errors = np.count_nonzero(bad, axis=1)
    return max(
        min(float(level), scorer(int(e), len(wrong)))
        for level, e in zip(_LEVELS, errors, strict=True)
    )


def old_fixed_patterns(s, wrong, levels, dark) -> dict:
    lay = s.lay
    scores: dict[str, float] = {}
    for name in ("finder_tl", "finder_tr", "finder_bl"):
        r, c = lay.segments[name]
        scores[name] = old_segment_score(
            wrong[r, c], levels[r, c], s.glare[r, c], lambda e, _n: count_score(e)
        )
    for name in ("timing_h", "timing_v"):
        r, c = lay.segments[name]
        scores[name] = old_segment_score(
            wrong[r, c],
            levels[r, c],
            s.glare[r, c],
            lambda e, n: below_score(e / max(n, 1), TIMING_BANDS),
        )
    for label, copies, word in (
        ("format", lay.format_copies, s.format_word),
        (
            "version_info",
            lay.version_copies,
            version_bits(lay.version) if lay.version >= 7 else None,
        ),
    ):
        if not copies:
            continue
        if word is None:
            scores[label] = 0.0
            continue
        copy_scores = []
        for rows, cols in copies:
            expected = np.array([(word >> i) & 1 for i in range(len(rows))], bool)
            wrong_bits = dark[rows, cols] != expected
            wrong_bits |= ~np.isfinite(s.r[rows, cols])
            copy_scores.append(
                old_segment_score(
                    wrong_bits,
                    levels[rows, cols],
                    s.glare[rows, cols],
                    lambda e, _n: count_score(e),
                )
            )
        scores[label] = max(copy_scores)
    return scores


def test_the_fixed_patterns_are_scored_as_segment_by_segment() -> None:
    """Symbols measured in real photos (versions 1 to 7 and more), with modules in error, grade
    levels, glare and colours drawn at random over them, and without format information."""
    rng = np.random.default_rng(4)
    symbols = []
    for path in sorted((REPO / "samples" / "photos").rglob("*")):
        if path.suffix.lower() in (".jpg", ".png"):
            gray = load_photo(path).gray
            symbols += [s for s in (_measure(gray, code) for code in locate_codes(gray)) if s]
    assert {s.lay.version >= 7 for s in symbols} == {True, False}
    for s in symbols:
        n = s.lay.n
        for share in (0.0, 0.02, 0.1, 0.4):
            wrong = rng.random((n, n)) < share
            levels = np.where(rng.random((n, n)) < share, rng.integers(0, 5, (n, n)), 4)
            dark = s.truth ^ (rng.random((n, n)) < share)
            glared = replace(s, glare=rng.random((n, n)) < share / 2)
            for symbol in (glared, replace(glared, format_word=None)):
                new = _fixed_patterns(symbol, wrong, levels, dark)
                old = old_fixed_patterns(symbol, wrong, levels, dark)
                assert new == old
                assert list(new) == list(old)  # the same order in the JSON


def old_glare_mask(raw: np.ndarray, module: float) -> np.ndarray:
    saturated = (raw >= 250).astype(np.uint8)
    if not saturated.any():
        return np.zeros(raw.shape, np.float32)
    width = max(3, round(2.5 * module))
    blobs = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((width, width), np.uint8))
    grow = max(3, round(4 * module)) | 1
    return cv2.dilate(blobs, np.ones((grow, grow), np.uint8)).astype(np.float32)


def test_the_glare_mask_is_the_same_when_its_growing_is_skipped() -> None:
    """Crops with no blown-out pixel, scattered ones (light modules: no blob survives the
    opening, nothing is grown) and real blobs."""
    rng = np.random.default_rng(9)
    empty = 0
    for trial in range(60):
        raw = rng.integers(0, 240, (120, 130)).astype(np.uint8)
        module = float(rng.uniform(2, 8))
        if trial % 3 == 1:
            raw[rng.random(raw.shape) < 0.05] = 255
        if trial % 3 == 2:
            y, x, r = rng.integers(10, 110), rng.integers(10, 120), rng.integers(3, 25)
            raw[max(0, y - r) : y + r, max(0, x - r) : x + r] = 252
        mask = _glare_mask(raw, module)
        assert np.array_equal(mask, old_glare_mask(raw, module))
        assert mask.dtype == np.float32
        empty += int(not mask.any())
    assert 0 < empty < 60
