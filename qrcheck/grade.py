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

from qrcheck.locate import ZXING, Located

GRADES = "FDCBA"  # index = score
#: ISO/IEC 15415 bands for unused error correction
UEC_BANDS = ((0.62, "A"), (0.50, "B"), (0.37, "C"), (0.25, "D"))
#: below this module size (pixels) a photo cannot show whether the print is sound
MIN_MODULE_PX = 2.0


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


def grade_code(code: Located) -> Grade:
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
    if not code.decoded:
        metrics["decode"] = {"value": False, "grade": "F"}
        retake = "grade.retake_closer" if size is not None and size < MIN_MODULE_PX else None
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
    return Grade(worst, float(GRADES.index(worst)), metrics)
