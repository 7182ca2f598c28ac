"""The grade's Reed-Solomon decoder (`qr_layout.rs_correct`) against reedsolo's, which it replaced.

Bounded-distance decoding has one right answer: the codeword within half the check words of the
block, or none. The numpy decoder must give reedsolo's answer on every block, corrected, past
correction (failures and miscorrections alike), on symbols of three other encoders with modules
flipped, and on the symbols sampled from real photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qrcheck.grade.measure import _measure
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from qrcheck.vision.qr_layout import (
    _codec,
    blocks,
    correct,
    format_words,
    layout,
    rs_correct,
    syndromes_zero,
)
from testkit.encoders import ENCODERS, LEVELS, filling

REPO = Path(__file__).resolve().parent.parent


def reedsolo_decode(block: np.ndarray, ec_count: int) -> np.ndarray | None:
    """The old path: reedsolo's decoder (None past correction)."""
    import reedsolo

    try:
        _, full, _ = _codec(ec_count).decode(bytearray(np.asarray(block, np.uint8).tobytes()))
    except reedsolo.ReedSolomonError:
        return None
    return np.frombuffer(bytes(full), np.uint8)


def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and (a == b).all())


def test_the_decoder_gives_reedsolos_answer_within_and_past_correction() -> None:
    rng = np.random.default_rng(7)
    corrected = failed = 0
    for _ in range(1500):
        ec = int(rng.choice([7, 10, 13, 15, 16, 18, 22, 24, 26, 28, 30]))
        data = rng.integers(0, 256, int(rng.integers(1, 150))).astype(np.uint8)
        clean = np.frombuffer(bytes(_codec(ec).encode(bytearray(data.tobytes()))), np.uint8)
        block = clean.copy()
        count = int(rng.integers(0, ec + 3))
        where = rng.choice(len(block), min(count, len(block)), replace=False)
        block[where] ^= rng.integers(1, 256, len(where)).astype(np.uint8)
        expected = reedsolo_decode(block, ec)
        got = rs_correct(block, ec)
        assert same(got, expected), (ec, len(data), count)
        if got is None:
            failed += 1
        elif (got == clean).all():
            corrected += int(count > 0)
    # every kind of outcome was met (the test can tell the decoders apart)
    assert corrected > 300 and failed > 300


def test_the_decoder_corrects_up_to_half_the_check_words_and_no_more() -> None:
    rng = np.random.default_rng(3)
    ec = 10
    clean = np.frombuffer(bytes(_codec(ec).encode(bytearray(range(40)))), np.uint8)
    for count in range(ec // 2 + 1):
        block = clean.copy()
        block[rng.choice(len(block), count, replace=False)] ^= 0x5A
        assert same(rs_correct(block, ec), clean)
    block = clean.copy()
    block[:ec] ^= 0xFF  # ten errors: past correction
    assert same(rs_correct(block, ec), reedsolo_decode(block, ec))
    assert rs_correct(block, ec) is None or not (rs_correct(block, ec) == clean).all()


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("version", [2, 7, 22])
def test_symbols_of_other_encoders_are_corrected_as_reedsolo_does(encoder, version) -> None:
    """Modules flipped in a few codewords of every block, then in more than a block can take."""
    rng = np.random.default_rng(version)
    lay = layout(version)
    rows, cols = lay.data_order
    for ec in LEVELS:
        mask = int(rng.integers(8))
        modules = ENCODERS[encoder](filling(version, ec), version, ec, mask)
        word = next(w for w, e, m in format_words() if (e, m) == (ec, mask))
        spec = blocks(version, ec)
        for share in (0.03, 0.12, 0.3):
            damaged = modules.copy()
            for w in rng.choice(spec.total, int(share * spec.total) + 1, replace=False):
                bit = w * 8 + int(rng.integers(8))
                damaged[rows[bit], cols[bit]] ^= True
            new = correct(damaged, version, ec, mask, word)
            old = correct(damaged, version, ec, mask, word, decode=reedsolo_decode)
            assert new.errors == old.errors
            assert (new.matrix == old.matrix).all()


def test_symbols_sampled_from_real_photos_are_corrected_as_reedsolo_does() -> None:
    checked = 0
    errors_seen = set()
    for path in sorted((REPO / "samples" / "photos").rglob("*")):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        gray = load_photo(path).gray
        for code in locate_codes(gray):
            s = _measure(gray, code)
            if s is None or s.ec is None or s.mask is None or s.format_word is None:
                continue
            version = s.lay.version
            new = correct(s.measured, version, s.ec, s.mask, s.format_word)
            old = correct(s.measured, version, s.ec, s.mask, s.format_word, reedsolo_decode)
            assert new.errors == old.errors, path.name
            assert (new.matrix == old.matrix).all(), path.name
            errors_seen.update(new.errors)
            checked += 1
    assert checked >= 8
    # blocks corrected and blocks past correction were both met
    assert max(errors_seen) > 0 and -1 in errors_seen


def test_every_blocks_syndromes_at_once_say_what_each_blocks_say() -> None:
    """`_valid_blocks` against `syndromes_zero` block by block, for every version and level,
    clean and with a few damaged blocks (shorter blocks are padded in front)."""
    from qrcheck.vision.qr_layout import _block_rows, _valid_blocks

    rng = np.random.default_rng(2)
    for version in range(1, 41):
        for ec in LEVELS:
            spec = blocks(version, ec)
            assert len(set(spec.ec_counts.tolist())) == 1
            rows = _block_rows(version, ec)
            words = np.zeros(spec.total, np.uint8)
            for b, row in enumerate(rows):
                k = len(row) - int(spec.ec_counts[b])
                data = rng.integers(0, 256, k).astype(np.uint8)
                words[row] = np.frombuffer(
                    bytes(_codec(int(spec.ec_counts[b])).encode(bytearray(data.tobytes()))),
                    np.uint8,
                )
            damaged = words.copy()
            hit = rng.choice(spec.total, min(3, spec.total), replace=False)
            damaged[hit] ^= rng.integers(1, 256, len(hit)).astype(np.uint8)
            for case in (words, damaged):
                expected = [syndromes_zero(case[row], int(spec.ec_counts[0])) for row in rows]
                assert _valid_blocks(case, version, ec).tolist() == expected
            assert _valid_blocks(words, version, ec).all()
            assert not _valid_blocks(damaged, version, ec).all()
