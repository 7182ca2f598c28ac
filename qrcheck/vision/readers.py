"""The decoders and how a candidate is read: zxing-cpp and ZBar, on the rectified crop and its
variants (stretched, deblurred, deglared, unrolled from curved paper), with erasures where glare
hides modules, and sampled on a local mesh where crumpled paper moves them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar

from qrcheck.vision.mesh import mesh_fits, mesh_modules
from qrcheck.vision.qr_layout import (
    blocks,
    format_bits,
    format_words,
    gf_tables,
    layout,
    mask_matrix,
    version_bits,
)
from qrcheck.vision.shapes import (
    CROP_MARGIN,
    ZBAR,
    ZXING,
    Located,
    _as_quad,
    _Candidate,
    _order_quad,
    _same_symbol,
    _side,
)

#: QR Code model 2 (and the old model 1): the family name `QRCode` also takes in Micro QR and
#: rMQR, whose finder-less partial reads inside a damaged QR code are false positions.
QR_FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2, zxingcpp.BarcodeFormat.QRCodeModel1)


def _zxing(image: np.ndarray, **options: object) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(
        image, formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, **options
    )


def _position(barcode: zxingcpp.Barcode) -> np.ndarray:
    p = barcode.position
    return np.array(
        [
            [p.top_left.x, p.top_left.y],
            [p.top_right.x, p.top_right.y],
            [p.bottom_right.x, p.bottom_right.y],
            [p.bottom_left.x, p.bottom_left.y],
        ],
        dtype=np.float64,
    )


def _meta(barcode: zxingcpp.Barcode) -> dict:
    extra = barcode.extra or {}
    version = extra.get("Version")
    try:
        version_number = int(version) if version not in (None, "") else None
    except (TypeError, ValueError):
        version_number = None
    uec = extra.get("UEC")
    return {
        "version": version_number,
        "ec_level": extra.get("ECLevel") or barcode.ec_level or None,
        "unused_ec": float(uec) if isinstance(uec, int | float) else None,
        "inverted": bool(getattr(barcode, "is_inverted", False)),
    }


def _zbar(image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    found = []
    for symbol in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = symbol.data.decode("utf-8")
        except UnicodeDecodeError:
            text = symbol.data.decode("latin-1")
        points = np.array([(p.x, p.y) for p in symbol.polygon], dtype=np.float64)
        if len(points) >= 4:
            found.append(
                (text, _order_quad(cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32)))))
            )
    return found


def _rectify(
    gray: np.ndarray, quad: np.ndarray, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """The quad warped to a square with room for the quiet zone; returns image and homography."""
    side = _side(quad)
    size = int(min(640, max(360, 1.4 * side)))
    pad = size * margin
    target = np.array(
        [[pad, pad], [pad + size, pad], [pad + size, pad + size], [pad, pad + size]],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    total = int(size + 2 * pad)
    crop = cv2.warpPerspective(
        gray, matrix, (total, total), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, matrix


def _percentiles(image: np.ndarray, qs: Sequence[float]) -> list[float]:
    """`np.percentile(image, qs)` of an 8-bit image (linear interpolation), from its histogram:
    a crop's full sort costs more than reading it once."""
    counts = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()
    total = np.cumsum(counts)
    last = int(total[-1]) - 1
    out = []
    for q in qs:
        at = q / 100 * last
        k = math.floor(at)
        a, b = np.searchsorted(total, (k, min(k + 1, last)), side="right")
        out.append(float(a) + (at - k) * float(b - a))
    return out


