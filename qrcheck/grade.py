"""Readability grades for located codes (A-F, score 0.0-4.0) and the action they call for.

PROVISIONAL: this release grades only what the reader stack measures directly, two of the
ISO/IEC 15415 parameters: *decode* (did it decode at all, and did it need preprocessing: a code
that only reads after contrast stretching or thresholding is weakening) and *unused error
correction* (zxing-cpp's UEC, graded with the ISO bands). Symbol contrast, modulation, fixed
pattern damage and the photo-quality figures that tell `reprint` from `retake` come with the
grading work (issue 4); until then `metrics["basis"]` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from qrcheck.locate import ZXING, Located

GRADES = "FDCBA"  # index = score
#: ISO/IEC 15415 bands for unused error correction
UEC_BANDS = ((0.62, "A"), (0.50, "B"), (0.37, "C"), (0.25, "D"))
#: below this module size (pixels) a photo cannot show whether the print is sound
MIN_MODULE_PX = 2.0
#: above this share of blown-out pixels an undecoded code may be hidden by glare, not faded
GLARE_RETAKE = 0.05


@dataclass(frozen=True)
class Grade:
    grade: str
    score: float
    metrics: dict[str, object] = field(default_factory=dict)
    #: when the photo rather than the posting prevents a judgement: a message key saying how
    #: to retake it
    retake: str | None = None


def band(value: float, bands: tuple[tuple[float, str], ...]) -> str:
    for threshold, letter in bands:
        if value >= threshold:
            return letter
    return "F"


def module_px(code: Located) -> float | None:
    """Estimated module size in pixels (from the version when known, else None)."""
    if code.version:
        return code.side / (17 + 4 * code.version)
    return None


def glare_fraction(gray: np.ndarray, code: Located) -> float:
    """Share of the symbol's pixels that are blown out (glare on lamination or a shiny print)."""
    quad = np.array(code.corners, dtype=np.float64)
    x0, y0 = np.floor(quad.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return 0.0
    mask = np.zeros(crop.shape, dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    inside = mask.astype(bool)
    if not inside.any():
        return 0.0
    # light modules are white too: only blown-out areas far wider than a module count as glare
    saturated = (crop >= 250).astype(np.uint8)
    width = max(3, int(code.side / 6))
    blobs = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((width, width), np.uint8))
    return float(blobs[inside].mean())


def grade_code(code: Located, gray: np.ndarray | None = None) -> Grade:
    """The provisional grade of one located code (see the module docstring)."""
    size = module_px(code)
    metrics: dict[str, object] = {
        "basis": "provisional: decode and unused error correction only (ISO 15415-informed)",
        "readers": list(code.readers),
        "located_by": list(code.located_by),
        "finder_patterns": code.finder_patterns,
        "module_px": round(size, 2) if size else None,
        "version": code.version,
        "ec_level": code.ec_level,
    }
    glare = glare_fraction(gray, code) if gray is not None else None
    if glare is not None:
        metrics["glare"] = round(glare, 3)
    if not code.decoded:
        metrics["decode"] = {"value": False, "grade": "F"}
        retake = None
        if size is not None and size < MIN_MODULE_PX:
            retake = "grade.retake_closer"
        elif glare is not None and glare > GLARE_RETAKE:
            retake = "grade.retake_glare"
        return Grade("F", 0.0, metrics, retake)
    direct = any(r in (ZXING, "zbar") for r in code.readers)
    decode_grade = "A" if direct else "C"
    metrics["decode"] = {"value": True, "grade": decode_grade, "direct": direct}
    letters = [decode_grade]
    if code.unused_ec is not None:
        uec_grade = band(code.unused_ec, UEC_BANDS)
        metrics["unused_ec"] = {"value": round(code.unused_ec, 3), "grade": uec_grade}
        letters.append(uec_grade)
    worst = min(letters, key=GRADES.index)
    retake = None
    if worst in "DF" and glare is not None and glare > GLARE_RETAKE:
        retake = "grade.retake_glare"  # the glare, not the print, may be what used up the EC
    return Grade(worst, float(GRADES.index(worst)), metrics, retake)
