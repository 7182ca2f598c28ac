"""QR symbols: make one for a payload, check it decodes back, render it as PNG and SVG.

Error correction level Q (recovers ~25% of codewords) and a 4-module quiet zone. Why Q: fading
lowers contrast over the whole symbol, which no error correction level repairs; what EC does
repair is local damage on a board (scratches, pins, tape, a corner torn or stained). Level H
(30%) would push a ~90-character portal link from version 8 to version 9, making every module
~8% smaller at the same printed size, so the code fails sooner at arm's length and as it fades;
level M (15%) leaves too little margin for the local damage seen on boards. The quiet zone is the
standard's 4 modules: narrower margins are the commonest reason a posted code stops scanning
once a frame, tape or a neighbouring sheet creeps up to it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import zxingcpp
from PIL import Image

from qrcheck.errors import GenerationError

ERROR_CORRECTION = "Q"
QUIET_ZONE = 4  # modules


@dataclass(frozen=True)
class Symbol:
    """A QR symbol: its modules (True = dark), without the quiet zone."""

    payload: str
    version: int
    modules: np.ndarray

    @property
    def size(self) -> int:
        return int(self.modules.shape[0])

    def bitmap(self, module_px: int, quiet: int = QUIET_ZONE) -> np.ndarray:
        """A grayscale image (0 dark, 255 light) with `module_px` pixels per module."""
        padded = np.pad(self.modules, quiet, constant_values=False)
        pixels = np.where(padded, 0, 255).astype(np.uint8)
        return np.kron(pixels, np.ones((module_px, module_px), dtype=np.uint8))


def make_symbol(payload: str) -> Symbol:
    """Encode `payload` at level Q in the smallest version that holds it."""
    # imported here: the photo check reads QUIET_ZONE from this module and never encodes
    import qrcode
    from qrcode.constants import ERROR_CORRECT_Q

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    qr.add_data(payload.encode("utf-8"))
    try:
        qr.make(fit=True)
    except qrcode.exceptions.DataOverflowError as exc:
        raise GenerationError("generate.payload_too_long", length=len(payload)) from exc
    modules = np.array(qr.get_matrix(), dtype=bool)
    return Symbol(payload, int(qr.version), modules)


def verify_symbol(symbol: Symbol) -> None:
    """Decode the symbol back with zxing-cpp; anything but exactly its payload is an error."""
    image = symbol.bitmap(4)
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = [r.text for r in results if r.valid]
    if texts != [symbol.payload]:
        raise GenerationError(
            "generate.decode_mismatch", expected=symbol.payload, found=" | ".join(texts) or "—"
        )


def png_bytes(symbol: Symbol, module_px: int, dpi: int) -> bytes:
    """A 1-bit PNG, `module_px` pixels per module, tagged with its print resolution."""
    image = Image.fromarray(symbol.bitmap(module_px)).convert("1", dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi), optimize=False)
    return buffer.getvalue()


def module_runs(modules: np.ndarray) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length)."""
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(modules):
        padded = np.concatenate(([False], row, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        runs.extend((y, int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True))
    return runs


def svg_text(symbol: Symbol, size_mm: float) -> str:
    """A standalone SVG of the symbol with its quiet zone, `size_mm` wide when printed."""
    total = symbol.size + 2 * QUIET_ZONE
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}z" for y, x, n in module_runs(symbol.modules)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_mm:g}mm" height="{size_mm:g}mm" '
        f'viewBox="0 0 {total} {total}" shape-rendering="crispEdges">'
        f'<rect width="{total}" height="{total}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>\n'
    )
