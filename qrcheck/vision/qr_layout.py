"""Where everything sits in a QR symbol of a given version (ISO/IEC 18004 model 2).

Function patterns (finders, separators, timing, alignment, format and version information),
the order data modules are placed in, and how codewords are interleaved into Reed-Solomon
blocks, so that a grader can tell which modules form which codeword and which fixed pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import qrcode
from qrcode import util
from qrcode.base import rs_blocks

#: ECLevel letter -> the 2-bit indicator qrcode (and the format information) uses
EC_BITS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
EC_LETTER = {bits: letter for letter, bits in EC_BITS.items()}


def size_of(version: int) -> int:
    return 17 + 4 * version


@dataclass(frozen=True)
class Layout:
    version: int
    n: int
    #: True where a function pattern (or format/version information) sits
    function: np.ndarray
    #: expected colour (True dark) of the fixed patterns, where `fixed` is True
    expected: np.ndarray
    #: named fixed-pattern segments: name -> (rows, cols) index arrays
    segments: dict[str, tuple[np.ndarray, np.ndarray]]
    #: the two copies of the format information: (rows, cols) of bits 0..14
    format_copies: tuple[tuple[np.ndarray, np.ndarray], ...]
    #: the two copies of the version information (version >= 7): bits 0..17
    version_copies: tuple[tuple[np.ndarray, np.ndarray], ...]
    #: data modules in placement order: (rows, cols)
    data_order: tuple[np.ndarray, np.ndarray]
    #: True where the standard fixes a module's colour (finders, separators, timing, alignment
    #: patterns, the dark module): `expected` holds it there
    fixed: np.ndarray


@cache
def layout(version: int) -> Layout:
    n = size_of(version)
    function = np.zeros((n, n), bool)
    expected = np.zeros((n, n), bool)
    fixed = np.zeros((n, n), bool)
    segments: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    for name, (r0, c0) in (
        ("finder_tl", (0, 0)),
        ("finder_tr", (0, n - 7)),
        ("finder_bl", (n - 7, 0)),
    ):
        rr, cc = np.mgrid[-1:8, -1:8]
        d = np.maximum(np.abs(rr - 3), np.abs(cc - 3))
        rows, cols = rr + r0, cc + c0
        keep = (rows >= 0) & (rows < n) & (cols >= 0) & (cols < n)
        rows, cols, d = rows[keep], cols[keep], d[keep]
        function[rows, cols] = True
        fixed[rows, cols] = True
        expected[rows, cols] = (d != 2) & (d != 4)
        segments[name] = (rows, cols)

    span = np.arange(8, n - 8)
    function[6, span] = function[span, 6] = True
    fixed[6, span] = fixed[span, 6] = True
    expected[6, span] = span % 2 == 0
    expected[span, 6] = span % 2 == 0
    segments["timing_h"] = (np.full(span.size, 6), span)
    segments["timing_v"] = (span, np.full(span.size, 6))

    centres = util.pattern_position(version)
    for r in centres:
        for c in centres:
            if (r < 9 and (c < 9 or c > n - 10)) or (r > n - 10 and c < 9):
                continue  # overlaps a finder
            rr, cc = np.mgrid[r - 2 : r + 3, c - 2 : c + 3]
            d = np.maximum(np.abs(rr - r), np.abs(cc - c))
            function[rr, cc] = True
            fixed[rr, cc] = True
            expected[rr, cc] = d != 1

    vertical = [(i, 8) if i < 6 else (i + 1, 8) if i < 8 else (n - 15 + i, 8) for i in range(15)]
    horizontal = [
        (8, n - i - 1) if i < 8 else (8, 15 - i - 1 + 1) if i < 9 else (8, 15 - i - 1)
        for i in range(15)
    ]
    copies = tuple(
        (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
        for pts in (vertical, horizontal)
    )
    for rows, cols in copies:
        function[rows, cols] = True
    function[n - 8, 8] = fixed[n - 8, 8] = expected[n - 8, 8] = True  # the dark module

    version_copies: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    if version >= 7:
        first = [(i // 3, i % 3 + n - 8 - 3) for i in range(18)]
        second = [(i % 3 + n - 8 - 3, i // 3) for i in range(18)]
        version_copies = tuple(
            (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
            for pts in (first, second)
        )
        for rows, cols in version_copies:
            function[rows, cols] = True

    # the codeword placement: two-module columns from the right, upward then downward
    # (skipping the vertical timing column), function modules left out; vectorised
    pairs = [c for c in range(n - 1, 0, -2)]
    pairs = [c - 1 if c <= 6 else c for c in pairs]
    order_r_parts, order_c_parts = [], []
    for i, col in enumerate(pairs):
        rows = np.arange(n - 1, -1, -1) if i % 2 == 0 else np.arange(n)
        rr = np.repeat(rows, 2)
        cc = np.tile(np.array([col, col - 1]), n)
        free = ~function[rr, cc]
        order_r_parts.append(rr[free])
        order_c_parts.append(cc[free])
    order = (np.concatenate(order_r_parts), np.concatenate(order_c_parts))
    expected &= fixed
    return Layout(
        version,
        n,
        function,
        expected,
        segments,
        copies,
        version_copies,
        order,
        fixed,
    )


def format_bits(ec_letter: str, mask: int) -> int:
    return util.BCH_type_info((EC_BITS[ec_letter] << 3) | mask)


@cache
def format_words() -> tuple[tuple[int, str, int], ...]:
    """Every valid 15-bit format word with its EC level and mask."""
    return tuple(
        (format_bits(letter, mask), letter, mask) for letter in EC_BITS for mask in range(8)
    )


def version_bits(version: int) -> int:
    return util.BCH_type_number(version)


@dataclass(frozen=True)
class Blocks:
    """Interleaving of one version and EC level: for each codeword index in symbol order, its
    block, and each block's number of EC codewords."""

    block_of: np.ndarray
    ec_counts: np.ndarray
    total: int


