"""Find every QR code in a photo, decoded or not.

The reader stack, cheapest first:

1. zxing-cpp on the whole photo, with `return_errors=True`: it decodes most codes and reports the
   position of symbols it found but could not decode (checksum errors, unreadable format info).
2. Candidate regions from detectors that see structure rather than data: our own finder-pattern
   detector (three nested squares in 1:1:3:1:1 proportions, grouped in L-shaped triples; it works
   on faded prints because it thresholds locally), and OpenCV's `QRCodeDetectorAruco`.
3. Every candidate that is not yet decoded is rectified from its corners and retried with
   preprocessing suited to the usual failures: contrast stretch and CLAHE (faded ink), Otsu and
   adaptive thresholds (uneven light), unsharp masking (blur), glare inpainting, upscaling (tiny
   modules); zxing-cpp and ZBar (pyzbar) both read each variant.

4. Only when something looks wrong (finder patterns no symbol explains, or nothing found at
   all): a last look for nearly white codes (`locate_faint.py`), with a contrast-stretched
   finder search and symbols hypothesised from a single finder pattern.
5. qrcheck's own postings (`locate_layout.py`): every posting card in the photo that holds no
   code found so far is asked for the remains of one where the posting's layout prints it
   (codes faded past their last finder pattern, while the card, header and title still show).

Results for the same symbol are merged (a decoded reading wins over a located-only one, and the
readers that decoded it are all recorded). A reading made in a candidate's crop counts as that
candidate's only at its place and size (a small neighbour inside the crop is reported as itself,
and the candidate stays), and a located-only symbol is dropped only when shown false: its
finder patterns belong to a code decoded beside it, or its centre lies inside another symbol
that is decoded or located by more detectors (printed codes do not overlap).

A symbol is reported undecoded only when it shows QR structure: zxing-cpp's own detector found
it, or at least two finder patterns sit at its corners, or one finder pattern sits at a corner
with its separator, a quiet zone on its two outer sides, a timing pattern running from it and
module texture in the square it implies, or it sits where one of our postings prints its code
and QR-like module texture is left there (blank paper, text and other notices never pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from qrcheck.vision.finders import (
    FINDER_MAX_SIDE,
    _dedupe_finders,
    _downscaled,
    _finders_any_corner,
    _inside,
    _triple_quad,
    find_finder_patterns,
    finders_near,
    group_finders,
    pair_candidates,
)
from qrcheck.vision.readers import (
    _format_of,
    _meta,
    _position,
    _retry,
    _zxing,
)
from qrcheck.vision.shapes import (
    FAINT,
    FINDER,
    OPENCV,
    ZXING,
    Finder,
    Located,
    _as_quad,
    _Candidate,
    _order_quad,
    _same_symbol,
    _side,
)

# ---------------------------------------------------------------------------------------------
# the whole stack


@dataclass(frozen=True)
class LocateOptions:
    """Knobs of the reader stack (defaults suit phone photos of boards)."""

    use_opencv: bool = True
    use_finders: bool = True
    #: also read rectified crops with ZBar
    use_zbar: bool = True
    #: the last looks for nearly white codes: single-finder symbols when something looks wrong
    #: (locate_faint.py) and, with `use_layout`, codes faded past every finder on qrcheck's own
    #: postings (locate_layout.py)
    use_faint: bool = True
    #: qrcheck's own postings: the remains of a code where a posting card holds none
    #: (locate_layout.py; part of the last looks, so off too without `use_faint`)
    use_layout: bool = True
    max_candidates: int = 60


def locate_codes(gray: np.ndarray, options: LocateOptions = LocateOptions()) -> list[Located]:
    """Every QR symbol in a grayscale photo, decoded where any reader can, merged per symbol."""
    results: list[Located] = []
    candidates: list[_Candidate] = []

    for barcode in _zxing(gray, return_errors=True):
        quad = _position(barcode)
        if barcode.valid:
            results.append(
                Located(_as_quad(quad), barcode.text, (ZXING,), (ZXING,), **_meta(barcode))
            )
        elif _side(quad) >= 8:  # zxing-cpp also reports format errors at position (0, 0)
            version = _meta(barcode)["version"]
            candidates.append(
                _Candidate(
                    quad,
                    ZXING,
                    finders=3,
                    error=str(barcode.error.type),
                    modules=17 + 4 * version if version else None,
                    symbol=_format_of(barcode),
                )
            )

    finders: list[Finder] = []
    reduced = _downscaled(gray, FINDER_MAX_SIDE)
    lonely: list[Finder] = []
    if options.use_finders:
        # the codes zxing-cpp decoded are blanked for the search: their own finder patterns are
        # explained, and their modules are most of the contours a photo of one code has
        finders = find_finder_patterns(gray, reduced=_blanked(reduced, results))
        if not finders and not results and not candidates:
            # nothing at all: look again without the noise blur (fine art codes lose their
            # finder rings to it); photos with codes never pay for this
            finders = find_finder_patterns(gray, reduced=reduced, blur=False)
        triples = group_finders(finders, gray)
        in_triples = {id(f) for triple in triples for f in triple}
        decoded = [r for r in results if r.decoded]
        lonely = [
            f
            for f in finders
            if id(f) not in in_triples and not any(_holds(r, (f.x, f.y)) for r in decoded)
        ]
        if lonely:
            finders = _dedupe_finders([*finders, *finders_near(gray, lonely)])
            triples = group_finders(finders, gray)
        for a, b, c in triples:
            points = tuple((f.x, f.y) for f in (a, b, c))
            quad = _triple_quad(a, b, c)
            module = (a.module + b.module + c.module) / 3
            candidates.append(
                _Candidate(quad, FINDER, 3, points=points, modules=_side(quad) / module)
            )
        grouped = [f for triple in triples for f in triple]
        for quad, points in pair_candidates(finders, gray, grouped):
            module = np.mean([f.module for f in finders if (f.x, f.y) in points])
            candidates.append(
                _Candidate(quad, FINDER, 2, points=points, modules=_side(quad) / module)
            )

    merged = _merge(results)
    # located-only symbols wait until every candidate has been read: a candidate read later
    # can show that one's finder patterns to be part of a code decoded next to it
    pending: list[Located] = []
    origins: list[_Candidate] = []
    budget = options.max_candidates
    merged = _read_candidates(
        gray, candidates[:budget], finders, merged, pending, origins, options.use_zbar
    )
    budget -= min(budget, len(candidates))
    # OpenCV's detector is a second opinion, asked only when finder patterns are left that no
    # decoded code explains, nor a symbol zxing-cpp located (lonely ones, or those of a symbol
    # built from our finders that nothing could read: OpenCV's quad may read where ours did
    # not). It looks for the same patterns: where the finder search saw none at all, or every
    # one belongs to a code read or placed by zxing-cpp, it has never added a code. Without the
    # finder search: when zxing-cpp left a symbol undecoded or found nothing
    if options.use_finders:
        placed = [p for p, o in zip(pending, origins, strict=True) if o.source == ZXING]
        doubt = bool(_unexplained(finders, [*(r for r in merged if r.decoded), *placed]))
    else:
        doubt = not results or any(c.source == ZXING for c in candidates)
    if options.use_opencv and budget and doubt:
        opencv = _opencv_candidates(reduced)
        merged = _read_candidates(
            gray, opencv[:budget], finders, merged, pending, origins, options.use_zbar
        )
    for found, candidate in zip(pending, origins, strict=True):
        if any(r.decoded and _covers(r, candidate) for r in merged):
            continue  # its finder patterns belong to a code decoded beside it
        merged = _merge([*merged, found])
    if options.use_finders and options.use_faint:
        merged = _faint_pass(gray, reduced, finders, merged, options)
    if options.use_faint and options.use_layout:
        merged = _layout_pass(gray, reduced, merged)
    merged = _without_overlaps(merged)
    return sorted(merged, key=lambda r: (round(r.center[1] / 50), r.center[0]))


def _blanked(
    reduced: tuple[np.ndarray, float], found: Sequence[Located]
) -> tuple[np.ndarray, float]:
    """The reduced photo with every decoded symbol painted over in its own paper's shade."""
    decoded = [r for r in found if r.decoded]
    if not decoded:
        return reduced
    image, scale = reduced
    out = image.copy()
    h, w = image.shape
    for item in decoded:
        quad = np.round(np.array(item.corners) / scale).astype(np.int32)
        x0, y0 = np.clip(quad.min(axis=0), 0, [w, h])
        x1, y1 = np.clip(quad.max(axis=0) + 1, 0, [w, h])
        if x1 <= x0 or y1 <= y0:
            continue
        local = quad - [x0, y0]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, local, 255)
        counts = cv2.calcHist([image[y0:y1, x0:x1]], [0], mask, [256], [0, 256]).ravel()
        if counts.sum() > 0:  # its paper: the 90th percentile of its pixels
            paper = int(np.searchsorted(np.cumsum(counts), 0.9 * counts.sum()))
            cv2.fillConvexPoly(out, quad, min(paper, 255))
    return out, scale


