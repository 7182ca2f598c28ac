"""The reader never reports less than its first reader: every code zxing-cpp alone reports (with
`return_errors` or without) is in `locate_codes`' result, at its place, decoded with the same
text wherever zxing-cpp decodes it.

Hard cases of the kinds real photos bring: perspective up to 60 degrees, blur up to about two
modules, curved paper, bright spots and glare, damage, codes close together (quiet zones
touching, a small code right beside a large one), codes from other encoders than qrcheck's
(segno, zxing-cpp's writer), and the real photos of tests/data (and of ../shared/data when that
folder is there). Seeds are fixed; each case first checks that zxing-cpp alone does find
something there, so that no case passes for want of material.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo
from qrcheck.vision.shapes import Located
from testkit.encoders import ENCODERS, PAPER, capture, filling, render
from testkit.simulate import catalog_like_payloads, close_codes_board, code_image

FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)
REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "tests" / "data" / "photos"
SHARED = REPO.parent / "shared" / "data"
PAYLOADS = catalog_like_payloads(8, rng=21)
PHONE = {"noise": 0.02, "jpeg_quality": 85}


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _quad(barcode: zxingcpp.Barcode) -> np.ndarray:
    p = barcode.position
    return np.array(
        [[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)], float
    )


def _side(quad: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(quad[i] - quad[(i + 1) % 4]) for i in range(4)]))


def zxing_reports(image: np.ndarray) -> list[tuple[np.ndarray, float, str | None]]:
    """(centre, side, text or None) of every symbol zxing-cpp alone reports, with and without
    return_errors, once per symbol (a decoded reading wins)."""
    plain = zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    errors = zxingcpp.read_barcodes(
        image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    found: list[tuple[np.ndarray, float, str | None]] = []
    for barcode in sorted([*plain, *errors], key=lambda b: not b.valid):
        quad = _quad(barcode)
        side = _side(quad)
        if side < 8:  # format errors come without a position
            continue
        centre = quad.mean(axis=0)
        if any(np.linalg.norm(centre - c) < 0.35 * min(side, s) for c, s, _ in found):
            continue
        found.append((centre, side, barcode.text if barcode.valid else None))
    return found


def _holds(found: Located, point: np.ndarray) -> bool:
    contour = np.array(found.corners, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def describe(found: Sequence[Located]) -> list[tuple]:
    return [(f.text, tuple(round(v) for v in f.center), f.located_by) for f in found]


def assert_reports_all_zxing_reports(image: np.ndarray) -> list[Located]:
    """qrcheck's result holds every symbol zxing-cpp alone reports, decoded where it decodes."""
    theirs = zxing_reports(image)
    assert theirs, "zxing-cpp alone finds nothing here: the case proves nothing"
    ours = locate_codes(image)
    for centre, side, text in theirs:
        near = [f for f in ours if math.dist(f.center, centre) <= max(10.0, 0.2 * side)]
        if text is None and not near:  # a position of zxing-cpp's inside a code qrcheck reports
            near = [f for f in ours if _holds(f, centre)]
        assert near, (tuple(centre.round()), text, describe(ours))
        if text is not None:
            assert any(f.text == text for f in near), (tuple(centre.round()), text, describe(ours))
    return ours


def shoot(payload: str = PAYLOADS[0], **distortion) -> np.ndarray:
    options = {"canvas": (800, 800), "rng": 1, **PHONE, **distortion}
    return gray(code_image(payload, **options)[0])


# ---------------------------------------------------------------------------------------------
# a code zxing-cpp locates is not merged into a neighbour read from its crop


def beside_a_small_code(seed: int) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """A large damaged code (zxing-cpp locates it, cannot decode it) with a small sharp code
    right beside it, inside the margin the reader's retry crop keeps round the large one."""
    big, big_truth = code_image(PAYLOADS[0], module_px=6, damage=0.25, rng=seed)
    small, small_truth = code_image(f"HELLO-{seed}", module_px=2.5, rng=seed)
    big, small = gray(big), gray(small)
    h, w = big.shape
    canvas = np.full((h + 40, w + small.shape[1] + 40), int(np.median(big)), np.uint8)
    canvas[20 : 20 + h, 20 : 20 + w] = big
    corners = np.array(big_truth.corners) + 20
    x, y = int(corners[:, 0].max() + 2), int(corners[:, 1].mean() - small.shape[0] / 2)
    region = canvas[y : y + small.shape[0], x : x + small.shape[1]]
    region[:] = np.minimum(region, small)
    small_centre = np.array(small_truth.corners).mean(axis=0) + np.array([x, y])
    return canvas, tuple(corners.mean(axis=0)), tuple(small_centre)