@cache
def blocks(version: int, ec_letter: str) -> Blocks:
    specs = rs_blocks(version, EC_BITS[ec_letter])
    data = [b.data_count for b in specs]
    ec = [b.total_count - b.data_count for b in specs]
    block_of = []
    for i in range(max(data)):
        block_of += [b for b in range(len(specs)) if i < data[b]]
    for i in range(max(ec)):
        block_of += [b for b in range(len(specs)) if i < ec[b]]
    return Blocks(np.array(block_of), np.array(ec), len(block_of))


@cache
def reference_matrix(text: str, version: int, ec_letter: str, mask: int, as_bytes: bool):
    """The modules (True dark) qrcode makes for `text` with this version, EC level and mask,
    or None when it does not fit."""
    qr = qrcode.QRCode(
        version=version, error_correction=EC_BITS[ec_letter], mask_pattern=mask, border=0
    )
    try:
        qr.add_data(text.encode("utf-8") if as_bytes else text)
        qr.make(fit=False)
    except (qrcode.exceptions.DataOverflowError, ValueError, TypeError):
        return None
    return np.array(qr.get_matrix(), dtype=bool)


@cache
def mask_matrix(n: int, mask: int) -> np.ndarray:
    """True where data mask `mask` (ISO/IEC 18004 table 10) inverts a module; i row, j column."""
    i, j = np.mgrid[0:n, 0:n]
    if mask == 0:
        out = (i + j) % 2 == 0
    elif mask == 1:
        out = i % 2 == 0
    elif mask == 2:
        out = j % 3 == 0
    elif mask == 3:
        out = (i + j) % 3 == 0
    elif mask == 4:
        out = (i // 2 + j // 3) % 2 == 0
    elif mask == 5:
        out = (i * j) % 2 + (i * j) % 3 == 0
    elif mask == 6:
        out = ((i * j) % 2 + (i * j) % 3) % 2 == 0
    elif mask == 7:
        out = ((i * j) % 3 + (i + j) % 2) % 2 == 0
    else:
        raise ValueError(f"mask {mask} is not 0-7")
    out.flags.writeable = False
    return out


@cache
def _codec(ec_count: int):
    """A Reed-Solomon codec over QR's field (GF(256), polynomial 0x11D, generator 2, first
    consecutive root 0): `ec_count` check codewords per block."""
    import reedsolo

    return reedsolo.RSCodec(ec_count, nsize=255, fcr=0, prim=0x11D, generator=2, c_exp=8)


def gf_tables() -> tuple[np.ndarray, np.ndarray]:
    """Antilog (doubled, so sums of logs need no modulo below 510) and log tables (int64) of
    QR's GF(256): primitive polynomial 0x11D, generator 2."""
    exp = np.zeros(512, np.int64)
    log = np.zeros(256, np.int64)
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    exp[255:510] = exp[:255]
    return exp, log


_EXP, _LOG = gf_tables()


def _syndromes(words: np.ndarray, ec_count: int) -> np.ndarray:
    """The `ec_count` syndromes of a block (its polynomial, first codeword the highest power, at
    2^0 .. 2^(ec_count-1)), vectorised; all zero for a valid codeword."""
    words = np.asarray(words, np.int64)
    nonzero = words != 0
    if not nonzero.any():
        return np.zeros(ec_count, np.int64)
    power = (len(words) - 1 - np.arange(len(words)))[nonzero]  # x^power for each codeword
    logs = _LOG[words[nonzero]]
    steps = np.arange(ec_count)[:, None]
    values = _EXP[(logs[None, :] + (steps * power[None, :]) % 255)]
    return np.bitwise_xor.reduce(values, axis=1)


def syndromes_zero(block: np.ndarray, ec_count: int) -> bool:
    """True when a block's codewords are a valid Reed-Solomon codeword (all `ec_count`
    syndromes, the block's polynomial at 2^0 .. 2^(ec_count-1), are zero): nothing to correct.
    Vectorised; the same test reedsolo makes in pure Python before it corrects anything."""
    return not _syndromes(block, ec_count).any()


_EXP_LIST, _LOG_LIST = [int(v) for v in _EXP], [int(v) for v in _LOG]


def rs_correct(block: np.ndarray, ec_count: int) -> np.ndarray | None:
    """The Reed-Solomon codeword (QR's field and generator, first consecutive root 2^0) within
    ec_count // 2 symbol errors of `block` (uint8 codewords, data then check words), or None
    when there is none: bounded-distance decoding, so the same answer as reedsolo's decoder,
    which it replaces (Berlekamp-Massey on small Python integers, the Chien search and the
    syndromes vectorised with numpy; three to five times faster on QR blocks)."""
    words = np.asarray(block, np.uint8)
    synd = [int(v) for v in _syndromes(words, ec_count)]
    if not any(synd):
        return words.copy()
    exp, log = _EXP_LIST, _LOG_LIST
    # Berlekamp-Massey: the error locator, lowest power first
    locator, previous = [1], [1]
    size, shift, last = 0, 1, 1
    for step in range(ec_count):
        delta = synd[step]
        for i in range(1, min(size, len(locator) - 1) + 1):
            a, b = locator[i], synd[step - i]
            if a and b:
                delta ^= exp[log[a] + log[b]]
        if delta == 0:
            shift += 1
            continue
        scale = (log[delta] - log[last]) % 255  # log of delta / last
        grown = locator + [0] * max(0, shift + len(previous) - len(locator))
        for i, c in enumerate(previous):
            if c:
                grown[shift + i] ^= exp[log[c] + scale]
        if 2 * size <= step:
            previous, size, last, shift = locator, step + 1 - size, delta, 1
        else:
            shift += 1
        locator = grown
    while len(locator) > 1 and locator[-1] == 0:
        locator.pop()
    errors = len(locator) - 1
    if errors != size or 2 * errors > ec_count:
        return None
    # the Chien search: the error at power p when the locator vanishes at 2^-p
    n = len(words)
    powers = np.arange(n)
    values = np.zeros(n, np.int64)
    for j, c in enumerate(locator):
        if c:
            values ^= _EXP[(_LOG[c] - powers * j) % 255]
    roots = np.flatnonzero(values == 0)
    if len(roots) != errors:
        return None
    # Forney (first consecutive root 0): e = X * omega(1/X) / locator'(1/X), with the error
    # evaluator omega = syndromes x locator mod x^errors (its higher terms vanish: the locator
    # generates the syndromes)
    omega = [0] * errors
    for i in range(errors):
        acc = 0
        for j in range(i + 1):
            a, b = synd[i - j], locator[j]
            if a and b:
                acc ^= exp[log[a] + log[b]]
        omega[i] = acc
    num = np.zeros(len(roots), np.int64)
    for i, c in enumerate(omega):
        if c:
            num ^= _EXP[(_LOG[c] - roots * i) % 255]
    den = np.zeros(len(roots), np.int64)
    for j in range(1, len(locator), 2):
        if locator[j]:
            den ^= _EXP[(_LOG[locator[j]] - roots * (j - 1)) % 255]
    if not den.all():
        return None
    magnitude = np.where(num == 0, 0, _EXP[(roots + _LOG[num] - _LOG[den]) % 255])
    out = words.copy()
    out[n - 1 - roots] ^= magnitude.astype(np.uint8)
    if _syndromes(out, ec_count).any():
        return None
    return out


@dataclass(frozen=True)
class Corrected:
    """The ideal symbol read back from a sampled one (ISO/IEC 15415's reference decode).

    `matrix` is the symbol with every codeword of a block that Reed-Solomon could correct put
    back as corrected (through the symbol's own mask), the fixed patterns as the standard draws
    them and the format (and version) information as the nearest valid word; the codewords of a
    block that could not be corrected, and the remainder bits, stay as sampled.
    """

    matrix: np.ndarray
    #: per block: codewords corrected, or -1 when the block has more errors than it can correct
    errors: tuple[int, ...]
    ec_counts: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return all(e >= 0 for e in self.errors)

    @property
    def unused_ec(self) -> float:
        """1 - 2e/EC of the worst block (ISO/IEC 15415 unused error correction), 0 when a block
        could not be corrected at all."""
        return min(
            max(0.0, 1 - 2 * e / ec) if e >= 0 else 0.0
            for e, ec in zip(self.errors, self.ec_counts, strict=True)
        )


@cache
def _block_rows(version: int, ec_letter: str) -> tuple[np.ndarray, ...]:
    """The codeword indices (symbol order) of each Reed-Solomon block."""
    spec = blocks(version, ec_letter)
    rows = tuple(np.flatnonzero(spec.block_of == b) for b in range(len(spec.ec_counts)))
    for row in rows:
        row.flags.writeable = False
    return rows


@cache
def _block_grid(version: int, ec_letter: str) -> np.ndarray:
    """(blocks, longest block) codeword indices, the shorter blocks padded in front with -1 (a
    leading zero coefficient leaves a block's polynomial unchanged)."""
    rows = _block_rows(version, ec_letter)
    longest = max(len(r) for r in rows)
    grid = np.full((len(rows), longest), -1, np.int64)
    for b, row in enumerate(rows):
        grid[b, longest - len(row) :] = row
    grid.flags.writeable = False
    return grid


def _valid_blocks(words: np.ndarray, version: int, ec_letter: str) -> np.ndarray:
    """Per block, whether its syndromes are all zero (`syndromes_zero`), every block at once
    (the blocks of a QR symbol all have the same number of EC codewords)."""
    spec = blocks(version, ec_letter)
    grid = _block_grid(version, ec_letter)
    padded = np.where(grid >= 0, np.asarray(words, np.int64)[grid], 0)
    ec_count = int(spec.ec_counts[0])
    power = grid.shape[1] - 1 - np.arange(grid.shape[1])
    steps = np.arange(ec_count)
    values = _EXP[(_LOG[padded][:, None, :] + (steps[:, None] * power[None, :]) % 255)]
    values = np.where(padded[:, None, :] != 0, values, 0)
    return ~np.bitwise_xor.reduce(values, axis=2).any(axis=1)


#: corrects one Reed-Solomon block: (codewords, EC codewords) -> the corrected codewords, or
#: None past correction (`rs_correct`; tests pass reedsolo's decoder to compare)
BlockDecoder = Callable[[np.ndarray, int], "np.ndarray | None"]


@cache
def codeword_cells(version: int, ec_letter: str) -> np.ndarray:
    """Flat (row-major) indices of the codewords' modules in placement order, 8 per codeword."""
    lay = layout(version)
    data_r, data_c = lay.data_order
    k = blocks(version, ec_letter).total * 8
    cells = data_r[:k] * lay.n + data_c[:k]
    cells.flags.writeable = False
    return cells


@cache
def _codeword_flip(version: int, ec_letter: str, mask: int) -> np.ndarray:
    """The mask's bits at `codeword_cells`."""
    flip = mask_matrix(size_of(version), mask).ravel()[codeword_cells(version, ec_letter)]
    flip.flags.writeable = False
    return flip


@cache
def _drawn(version: int, word: int) -> np.ndarray:
    """The fixed patterns as the standard draws them and the format (and version) information
    as `word` (and the version's word) give it, and where they are drawn: (2, n, n) bool."""
    lay = layout(version)
    drawn = lay.expected.copy()
    where = lay.fixed.copy()
    for rows, cols in lay.format_copies:
        drawn[rows, cols] = [(word >> i) & 1 == 1 for i in range(15)]
        where[rows, cols] = True
    if version >= 7:
        vbits = version_bits(version)
        for rows, cols in lay.version_copies:
            drawn[rows, cols] = [(vbits >> i) & 1 == 1 for i in range(18)]
            where[rows, cols] = True
    both = np.stack([drawn, where])
    both.flags.writeable = False
    return both


def correct(
    measured: np.ndarray,
    version: int,
    ec_letter: str,
    mask: int,
    word: int,
    decode: BlockDecoder = rs_correct,
) -> Corrected:
    """Read the codewords of a sampled symbol (`measured`, True dark) through its mask, correct
    each Reed-Solomon block, and place the corrected codewords back: the ideal symbol whatever
    encoder made it (segment choices, padding and mask are read from the symbol, not redone)."""
    spec = blocks(version, ec_letter)
    cells = codeword_cells(version, ec_letter)
    flip = _codeword_flip(version, ec_letter, mask)
    bits = (measured.ravel()[cells] ^ flip).astype(np.uint8)
    words = np.packbits(bits.reshape(spec.total, 8), axis=1, bitorder="big").ravel()
    fixed = words.copy()
    errors: list[int] = []
    members, valid = _block_rows(version, ec_letter), _valid_blocks(words, version, ec_letter)
    for b, ec_count in enumerate(spec.ec_counts):
        where = members[b]
        if valid[b]:
            errors.append(0)  # a valid codeword as sampled: nothing to correct
            continue
        fixed_block = decode(words[where], int(ec_count))
        if fixed_block is None:
            errors.append(-1)
            continue
        errors.append(int(np.count_nonzero(fixed_block != words[where])))
        fixed[where] = fixed_block
    # the fixed patterns and the information as drawn, the rest as measured, then the codewords
    drawn, drawn_where = _drawn(version, word)
    out = np.where(drawn_where, drawn, measured)
    new_bits = np.unpackbits(fixed[:, None], axis=1, bitorder="big").ravel().astype(bool)
    out.ravel()[cells] = new_bits ^ flip
    out.flags.writeable = False
    return Corrected(out, tuple(errors), tuple(int(e) for e in spec.ec_counts))
