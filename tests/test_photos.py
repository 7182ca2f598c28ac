"""Reading photos: every format and mode to 8-bit RGB, EXIF orientation, limits, bad files.

Every image here is a real file written with Pillow (or crafted bytes) in tmp_path; nothing is
mocked. The standard picture is a black square on white, so a handful of pixels tell whether a
conversion kept what a person sees.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile, ImageOps

from qrcheck.errors import PhotoError, QrcheckError
from qrcheck.i18n import LANGUAGES, messages, placeholders, t
from qrcheck.vision.photos import MAX_PIXELS, SUPPORTED_SUFFIXES, Photo, find_photos, load_photo

W, H = 48, 32
#: The black square of the standard picture: x from 8 to 23, y from 8 to 23.
SQUARE = (8, 8, 24, 24)
INSIDE = [(12, 12), (20, 20), (8, 23)]
OUTSIDE = [(2, 2), (40, 5), (30, 28), (24, 8)]


def picture(mode: str, black=0, white=255) -> Image.Image:
    """The standard picture in `mode`: `white` background, `black` square."""
    if Image.getmodebands(mode) == 3:  # Image.new("RGB", size, 255) would be red
        black, white = (
            (value,) * 3 if isinstance(value, int) else value for value in (black, white)
        )
    image = Image.new(mode, (W, H), white)
    image.paste(black, SQUARE)
    return image


def array_picture(dtype, black, white) -> Image.Image:
    """The standard picture from a numpy array (Pillow's paste mangles 16-bit values)."""
    values = np.full((H, W), white, dtype=dtype)
    left, top, right, bottom = SQUARE
    values[top:bottom, left:right] = black
    return Image.fromarray(values)


def write(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def assert_square(photo: Photo, tolerance: int = 0) -> None:
    """Black inside the square, white around it, in both arrays; the photo is W x H."""
    assert (photo.width, photo.height) == (W, H)
    assert photo.rgb.shape == (H, W, 3) and photo.gray.shape == (H, W)
    assert photo.rgb.dtype == np.uint8 and photo.gray.dtype == np.uint8
    for x, y in INSIDE:
        assert photo.rgb[y, x].max() <= tolerance, (x, y, photo.rgb[y, x])
        assert photo.gray[y, x] <= tolerance
    for x, y in OUTSIDE:
        assert photo.rgb[y, x].min() >= 255 - tolerance, (x, y, photo.rgb[y, x])
        assert photo.gray[y, x] >= 255 - tolerance


def refused(path: Path, key: str, **kwargs) -> PhotoError:
    """load_photo raises PhotoError `key` for `path`, and no warning escapes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PhotoError) as info:
            load_photo(path, **kwargs)
    assert caught == []
    assert info.value.key == key, info.value.params
    assert info.value.params["path"] == str(path)
    return info.value


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height gray pixels, with no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------
# Modes: every one becomes 8-bit RGB that looks like the original


#: name (stored mode, then the file type) -> picture maker, suffix, save options, tolerance.
MODES: dict[str, tuple[Callable[[], Image.Image], str, dict, int]] = {
    "1": (lambda: picture("1", 0, 1), "png", {}, 0),
    "L": (lambda: picture("L"), "png", {}, 0),
    "LA opaque": (lambda: picture("LA", (0, 255), (255, 255)), "png", {}, 0),
    "P": (lambda: picture("RGB").convert("P"), "png", {}, 0),
    "RGB": (lambda: picture("RGB"), "png", {}, 0),
    "RGBA opaque": (lambda: picture("RGBA", (0, 0, 0, 255), (255, 255, 255, 255)), "png", {}, 0),
    "I;16 png": (lambda: array_picture(np.uint16, 0, 65535), "png", {}, 0),
    "I;16 tiff": (lambda: array_picture(np.uint16, 0, 65535), "tiff", {}, 0),
    "I;16B tiff": (lambda: array_picture(">u2", 0, 65535), "tiff", {}, 0),
    "I tiff": (lambda: array_picture(np.int32, -5000, 70000), "tiff", {}, 0),
    "F tiff": (lambda: array_picture(np.float32, 0.0, 1.0), "tiff", {}, 0),
    "CMYK tiff": (lambda: picture("RGB").convert("CMYK"), "tiff", {}, 0),
    "LAB tiff": (lambda: picture("RGB").convert("LAB"), "tiff", {}, 2),  # Pillow's LAB is rough
    "PA tiff": (
        lambda: picture("RGBA", (0, 0, 0, 255), (255, 255, 255, 255)).convert("PA"),
        "tiff",
        {},
        0,
    ),
    "RGB bmp": (lambda: picture("RGB"), "bmp", {}, 0),
    "P bmp": (lambda: picture("RGB").convert("P"), "bmp", {}, 0),
    "RGB webp lossless": (lambda: picture("RGB"), "webp", {"lossless": True}, 0),
}


@pytest.mark.parametrize("name", MODES)
def test_mode_is_read_as_rgb(tmp_path, name):
    make, suffix, options, tolerance = MODES[name]
    path = write(make(), tmp_path / f"picture.{suffix}", **options)
    with Image.open(path) as stored:  # the file really holds that mode
        assert stored.mode == name.split()[0]
    assert_square(load_photo(path), tolerance)


def test_gray_is_the_luma_of_rgb(tmp_path):
    image = Image.new("RGB", (W, H))
    image.paste((255, 0, 0), (0, 0, 16, H))
    image.paste((0, 255, 0), (16, 0, 32, H))
    image.paste((0, 0, 255), (32, 0, W, H))
    photo = load_photo(write(image, tmp_path / "rgb.png"))
    assert photo.rgb[5, 5].tolist() == [255, 0, 0]
    assert [photo.gray[5, 5], photo.gray[5, 20], photo.gray[5, 40]] == [76, 150, 29]


def test_rgba_transparent_background_becomes_white(tmp_path):
    # transparent black, the usual content of a transparent PNG: it must not turn black
    image = picture("RGBA", (0, 0, 0, 255), (0, 0, 0, 0))
    image.paste((0, 0, 0, 128), (36, 16, 46, 22))  # half-transparent black over white: mid-gray
    photo = load_photo(write(image, tmp_path / "transparent.png"))
    assert_square(photo)
    assert 120 <= photo.gray[19, 41] <= 135
    assert photo.rgb[19, 41].tolist() == [photo.gray[19, 41]] * 3


def test_la_transparent_background_becomes_white(tmp_path):
    photo = load_photo(write(picture("LA", (0, 255), (0, 0)), tmp_path / "la.png"))
    assert_square(photo)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (W, H), 0)
    image.putpalette([0, 0, 0, 0, 0, 0] + [0] * (3 * 254))  # both entries black...
    image.paste(1, SQUARE)
    path = write(image, tmp_path / "palette.png", transparency=0)  # ...entry 0 transparent
    with Image.open(path) as stored:
        assert stored.mode == "P" and "transparency" in stored.info
    assert_square(load_photo(path))


def test_gray_and_rgb_with_a_transparent_colour(tmp_path):
    gray = write(picture("L", 0, 7), tmp_path / "gray.png", transparency=7)
    assert_square(load_photo(gray))
    rgb = write(picture("RGB", 0, (9, 9, 9)), tmp_path / "rgb.png", transparency=(9, 9, 9))
    assert_square(load_photo(rgb))


def test_16_bit_with_a_small_range_keeps_its_contrast(tmp_path):
    # 12-bit-like data: square 1000, background 1200 (>> 8 would give 3 and 4: invisible)
    path = write(array_picture(np.uint16, 1000, 1200), tmp_path / "dim.png")
    with Image.open(path) as stored:
        assert stored.mode == "I;16"
    photo = load_photo(path)
    assert_square(photo)


def test_16_bit_intermediate_levels_are_scaled_linearly(tmp_path):
    values = np.array([[0, 16384, 32768, 65535]] * 2, dtype=np.uint16)
    photo = load_photo(write(Image.fromarray(values), tmp_path / "ramp.png"))
    assert photo.gray[0].tolist() == [0, 64, 128, 255]


def test_flat_16_bit_image_keeps_its_level(tmp_path):
    photo = load_photo(write(Image.new("I;16", (W, H), 32896), tmp_path / "flat.png"))
    assert photo.gray.min() == photo.gray.max() == 128


def test_float_image_with_nan(tmp_path):
    values = np.ones((H, W), np.float32)
    values[8:24, 8:24] = 0.0
    values[0, 0] = np.nan
    photo = load_photo(write(Image.fromarray(values, "F"), tmp_path / "float.tiff"))
    assert_square(photo)
    assert photo.gray[0, 0] == 0


def test_cmyk_jpeg(tmp_path):
    path = write(picture("RGB").convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    raw = path.read_bytes()
    assert b"Adobe" in raw  # Pillow writes Photoshop-style (inverted) CMYK with an Adobe marker
    with Image.open(path) as stored:
        assert stored.mode == "CMYK"
    assert_square(load_photo(path), tolerance=12)


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        ("jpg", {"quality": 95}),
        ("webp", {"quality": 95}),
        ("heic", {"quality": 95}),
        ("tif", {}),
        ("bmp", {}),
        ("gif", {}),
    ],
)
def test_formats(tmp_path, suffix, options):
    path = write(picture("RGB"), tmp_path / f"photo.{suffix}", **options)
    assert_square(load_photo(path), tolerance=12)


def test_heic_is_really_heic(tmp_path):
    path = write(picture("RGB"), tmp_path / "photo.heic", quality=95)
    assert path.read_bytes()[4:12] == b"ftypheic"
    heif = pillow_heif.open_heif(path)
    assert heif.size == (W, H)
    # the content decides, not the name: a HEIC photo renamed to .jpg still reads
    renamed = tmp_path / "renamed.jpg"
    renamed.write_bytes(path.read_bytes())
    assert_square(load_photo(renamed), tolerance=12)


# ---------------------------------------------------------------------------------------------
# EXIF orientation


def oriented_jpeg(tmp_path: Path, orientation: int) -> Path:
    """A 60 x 40 JPEG with a black marker in its stored top-left corner, and `orientation`."""
    image = Image.new("RGB", (60, 40), "white")
    image.paste((0, 0, 0), (0, 0, 12, 12))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return write(image, tmp_path / f"o{orientation}.jpg", exif=exif, quality=95)


def black(photo: Photo, x: int, y: int) -> bool:
    return int(photo.gray[y, x]) < 40


def test_orientation_6_turns_clockwise(tmp_path):
    photo = load_photo(oriented_jpeg(tmp_path, 6))
    assert (photo.width, photo.height) == (40, 60)
    # a phone held upright: the stored top-left is seen at the top right
    assert black(photo, 35, 5)
    assert not black(photo, 5, 5) and not black(photo, 5, 55) and not black(photo, 35, 55)


def test_orientation_8_turns_counterclockwise(tmp_path):
    photo = load_photo(oriented_jpeg(tmp_path, 8))
    assert (photo.width, photo.height) == (40, 60)
    assert black(photo, 5, 55)
    assert not black(photo, 5, 5) and not black(photo, 35, 5) and not black(photo, 35, 55)


def test_orientation_1_leaves_the_photo_alone(tmp_path):
    photo = load_photo(oriented_jpeg(tmp_path, 1))
    assert (photo.width, photo.height) == (60, 40)
    assert black(photo, 5, 5) and not black(photo, 55, 5)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_every_orientation_matches_pillow(tmp_path, orientation, mode):
    rng = np.random.default_rng(orientation)
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = write(image, tmp_path / "o.png", exif=exif)
    with Image.open(path) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    photo = load_photo(path)
    assert np.array_equal(photo.rgb, expected)
    assert photo.rgb.flags.c_contiguous and photo.gray.flags.c_contiguous


def test_heic_orientation(tmp_path):
    image = Image.new("RGB", (60, 40), "white")
    image.paste((0, 0, 0), (0, 0, 12, 12))
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = load_photo(write(image, tmp_path / "o6.heic", exif=exif.tobytes(), quality=95))
    assert (photo.width, photo.height) == (40, 60)
    assert black(photo, 35, 5) and not black(photo, 5, 5)


def test_damaged_exif_is_ignored(tmp_path):
    raw = io.BytesIO()
    picture("RGB").save(raw, "JPEG", quality=95, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    path = tmp_path / "bad-exif.jpg"
    path.write_bytes(raw.getvalue())
    assert_square(refused_not(path), tolerance=12)


def refused_not(path: Path) -> Photo:
    """load_photo succeeds for `path` and no warning escapes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photo = load_photo(path)
    assert caught == []
    return photo


# ---------------------------------------------------------------------------------------------
# Size limits


def test_fifty_megapixels_load_without_extra_copies(tmp_path):
    width, height = 8200, 6200
    image = Image.new("L", (width, height), 255)
    image.paste(0, (100, 200, 300, 400))
    path = write(image, tmp_path / "big.png", compress_level=1)
    del image
    tracemalloc.start()
    try:
        photo = load_photo(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (photo.width, photo.height) == (width, height)
    assert photo.rgb[300, 200].tolist() == [0, 0, 0] and photo.gray[300, 200] == 0
    assert photo.rgb[100, 100].tolist() == [255, 255, 255]
    assert photo.rgb[height - 1, width - 1].tolist() == [255, 255, 255]
    # memory held by Python and numpy: the two results, not more (Pillow's own buffer aside)
    assert peak < 1.1 * (photo.rgb.nbytes + photo.gray.nbytes)


@pytest.mark.parametrize(
    ("mode", "orientation", "ratio"),
    [("L", 1, 1.1), ("L", 6, 1.1), ("RGB", 1, 1.1), ("RGB", 8, 1.6)],
)
def test_no_extra_copies(tmp_path, mode, orientation, ratio):
    """Python-side memory at its peak: the results, plus one turned copy of RGB pixels."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    # blocks of colour: the compressed file is small, so that only decoded pixels count
    y, x = np.indices((2000, 3000)) // 50
    blocks = np.stack([x * 37 % 256, y * 53 % 256, (x + y) * 71 % 256], axis=2).astype(np.uint8)
    path = write(Image.fromarray(blocks).convert(mode), tmp_path / "p.png", exif=exif)
    load_photo(write(picture(mode), tmp_path / "warm-up.png"))  # plugins imported, caches full
    tracemalloc.start()
    try:
        photo = load_photo(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert photo.width == (3000 if orientation == 1 else 2000)
    assert peak < ratio * (photo.rgb.nbytes + photo.gray.nbytes)


def test_default_limit():
    assert MAX_PIXELS == 120_000_000
    assert MAX_PIXELS > 8200 * 6200


def test_over_max_pixels_is_refused_before_decoding(tmp_path):
    # only a header and the first half of the pixel data: decoding would fail as "damaged"
    raw = io.BytesIO()
    Image.new("L", (2000, 1000), 255).save(raw, "PNG")
    path = tmp_path / "wide.png"
    path.write_bytes(raw.getvalue()[: len(raw.getvalue()) // 2])
    error = refused(path, "photos.too_large", max_pixels=1_000_000)
    assert error.params | {"path": "?"} == {
        "path": "?",
        "width": 2000,
        "height": 1000,
        "megapixels": 2,
        "limit": 1,
    }
    assert "2000 × 1000" in t(error.key, "vi", **error.params)
    refused(path, "photos.damaged")  # within the default limit it is decoded, and fails


def test_a_decompression_bomb_is_refused_without_warning(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    error = refused(path, "photos.suspicious_size")
    assert error.params["megapixels"] == 900
    assert error.params["limit"] == 120
    # a caller's limit above Pillow's own does not let the bomb through
    refused(path, "photos.suspicious_size", max_pixels=10**12)


def test_between_pillows_warning_and_our_limit_no_warning_escapes(tmp_path):
    # 100 MP: Pillow warns (over 89 MP), our limit (120 MP) lets it through to decoding
    path = tmp_path / "claims-100mp.png"
    path.write_bytes(png_header_only(10000, 10000))
    refused(path, "photos.damaged")
    # 144 MP: Pillow only warns, our limit refuses it
    path = tmp_path / "claims-144mp.png"
    path.write_bytes(png_header_only(12000, 12000))
    error = refused(path, "photos.too_large")
    assert (error.params["width"], error.params["height"]) == (12000, 12000)


# ---------------------------------------------------------------------------------------------
# Files that are not (complete) photos


def noisy(mode: str = "RGB", width: int = 300, height: int = 200) -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF"])
def test_truncated_files_are_damaged(tmp_path, fmt):
    raw = io.BytesIO()
    noisy().save(raw, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(raw.getvalue()[: len(raw.getvalue()) // 2])
    refused(path, "photos.damaged")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_data_is_damaged(tmp_path):
    raw = bytearray(write(noisy(), tmp_path / "ok.png").read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)  # zeroed inside the compressed stream
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(raw))
    refused(path, "photos.damaged")


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        (
            "random.jpg",
            bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
            "photos.not_image",
        ),
        ("empty.jpg", b"", "photos.empty"),
        ("board.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "photos.pdf"),
        ("notes.txt", "Bảng niêm yết thủ tục\n".encode(), "photos.not_image"),
        (
            "clip.mp4",
            b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64),
            "photos.video",
        ),
        ("live.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + bytes(64), "photos.video"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "photos.not_image"),
    ],
)
def test_not_a_photo(tmp_path, name, content, key):
    path = tmp_path / name
    path.write_bytes(content)
    refused(path, key)


def test_eps_is_not_opened(tmp_path):
    # Pillow would run Ghostscript on an EPS file: it is not among the formats we decode
    path = tmp_path / "board.jpg"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    refused(path, "photos.not_image")


def test_a_folder_is_not_a_photo(tmp_path):
    folder = tmp_path / "photos.jpg"
    folder.mkdir()
    refused(folder, "photos.is_folder")


def test_missing_file(tmp_path):
    refused(tmp_path / "nowhere.jpg", "photos.not_found")
    refused(write(picture("L"), tmp_path / "a.png") / "b.png", "photos.not_found")


def test_unreadable_path(tmp_path):
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)  # resolving it fails with ELOOP, for any user
    error = refused(loop, "photos.unreadable")
    assert error.params["reason"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied(tmp_path):
    path = write(picture("L"), tmp_path / "private.png")
    path.chmod(0)
    try:
        refused(path, "photos.unreadable")
    finally:
        path.chmod(0o644)


# ---------------------------------------------------------------------------------------------
# The Photo itself


def test_sha256_is_the_file_hash(tmp_path):
    path = write(noisy(), tmp_path / "board.jpg", quality=90)
    photo = load_photo(path)
    assert photo.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert photo.path == path


def test_photo_is_read_only(tmp_path):
    photo = load_photo(write(picture("RGB"), tmp_path / "p.png"))
    with pytest.raises(FrozenInstanceError):
        photo.sha256 = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        photo.rgb[0, 0] = 0
    with pytest.raises(ValueError):
        photo.gray[0, 0] = 0
    assert "rgb" not in repr(photo) and "sha256" in repr(photo)


def test_photo_error_is_a_qrcheck_error():
    assert issubclass(PhotoError, QrcheckError)


# ---------------------------------------------------------------------------------------------
# Messages


def every_error(tmp_path: Path) -> list[PhotoError]:
    """A PhotoError of every kind that files on disk can cause."""
    errors = []
    cases = {
        "empty.jpg": b"",
        "doc.pdf": b"%PDF-1.4\n",
        "text.txt": b"hello",
        "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(32),
        "bomb.png": png_header_only(30000, 30000),
        "big.png": png_header_only(12000, 12000),
        "cut.png": png_header_only(100, 100),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "folder").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for name in [*cases, "folder", "missing.jpg", "loop"]:
        with pytest.raises(PhotoError) as info:
            load_photo(tmp_path / name)
        errors.append(info.value)
    (tmp_path / "no-photos").mkdir()
    errors.extend(error for _, error in find_photos([tmp_path / "no-photos"])[1])
    return errors


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_photo_error_is_a_sentence(tmp_path, lang):
    errors = every_error(tmp_path)
    keys = {error.key for error in errors}
    assert len(keys) == len(errors) == 11
    for error in errors:
        text = t(error.key, lang, **error.params)
        assert text != error.key and "{" not in text and "photos." not in text
        assert str(error.params["path"]) in text
        assert text.endswith(".") and len(text.split()) >= 8


def test_every_photos_message_is_used_and_formats():
    source = Path(__file__).resolve().parent.parent / "qrcheck" / "vision" / "photos.py"
    text = source.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        keys = [k for k in messages(lang) if k.startswith("photos.")]
        assert len(keys) == 15
        for key in keys:
            assert f'"{key}"' in text, key
            template = messages(lang)[key]
            assert "path" in placeholders(template)
            rendered = template.format(**dict.fromkeys(placeholders(template), "X"))
            assert "{" not in rendered


def test_error_text_vietnamese_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("QRCHECK_LANG", raising=False)
    path = tmp_path / "cut.jpg"
    raw = io.BytesIO()
    noisy().save(raw, "JPEG")
    path.write_bytes(raw.getvalue()[:2000])
    with pytest.raises(PhotoError) as info:
        load_photo(path)
    assert t(info.value.key, **info.value.params) == (
        f"Ảnh {path} bị hỏng hoặc chưa tải xong; hãy chụp hoặc gửi lại ảnh."
    )
    assert str(info.value).startswith(f"The photo {path} is damaged")


# ---------------------------------------------------------------------------------------------
# Finding photos


def touch(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_suffixes():
    assert {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp"} == (
        SUPPORTED_SUFFIXES
    )


def test_find_photos_in_folders(tmp_path):
    board = tmp_path / "board"
    for name in [
        "b.jpg",
        "A.JPG",
        "c.heic",
        "sub/z.png",
        "sub/deeper/y.webp",
        "a2/x.TIFF",
        "notes.txt",
        "scan.pdf",
        "Thumbs.db",
        ".hidden.jpg",
        "._b.jpg",
        ".thumbnails/t.jpg",
        "sub/.cache/q.png",
        "noext",
    ]:
        touch(board / name)
    found, errors = find_photos([board])
    assert errors == []
    assert [p.relative_to(board).as_posix() for p in found] == [
        "A.JPG",
        "a2/x.TIFF",
        "b.jpg",
        "c.heic",
        "sub/deeper/y.webp",
        "sub/z.png",
    ]


def test_find_photos_keeps_named_files_and_reports_missing_paths(tmp_path):
    named = touch(tmp_path / "notes.txt")
    photo = touch(tmp_path / "one.jpg")
    hidden = touch(tmp_path / ".named.png")
    folder = tmp_path / "folder"
    inside = touch(folder / "two.png")
    missing = tmp_path / "missing.jpg"
    found, errors = find_photos([named, missing, photo, folder, hidden, photo, inside])
    assert found == [named, photo, inside, hidden]  # given order; each photo once
    assert [(path, error.key) for path, error in errors] == [(missing, "photos.not_found")]
    assert errors[0][1].params == {"path": str(missing)}


def test_find_photos_reports_an_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    touch(empty / "readme.txt")
    touch(empty / ".hidden/a.jpg")
    found, errors = find_photos([empty, touch(tmp_path / "a.jpg")])
    assert found == [tmp_path / "a.jpg"]
    assert [(p, e.key) for p, e in errors] == [(empty, "photos.folder_empty")]


def test_find_photos_accepts_strings_and_nothing(tmp_path):
    touch(tmp_path / "a.jpg")
    assert find_photos([str(tmp_path)]) == ([tmp_path / "a.jpg"], [])  # type: ignore[list-item]
    assert find_photos([]) == ([], [])


def test_find_photos_does_not_follow_folder_links(tmp_path):
    board = tmp_path / "board"
    touch(board / "a.jpg")
    (board / "again").symlink_to(board, target_is_directory=True)  # a loop
    found, errors = find_photos([board])
    assert found == [board / "a.jpg"] and errors == []


def test_find_photos_reports_a_broken_link_as_missing(tmp_path):
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "deleted.jpg")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    found, errors = find_photos([link, loop])
    assert found == []
    assert [e.key for _, e in errors] == ["photos.not_found", "photos.unreadable"]
    assert errors[1][1].params["reason"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root lists any folder")
def test_find_photos_reports_an_unreadable_folder(tmp_path):
    board = tmp_path / "board"
    touch(board / "a.jpg")
    locked = board / "locked"
    touch(locked / "b.jpg")
    locked.chmod(0)
    try:
        found, errors = find_photos([board])
    finally:
        locked.chmod(0o755)
    assert found == [board / "a.jpg"]
    assert [(p, e.key) for p, e in errors] == [(locked, "photos.folder_unreadable")]


def test_found_photos_load(tmp_path):
    board = tmp_path / "board"
    write(picture("RGB"), touch(board / "a.png"))
    write(picture("L"), touch(board / "b" / "c.jpg"), quality=95)
    found, errors = find_photos([board])
    assert errors == [] and len(found) == 2
    for path in found:
        assert_square(load_photo(path), tolerance=12)


def test_probe_reads_the_header_only(tmp_path: Path) -> None:
    """probe_photo: the size from the header, the same refusals as load_photo for what is not a
    photo or is too big, and no decoding (a JPEG cut short passes; loading it does not)."""
    from qrcheck.vision.photos import probe_photo

    whole = tmp_path / "whole.jpg"
    Image.new("RGB", (640, 480), (200, 200, 200)).save(whole, quality=90)
    assert probe_photo(whole) == (640, 480)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert probe_photo(cut) == (640, 480)
    with pytest.raises(PhotoError) as damaged:
        load_photo(cut)
    assert damaged.value.key == "photos.damaged"
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo\n" * 20)
    with pytest.raises(PhotoError) as not_image:
        probe_photo(text)
    assert not_image.value.key == "photos.not_image"
    big = tmp_path / "big.png"
    Image.new("L", (3000, 2000), 255).save(big)
    with pytest.raises(PhotoError) as too_large:
        probe_photo(big, max_pixels=5_000_000)
    assert too_large.value.key == "photos.too_large"
    assert too_large.value.params["width"] == 3000
    with pytest.raises(PhotoError) as missing:
        probe_photo(tmp_path / "gone.jpg")
    assert missing.value.key == "photos.not_found"
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(PhotoError) as nothing:
        probe_photo(empty)
    assert nothing.value.key == "photos.empty"