@pytest.mark.parametrize("seed", [2, 3])
def test_a_located_code_is_not_merged_into_a_small_neighbour(seed: int) -> None:
    image, big_centre, small_centre = beside_a_small_code(seed)
    theirs = zxing_reports(image)
    assert [t for _, _, t in theirs if t is not None] == [f"HELLO-{seed}"]
    assert any(t is None and math.dist(c, big_centre) < 15 for c, _, t in theirs)
    ours = assert_reports_all_zxing_reports(image)
    assert len(ours) == 2, describe(ours)
    big = [f for f in ours if math.dist(f.center, big_centre) < 15]
    small = [f for f in ours if math.dist(f.center, small_centre) < 15]
    assert len(big) == 1 and big[0].text is None and "zxing-cpp" in big[0].located_by
    assert len(small) == 1 and small[0].text == f"HELLO-{seed}"


# ---------------------------------------------------------------------------------------------
# hard single codes


def bright_spots(image: np.ndarray, count: int, seed: int, radius: float = 0.05) -> np.ndarray:
    """`count` small blown-out reflections (radius up to `radius` of the width) over the middle
    of the photo."""
    rng = np.random.default_rng(seed)
    out = image.astype(np.float32)
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        r = rng.uniform(0.5, 1.0) * radius * w
        out += 200 * np.exp(-((((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)) ** 2))
    return np.clip(out, 0, 255).astype(np.uint8)


HARD = {
    "tilt-50": {"tilt_deg": 50, "module_px": 6},
    "tilt-55": {"tilt_deg": 55, "module_px": 6, "rng": 2},
    "tilt-60": {"tilt_deg": 60, "module_px": 6, "rng": 1},
    "tilt-60-rotated": {"tilt_deg": 60, "module_px": 6, "rotate_deg": 70, "rng": 3},
    "blur-1-module": {"blur_px": 3.0, "module_px": 6},  # sigma 0.5 module
    "blur-2-modules": {"blur_px": 3.6, "module_px": 6, "rng": 3},  # sigma 0.6 module
    "curve-0.7": {"curve": 0.7},
    "curve-0.75": {"curve": 0.75, "rng": 3},
    "curve-0.8": {"curve": 0.8, "rng": 0},
    "glare-0.6": {"glare": 0.6, "rng": 2},
    "glare-1.0": {"glare": 1.0, "rng": 3},
    "damage-0.15": {"damage": 0.15, "rng": 0},
    "damage-0.3": {"damage": 0.3, "rng": 3},
    "tilted-blurred": {"tilt_deg": 45, "blur_px": 2.5, "module_px": 6, "rng": 5},
}


@pytest.mark.parametrize("name", list(HARD))
def test_every_code_zxing_cpp_reports_is_reported(name: str) -> None:
    assert_reports_all_zxing_reports(shoot(**HARD[name]))


@pytest.mark.parametrize(("blur_px", "seed"), [(3.3, 2), (3.6, 0), (3.6, 1), (3.6, 3)])
def test_a_code_out_of_focus_by_more_than_half_a_module_decodes(blur_px: float, seed: int) -> None:
    """Gaussian blur of sigma 0.55-0.6 module (a blur about two modules wide) on 6 px modules:
    zxing-cpp locates the code, the plain and sharpened crops do not read; a wider unsharp mask
    does."""
    found = locate_codes(shoot(blur_px=blur_px, module_px=6, rng=seed))
    assert [f.text for f in found] == [PAYLOADS[0]], describe(found)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bright_spots_keep_what_zxing_cpp_reports(seed: int) -> None:
    assert_reports_all_zxing_reports(bright_spots(shoot(rng=seed, tilt_deg=20), 4, seed))


def test_finders_of_a_code_decoded_later_are_no_second_code() -> None:
    """Spots over the top-left finder: the first candidates, built from the other two finders,
    read nothing; OpenCV's quad of the code, read later, decodes it. The pair of finders is part
    of that code, not a second symbol beside it."""
    found = locate_codes(bright_spots(shoot(rng=3, tilt_deg=20), 4, 3, radius=0.03))
    assert [f.text for f in found] == [PAYLOADS[0]], describe(found)


@pytest.mark.parametrize("glare", [0.75, 0.9])
def test_a_code_seen_by_two_finders_is_placed_where_its_quiet_zone_is(glare: float) -> None:
    """Glare over one finder: the symbol is built from the other two, on whichever side of
    them their timing pattern runs. Data modules can pass for a timing pattern too; of two such
    squares, the one with a quiet zone round it is the symbol, not one shifted half over it."""
    image, truth = code_image(PAYLOADS[1], canvas=(800, 800), glare=glare, rng=0, **PHONE)
    found = locate_codes(gray(image))
    centre = np.array(truth.corners).mean(axis=0)
    side = _side(np.array(truth.corners))
    assert len(found) == 1, describe(found)
    assert math.dist(found[0].center, centre) < 0.2 * side, (tuple(centre), describe(found))
    assert found[0].text in (None, PAYLOADS[1])


# ---------------------------------------------------------------------------------------------
# codes close together, codes from other encoders


def other_encoder(encoder: str, version: int, ec: str, mask: int, module: float) -> np.ndarray:
    """A code from `encoder` with its quiet zone, on paper (no capture yet)."""
    modules = ENCODERS[encoder](filling(version, ec), version, ec, mask)
    return render(modules, module)[40:-40, 40:-40]


def tilt(image: np.ndarray, degrees: float, edge: int) -> np.ndarray:
    """The image under perspective: the given edge (0 top, 1 right, ...) moves away."""
    h, w = image.shape
    src = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    dst = src.copy()
    a, b = edge, (edge + 1) % 4
    k = math.tan(math.radians(degrees)) * 0.25
    middle = (src[a] + src[b]) / 2
    dst[a] += (middle - src[a]) * k
    dst[b] += (middle - src[b]) * k
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(image, matrix, (w, h), borderValue=PAPER)


@pytest.mark.parametrize(
    ("layout", "degrees"),
    [("touching", 25), ("touching", 45), ("gap-2", 35)],
)
def test_codes_close_together_keep_what_zxing_cpp_reports(layout: str, degrees: float) -> None:
    """Six codes from three encoders in a 3 x 2 grid, quiet zones touching (or 2 modules apart),
    then tilted and photographed."""
    module = 4.0
    gap = 0 if layout == "touching" else round(2 * module)
    tiles = [
        other_encoder(encoder, version, ec, mask, module)
        for encoder, version, ec, mask in [
            ("segno", 5, "M", 1),
            ("zxing-cpp", 6, "Q", 2),
            ("python-qrcode", 4, "H", 3),
            ("zxing-cpp", 7, "L", 4),
            ("segno", 6, "Q", 5),
            ("python-qrcode", 5, "M", 6),
        ]
    ]
    cell = max(t.shape[0] for t in tiles) + gap
    board = np.full((2 * cell + 120, 3 * cell + 120), PAPER, np.uint8)
    for i, tile in enumerate(tiles):
        x, y = 60 + (i % 3) * cell, 60 + (i // 3) * cell
        board[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    photo = capture(tilt(board, degrees, 0), seed=int(degrees))
    ours = assert_reports_all_zxing_reports(photo)
    assert len(ours) <= len(tiles), describe(ours)


def close_codes(n: int, seed: int, gap: float, degrees: float) -> tuple[np.ndarray, list]:
    """`n` codes of varied sizes (5 px modules give or take 30%) in a grid, quiet zones `gap`
    modules apart, every third one damaged past its error correction, every fourth a short
    text (a small code), the whole tilted by about `degrees` and photographed. Returns the
    photo and each code's (text, corners). (`simulate.close_codes_board`, as bench_reader's.)"""
    rng = np.random.default_rng(seed)
    board, codes = close_codes_board(n, seed, rng, gap)
    texts = [text for text, _ in codes]
    placed = [corners for _, corners in codes]
    h, w = board.shape
    src = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    k = math.tan(math.radians(degrees)) * 0.25
    edge = int(rng.integers(4))
    dst = src.copy()
    a, b = edge, (edge + 1) % 4
    middle = (src[a] + src[b]) / 2
    dst[a] = src[a] + (middle - src[a]) * k
    dst[b] = src[b] + (middle - src[b]) * k
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(board, matrix, (w, h), borderValue=int(board[0, 0]))
    moved = [cv2.perspectiveTransform(c.reshape(-1, 1, 2), matrix).reshape(-1, 2) for c in placed]
    photo = cv2.GaussianBlur(warped.astype(np.float32), (0, 0), 0.5)
    photo += rng.normal(0, 3.0, photo.shape)
    _, data = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])  # fmt: skip
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE), list(zip(texts, moved, strict=True))


