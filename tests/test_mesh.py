"""Codes on crumpled or curved paper: the local mesh samples each module where its edges put it.

Material: two real crumpled photos from zxing's blackbox set (tests/data/photos/SOURCE.txt) that
zxing-cpp locates but cannot decode, a code from segno on simulated crumpled paper
(testkit.encoders.crumple), and a known synthetic displacement for the mesh itself.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from qrcheck.board.check import check_photo
from qrcheck.catalog.load import load_catalog
from qrcheck.vision import readers
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.mesh import MESH_FITS, mesh_centres, mesh_fits, mesh_modules
from qrcheck.vision.photos import load_photo
from testkit.encoders import ENCODERS, capture, crumple, filling, render

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "tests" / "data" / "photos"
#: the expected texts (zxing's blackbox .txt files, /work/shared/data/qr-photos/manifest.csv)
CRUMPLED = {
    "qrcode-4_06.png": "Google Print Ads - T.G.I.A.F. - January 31, 2008",
    "qrcode-4_33.png": "http://code.google.com",
}


def _undecoded(image: np.ndarray):  # type: ignore[no-untyped-def]
    """zxing-cpp's located-but-undecoded symbols in an image (none of them valid)."""
    return [b for b in readers._zxing(image, return_errors=True) if not b.valid]


@pytest.mark.parametrize("name", sorted(CRUMPLED))
def test_real_crumpled_photos_decode_through_the_mesh(name: str) -> None:
    """zxing-cpp alone locates the code and cannot decode it; `qrcheck check`'s reader decodes
    it with the right text, and it is the mesh that reads it."""
    image = load_photo(PHOTOS / name).gray
    assert not [b for b in readers._zxing(image) if b.valid]
    assert _undecoded(image)
    found = locate_codes(image)
    assert [f.text for f in found] == [CRUMPLED[name]]
    assert found[0].readers == ("zxing-cpp+mesh",)


def test_a_crumpled_photo_is_checked_with_its_text() -> None:
    """The whole check of a photo (the path `qrcheck check` takes) reports the decoded text."""
    catalog = load_catalog(REPO / "catalog")
    view = catalog.as_of(date(2026, 11, 27))
    result = check_photo(PHOTOS / "qrcode-4_33.png", view, catalog.center)
    assert [c.located.text for c in result.codes] == [CRUMPLED["qrcode-4_33.png"]]
    assert result.codes[0].located.readers == ("zxing-cpp+mesh",)


def crumpled_segno(seed: int = 4) -> tuple[np.ndarray, str, np.ndarray]:
    """A segno code (version 5, M) on paper crumpled by up to half a module, photographed:
    the photo, its text and its modules."""
    text = filling(5, "M")
    modules = ENCODERS["segno"](text, 5, "M", seed % 8)
    return capture(crumple(render(modules, 6.0), seed, shift=3.0), seed), text, modules


def test_a_simulated_crumpled_code_from_another_encoder_decodes() -> None:
    """zxing-cpp cannot decode it, nor can the grid of its corners (the erasure reader's
    samples, drawn clean); the mesh's grid can."""
    image, text, _ = crumpled_segno()
    assert not [b for b in readers._zxing(image) if b.valid]
    (barcode,) = _undecoded(image)
    symbol = readers._format_of(barcode)
    assert symbol == (5, "M", 4)
    crop, _ = readers._rectify(image, readers._position(barcode))
    values, mean = readers._module_samples(crop, 37)
    assert readers._drawn_read(values < mean, 5, ("M", 4)) is None
    assert readers.mesh_read(crop, 5, ("M", 4)) == text
    found = locate_codes(image)
    assert [f.text for f in found] == [text]
    assert found[0].readers == ("zxing-cpp+mesh",)


def test_the_mesh_reads_no_wrong_text() -> None:
    """Reed-Solomon decides: a crop of another code read as the symbol asked for, the right
    code under a wrong format, and noise all read as nothing."""
    image, _, _ = crumpled_segno()
    (barcode,) = _undecoded(image)
    crop, _ = readers._rectify(image, readers._position(barcode))
    for version in (4, 6):  # another symbol's size: its modules do not line up
        assert readers.mesh_read(crop, version, ("M", 4)) is None
        assert readers.mesh_read(crop, version) is None
    assert readers.mesh_read(crop, 5, ("M", 3)) is None  # the wrong mask
    assert readers.mesh_read(crop, 5, ("L", 4)) is None  # the wrong level
    other = load_photo(PHOTOS / "qrcode-1_1.png").gray  # a different code, decoded elsewhere
    (decoded,) = [b for b in readers._zxing(other) if b.valid]
    other_crop, _ = readers._rectify(other, readers._position(decoded))
    assert readers.mesh_read(other_crop, 5, ("M", 4)) is None
    rng = np.random.default_rng(3)
    for seed in range(3):
        noise = cv2.GaussianBlur(rng.integers(0, 256, (576, 576)).astype(np.uint8), (0, 0), 4)
        noise = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)
        for version in (2, 3, 5):
            assert readers.mesh_read(noise, version) is None, (seed, version)


def test_mesh_centres_follow_a_known_displacement() -> None:
    """A clean code's crop moved by a smooth displacement of up to 0.4 module: the mesh finds
    every module's centre to within 0.15 module (the corners' grid is up to 0.4 off), and its
    samples are the code's modules."""
    text = filling(5, "M")
    modules = ENCODERS["segno"](text, 5, "M", 3)
    n = modules.shape[0]
    image = render(modules, 8.0)
    # render's symbol spans pixels 72 .. 72 + 8n; OpenCV puts pixel centres at integers
    a, b = 72 - 0.5, 72 + 8 * n - 0.5
    crop, _ = readers._rectify(image, np.array([[a, a], [b, a], [b, b], [a, b]], float))
    side = crop.shape[0]
    module = side / (1 + 2 * readers.CROP_MARGIN) / n

    def displacement(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dy = 0.4 * module * np.sin(2 * math.pi * y / (0.9 * side)) * np.cos(2 * math.pi * x / side)
        dx = 0.4 * module * np.sin(2 * math.pi * x / (0.8 * side) + 1.0)
        return dy, dx

    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    dy, dx = displacement(yy, xx)
    moved = cv2.remap(crop, xx - dx, yy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    flat = mesh_centres(moved, n, windows=())  # no window: the corners' grid
    ty, tx = displacement(flat[..., 0], flat[..., 1])
    truth = flat + np.stack([ty, tx], axis=-1)
    assert np.hypot(*(flat - truth).transpose(2, 0, 1)).max() / module > 0.35
    for centres in (mesh_centres(moved, n), *mesh_fits(moved, n)):
        assert centres.shape == (n, n, 2)
        error = np.hypot(*(centres - truth).transpose(2, 0, 1)) / module
        assert error.max() < 0.15
        assert np.array_equal(mesh_modules(moved, centres), modules)
    assert len(MESH_FITS) == 2