def _unexplained(finders: Sequence[Finder], found: Sequence[Located]) -> list[Finder]:
    """The finder patterns that lie in none of the symbols found."""
    return [f for f in finders if not any(_holds(r, (f.x, f.y)) for r in found)]


def _opencv_candidates(reduced: tuple[np.ndarray, float]) -> list[_Candidate]:
    """Symbols OpenCV's `QRCodeDetectorAruco` sees, on a copy at most 1280 px across."""
    small, factor = _downscaled(reduced[0], 1280)
    factor *= reduced[1]
    try:
        ok, points = cv2.QRCodeDetectorAruco().detectMulti(small)
    except cv2.error:
        ok, points = False, None
    if not ok or points is None:
        return []
    return [_Candidate(_order_quad(quad * factor), OPENCV) for quad in points]


def _read_candidates(
    gray: np.ndarray,
    candidates: Sequence[_Candidate],
    finders: Sequence[Finder],
    merged: list[Located],
    pending: list[Located],
    origins: list[_Candidate],
    zbar: bool,
) -> list[Located]:
    """Every candidate not yet part of a symbol found, retried; returns the merged symbols.
    Candidates nothing reads but that show QR structure go to `pending` (with their origin
    in `origins`), to be reported once every candidate has been read."""
    for candidate in candidates:
        if any(_covers(r, candidate) for r in merged):
            _note_locator(merged, candidate)
            continue
        if any(_covers(r, candidate) for r in pending):
            _note_locator(pending, candidate)
            continue
        if candidate.source != ZXING:
            candidate.finders = max(
                candidate.finders, _finders_any_corner(candidate.corners, finders)
            )
        found, neighbours = _retry(gray, candidate, zbar)
        merged = _merge([*merged, *neighbours])
        if found is not None:
            merged = _merge([*merged, found])
        elif candidate.finders >= 2:  # QR structure: reported even if nothing reads it
            pending.append(
                Located(
                    _as_quad(candidate.corners),
                    None,
                    (),
                    (candidate.source,),
                    finder_patterns=candidate.finders,
                    error=candidate.error,
                )
            )
            origins.append(candidate)
    return merged


