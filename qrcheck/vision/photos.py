"""Reading the photos staff take of the boards, safely: formats, EXIF orientation, limits.

Photos come from phones (JPEG, HEIC from iPhones, sometimes PNG screenshots or WebP from chat
apps) and, now and then, from scanners (16-bit TIFF, CMYK JPEG). Every one of them becomes the
same thing: 8-bit RGB and its luma, turned the way a person sees the photo (EXIF orientation
applied), so that coordinates in a report point where the staff member will look.

Reading is defensive: the pixel count is checked against a limit before any pixel is decoded,
Pillow's decompression-bomb warning never escapes, a damaged or truncated file, a PDF or a video
becomes a `PhotoError` with a message key, and nothing global (such as
`ImageFile.LOAD_TRUNCATED_IMAGES`) is changed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import pillow_heif
from PIL import Image, UnidentifiedImageError

from qrcheck.errors import PhotoError, os_reason

pillow_heif.register_heif_opener()

#: Suffixes (lower-case) of the files `find_photos` picks up inside a folder.
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp"}
)

#: Default pixel limit: 50 MP phone photos load, a bigger "photo" is refused before decoding.
MAX_PIXELS = 120_000_000

#: Longest side of a photo, in pixels: a 120 MP photo of 4:3 is 12,649 pixels wide and a phone's
#: panorama about 20,000; the readers and OpenCV's sampling refuse sides over 32,767 or 65,535
#: with an error meant for programmers, so a longer "photo" is refused from its header.
MAX_SIDE = 30_000

#: Longest side over shortest side: a panorama of a whole wall is about 10:1; a 1,000,000 x 2
#: image is not a photo of a board, whatever its pixel count.
MAX_ASPECT = 20

#: Formats Pillow may use to decode a photo, decided by content, not by the file's suffix (phone
#: JPEGs that turn out to be MPO go through the JPEG opener); GIF and AVIF are harmless extras.
#: Excluded on purpose: EPS/PS (Pillow runs Ghostscript for them) and the many icon, font and
#: legacy formats nobody photographs with.
_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "TIFF", "BMP", "GIF")

#: Modes holding more than 8 bits per pixel (16-bit PNG/TIFF, 32-bit integer, float).
_WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})

#: EXIF Orientation value -> how to turn the stored pixels (rows, columns) into the seen image.
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
_EXIF_ORIENTATION = 0x0112

#: File starts that identify things people send instead of photos.
_VIDEO_BRANDS = (b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"3gp4", b"3gp5", b"M4V ")

#: Rows converted at a time when scaling a 16-bit or float image, to bound the temporary memory.
_ROWS_PER_BLOCK = 512

#: Bytes copied out of Pillow at a time (see `_to_array`).
_STRIP_BYTES = 1 << 20


@dataclass(frozen=True, eq=False)
class Photo:
    """One decoded photo, turned the way a person sees it.

    `rgb` and `gray` are read-only (copy before drawing on them). Photos compare by identity: two
    decodes of the same file are recognised by `sha256`.
    """

    path: Path
    #: uint8, height x width x 3, EXIF orientation applied.
    rgb: np.ndarray = field(repr=False)
    #: uint8, height x width: the luma of `rgb` (ITU-R 601, as cv2.COLOR_RGB2GRAY).
    gray: np.ndarray = field(repr=False)
    #: SHA-256 of the file's bytes, hex.
    sha256: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_photo(path: Path, max_pixels: int = MAX_PIXELS) -> Photo:
    """Decode the image at `path` into 8-bit RGB and luma, EXIF orientation applied.

    Raises PhotoError for a missing, unreadable, empty, damaged or truncated file, for anything
    that is not an image (a folder, a PDF, a video, text), and for an image of more than
    `max_pixels` pixels, which is refused from its header before any pixel is decoded.
    """
    path = Path(path)
    where = _regular_file(path)
    with _reading(where), path.open("rb") as fh:
        rgb, gray = _decode(fh, where, max_pixels)
        fh.seek(0)
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return Photo(path=path, rgb=rgb, gray=gray, sha256=digest)


def probe_photo(path: Path, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """The stored (width, height) of the image at `path`, read from its header only.

    The same refusals as `load_photo` for a file that is missing, empty, not an image or over
    `max_pixels`, for a fraction of the cost: no pixel is decoded, so damage inside the pixel
    data (a truncated JPEG) shows only when the photo is loaded.
    """
    path = Path(path)
    where = _regular_file(path)
    with _reading(where), path.open("rb") as fh:
        image = _open_image(fh, where, max_pixels)
        with image:
            return image.size


def _regular_file(path: Path) -> str:
    """`path` as messages name it, once it is known to be a non-empty regular file."""
    where = str(path)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise PhotoError("photos.not_found", path=where) from exc
    except OSError as exc:
        raise PhotoError("photos.unreadable", path=where, reason=os_reason(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise PhotoError("photos.is_folder", path=where)
    if not stat.S_ISREG(st.st_mode):  # a device or a pipe: opening it could block forever
        raise PhotoError("photos.not_image", path=where)
    if st.st_size == 0:
        raise PhotoError("photos.empty", path=where)
    return where


@contextmanager
def _reading(where: str) -> Iterator[None]:
    """The operating system's errors while reading the file at `where`, as PhotoErrors."""
    try:
        yield
    except IsADirectoryError as exc:
        raise PhotoError("photos.is_folder", path=where) from exc
    except FileNotFoundError as exc:  # removed in the meantime
        raise PhotoError("photos.not_found", path=where) from exc
    except OSError as exc:
        raise PhotoError("photos.unreadable", path=where, reason=os_reason(exc)) from exc