@pytest.mark.parametrize(("n", "seed", "gap", "degrees"), [(7, 3, 0, 25), (9, 5, 2, 10)])
def test_damaged_codes_close_together_keep_what_zxing_cpp_reports(
    n: int, seed: int, gap: float, degrees: float
) -> None:
    photo, truths = close_codes(n, seed, gap, degrees)
    ours = assert_reports_all_zxing_reports(photo)
    for text, corners in truths:
        centre, side = corners.mean(axis=0), _side(corners)
        near = [f for f in ours if math.dist(f.center, centre) < 0.25 * side]
        assert len(near) <= 1 and all(f.text in (None, text) for f in near), describe(ours)


def test_finders_of_two_neighbours_make_no_code_between_them() -> None:
    """Two finder patterns of a blotted code (its third one lost to a blot) and one of a small
    code turned otherwise below it, with the blotted code's timing pattern between the first
    two: no symbol is reported there (the squares of the third finder do not run along the
    triple's leg), and every symbol reported lies on one of the codes."""
    photo, truths = close_codes(9, 5, 2, 10)
    ours = locate_codes(photo)
    for found in ours:
        assert any(
            math.dist(found.center, corners.mean(axis=0)) <= 0.25 * _side(corners)
            for _, corners in truths
        ), describe(ours)