def _without_overlaps(found: Sequence[Located]) -> list[Located]:
    """Without the located-only symbols shown false by a better one: printed codes do not
    overlap, so a located-only symbol whose centre lies inside another symbol that is decoded,
    or located by more detectors, is a false position (zxing-cpp, with `return_errors`, now and
    then reports a square spanning parts of two codes)."""

    def better(other: Located, item: Located) -> bool:
        return other.decoded or len(other.located_by) > len(item.located_by)

    return [
        item
        for item in found
        if item.decoded
        or not any(
            other is not item and better(other, item) and _holds(other, item.center)
            for other in found
        )
    ]


def _faint_pass(
    gray: np.ndarray,
    reduced: tuple[np.ndarray, float],
    finders: Sequence[Finder],
    merged: list[Located],
    options: LocateOptions,
) -> list[Located]:
    """Nearly white codes, looked for only when something looks wrong: finder patterns that no
    symbol explains, or no symbol at all. One finder is enough here when the QR structure
    around it is there (separator, quiet zone, timing pattern, module texture; see
    `locate_faint`)."""
    from qrcheck.vision.faint import faint_finders, faint_symbols

    def unexplained(found: Iterable[Finder]) -> list[Finder]:
        return [f for f in found if not any(_holds(r, (f.x, f.y)) for r in merged)]

    lonely = unexplained(finders)
    if merged and not lonely:
        return merged
    pool = _dedupe_finders([*lonely, *unexplained(faint_finders(gray, reduced))])
    for symbol in faint_symbols(gray, pool):
        quad = symbol.corners
        centre = (float(quad[:, 0].mean()), float(quad[:, 1].mean()))
        if not _inside(quad, gray.shape) or any(
            _holds(r, centre) or _same_symbol(quad, np.array(r.corners)) for r in merged
        ):
            continue
        candidate = _Candidate(quad, FAINT, 1, points=((symbol.finder.x, symbol.finder.y),))
        found, neighbours = _retry(gray, candidate, options.use_zbar)
        merged = _merge([*merged, *neighbours])
        if found is None and any(_covers(r, candidate) for r in neighbours):
            continue  # its finder belongs to a neighbour read instead
        found = found or Located(_as_quad(quad), None, (), (FAINT,), finder_patterns=1)
        merged = _merge([*merged, found])
    return merged


