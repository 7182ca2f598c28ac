"""Blotted codes: the erasure reader decodes what its error correction can restore.

Each Reed-Solomon block finds its own erasures (uniform patches, their fringe, then its most
doubtful codewords: GMD decoding), and where zxing-cpp read no format information the format is
read from the modules. Material: codes from segno and zxing-cpp's writer (testkit.encoders)
blotted module by module, and qrcheck's own code through the simulated phone capture.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from qrcheck.vision import readers
from qrcheck.vision.locate import locate_codes
from testkit.encoders import ENCODERS, capture, filling, render
from testkit.simulate import catalog_like_payloads, code_image

PAYLOADS = catalog_like_payloads(8, rng=21)


def blotted(encoder: str, version: int, ec: str, mask: int, seed: int, damage: float):
    """Another encoder's code with `damage` of its modules (finders spared) under disks of ink
    or paper 1.2-2.5 modules across, printed and captured; returns the photo and its text."""
    rng = np.random.default_rng(seed)
    text = filling(version, ec)
    modules = ENCODERS[encoder](text, version, ec, mask).copy()
    n = modules.shape[0]
    spared = np.zeros((n, n), bool)
    spared[:9, :9] = spared[:9, -9:] = spared[-9:, :9] = True
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    covered = np.zeros((n, n), bool)
    while covered[~spared].mean() < damage:
        cx, cy = rng.uniform(0, n, 2)
        disk = (np.hypot(xx - cx, yy - cy) <= rng.uniform(1.2, 2.5)) & ~spared
        modules[disk] = rng.random() < 0.5
        covered |= disk
    return capture(render(modules, 5.0), seed), text


#: (encoder, seed): version 4 + seed % 4, EC "MQ"[seed % 2], mask seed % 8, 12% blotted
GMD_CASES = [("segno", 1), ("segno", 7), ("segno", 9), ("zxing-cpp", 7)]


@pytest.mark.parametrize(("encoder", "seed"), GMD_CASES)
def test_each_block_finds_its_own_erasures(encoder: str, seed: int) -> None:
    """zxing-cpp reads the format but not the data, one erasure set for the whole symbol (the
    uniform patches, grown or not) leaves a block uncorrected; blocks choosing their own
    erasures correct, and the code is reported decoded with its text."""
    version, ec, mask = 4 + seed % 4, "MQ"[seed % 2], seed % 8
    image, text = blotted(encoder, version, ec, mask, seed, 0.12)
    assert not [b for b in readers._zxing(image) if b.valid]
    errors = [b for b in readers._zxing(image, return_errors=True) if readers._format_of(b)]
    assert errors and readers._format_of(errors[0]) == (version, ec, mask)
    crop, _ = readers._rectify(image, readers._position(errors[0]))
    for grow in (0, 1):  # one erasure set for every block, as the reader had
        assert readers.erasure_read(crop, version, ec, mask, grow=grow, gmd=False) is None
    found = locate_codes(image)
    assert [f.text for f in found] == [text]
    assert found[0].readers == ("zxing-cpp+erasures",)


def test_the_format_is_read_from_the_modules_where_zxing_cpp_found_nothing() -> None:
    """A blotted code zxing-cpp does not even locate (so no format from it): the finder search
    places it, its format is read from its modules, and the erasure reader decodes it."""
    text = PAYLOADS[1]
    rgb, _ = code_image(
        text, canvas=(900, 900), damage=0.12, rng=1, module_px=5, noise=0.02, jpeg_quality=85
    )
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert not readers._zxing(image, return_errors=True)
    found = locate_codes(image)
    assert [f.text for f in found] == [text]
    assert found[0].readers == ("zxing-cpp+erasures",)


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_format_read_from_a_turned_crop(turn: int) -> None:
    """read_format finds the version (from an estimate a version off), the quarter turn and the
    format of a crop of another encoder's code, and turns the crop upright."""
    image, text = blotted("segno", 6, "Q", 5, 3, 0.0)
    ((barcode,),) = [[b for b in readers._zxing(image) if b.valid]]
    assert barcode.text == text
    crop, _ = readers._rectify(image, readers._position(barcode))
    turned = np.ascontiguousarray(np.rot90(crop, turn))
    read = readers.read_format(turned, 17 + 4 * 7)
    assert read is not None
    upright, symbol = read
    assert symbol == (6, "Q", 5)
    assert np.array_equal(upright, crop)


def test_no_format_is_read_from_paper_text_or_checks() -> None:
    """Blank paper, a checkerboard and text-like bars have no QR fixed patterns: no format."""
    rng = np.random.default_rng(0)
    blank = np.full((500, 500), 230, np.uint8)
    yy, xx = np.mgrid[0:500, 0:500]
    checks = np.where(((yy // 9) + (xx // 9)) % 2 == 0, 30, 230).astype(np.uint8)
    bars = blank.copy()
    for row in range(20, 480, 24):
        x = 20
        while x < 440:
            word = int(rng.integers(15, 60))
            cv2.rectangle(bars, (x, row), (x + word, row + 10), 40, -1)
            x += word + 12
    for image in (blank, checks, bars):
        for modules in (25.0, 41.0, 57.0):
            assert readers.read_format(image, modules) is None
