"""Annotated copies of the photos: each code outlined in its action's colour and labelled."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from qrcheck.board.results import ACTIONS, CodeResult, PhotoResult
from qrcheck.files import atomic_write_bytes
from qrcheck.i18n import t

#: outline colour of each action (RGB), chosen to stay apart for colour-blind eyes too
COLOURS = {
    "ok": (0, 158, 115),
    "monitor": (230, 159, 0),
    "reprint": (213, 94, 0),
    "remove": (204, 121, 167),
    "investigate": (200, 0, 40),
    "retake": (0, 114, 178),
}


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = resources.files("qrcheck").joinpath("fonts/BeVietnamPro-Bold.ttf")
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), size)


def label(code: CodeResult, lang: str) -> str:
    """Procedure code and grade; without a procedure, what the link is (e.g. "not official")."""
    name = code.verdict.procedure or t(f"status.{code.verdict.status}", lang)
    return f"{name} · {code.grade.grade}"


def _label_size(width: int, height: int) -> int:
    return max(18, min(width, height) // 38)


def legend_height(width: int, height: int) -> int:
    """Height of the white legend band `annotate` adds under a `width` x `height` photo."""
    return int(_label_size(width, height) * 2.4)


def annotate(rgb: np.ndarray, photo: PhotoResult, lang: str) -> Image.Image:
    """A copy of the photo with every code outlined in its action's colour and labelled."""
    short = min(rgb.shape[:2])
    width = max(3, short // 200)
    size = _label_size(rgb.shape[1], rgb.shape[0])
    font = _font(size)
    strip = legend_height(rgb.shape[1], rgb.shape[0])  # a white band under the photo
    image = Image.new("RGB", (rgb.shape[1], rgb.shape[0] + strip), (255, 255, 255))
    image.paste(Image.fromarray(rgb), (0, 0))
    draw = ImageDraw.Draw(image)
    for code in photo.codes:
        colour = COLOURS[code.action]
        points = [tuple(p) for p in code.located.corners]
        draw.line([*points, points[0]], fill=colour, width=width, joint="curve")
        text = label(code, lang)
        pad = size * 0.2
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = min(p[0] for p in points) - width / 2
        y = min(p[1] for p in points) - width / 2 - (bottom - top) - pad - top + 1
        if y + top - pad < 0:  # no room above: hang the label inside the top edge
            y = min(p[1] for p in points) + width / 2 + pad - top
        box = (x + left - pad, y + top - pad, x + right + pad, y + bottom + pad)
        draw.rectangle(box, fill=colour)
        draw.text((x, y), text, fill=(255, 255, 255), font=font)
    _legend(draw, image.size, font, size, lang)
    return image


def _legend(
    draw: ImageDraw.ImageDraw, size: tuple[int, int], font, text_size: int, lang: str
) -> None:  # type: ignore[no-untyped-def]
    x, y = text_size * 0.5, size[1] - text_size * 1.7
    for action in ACTIONS:
        word = t(f"action.{action}", lang)
        box = draw.textbbox((x, y), word, font=font)
        pad = text_size * 0.25
        draw.rectangle(
            (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=COLOURS[action]
        )
        draw.text((x, y), word, fill=(255, 255, 255), font=font)
        x = box[2] + text_size


def annotated_name(photo: PhotoResult, taken: set[str]) -> str:
    """A file name for the annotated copy, unique within one run."""
    base = (
        f"{photo.path.parent.name}-{photo.path.stem}" if photo.path.parent.name else photo.path.stem
    )
    name = f"{base}.jpg"
    counter = 2
    while name in taken:
        name = f"{base}-{counter}.jpg"
        counter += 1
    taken.add(name)
    return name


def save_annotated(image: Image.Image, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    atomic_write_bytes(path, buffer.getvalue())


def _bands(values: Sequence[float], sides: Sequence[float]) -> list[int]:
    """The 0-based band of each value: in sorted order, a value farther from the one before than
    half the two codes' mean side starts a new band."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    bands = [0] * len(values)
    band = 0
    for previous, index in pairwise(order):
        if values[index] - values[previous] > 0.25 * (sides[index] + sides[previous]):
            band += 1
        bands[index] = band
    return bands


def grid_positions(
    centres: Sequence[tuple[float, float]], sides: Sequence[float]
) -> list[tuple[int, int]]:
    """(row, column) of each code of one photo, counted from 1 at the top left.

    Codes whose centres are less than half a code apart vertically (a code's side in the photo)
    share a row, so that a board photographed a little askew keeps its rows; columns likewise,
    horizontally. Postings side by side on a board are at least a whole code apart.
    """
    if len(centres) != len(sides):
        raise ValueError("one side per centre")
    fallback = float(np.median([s for s in sides if s > 0])) if any(s > 0 for s in sides) else 1.0
    sizes = [s if s > 0 else fallback for s in sides]
    rows = _bands([y for _, y in centres], sizes)
    columns = _bands([x for x, _ in centres], sizes)
    return [(r + 1, c + 1) for r, c in zip(rows, columns, strict=True)]