def test_a_square_zxing_cpp_reports_over_two_codes_is_no_third_code() -> None:
    """zxing-cpp (with return_errors) reports a square over parts of two damaged codes it also
    reports; its centre lies inside one of them, which finder patterns and OpenCV confirm:
    that square is a false position, not a code. Every located-only symbol reported lies on a
    code."""
    photo, truths = close_codes(7, 3, 0, 25)
    found = locate_codes(photo)
    for item in found:
        assert any(
            math.dist(item.center, corners.mean(axis=0)) < 0.25 * _side(corners)
            for _, corners in truths
        ), describe(found)
    assert len(found) == len(truths), describe(found)


@pytest.mark.parametrize("encoder", ["segno", "zxing-cpp"])
def test_another_encoders_tilted_code_keeps_what_zxing_cpp_reports(encoder: str) -> None:
    code = np.pad(other_encoder(encoder, 9, "Q", 2, 5.0), 120, constant_values=PAPER)
    assert_reports_all_zxing_reports(capture(tilt(code, 55, 1), seed=3))


# ---------------------------------------------------------------------------------------------
# real photos


@pytest.mark.parametrize("name", ["qrcode-1_1.png", "multi-qrcode-1_1.png", "qrcode-4_05.png"])
def test_real_photos_keep_what_zxing_cpp_reports(name: str) -> None:
    assert_reports_all_zxing_reports(load_photo(PHOTOS / name).gray)


@pytest.mark.skipif(
    not (SHARED / "qr-photos" / "manifest.csv").exists(), reason="../shared/data not here"
)
def test_shared_real_photos_keep_what_zxing_cpp_reports() -> None:
    folder = SHARED / "qr-photos"
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        names = [row["image"] for row in csv.DictReader(handle)]
    checked = 0
    for name in names:
        image = load_photo(folder / name).gray
        if zxing_reports(image):
            assert_reports_all_zxing_reports(image)
            checked += 1
    assert checked >= 150


