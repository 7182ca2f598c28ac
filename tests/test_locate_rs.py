"""The erasure reader's Reed-Solomon decoding with array operations (`readers.rs_decode`):
exactly reedsolo's answers (corrected block, errata positions, or the same failure), on blocks
reedsolo's own encoder made, with errors and erasures up to and past what they can correct."""

from __future__ import annotations

import numpy as np
import pytest
import reedsolo

from qrcheck.vision import readers


def _reference(nsym: int, block: np.ndarray, erase: list[int]):
    codec = reedsolo.RSCodec(nsym, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)
    try:
        _, full, errata = codec.decode(bytearray(block.tobytes()), erase_pos=erase or None)
    except reedsolo.ReedSolomonError:
        return "fails"
    return bytes(full), list(errata)


def _ours(nsym: int, block: np.ndarray, erase: list[int], max_cost: int | None = None):
    try:
        full, errata = readers.rs_decode(block, nsym, erase, max_cost)
    except reedsolo.ReedSolomonError:
        return "fails"
    return bytes(full), list(errata)


@pytest.mark.parametrize("nsym", [7, 10, 18, 26, 30])
def test_rs_decode_answers_as_reedsolo(nsym: int) -> None:
    rng = np.random.default_rng(nsym)
    codec = reedsolo.RSCodec(nsym, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)
    outcomes = {"corrected": 0, "fails": 0, "errors found": 0}
    for _ in range(150):
        data = rng.integers(0, 256, int(rng.integers(8, 120)), dtype=np.uint8)
        block = np.frombuffer(bytes(codec.encode(bytearray(data.tobytes()))), np.uint8).copy()
        wrong = rng.choice(len(block), int(rng.integers(0, nsym)), replace=False)
        block[wrong] ^= rng.integers(1, 256, len(wrong), dtype=np.uint8)
        erase = sorted(
            int(p) for p in rng.choice(len(block), int(rng.integers(0, nsym + 2)), False)
        )
        expected = _reference(nsym, block, erase)
        assert _ours(nsym, block, erase) == expected
        if expected == "fails":
            outcomes["fails"] += 1
        else:
            outcomes["corrected"] += 1
            outcomes["errors found"] += len(expected[1]) > len(erase)
    assert min(outcomes.values()) > 0  # both answers, and errors located besides erasures


def test_rs_syndromes_as_reedsolo() -> None:
    rng = np.random.default_rng(3)
    for nsym in (1, 7, 30):
        for _ in range(20):
            message = bytearray(rng.integers(0, 256, int(rng.integers(1, 200)), np.uint8).tobytes())
            assert readers.rs_syndromes(message, nsym) == reedsolo.rs_calc_syndromes(message, nsym)
    assert readers.rs_syndromes(bytearray(9), 5) == [0] * 6


def _cost(answer, erase: list[int]) -> int:
    return 2 * (len(answer[1]) - len(erase)) + len(erase)


def test_rs_decode_refuses_a_costlier_correction_without_finishing_it() -> None:
    """With `max_cost` (the erasure reader's margin), a block whose correction would cost more
    fails, and one that costs no more reads as reedsolo reads it."""
    nsym = 22
    rng = np.random.default_rng(5)
    codec = reedsolo.RSCodec(nsym, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)
    refused = kept = 0
    for _ in range(200):
        data = rng.integers(0, 256, 60, dtype=np.uint8)
        block = np.frombuffer(bytes(codec.encode(bytearray(data.tobytes()))), np.uint8).copy()
        wrong = rng.choice(len(block), int(rng.integers(0, nsym // 2 + 1)), replace=False)
        block[wrong] ^= rng.integers(1, 256, len(wrong), dtype=np.uint8)
        erase = sorted(int(p) for p in rng.choice(len(block), int(rng.integers(0, 8)), False))
        expected = _reference(nsym, block, erase)
        got = _ours(nsym, block, erase, max_cost=nsym - 6)
        if expected != "fails" and _cost(expected, erase) <= nsym - 6:
            assert got == expected
            kept += 1
        else:
            assert got == "fails"
            refused += expected != "fails"
    assert kept and refused  # corrections both within and past the allowed cost


def test_error_locator_as_reedsolo() -> None:
    """Berlekamp-Massey on any syndromes (not only those of a correctable block): the same
    locator polynomial, or the same refusal."""
    # reedsolo's field tables are module globals, set by a codec's construction
    reedsolo.RSCodec(10, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)
    rng = np.random.default_rng(8)
    refusals = 0
    for _ in range(300):
        nsym = int(rng.integers(2, 31))
        erase_count = int(rng.integers(0, nsym))
        synd = [int(v) for v in rng.integers(0, 256, nsym)]
        try:
            expected = list(reedsolo.rs_find_error_locator(synd, nsym, erase_count=erase_count))
        except reedsolo.ReedSolomonError:
            expected = "fails"
            refusals += 1
        try:
            got = readers._error_locator(synd, nsym, erase_count)
        except reedsolo.ReedSolomonError:
            got = "fails"
        assert got == expected
    assert 0 < refusals < 300