def _layout_pass(
    gray: np.ndarray, reduced: tuple[np.ndarray, float], merged: list[Located]
) -> list[Located]:
    """Codes faded past their last finder pattern on qrcheck's own postings: on every posting
    card that holds no code found so far, the remains of one where the layout prints it
    (see `locate_layout`). Reported undecoded, at the symbol's expected corners."""
    from qrcheck.vision.cards import LAYOUT, layout_remains

    for remains in layout_remains(gray, reduced, [r.center for r in merged]):
        merged = [*merged, Located(_as_quad(remains.corners), None, (), (LAYOUT,))]
    return merged


def _holds(found: Located, point: tuple[float, float]) -> bool:
    contour = np.array(found.corners, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def _covers(found: Located, candidate: _Candidate) -> bool:
    """True when a candidate is (part of) a symbol already found."""
    if _same_symbol(candidate.corners, np.array(found.corners)):
        return True
    return any(_holds(found, point) for point in candidate.points)


def _note_locator(merged: list[Located], candidate: _Candidate) -> None:
    for index, item in enumerate(merged):
        if _covers(item, candidate):
            if candidate.source not in item.located_by:
                merged[index] = replace(
                    item,
                    located_by=(*item.located_by, candidate.source),
                    finder_patterns=max(item.finder_patterns, candidate.finders),
                )
            return


def _merge(items: Sequence[Located]) -> list[Located]:
    """One entry per symbol: decoded readings win; readers and locators are united."""
    merged: list[Located] = []

    def priority(r: Located) -> tuple[bool, bool]:
        # zxing-cpp first: where ZBar reads the same symbol differently (text encodings),
        # zxing-cpp's reading is kept
        return (not r.decoded, not any(x.startswith(ZXING) for x in r.readers))

    for item in sorted(items, key=priority):
        quad = np.array(item.corners)
        for index, other in enumerate(merged):
            if not _same_symbol(quad, np.array(other.corners)):
                continue
            sizes = sorted((_side(quad), _side(np.array(other.corners))))
            if (
                item.decoded
                and other.decoded
                and item.text != other.text
                and sizes[1] > 1.5 * sizes[0]
            ):
                continue  # two different symbols, one inside the other
            merged[index] = replace(
                other,
                readers=tuple(dict.fromkeys((*other.readers, *item.readers))),
                located_by=tuple(dict.fromkeys((*other.located_by, *item.located_by))),
                version=other.version or item.version,
                ec_level=other.ec_level or item.ec_level,
                unused_ec=other.unused_ec if other.unused_ec is not None else item.unused_ec,
                finder_patterns=max(other.finder_patterns, item.finder_patterns),
            )
            break
        else:
            merged.append(item)
    return merged