SAMPLES = REPO / "samples" / "photos"


def test_sample_photos_keep_what_zxing_cpp_reports() -> None:
    """The repository's sample photos (real ones and simulated 12 MP boards): every code
    zxing-cpp alone decodes is decoded, every one it locates is reported."""
    paths = [*sorted((SAMPLES / "real").glob("*.png")), *sorted(SAMPLES.glob("board-*.jpg"))]
    checked = 0
    for path in paths:
        image = load_photo(path).gray
        if zxing_reports(image):  # one real photo zxing-cpp cannot read at all
            assert_reports_all_zxing_reports(image)
            checked += 1
    assert checked >= 7


# ---------------------------------------------------------------------------------------------
# cheaper passes that read the same


@pytest.mark.parametrize("name", ["qrcode-1_1.png", "multi-qrcode-1_1.png", "qrcode-4_05.png"])
def test_contrast_stretch_cuts_at_the_same_percentiles_as_numpy(name: str) -> None:
    """The retry crops' contrast stretch takes its 1% and 99% points from the histogram; they
    are numpy's (linear interpolation), on real photos and on odd sizes."""
    from qrcheck.vision.readers import _percentiles

    image = load_photo(PHOTOS / name).gray
    rng = np.random.default_rng(5)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, min(image.shape), 2))
        y, x = (
            int(rng.integers(0, image.shape[0] - h + 1)),
            int(rng.integers(0, image.shape[1] - w + 1)),
        )
        crop = np.ascontiguousarray(image[y : y + h, x : x + w])
        qs = (1, 99, float(rng.uniform(0, 100)))
        assert np.allclose(_percentiles(crop, qs), np.percentile(crop, qs), atol=1e-9)


@pytest.mark.parametrize(
    "name", ["qrcode-1_1.png", "multi-qrcode-1_1.png", "qrcode-4_05.png", "falsepositives_01.png"]
)
def test_the_contour_tree_through_a_umat_is_the_arrays_one(name: str) -> None:
    """The finder search gets its contours from OpenCV as UMats (cheaper to hand to Python than
    arrays): the hierarchy, every contour's points and the finder patterns found are those of
    `cv2.findContours` on the array, on the binary images the searches make of real photos."""
    from qrcheck.vision.finders import (
        _binarize,
        _contour_tree,
        _finder_contours,
        _finders_in,
        _points,
    )

    image = load_photo(PHOTOS / name).gray
    closed = cv2.morphologyEx(
        _binarize(image, 41, False), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)
    )
    for binary in (_binarize(image, 41), _binarize(image, 41, False), closed):
        contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        ours, tree = _contour_tree(binary)
        assert tree is not None and np.array_equal(tree, hierarchy[0])
        assert len(ours) == len(contours)
        assert all(np.array_equal(_points(a), b) for a, b in zip(ours, contours, strict=True))
        assert isinstance(ours[0], cv2.UMat) == (not cv2.ocl.useOpenCL())
        reference = _finders_in(contours, hierarchy[0], 1.6)
        assert _finder_contours(binary, 1.6) == reference


@pytest.mark.skipif(
    not (SHARED / "qr-photos" / "manifest.csv").exists(), reason="../shared/data not here"
)
def test_zbar_still_decodes_a_small_code_from_a_half_size_crop() -> None:
    """A code only ZBar decodes (zxing-cpp locates it), its retry crop blown up about three
    times: ZBar reads the crop at half size and still decodes it."""
    image = load_photo(SHARED / "qr-photos" / "qrcode-4" / "34.png").gray
    assert not any(
        b.valid
        for b in zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    )
    found = locate_codes(image)
    assert [f.text for f in found] == ["http://code.google.com"], describe(found)
    assert found[0].readers[0].startswith("zbar"), found[0].readers
    assert found[0].side * 2.5 <= 360  # the crop (at least 360 px) was read at half size


