"""The grade's small fast paths give the numbers of the code they replaced: numpy's median,
percentile and linspace, the fixed patterns scored segment by segment (the grade must not move)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from qrcheck.grade.measure import (
    _LEVELS,
    GRADES,
    TIMING_BANDS,
    UEC_BANDS,
    _codeword_grades,
    _fixed_patterns,
    _glare_mask,
    _grid,
    _measure,
    _median,
    _percentile,
    _sample_modules,
    _Sampler,
    _spread,
    band_score,
    below_score,
    count_score,
)
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from qrcheck.vision.qr_layout import (
    blocks,
    correct,
    format_words,
    layout,
    mask_matrix,
    reference_matrix,
    size_of,
    version_bits,
)

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


def old_sample_modules(sampler: _Sampler, centres: np.ndarray, module: float):
    """The module samples as first read: the three images stacked, box-filtered and read at once."""
    stack = cv2.merge(
        [sampler.lin, _glare_mask(sampler.raw, module), sampler.raw.astype(np.float32)]
    )
    k = 2 * int(module // 4) + 1
    if k > 1:
        stack = cv2.blur(stack, (k, k), borderType=cv2.BORDER_REPLICATE)
    sampled = sampler.points(centres, stack)
    return sampled[:, 0], sampled[:, 1] > 0.2, sampled[:, 2]


def test_the_modules_read_one_image_at_a_time_are_those_of_the_stack() -> None:
    """Every code of the sample photos, at its own module size and at others (box filters of 1
    to 7 pixels), as photographed and with a blown-out patch over it (glare), partly outside
    the photo too (NaN samples)."""
    rng = np.random.default_rng(21)
    glared = 0
    for path in sorted((REPO / "samples" / "photos").rglob("*")):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        gray = load_photo(path).gray
        for code in locate_codes(gray):
            n = size_of(code.version or 1)
            centres = _grid(n)[4]
            for shift in (0.0, 0.6):
                corners = np.array(code.corners, np.float64) - shift * code.side
                for photo in (gray, gray.copy()):
                    if photo is not gray:
                        y, x = np.array(code.corners[0], int)[::-1].clip(0)
                        side = int(code.side / 2)
                        photo[y : y + side, x : x + side] = 255
                    sampler = _Sampler(photo, corners, n, 4.5)
                    if sampler.lin.size == 0:
                        continue
                    for module in (code.side / n, float(rng.uniform(1, 8)), 12.0, 30.0):
                        new = _sample_modules(sampler, centres, module)
                        old = old_sample_modules(sampler, centres, module)
                        for a, b in zip(new, old, strict=True):
                            assert a.dtype == b.dtype
                            assert np.array_equal(a, b, equal_nan=a.dtype != bool)
                        glared += int(new[1].any())
    assert glared


def old_codeword_grades(parameters, excluded, lay, ec):
    """Codeword grading as first written: the errors per block from a 0/1 membership product."""
    spec = blocks(lay.version, ec)
    data_r, data_c = lay.data_order
    k = spec.total * 8
    levels = np.stack(parameters)
    cw_levels = levels[:, data_r[:k], data_c[:k]].reshape(len(parameters), spec.total, 8)
    cw_levels = cw_levels.min(axis=2)
    cw_excluded = excluded[data_r[:k], data_c[:k]].reshape(spec.total, 8).any(axis=1)
    bad = (cw_levels[:, None, :] < _LEVELS[None, :, None]) & ~cw_excluded[None, None, :]
    members = np.zeros((spec.total, len(spec.ec_counts)), np.int32)
    members[np.arange(spec.total), spec.block_of] = 1
    errors = bad.astype(np.int32).reshape(-1, spec.total) @ members
    uecs = np.clip(1 - 2 * errors / spec.ec_counts[None, :], 0, 1).min(axis=1)
    results = []
    for p in range(len(parameters)):
        best, notional = 0.0, {}
        for level, uec in zip(_LEVELS, uecs[p * 4 : p * 4 + 4], strict=True):
            notional[GRADES[level]] = round(float(uec), 3)
            best = max(best, min(float(level), band_score(float(uec), UEC_BANDS)))
        results.append((best, notional))
    return results


def test_the_codewords_are_graded_as_with_the_membership_product() -> None:
    rng = np.random.default_rng(22)
    for version in (1, 2, 5, 7, 10, 22, 40):
        lay = layout(version)
        n = lay.n
        for ec in "LMQH":
            for share in (0.0, 0.01, 0.05, 0.3, 1.0):
                parameters = [
                    np.where(rng.random((n, n)) < share, rng.integers(0, 5, (n, n)), 4)
                    for _ in range(2)
                ]
                excluded = rng.random((n, n)) < share / 3
                new = _codeword_grades(parameters, excluded, lay, ec)
                assert new == old_codeword_grades(parameters, excluded, lay, ec)


def old_correct_matrix(measured, version, ec, mask, word, fixed_words):
    """The corrected symbol as first drawn: the fixed patterns, the codewords, then the format
    and version information written over the sampled symbol in turn."""
    lay = layout(version)
    data_r, data_c = lay.data_order
    k = blocks(version, ec).total * 8
    flip = mask_matrix(lay.n, mask)
    out = np.where(lay.fixed, lay.expected, measured)
    new_bits = np.unpackbits(fixed_words[:, None], axis=1, bitorder="big").ravel().astype(bool)
    out[data_r[:k], data_c[:k]] = new_bits ^ flip[data_r[:k], data_c[:k]]
    for rows, cols in lay.format_copies:
        out[rows, cols] = [(word >> i) & 1 == 1 for i in range(15)]
    if version >= 7:
        vbits = version_bits(version)
        for rows, cols in lay.version_copies:
            out[rows, cols] = [(vbits >> i) & 1 == 1 for i in range(18)]
    return out


def test_the_corrected_symbol_is_drawn_as_before() -> None:
    """Symbols with errors within and past correction, every mask, versions 1 to 40."""
    rng = np.random.default_rng(23)
    for version in (1, 3, 6, 7, 12, 27, 40):
        for ec in "LMQH":
            for mask in range(8):
                word = next(w for w, e, m in format_words() if e == ec and m == mask)
                matrix = reference_matrix("dvc.vn", version, ec, mask, True)
                for share in (0.0, 0.02, 0.3):
                    measured = matrix ^ (rng.random(matrix.shape) < share)
                    fixed = correct(measured, version, ec, mask, word)
                    lay = layout(version)
                    data_r, data_c = lay.data_order
                    k = blocks(version, ec).total * 8
                    bits = (
                        fixed.matrix[data_r[:k], data_c[:k]]
                        ^ mask_matrix(lay.n, mask)[data_r[:k], data_c[:k]]
                    )
                    words = np.packbits(bits.astype(np.uint8).reshape(-1, 8), axis=1).ravel()
                    old = old_correct_matrix(measured, version, ec, mask, word, words)
                    assert np.array_equal(fixed.matrix, old)
                    assert not fixed.matrix.flags.writeable
                    if share == 0.0:
                        assert np.array_equal(fixed.matrix, matrix)


def test_points_are_remapped_in_one_row_with_the_values_of_rows_of_1024(monkeypatch) -> None:
    """A map of one row (OpenCV remaps it on the calling thread) whenever the points fit in one,
    rows of at most 32,766 points past that; each point's value as with rows of 1,024."""
    rng = np.random.default_rng(24)
    gray = rng.integers(0, 256, (300, 320)).astype(np.uint8)
    corners = np.array([(30.0, 40.0), (280.0, 50.0), (270.0, 260.0), (40.0, 250.0)])
    sampler = _Sampler(gray, corners, 25, 4.5)
    shapes = []
    remap = cv2.remap

    def recording(src, mx, my, *args, **kwargs):
        shapes.append(mx.shape)
        return remap(src, mx, my, *args, **kwargs)

    monkeypatch.setattr(cv2, "remap", recording)
    stack = cv2.merge([sampler.lin, sampler.lin * 0.5, sampler.lin * 2])
    for k in (1, 7, 1023, 1025, 5000, 32766, 32767, 40000):
        xy = np.c_[rng.uniform(-5, 330, k), rng.uniform(-5, 310, k)]
        for src in (sampler.lin, stack):
            shapes.clear()
            values = sampler.at(xy, src)
            rows = -(-k // 32766)
            assert shapes == [(rows, k if rows == 1 else 32766)]
            mx = np.full(-(-k // 1024) * 1024, -1e6, np.float32)
            my = mx.copy()
            mx[:k] = xy[:, 0] - 0.5 - sampler.x0
            my[:k] = xy[:, 1] - 0.5 - sampler.y0
            old = remap(
                src,
                mx.reshape(-1, 1024),
                my.reshape(-1, 1024),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(-1.0, -1.0, -1.0, -1.0),
            )
            old = old.reshape(-1, src.shape[2])[:k] if src.ndim == 3 else old.ravel()[:k]
            old = np.where(old < 0, np.nan, old).astype(np.float64)
            assert np.array_equal(values, old, equal_nan=True)
            assert (np.isnan(values).any() and np.isfinite(values).any()) or k < 50