def find_photos(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, PhotoError]]]:
    """The photos to check, and the paths that cannot be checked, each with its error.

    A folder is searched recursively for files with a `SUPPORTED_SUFFIXES` suffix (any case),
    skipping hidden files and folders (name starting with a dot) and not following links to
    folders; its photos come sorted by path. A file named explicitly is kept whatever its suffix,
    so that `load_photo` says what is wrong with it. A path that does not exist, a folder that
    cannot be listed and a folder without any photo are reported as errors. A photo reached twice
    (named and inside a named folder, or named twice) is listed once, where first reached.
    """
    found: list[Path] = []
    errors: list[tuple[Path, PhotoError]] = []
    seen: set[str] = set()

    def keep(photo: Path) -> None:
        identity = os.path.normcase(os.path.abspath(photo))
        if identity not in seen:
            seen.add(identity)
            found.append(photo)

    for given in paths:
        path = Path(given)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            errors.append((path, PhotoError("photos.not_found", path=str(path))))
            continue
        except OSError as exc:
            errors.append(
                (path, PhotoError("photos.unreadable", path=str(path), reason=os_reason(exc)))
            )
            continue
        if not stat.S_ISDIR(st.st_mode):
            keep(path)
            continue
        inside, problems = _search_folder(path)
        errors.extend(problems)
        if not inside and not problems:
            errors.append((path, PhotoError("photos.folder_empty", path=str(path))))
        for photo in inside:
            keep(photo)
    return found, errors


# ---------------------------------------------------------------------------------------------
# Finding


def _search_folder(top: Path) -> tuple[list[Path], list[tuple[Path, PhotoError]]]:
    photos: list[Path] = []
    problems: list[tuple[Path, PhotoError]] = []

    def unreadable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else top
        problems.append(
            (
                folder,
                PhotoError("photos.folder_unreadable", path=str(folder), reason=os_reason(exc)),
            )
        )

    for folder, dirnames, filenames in os.walk(top, onerror=unreadable):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        photos.extend(
            Path(folder, name)
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
        )
    photos.sort(key=_path_order)
    problems.sort(key=lambda item: _path_order(item[0]))
    return photos, problems


def _path_order(path: Path) -> list[tuple[str, str]]:
    """Folder by folder, ignoring case first (IMG_0001.JPG beside img_0002.jpg)."""
    return [(part.casefold(), part) for part in path.parts]


# ---------------------------------------------------------------------------------------------
# Decoding


@cache
def _formats() -> tuple[str, ...]:
    """The allowed formats this Pillow build can read (naming an absent one makes open fail)."""
    Image.init()
    return tuple(name for name in _FORMATS if name in Image.OPEN)