def test_the_finder_search_leaves_out_the_codes_zxing_cpp_decoded() -> None:
    """The codes zxing-cpp decoded are painted over before the finder search: their finder
    patterns are explained already, and their modules are most of a photo's contours. A code
    beside them that nothing decoded keeps its finder patterns."""
    from qrcheck.vision.finders import FINDER_MAX_SIDE, _downscaled, find_finder_patterns
    from qrcheck.vision.locate import _blanked

    clean = shoot(PAYLOADS[1])
    damaged = gray(code_image(PAYLOADS[2], canvas=(800, 800), rng=4, damage=0.3, **PHONE)[0])
    image = np.hstack([clean, damaged])
    found = [f for f in locate_codes(image) if f.decoded]
    assert [f.text for f in found] == [PAYLOADS[1]], describe(found)
    reduced = _downscaled(image, FINDER_MAX_SIDE)
    before = find_finder_patterns(image, reduced=reduced)
    after = find_finder_patterns(image, reduced=_blanked(reduced, found))
    assert sum(f.x < 800 for f in before) >= 3
    assert not any(f.x < 800 for f in after)
    assert any(f.x >= 800 for f in after)
    assert sorted((round(f.x), round(f.y)) for f in after if f.x >= 800) == sorted(
        (round(f.x), round(f.y)) for f in before if f.x >= 800
    )


def test_a_blown_out_area_of_a_retry_crop_is_filled_from_around_it() -> None:
    """The glare variant of a retry crop: a blown-out disc over a code is filled with the
    levels around it (no white blob left for the binarizers), the rest of the crop kept."""
    from qrcheck.vision.readers import _deglared

    crop = cv2.resize(shoot(PAYLOADS[3], canvas=(500, 500)), (576, 576))
    glared = crop.copy()
    cv2.circle(glared, (300, 280), 60, 255, -1)
    blob = np.zeros(crop.shape, np.uint8)
    cv2.circle(blob, (300, 280), 60, 1, -1)
    out = _deglared(glared, blob)
    assert out.shape == crop.shape
    disc = blob.astype(bool)
    assert np.mean(out[disc] >= 245) < 0.05  # the blob is gone
    ink, paper = np.percentile(out[~disc], (5, 95))
    assert ink + 20 < float(np.median(out[disc])) < paper - 20  # filled with the code's mean
    far = cv2.dilate(blob, np.ones((61, 61), np.uint8)) == 0
    assert np.corrcoef(out[far].astype(float), crop[far].astype(float))[0, 1] > 0.95


# ---------------------------------------------------------------------------------------------
# curved paper


@pytest.mark.parametrize(
    ("curve", "rotate", "tilt", "seed"),
    [(0.9, 90, 0, 5), (0.85, 0, 15, 7), (1.0, 270, 5, 9), (0.9, 30, 0, 10), (0.95, 180, 10, 8)],
)
def test_a_code_on_strongly_curved_paper_decodes(
    curve: float, rotate: float, tilt: float, seed: int
) -> None:
    """Paper bent round a cylinder over 100-120 degrees of arc (the code turned any way on it,
    tilted a little): neither zxing-cpp nor the plain rectified crops read it; unrolled along
    the bend, the symbol decodes."""
    image = gray(
        code_image(
            PAYLOADS[4],
            module_px=5,
            curve=curve,
            rotate_deg=rotate,
            tilt_deg=tilt,
            rng=seed,
            canvas=(800, 800),
            **PHONE,
        )[0]
    )
    plain = zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    assert not any(b.valid for b in plain)
    found = locate_codes(image)
    assert [f.text for f in found] == [PAYLOADS[4]], describe(found)
    assert found[0].readers == ("zxing-cpp+unrolled",)


