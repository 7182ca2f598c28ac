"""Stage 4, the grade: how readable each located code is and how close to failing.

- `measure`: the grade A-F of a code from the photo (contrast, modulation, fixed patterns,
  codeword errors, quiet zone...), with the measures it rests on; `grade_code` is the entry;
- `fading`: when a fading code is expected to reach grade D.

The QR structure the measures sample (format, blocks, masks, Reed-Solomon) is the reader's
too: `qrcheck.vision.qr_layout`.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"Grade": "measure", "grade_code": "measure", "project_grade_d": "fading"},
)