def _decode(fh: BinaryIO, where: str, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """The (rgb, gray) pair of the image in `fh`, turned as its EXIF orientation says.

    Memory, for a 50 MP photo: Pillow's decoded image (4 bytes a pixel for RGB) lives only until
    its pixels are copied out as a packed array; turning the photo makes one more copy, after
    which the unturned one is freed; the luma is computed last. A gray source stays one channel
    until the very end.
    """
    base, orientation = _read_pixels(fh, where, max_pixels)  # Pillow's image is closed
    try:
        if orientation in _ORIENT:
            base = np.ascontiguousarray(_ORIENT[orientation](base))  # frees the unturned array
        return _pair(base)
    except MemoryError as exc:
        height, width = base.shape[:2]
        raise PhotoError("photos.no_memory", path=where, width=width, height=height) from exc


def _open_image(fh: BinaryIO, where: str, max_pixels: int) -> Image.Image:
    """Pillow's image of `fh`, its header checked: a known photo format, a sane size within
    `max_pixels`. Nothing is decoded yet; the caller closes the image."""
    head = fh.read(32)
    fh.seek(0)
    # Pillow warns (DecompressionBombWarning) from 89 MP on, below our own limit, and plugins
    # warn about odd metadata: the file is the problem, not the code, and our checks cover it.
    # Warnings are silenced only around Pillow's work on this file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            image = Image.open(fh, formats=_formats())
        except UnidentifiedImageError as exc:
            raise PhotoError(_not_an_image(head), path=where) from exc
        except Image.DecompressionBombError as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = int(found[1]) if found else 0
            limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
            raise PhotoError(
                "photos.suspicious_size",
                path=where,
                megapixels=_megapixels(pixels),
                limit=_megapixels(limit),
            ) from exc
        except Exception as exc:  # a plugin choking on a malformed header
            if _system_error(exc):
                raise
            raise PhotoError("photos.damaged", path=where, detail=repr(exc)) from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise PhotoError(
            "photos.too_large",
            path=where,
            width=width,
            height=height,
            megapixels=_megapixels(width * height),
            limit=_megapixels(max_pixels),
        )
    if width <= 0 or height <= 0:
        image.close()
        raise PhotoError("photos.damaged", path=where, detail=f"size {width}x{height}")
    if max(width, height) > MAX_SIDE or max(width, height) > MAX_ASPECT * min(width, height):
        image.close()
        raise PhotoError("photos.odd_shape", path=where, width=width, height=height)
    return image


def _read_pixels(fh: BinaryIO, where: str, max_pixels: int) -> tuple[np.ndarray, int]:
    """The pixels as stored (see `_pixels`) and the EXIF orientation, checks first."""
    image = _open_image(fh, where, max_pixels)
    with image, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        width, height = image.size
        try:
            image.load()
        except MemoryError as exc:
            raise PhotoError("photos.no_memory", path=where, width=width, height=height) from exc
        except Exception as exc:  # truncated, corrupt data, decoder errors of any kind
            if _system_error(exc):
                raise
            raise PhotoError("photos.damaged", path=where, detail=repr(exc)) from exc
        orientation = _orientation(image)
        try:
            base = _pixels(image, where)
        except MemoryError as exc:
            raise PhotoError("photos.no_memory", path=where, width=width, height=height) from exc
    return base, orientation


def _system_error(exc: Exception) -> bool:
    """Whether the operating system failed to read the file (load_photo: "unreadable").

    Such errors carry an errno; Pillow's own OSError ("image file is truncated") has none.
    """
    return isinstance(exc, OSError) and exc.errno is not None


def _not_an_image(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "photos.pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _VIDEO_BRANDS:
        return "photos.video"
    return "photos.not_image"


def _orientation(image: Image.Image) -> int:
    """The EXIF (or XMP) Orientation, 1 when absent or unreadable (as photo viewers do)."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
        return int(value) if int(value) in _ORIENT else 1
    except Exception:  # damaged metadata does not make the pixels unusable
        return 1


def _pixels(image: Image.Image, where: str) -> np.ndarray:
    """The pixels as stored: uint8 H x W (gray) or H x W x 3 (RGB), transparency over white.

    Grayscale sources stay one channel here, so that turning them and building RGB costs a
    third of the memory.
    """
    mode = image.mode
    if mode in _WIDE_MODES:
        return _stretch(np.asarray(image))
    if mode in ("LA", "La"):
        la = image if mode == "LA" else image.convert("LA")
        white = Image.new("L", image.size, 255)
        white.paste(la, mask=la)
        return _to_array(white)
    if image.has_transparency_data:  # RGBA, RGBa, PA, P/L/RGB with a transparent colour
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(rgba, mask=rgba)
        return _to_array(white)
    if mode == "L":
        return _to_array(image)
    if mode == "1":
        return _to_array(image.convert("L"))
    if mode == "RGB":
        return _to_array(image)
    try:  # P, CMYK (Adobe-inverted CMYK JPEGs are handled by Pillow's decoder), YCbCr, RGBX...
        rgb = image.convert("RGB")
    except ValueError as exc:  # e.g. LAB or HSV TIFFs
        raise PhotoError("photos.unsupported_mode", path=where, mode=mode) from exc
    return _to_array(rgb)


def _to_array(image: Image.Image) -> np.ndarray:
    """An L or RGB image as a new uint8 array (H x W or H x W x 3), copied a strip at a time.

    `np.asarray(image)` would go through `image.tobytes()`, which gathers the whole image in
    chunks and then joins them: the packed pixels twice at once, 300 MB for a 50 MP photo. (The
    rare 16-bit and float images still go that way, see `_stretch`.)
    """
    width, height = image.size
    bands = len(image.getbands())
    out = np.empty((height, width, bands) if bands > 1 else (height, width), np.uint8)
    rows = max(1, _STRIP_BYTES // (width * bands))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        with image.crop((0, top, width, bottom)) as strip:
            out[top:bottom] = np.frombuffer(strip.tobytes(), np.uint8).reshape(
                out[top:bottom].shape
            )
    return out


def _stretch(values: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit or float gray to 8 bits, the darkest pixel black and the brightest white.

    Scanners and cameras often fill only part of the 16-bit range (12-bit data, a dim scan):
    shifting right by 8 would turn such an image nearly black and crush the contrast between a
    QR code's modules. Stretching the actual range keeps all of it, and equals the shift for an
    image that uses the full range. Non-finite floats become black.
    """
    finite = np.isfinite(values) if values.dtype.kind == "f" else None
    sample = values[finite] if finite is not None else values
    if sample.size == 0:
        return np.zeros(values.shape, np.uint8)
    low, high = float(sample.min()), float(sample.max())
    out = np.empty(values.shape, np.uint8)
    if high == low:  # a flat image: keep its level, read on the scale its type suggests
        top = 65535.0 if values.dtype.itemsize == 2 else 255.0
        out.fill(int(np.clip(round(low * 255.0 / top), 0, 255)))
        return out
    scale = 255.0 / (high - low)
    for start in range(0, values.shape[0], _ROWS_PER_BLOCK):
        block = values[start : start + _ROWS_PER_BLOCK].astype(np.float64)
        block -= low
        block *= scale
        np.rint(block, out=block)
        np.clip(block, 0, 255, out=block)  # only non-finite values can leave the range
        if finite is not None:
            block[~finite[start : start + _ROWS_PER_BLOCK]] = 0
        out[start : start + _ROWS_PER_BLOCK] = block
    return out


def _pair(base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The read-only (rgb, gray) pair from turned pixels, gray (H x W) or RGB (H x W x 3)."""
    if base.ndim == 2:
        gray = base
        rgb = np.empty((*gray.shape, 3), np.uint8)
        rgb[...] = gray[..., None]
    else:
        rgb = base
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for array in (rgb, gray):
        if array.flags.writeable:
            array.flags.writeable = False
    return rgb, gray


def _megapixels(pixels: int) -> int:
    return round(pixels / 1_000_000)


#: a posting's crop: the code and what is printed around it, in code sides (left, top, right,
#: bottom); qrcheck's own postings print the title and code above the code, the link below
CROP_MARGINS = (0.6, 1.4, 0.6, 0.6)
#: the longer side of a crop, in pixels (a thumbnail staff recognise the posting by)
CROP_SIDE = 360


def posting_crop(rgb: np.ndarray, corners: Sequence[tuple[float, float]]) -> bytes:
    """A small JPEG of the posting around a code (corners in photo pixels), for staff to find
    a posting qrcheck could not name; the photo's own orientation is kept."""
    xs = [float(x) for x, _ in corners]
    ys = [float(y) for _, y in corners]
    side = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    left, top, right, bottom = CROP_MARGINS
    height, width = rgb.shape[:2]
    x0 = max(0, int(min(xs) - left * side))
    y0 = max(0, int(min(ys) - top * side))
    x1 = min(width, int(max(xs) + right * side) + 1)
    y1 = min(height, int(max(ys) + bottom * side) + 1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the code at {corners} lies outside the {width}x{height} photo")
    image = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    image.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()
