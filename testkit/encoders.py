"""Codes made by other encoders than qrcheck's, and a capture model of their own (tests, bench).

qrcheck prints with python-qrcode; real boards carry codes from the provincial portal's generator,
online generators and older postings. To test the grade on material qrcheck did not make, codes
come from three independent encoders (segno, zxing-cpp's writer, python-qrcode), are rendered
here (not by `testkit.simulate`) and photographed by the small capture model below: a few degrees
of perspective, the camera's blur, sensor noise and JPEG. `segno` is a test dependency
(`pip install -e ".[test]"`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np
import qrcode
import segno
import zxingcpp

LINK = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7#v=LSTNIU"
LEVELS = "LMQH"


def by_segno(text: str, version: int, ec: str, mask: int, **options) -> np.ndarray:
    code = segno.make_qr(text, version=version, error=ec.lower(), mask=mask, boost_error=False,
                         **options)  # fmt: skip
    return np.array([[bool(v) for v in row] for row in code.matrix])


def by_zxing(text: str, version: int, ec: str, mask: int) -> np.ndarray:
    code = zxingcpp.create_barcode(
        text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec, version=version, data_mask=mask
    )
    return np.array(code.to_image(scale=1, add_quiet_zones=False)) < 128


def by_qrcode(text: str, version: int, ec: str, mask: int) -> np.ndarray:
    code = qrcode.QRCode(
        version=version,
        error_correction=getattr(qrcode.constants, f"ERROR_CORRECT_{ec}"),
        mask_pattern=mask,
        border=0,
    )
    code.add_data(text)
    code.make(fit=False)
    return np.array(code.get_matrix(), bool)


#: name -> encoder(text, version, EC level letter, mask) -> modules (True dark), no quiet zone
ENCODERS: dict[str, Callable[..., np.ndarray]] = {
    "segno": by_segno,
    "zxing-cpp": by_zxing,
    "python-qrcode": by_qrcode,
}


@functools.cache
def filling(version: int, ec: str) -> str:
    """A link-like text filling about 90% of a symbol's byte capacity (a real board's codes are
    anything from a short link to a long search URL)."""
    long = (LINK + "|") * 40
    low, high = 1, len(long)
    while low < high:
        mid = (low + high + 1) // 2
        try:
            segno.make_qr(long[:mid], version=version, error=ec.lower(), boost_error=False,
                          mode="byte")  # fmt: skip
            low = mid
        except segno.DataOverflowError:
            high = mid - 1
    return long[: max(1, int(low * 0.9))]


#: the levels of a good print as a phone sees it (sRGB): paper is not 255, which is blown out
PAPER, INK = 232, 24


def render(modules: np.ndarray, module_px: float, quiet: int = 4) -> np.ndarray:
    """Dark ink on paper, `module_px` pixels a module (fractions by area), on a paper margin."""
    bitmap = np.where(np.pad(modules, quiet), INK, PAPER).astype(np.uint8)
    scale = int(np.ceil(module_px * 4))
    big = np.kron(bitmap, np.ones((scale, scale), np.uint8))
    side = round(bitmap.shape[0] * module_px)
    image = cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA)
    return np.pad(image, 40, constant_values=PAPER)


def capture(image: np.ndarray, seed: int, ink: float = 0.0) -> np.ndarray:
    """A mild phone capture: ink faded by `ink` (0 as printed .. 1 paper, in linear light), a few
    degrees of perspective, the camera's blur, sensor noise, JPEG quality 90."""
    rng = np.random.default_rng(seed)
    linear = (image / 255.0) ** 2.2
    paper = (PAPER / 255.0) ** 2.2
    linear = linear + ink * (paper - linear)  # the ink fades towards the paper
    h, w = linear.shape
    src = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    dst = src + rng.uniform(-0.03, 0.03, (4, 2)).astype(np.float32) * np.float32([w, h])
    warped = cv2.warpPerspective(
        linear.astype(np.float32), cv2.getPerspectiveTransform(src, dst), (w, h),
        flags=cv2.INTER_LINEAR, borderValue=paper,
    )  # fmt: skip
    blurred = cv2.GaussianBlur(warped, (0, 0), 0.7)
    noisy = blurred + rng.normal(0, 0.01, blurred.shape)
    srgb = np.clip(noisy, 0, 1) ** (1 / 2.2) * 255
    ok, data = cv2.imencode(".jpg", srgb.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def encode_auto(encoder: str, text: str, ec: str = "Q") -> np.ndarray:
    """`text` at level `ec` in the smallest version the encoder chooses, with the mask it
    chooses (as each tool does for a user who only types a link)."""
    if encoder == "segno":
        code = segno.make_qr(text, error=ec.lower(), boost_error=False)
        return np.array([[bool(v) for v in row] for row in code.matrix])
    if encoder == "zxing-cpp":
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec)
        return np.array(code.to_image(scale=1, add_quiet_zones=False)) < 128
    if encoder == "python-qrcode":
        code = qrcode.QRCode(error_correction=getattr(qrcode.constants, f"ERROR_CORRECT_{ec}"),
                             border=0)  # fmt: skip
        code.add_data(text)
        code.make(fit=True)
        return np.array(code.get_matrix(), bool)
    raise ValueError(f"unknown encoder {encoder!r}: one of {', '.join(ENCODERS)}")


def crumple(
    image: np.ndarray, seed: int, shift: float = 3.0, folds: int = 5, shade: float = 0.15
) -> np.ndarray:
    """Paper crumpled under a code image: every pixel moved by a smooth random displacement,
    about `shift` pixels at most (a field of `folds` x `folds` random pushes, interpolated
    smoothly), and the paper shaded along it by up to `shade` of its light (a crease is darker
    on the side turned from the light). A grid fitted to the corners then misses the modules
    in the middle by parts of a module; seeded, so a test sees the same creases every run."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]

    def field(size: int) -> np.ndarray:
        coarse = rng.uniform(-1, 1, (folds, folds)).astype(np.float32)
        return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)

    dx, dy = field(w) * shift, field(h) * shift
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    moved = cv2.remap(image, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=PAPER)
    light = 1 - shade * np.clip(cv2.Sobel(dx + dy, cv2.CV_32F, 1, 0, ksize=5) / (4 * shift), 0, 1)
    return np.clip(moved * light, 0, 255).astype(np.uint8)