def test_unrolling_maps_the_symbol_back_to_its_corners() -> None:
    """The unrolled crop keeps the symbol's corners and the crop's centre where they were (the
    homography placed them right); points in between move out from the middle."""
    from qrcheck.vision.readers import CROP_MARGIN, _unrolled

    n = 576
    crop = np.zeros((n, n), np.uint8)
    half = n / (1 + 2 * CROP_MARGIN) / 2
    corners = np.array([[n / 2 + dx * half, n / 2 + dy * half] for dx, dy in ((-1, -1), (1, 1))])
    for axis in (0, 1):
        _, to_crop = _unrolled(crop, axis, math.radians(40))
        assert np.allclose(to_crop(corners), corners)
        assert np.allclose(to_crop(np.array([[n / 2, n / 2]])), [[n / 2, n / 2]])
        quarter = np.array([[n / 2 + half / 2, n / 2 + half / 2]])
        moved = to_crop(quarter)[0]
        assert moved[axis] > quarter[0, axis] + 0.02 * half  # the middle modules were narrow
        assert moved[1 - axis] == quarter[0, 1 - axis]


# ---------------------------------------------------------------------------------------------
# glare and blots: erasures


def glared(glare: float, seed: int, tilt: float) -> np.ndarray:
    image, _ = code_image(
        PAYLOADS[5], module_px=5, glare=glare, tilt_deg=tilt, rng=seed, canvas=(800, 800), **PHONE
    )
    return gray(image)


@pytest.mark.parametrize(("glare", "seed", "tilt"), [(0.9, 6, 15), (0.85, 10, 10)])
def test_a_code_under_glare_decodes_with_its_blown_out_modules_as_erasures(
    glare: float, seed: int, tilt: float
) -> None:
    """A large blown-out spot over a tilted code: zxing-cpp locates it (checksum error) and no
    crop reads it; read with the blown-out modules as erasures, it decodes."""
    image = glared(glare, seed, tilt)
    errors = zxingcpp.read_barcodes(
        image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    assert errors and not any(b.valid for b in errors)
    found = locate_codes(image)
    assert [f.text for f in found] == [PAYLOADS[5]], describe(found)
    assert found[0].readers == ("zxing-cpp+erasures",)
    assert found[0].unused_ec is not None and found[0].unused_ec < 0.5  # the glare's cost


def test_glare_is_erased_and_clean_modules_are_not() -> None:
    """The module grid of a rectified crop: a blown-out disc's modules are erasures, almost no
    module elsewhere is (random data has no 3 x 3 patch of one colour)."""
    from qrcheck.vision.readers import CROP_MARGIN, _module_grid, _position, _rectify, _zxing

    clean = shoot(PAYLOADS[5])
    (barcode,) = _zxing(clean)
    version = int(barcode.extra["Version"])
    n = 17 + 4 * version
    crop, _ = _rectify(clean, _position(barcode))
    _, erased = _module_grid(crop, n, 0)
    assert erased.mean() < 0.12  # finders' centres and runs of the timing's neighbours
    spot = crop.copy()
    size = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    centre = (round(crop.shape[0] / 2 + size / 8), round(crop.shape[0] / 2))
    cv2.circle(spot, centre, round(size / 6), 255, -1)
    _, erased_spot = _module_grid(spot, n, 0)
    module = size / n
    inside = int(size / 6 / module / math.sqrt(2)) - 1  # the square inside the disc
    row = round((centre[1] - size * CROP_MARGIN) / module)
    col = round((centre[0] - size * CROP_MARGIN) / module)
    assert erased_spot[row - inside : row + inside + 1, col - inside : col + inside + 1].all()


def test_erasures_never_read_a_wrong_text() -> None:
    """Read with the wrong format (mask, EC level) or from blank paper, the erasure reader
    finds nothing: every block must correct with check codewords to spare."""
    from qrcheck.vision.readers import _position, _rectify, _zxing, erasure_read

    clean = shoot(PAYLOADS[5])
    (barcode,) = _zxing(clean)
    version, ec, mask = (
        int(barcode.extra["Version"]),
        barcode.extra["ECLevel"],
        int(barcode.extra["DataMask"]),
    )
    crop, _ = _rectify(clean, _position(barcode))
    read = erasure_read(crop, version, ec, mask)
    assert read is not None and read[0] == PAYLOADS[5] and read[1] > 0.5
    for wrong in range(8):
        if wrong != mask:
            assert erasure_read(crop, version, ec, wrong) is None
    for other in "LMQH":
        if other != ec:
            assert erasure_read(crop, version, other, mask) is None
    blank = np.full_like(crop, 235)
    assert erasure_read(blank, version, ec, mask, grow=1) is None