def _stretch(image: np.ndarray) -> np.ndarray:
    lo, hi = _percentiles(image, (1, 99))
    if hi - lo < 1:
        return image
    return np.clip((image.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


#: the deblurring crop's unsharp mask (px of the 360-640 px crop, about half a module of a
#: typical posting's code): out of focus by half a module and more, the plain sharpening is
#: too narrow to restore the modules' edges
DEBLUR = 4.0


#: how far (px of the half-size crop) the paper and ink around a blown-out area reach into it
GLARE_REACH = 8.0


def _deglared(crop: np.ndarray, blob: np.ndarray) -> np.ndarray:
    """The crop with its blown-out areas (`blob`: 1 there) filled from what surrounds them, at
    half size (a normalised convolution: each filled pixel is the mean of the pixels seen
    around it, weighted by their distance), then contrast-stretched. Nothing of the modules
    under the glare can come back; the fill keeps a white blob from ruining the binarizers'
    threshold around it (zxing-cpp and ZBar read the code from its error correction)."""
    half = cv2.resize(crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(cv2.dilate(blob, np.ones((5, 5), np.uint8)), half.shape[::-1]) > 0
    seen = (~mask).astype(np.float32)
    weight = cv2.GaussianBlur(seen, (0, 0), GLARE_REACH)
    total = cv2.GaussianBlur(half.astype(np.float32) * seen, (0, 0), GLARE_REACH)
    fill = np.where(weight > 1e-3, total / np.maximum(weight, 1e-3), float(np.median(half)))
    filled = np.where(mask, fill, half).astype(np.uint8)
    return _stretch(cv2.resize(filled, crop.shape[::-1], interpolation=cv2.INTER_CUBIC))


def _variants(crop: np.ndarray) -> Iterable[tuple[str, np.ndarray]]:
    """Preprocessed versions of a rectified crop, in the order worth trying."""
    yield "", crop
    stretched = _stretch(crop)
    yield "stretch", stretched
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(crop)
    yield "clahe", clahe
    _, otsu = cv2.threshold(
        cv2.GaussianBlur(stretched, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    yield "otsu", otsu
    block = max(15, (crop.shape[0] // 12) | 1)
    yield (
        "adaptive",
        cv2.adaptiveThreshold(
            stretched, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 2
        ),
    )
    blurred = cv2.GaussianBlur(stretched, (0, 0), 2.0)
    yield "sharpen", cv2.addWeighted(stretched, 2.2, blurred, -1.2, 0)
    wide = cv2.GaussianBlur(stretched, (0, 0), DEBLUR)
    yield "deblur", cv2.addWeighted(stretched, 3.0, wide, -2.0, 0)
    # glare: blown-out areas far wider than a module (paper and light modules are white too)
    saturated = (crop >= 245).astype(np.uint8)
    blob = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((15, 15), np.uint8))
    if 0.01 < blob.mean() < 0.5:
        yield "deglare", _deglared(crop, blob)
    yield "upscale", cv2.resize(stretched, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)


#: the crops ZBar reads too: ZBar costs about ten times zxing-cpp's read of a crop, and the
#: codes it decodes where zxing-cpp does not (dev photos and simulated hard cases) read in these
ZBAR_VARIANTS = ("", "clahe", "otsu")


def _retry(
    gray: np.ndarray, candidate: _Candidate, zbar: bool = True
) -> tuple[Located | None, list[Located]]:
    """Decode a candidate from its rectified crop: its own reading (None when nothing reads
    it) and the other codes read in the crop on the way.

    The crop has room for the quiet zone, so a small neighbour can lie wholly inside it: a
    reading counts as the candidate's only where it is the candidate's symbol (centre inside
    its quad, about its size). Taking a neighbour's reading for the candidate's would merge the
    candidate into that neighbour, and a code zxing-cpp located would vanish from the report.
    """
    crop, matrix = _rectify(gray, candidate.corners)
    inverse = np.linalg.inv(matrix)
    others: list[Located] = []
    # ZBar's time follows the pixels it scans: a crop blown up from a small symbol is read at
    # half size, still magnified, as sharp as the photo; so is one with modules so large that
    # half of them is still plenty
    size = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    zbar_half = size >= ZBAR_HALVING * _side(candidate.corners) or (
        candidate.modules is not None and size >= ZBAR_HALF_MODULE * candidate.modules
    )

    def keep(found: Located) -> Located | None:
        if _reads_candidate(np.array(found.corners), candidate):
            return found
        if all(o.text != found.text for o in others):
            others.append(found)
        return None

    for name, image in _variants(crop):
        scale = image.shape[0] / crop.shape[0]
        for barcode in _zxing(image, try_downscale=True):
            if barcode.valid:
                points = _unwarp(_position(barcode) / scale, inverse)
                reader = f"{ZXING}+{name}" if name else f"{ZXING}+rectified"
                found = keep(
                    Located(
                        _as_quad(points),
                        barcode.text,
                        (reader,),
                        (candidate.source,),
                        finder_patterns=candidate.finders,
                        **_meta(barcode),
                    )
                )
                if found is not None:
                    return found, others
        for text, quad in _zbar_read(image, zbar_half) if zbar and name in ZBAR_VARIANTS else ():
            points = _unwarp(quad / scale, inverse)
            reader = f"{ZBAR}+{name}" if name else f"{ZBAR}+rectified"
            found = keep(
                Located(
                    _as_quad(points),
                    text,
                    (reader,),
                    (candidate.source,),
                    finder_patterns=candidate.finders,
                )
            )
            if found is not None:
                return found, others
    if candidate.source != ZXING and candidate.finders < 2:
        return None, others
    # paper curved round a cylinder (a posting bulging off the board, a code on a bottle): a
    # symbol whose structure shows and nothing read is unrolled along either of its axes
    for axis in (0, 1):
        for angle in BENDS:
            bent, unbend = _unrolled(crop, axis, math.radians(angle))
            for barcode in _zxing(bent, try_downscale=True):
                if not barcode.valid:
                    continue
                points = _unwarp(unbend(_position(barcode)), inverse)
                found = keep(
                    Located(
                        _as_quad(points),
                        barcode.text,
                        (f"{ZXING}+unrolled",),
                        (candidate.source,),
                        finder_patterns=candidate.finders,
                        **_meta(barcode),
                    )
                )
                if found is not None:
                    return found, others
    # glare and blots: where zxing-cpp read the format, the modules under a blown-out or
    # blotted area are erasures, which Reed-Solomon corrects twice as many of as errors
    # (each block tries the patches, their fringe, then its most doubtful codewords); where
    # zxing-cpp read no format, it is read here from the modules (blots hide it from zxing-cpp)
    symbol, upright = candidate.symbol, crop
    if symbol is None and candidate.modules is not None and candidate.finders >= 2:
        own = read_format(crop, candidate.modules)
        if own is not None:
            upright, symbol = own
    if symbol:
        read = erasure_read(upright, *symbol)
        if read is not None:
            version, ec_level, _ = symbol
            found = keep(
                Located(
                    _as_quad(candidate.corners),
                    read[0],
                    (f"{ZXING}+erasures",),
                    (candidate.source,),
                    version=version,
                    ec_level=ec_level,
                    unused_ec=read[1],
                    finder_patterns=candidate.finders,
                )
            )
            if found is not None:
                return found, others
    # crumpled or curved paper (a posting creased on the board, a code on cloth): the modules
    # drift from the corners' grid by parts of a module, so they are sampled where the mesh of
    # their edges puts them (the format where known, the versions it may be otherwise)
    if symbol:
        tries = [(upright, symbol[0], (symbol[1], symbol[2]))]
    elif candidate.modules is not None:
        guess = round((candidate.modules - 17) / 4)
        tries = [(crop, v, None) for v in (guess, guess - 1, guess + 1) if 1 <= v <= 40]
    else:
        tries = []
    for image, version, format_ in tries:
        text = mesh_read(image, version, format_)
        if text is None:
            continue
        found = keep(
            Located(
                _as_quad(candidate.corners),
                text,
                (f"{ZXING}+mesh",),
                (candidate.source,),
                version=version,
                ec_level=format_[0] if format_ else None,
                finder_patterns=candidate.finders,
            )
        )
        if found is not None:
            return found, others
    return None, others


#: share of a symbol's fixed modules (finders, separators, timing) the mesh's samples must
#: show right before its modules are drawn and read: below it the mesh (or the version) is
#: wrong and reading costs time for nothing
MESH_AGREEMENT = 0.8


def mesh_read(crop: np.ndarray, version: int, format_: tuple[str, int] | None = None) -> str | None:
    """The text of a symbol on crumpled or curved paper (a rectified crop: symbol in the
    middle, CROP_MARGIN round it), its modules sampled at the centres of a local mesh (see
    `qrcheck.vision.mesh`), each fit of MESH_FITS in turn, drawn clean and read by zxing-cpp
    (`_drawn_read`: only a read whose Reed-Solomon blocks check counts). `format_`: (EC level,
    mask) where zxing-cpp read them, the crop then upright; without it, the quarter turn is
    the one whose fixed patterns the samples match best. None when no fit reads."""
    lay = layout(version)
    smooth = _smoothed(crop, lay.n)
    expected = lay.expected[lay.fixed]
    for centres in mesh_fits(crop, lay.n):
        dark = mesh_modules(crop, centres, smooth)
        turns = (0,) if format_ is not None else range(4)
        agree, turn = max(
            (float(np.mean(np.rot90(dark, t)[lay.fixed] == expected)), t) for t in turns
        )
        if agree < MESH_AGREEMENT:
            continue
        text = _drawn_read(np.rot90(dark, turn), version, format_)
        if text is not None:
            return text
    return None


def _format_of(barcode: zxingcpp.Barcode) -> tuple[int, str, int] | None:
    """(version, EC level, data mask) of a symbol zxing-cpp could not decode, when it read
    them (checksum errors: the data failed, the format information did not)."""
    extra = barcode.extra or {}
    try:
        version, mask = int(extra["Version"]), int(extra["DataMask"])
    except (KeyError, TypeError, ValueError):
        return None
    ec_level = extra.get("ECLevel")
    if not 1 <= version <= 40 or not 0 <= mask <= 7 or ec_level not in ("L", "M", "Q", "H"):
        return None
    return version, str(ec_level), mask


#: check codewords a block must keep unused after an erasure correction: what is left to
#: detect a wrong correction with (each one leaves 1 chance in 256 of missing it)
ERASURE_MARGIN = 2


@cache
def _rs_codec(ec_count: int):
    import reedsolo

    return reedsolo.RSCodec(ec_count, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)


def _smoothed(crop: np.ndarray, n: int) -> np.ndarray:
    """The crop smoothed by a quarter module (float32), as the module samples are taken."""
    module = crop.shape[0] / (1 + 2 * CROP_MARGIN) / n
    return cv2.GaussianBlur(crop, (0, 0), max(0.5, module / 4)).astype(np.float32)


def _module_samples(
    crop: np.ndarray,
    n: int,
    shift: tuple[float, float] = (0.0, 0.0),
    smooth: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each module's value at its centre in a rectified crop (symbol in the middle,
    CROP_MARGIN round it), lightly smoothed, and the mean of its neighbourhood; the grid moved
    by `shift` (dy, dx) modules; `smooth`: `_smoothed(crop, n)` when already made."""
    size = crop.shape[0] / (1 + 2 * CROP_MARGIN)
    module = size / n
    centres = (size * CROP_MARGIN + (np.arange(n) + 0.5) * module).astype(np.float32)
    if smooth is None:
        smooth = _smoothed(crop, n)
    mx, my = np.meshgrid(centres + shift[1] * module, centres + shift[0] * module)
    values = cv2.remap(smooth, mx, my, cv2.INTER_LINEAR)
    return values, cv2.GaussianBlur(values, (0, 0), max(1.5, n / 12))


#: shifts (dy, dx, in modules) of the sampling grid the erasure reader tries: the corners are
#: found to a pixel or so, a fifth of a small module, and a blotted code near the limit of its
#: error correction reads from one grid and not from its neighbour
GRID_SHIFTS = ((0.0, 0.0), (0.0, -0.1), (0.0, 0.1), (-0.1, 0.0), (0.1, 0.0))


def _uniform(dark: np.ndarray) -> np.ndarray:
    """1 where a module lies in a patch of at least 3 x 3 modules of one colour."""
    share = cv2.blur(dark.astype(np.float32), (3, 3), borderType=cv2.BORDER_CONSTANT)
    return ((share <= 0.01) | (share >= 0.99)).astype(np.uint8)


def _module_grid(
    crop: np.ndarray, n: int, grow: int, shift: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """The modules of a rectified crop (symbol in the middle, CROP_MARGIN round it): dark
    against their neighbourhood's mean, and erased where they lie in a patch of at least 3 x 3
    modules of one colour (random data never has one, masked data rarely: glare blows such a
    patch out, a blot inks it) grown by `grow` modules (its fringe is doubtful too)."""
    values, mean = _module_samples(crop, n, shift)
    dark = values < mean
    erased = cv2.dilate(_uniform(dark), np.ones((3 + 2 * grow,) * 2, np.uint8)) > 0
    return dark, erased


def _module_doubt(values: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """How doubtful each module's reading is (higher: more), from its sample and its
    neighbourhood's mean (`_module_samples`): inside a uniform patch (a blot or glare hides what
    was there) 2, on its fringe 1, plus up to 1 as its value nears the mean (blur, a blot's soft
    edge)."""
    uniform = _uniform(values < mean)
    fringe = cv2.dilate(uniform, np.ones((3, 3), np.uint8))
    gap = np.abs(values - mean)
    spread = max(float(np.median(gap)), 1.0)
    return uniform + fringe + (1 - np.clip(gap / (2 * spread), 0, 1))


def erasure_read(
    crop: np.ndarray, version: int, ec_level: str, mask: int, grow: int = 0, gmd: bool = True
) -> tuple[str, float] | None:
    """The text of a symbol (rectified crop, format known) read with its uniform patches as
    erasures, and the error correction it left unused (1 - (erasures + 2 errors) / check
    codewords, worst block: what the glare or blots cost the code); None unless every
    Reed-Solomon block corrects with ERASURE_MARGIN to spare. The corrected modules are drawn
    clean and read by zxing-cpp (which parses the segments).

    With `gmd`, a block the uniform patches (grown by `grow`) do not correct is tried again
    with their fringe too, then with its most doubtful codewords as erasures, 0, 2, 4 ... of
    them (generalised minimum distance decoding, `_module_doubt`): each block finds its own
    erasures, so one badly blotted block no longer sinks the others' correct guesses; and the
    sampling grid is moved by each of GRID_SHIFTS in turn."""
    smooth = _smoothed(crop, 17 + 4 * version)
    for shift in GRID_SHIFTS if gmd else GRID_SHIFTS[:1]:
        values, mean = _module_samples(crop, 17 + 4 * version, shift, smooth)
        read = _erasure_read_at(values, mean, version, ec_level, mask, grow, gmd)
        if read is not None:
            return read
    return None


def _erasure_read_at(
    values: np.ndarray,
    mean: np.ndarray,
    version: int,
    ec_level: str,
    mask: int,
    grow: int,
    gmd: bool,
) -> tuple[str, float] | None:
    """`erasure_read` on one grid's module samples and their neighbourhoods' means."""
    n = 17 + 4 * version
    dark = values < mean
    uniform = _uniform(dark)
    erased = cv2.dilate(uniform, np.ones((3 + 2 * grow,) * 2, np.uint8)) > 0
    lay, spec = layout(version), blocks(version, ec_level)
    rows, cols = lay.data_order
    k = spec.total * 8
    flip = mask_matrix(n, mask)[rows[:k], cols[:k]]
    bits = (dark[rows[:k], cols[:k]] ^ flip).astype(np.uint8)
    gone = erased[rows[:k], cols[:k]].reshape(spec.total, 8).any(axis=1)
    words = np.packbits(bits.reshape(spec.total, 8), axis=1, bitorder="big").ravel()
    fixed = words.copy()
    wider = doubt = None
    if gmd:
        wider = cv2.dilate(uniform, np.ones((5 + 2 * grow,) * 2, np.uint8))[rows[:k], cols[:k]] > 0
        wider = wider.reshape(spec.total, 8).any(axis=1)
        doubt = _module_doubt(values, mean)[rows[:k], cols[:k]]
        doubt = doubt.reshape(spec.total, 8).sum(axis=1)
    unused = 1.0
    for b, ec_count in enumerate(spec.ec_counts):
        where = np.flatnonzero(spec.block_of == b)
        tries = [[int(i) for i in np.flatnonzero(gone[where])]]
        if wider is not None and doubt is not None:
            tries.append([int(i) for i in np.flatnonzero(wider[where])])
            order = [int(i) for i in np.argsort(-doubt[where], kind="stable")]
            tries += [order[:e] for e in range(0, int(ec_count) - ERASURE_MARGIN + 1, 2)]
        block = _erasure_block(words[where], int(ec_count), tries)
        if block is None:
            return None
        fixed[where], cost = block
        unused = min(unused, 1 - cost / float(ec_count))
    out = dark.copy()
    new = np.unpackbits(fixed[:, None], axis=1, bitorder="big").ravel().astype(bool)
    out[rows[:k], cols[:k]] = new ^ flip
    text = _drawn_read(out, version, (ec_level, mask))
    return (text, round(unused, 3)) if text is not None else None


def _drawn_read(
    modules: np.ndarray, version: int, format_: tuple[str, int] | None = None
) -> str | None:
    """The text zxing-cpp reads from a symbol's modules (True dark, upright) drawn clean:
    finders, separators, timing and alignment patterns as the standard draws them, the format
    information from `format_` (EC level, mask) where known, else as sampled (zxing-cpp
    corrects it), the version information from `version`, the data as given, on a quiet zone,
    4 px a module. Only a read whose Reed-Solomon blocks check counts (`barcode.valid`): the
    drawing cleans the picture, never the codewords."""
    lay = layout(version)
    out = np.where(lay.fixed, lay.expected, modules)
    if format_ is not None:
        word = format_bits(*format_)
        for r, c in lay.format_copies:
            out[r, c] = [(word >> i) & 1 == 1 for i in range(15)]
    if version >= 7:
        vbits = version_bits(version)
        for r, c in lay.version_copies:
            out[r, c] = [(vbits >> i) & 1 == 1 for i in range(18)]
    clean = np.pad(np.where(out, 0, 255).astype(np.uint8), 4, constant_values=255)
    clean = cv2.resize(clean, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    texts = [b.text for b in _zxing(clean) if b.valid]
    return texts[0] if texts else None


#: share of a symbol's fixed modules (finders, separators, timing) a rectified crop must show
#: right for its format to be read from it
FIXED_AGREEMENT = 0.85
#: bits of a format (or version) copy that may be misread: BCH(15, 5) words lie 7 bits apart
FORMAT_SLACK = 3


def read_format(crop: np.ndarray, modules: float) -> tuple[np.ndarray, tuple[int, str, int]] | None:
    """The crop turned upright and (version, EC level, data mask) read from its modules, for
    a rectified symbol whose format zxing-cpp could not read (`modules`: its estimated modules
    per side). The version and quarter turn are those whose fixed patterns the modules match
    best (at least FIXED_AGREEMENT of them); the format is the valid word nearest to either
    copy, at most FORMAT_SLACK bits off (and so, from version 7, is the version word)."""
    guess = round((modules - 17) / 4)
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for version in range(max(1, guess - 1), min(40, guess + 1) + 1):
        lay = layout(version)
        smooth = _smoothed(crop, lay.n)
        for turn in range(4):
            turned = np.ascontiguousarray(np.rot90(crop, turn))
            values, mean = _module_samples(
                turned, lay.n, smooth=np.ascontiguousarray(np.rot90(smooth, turn))
            )
            dark = values < mean
            agree = float(np.mean(dark[lay.fixed] == lay.expected[lay.fixed]))
            if best is None or agree > best[0]:
                best = (agree, version, turned, dark)
    if best is None or best[0] < FIXED_AGREEMENT:
        return None
    _, version, turned, dark = best
    lay = layout(version)

    def value(copy: tuple[np.ndarray, np.ndarray]) -> int:
        return sum(int(bit) << i for i, bit in enumerate(dark[copy]))

    if version >= 7:
        word = version_bits(version)
        if min(bin(value(c) ^ word).count("1") for c in lay.version_copies) > FORMAT_SLACK:
            return None
    seen = [value(c) for c in lay.format_copies]
    distance, ec_level, mask = min(
        (bin(v ^ word).count("1"), letter, m) for word, letter, m in format_words() for v in seen
    )
    if distance > FORMAT_SLACK:
        return None
    return turned, (version, ec_level, mask)


def _erasure_block(
    words: np.ndarray, ec_count: int, tries: Sequence[Sequence[int]]
) -> tuple[np.ndarray, int] | None:
    """One Reed-Solomon block corrected with the first erasure set of `tries` that leaves
    ERASURE_MARGIN check codewords to spare: the corrected block and its cost (erasures + 2
    errors); None when no set does."""
    import reedsolo

    seen: set[tuple[int, ...]] = set()
    for erase in tries:
        key = tuple(sorted(erase))
        if key in seen or len(erase) > ec_count - ERASURE_MARGIN:
            continue
        seen.add(key)
        try:
            full, errata = rs_decode(words, ec_count, erase, ec_count - ERASURE_MARGIN)
        except reedsolo.ReedSolomonError:
            continue
        cost = 2 * (len(errata) - len(erase)) + len(erase)
        if cost <= ec_count - ERASURE_MARGIN:
            return np.frombuffer(bytes(full), np.uint8), cost
    return None


_GF_EXP, _GF_LOG = gf_tables()
_GF_EXP_LIST, _GF_LOG_LIST = _GF_EXP.tolist(), _GF_LOG.tolist()


def _forney_syndromes(synd: Sequence[int], erase_pos: Sequence[int], nmess: int) -> list[int]:
    """`reedsolo.rs_forney_syndromes` (the syndromes with the erasures hidden), its loops with
    the field's tables inline: the same products, without a function call for each."""
    exp, log = _GF_EXP_LIST, _GF_LOG_LIST
    fsynd = list(synd[1:])
    last = len(fsynd) - 1
    for p in erase_pos:
        shift = (nmess - 1 - p) % 255  # the log of 2 ** (nmess - 1 - p)
        for j in range(last):
            a = fsynd[j]
            fsynd[j] = (exp[log[a] + shift] if a else 0) ^ fsynd[j + 1]
    return fsynd


def _gf_eval(poly: Sequence[int] | np.ndarray, count: int) -> np.ndarray:
    """A GF(256) polynomial (highest degree first, as reedsolo keeps them) evaluated at 2**i for
    i in range(count), with array operations (reedsolo's `gf_poly_eval` in a loop)."""
    if isinstance(poly, bytes | bytearray):
        coeffs = np.frombuffer(poly, np.uint8).astype(np.int64)
    else:
        coeffs = np.asarray(poly, np.int64)
    where = np.flatnonzero(coeffs)
    if not len(where) or not count:
        return np.zeros(count, np.int64)
    powers = (len(coeffs) - 1 - where)[None, :] * np.arange(count)[:, None] % 255
    return np.bitwise_xor.reduce(_GF_EXP[_GF_LOG[coeffs[where]][None, :] + powers], axis=1)


def _error_locator(synd: Sequence[int], nsym: int, erase_count: int) -> list[int]:
    """`reedsolo.rs_find_error_locator(synd, nsym, erase_count=erase_count)` (Berlekamp-Massey
    on the Forney syndromes, step for step, a list's negative indices included), with the
    field's tables inline; raises `reedsolo.ReedSolomonError` where it does."""
    import reedsolo

    exp, log = _GF_EXP_LIST, _GF_LOG_LIST

    def scaled(poly: list[int], x: int) -> list[int]:
        return [exp[log[c] + log[x]] if c else 0 for c in poly] if x else [0] * len(poly)

    err_loc, old_loc = [1], [1]
    shift = len(synd) - nsym if len(synd) > nsym else 0
    for i in range(nsym - erase_count):
        k = i + shift
        delta = synd[k]
        for j in range(1, len(err_loc)):
            a, b = err_loc[-(j + 1)], synd[k - j]
            if a and b:
                delta ^= exp[log[a] + log[b]]
        old_loc = [*old_loc, 0]
        if delta:
            if len(old_loc) > len(err_loc):
                new_loc = scaled(old_loc, delta)
                old_loc = scaled(err_loc, exp[255 - log[delta]])
                err_loc = new_loc
            add = scaled(old_loc, delta)
            size = max(len(err_loc), len(add))
            out = [0] * (size - len(err_loc)) + err_loc
            for index, c in enumerate(add):
                out[index + size - len(add)] ^= c
            err_loc = out
    while err_loc and err_loc[0] == 0:
        err_loc = err_loc[1:]
    if (len(err_loc) - 1 - erase_count) * 2 + erase_count > nsym:
        raise reedsolo.ReedSolomonError("Too many errors to correct")
    return err_loc


def rs_syndromes(message: Sequence[int] | np.ndarray, nsym: int) -> list[int]:
    """`reedsolo.rs_calc_syndromes(message, nsym)` (fcr 0, generator 2, a leading 0), computed
    with array operations: the pure-Python Horner loops were most of the erasure reader's time
    (every try of every block evaluates them twice)."""
    return [0, *(int(v) for v in _gf_eval(message, nsym))]


def _rs_find_errors(err_loc: Sequence[int], nmess: int) -> list[int]:
    """`reedsolo.rs_find_errors` (the roots of the error locator by trying every position),
    with array operations."""
    import reedsolo

    roots = np.flatnonzero(_gf_eval(err_loc, nmess) == 0)
    if len(roots) != len(err_loc) - 1:
        raise reedsolo.ReedSolomonError("Too many (or few) errors found by Chien Search")
    return [int(nmess - 1 - i) for i in roots]


def rs_decode(
    words: np.ndarray, nsym: int, erase: Sequence[int] = (), max_cost: int | None = None
) -> tuple[bytearray, list[int]]:
    """One Reed-Solomon block (at most 255 codewords, `nsym` of them check codewords) corrected
    as `reedsolo.RSCodec(nsym).decode(words, erase_pos=erase)` corrects it: the corrected block
    and the errata positions (erasures first); raises `reedsolo.ReedSolomonError` where it
    does. reedsolo's own steps (`rs_correct_msg`), with the syndromes from `rs_syndromes`.

    With `max_cost`, a correction that would cost more (erasures + 2 errors) raises too, as
    soon as the error locator's degree shows it: the errors are neither searched nor fixed."""
    import reedsolo

    codec = _rs_codec(nsym)
    # reedsolo's field tables are module globals; its decode restores them the same way
    reedsolo.gf_log, reedsolo.gf_exp = codec.gf_log, codec.gf_exp
    reedsolo.field_charac = codec.field_charac
    erase_pos = [int(e) for e in erase]
    msg = bytearray(words.tobytes())
    for e in erase_pos:
        msg[e] = 0
    if len(erase_pos) > nsym:
        raise reedsolo.ReedSolomonError("Too many erasures to correct")
    synd = rs_syndromes(msg, nsym)
    if max(synd) == 0:
        return msg, erase_pos
    fsynd = _forney_syndromes(synd, erase_pos, len(msg))
    err_loc = _error_locator(fsynd, nsym, len(erase_pos))
    if max_cost is not None and 2 * (len(err_loc) - 1) + len(erase_pos) > max_cost:
        raise reedsolo.ReedSolomonError("The correction costs more than allowed")
    err_pos = _rs_find_errors(err_loc[::-1], len(msg))
    msg = reedsolo.rs_correct_errata(msg, synd, erase_pos + err_pos, 0, 2)
    if max(rs_syndromes(msg, nsym)) > 0:
        raise reedsolo.ReedSolomonError("Could not correct message")
    return msg, erase_pos + err_pos


#: half the arc (degrees) a curved symbol is assumed to span, for the unrolled reads: mild,
#: strong (a third of a turn) and between; each decodes curved codes the others miss
BENDS = (25.0, 40.0, 55.0)


def _unrolled(
    crop: np.ndarray, axis: int, half_arc: float
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A rectified crop (symbol in the middle, CROP_MARGIN round it) unrolled as if the paper
    were bent round a cylinder along `axis` (0: the bend runs along the crop's x), the symbol
    spanning 2 * `half_arc` radians of it, seen from afar: the homography of its corners maps
    the middle modules too narrow and the outer ones too wide; here every module gets its
    width back (x = sin(s * a) / sin(a) for arc position s in -1..1). Returns the image and
    the map of its points back to the crop's."""
    n = crop.shape[0]
    half = n / (1 + 2 * CROP_MARGIN) / 2
    centre = n / 2
    ratio = math.sin(half_arc)
    reach = math.pi / 2 / half_arc  # beyond it the paper turns away

    def to_crop(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2).copy()
        s = np.clip((pts[:, axis] - centre) / half, -reach, reach)
        pts[:, axis] = centre + half * np.sin(s * half_arc) / ratio
        return pts

    line = np.arange(n, dtype=np.float64)
    s = np.clip((line - centre) / half, -reach, reach)
    along = (centre + half * np.sin(s * half_arc) / ratio).astype(np.float32)
    across = line.astype(np.float32)
    if axis == 0:
        mx, my = np.meshgrid(along, across)
    else:
        mx, my = np.meshgrid(across, along)
    bent = cv2.remap(crop, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return bent, to_crop


#: a crop at least this many times the symbol's size in the photo is read by ZBar at half size
ZBAR_HALVING = 2.5


#: and so is one with at least this many pixels per module (4 at half size: ZBar's scanner
#: reads 2 and more)
ZBAR_HALF_MODULE = 8.0


def _zbar_read(image: np.ndarray, half: bool) -> list[tuple[str, np.ndarray]]:
    if not half:
        return _zbar(image)
    small = cv2.resize(
        image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
    )
    return [(text, quad * (image.shape[1] / small.shape[1])) for text, quad in _zbar(small)]


def _reads_candidate(quad: np.ndarray, candidate: _Candidate) -> bool:
    """True when a symbol read in a candidate's crop is the candidate's own symbol."""
    if _same_symbol(quad, candidate.corners):
        return True
    centre = quad.mean(axis=0)
    contour = candidate.corners.astype(np.float32).reshape(-1, 1, 2)
    inside = cv2.pointPolygonTest(contour, (float(centre[0]), float(centre[1])), False) >= 0
    sides = sorted((_side(quad), _side(candidate.corners)))
    return inside and sides[1] <= 2 * max(sides[0], 1.0)


def _unwarp(points: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), inverse).reshape(
        -1, 2
    )
