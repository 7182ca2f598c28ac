"""Stage 3, vision: every code in a phone photo, decoded or not.

- `photos`: load a photo safely (size limits, EXIF turn, HEIC), crop a posting from it;
- `locate`: find and decode the codes (zxing-cpp first, then stronger passes when cheap signs say
  they can help, OpenCV and ZBar as second opinions);
- `faint`, `cards`: passes for codes too faded to binarise, and for postings whose code is gone
  but whose card and printed text remain;
- `qr_layout`: the QR structure (format, blocks, masks, Reed-Solomon) that the reader's
  erasure pass and the grade's measures sample;
- `identify`: name an undecodable code from the text printed round it (Tesseract OCR).

How readable each code is, is the next stage: `qrcheck.grade`.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "load_photo": "photos",
        "find_photos": "photos",
        "Located": "locate",
        "LocateOptions": "locate",
        "locate_codes": "locate",
        "Identification": "identify",
        "identify_posting": "identify",
    },
)
