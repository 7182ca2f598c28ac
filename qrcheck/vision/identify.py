"""Name a posting whose code no longer decodes, from the text printed around the code (OCR).

`identify_posting` rectifies the neighbourhood of the code with the homography of its corners
(the code upright and square), keeps the sheet of paper the code is printed on (the bright
region round its quiet zone: a neighbouring posting or the cork is not read), blanks the code
itself, evens out the light and stretches faint print, and reads the rest with Tesseract
(Vietnamese + English; in process through tesserocr, or the `tesseract` program through
pytesseract). If the text does not read upright, the other three quarter turns are
tried (each one that reads hardly a word read again darkened: Tesseract's own binarisation
drops light grey strokes); if nothing matches, a thresholded and an enlarged variant.

What was read is matched against the catalog (`match_text`), in this order of trust:

1. a procedure code printed on the posting (the catalog's form `d.dddddd`), tolerant of OCR
   confusions (O/0, l/I/1, S/5, B/8, Z/2, a dropped, doubled or misread dot, spaces), accepted
   only when it is exactly a catalog code after normalisation and the only one read;
2. the procedure name, fuzzy (rapidfuzz) on the NFC text and on the text without diacritics,
   with a clear margin over the runner-up (or, read only in part, a wide one: `WIDE_SCORE`);
3. a printed link: its `ma_thu_tuc=` (or `keyword=`), or twelve or more hex digits in a row of
   the id a catalog link ends with (`link_ids_read`), what is left of a link whose start faded;
4. a printed number one digit off a catalog code ("1.010324") together with a name read in
   part that points to that same code: two weaker readings that agree;
5. last, qrcheck's own layout: the band right above the code where its postings print the
   procedure code in large type (`LABEL_BAND`), read alone, must hold a catalog code (1.).

A code and a name that point to different procedures are a conflict, and the posting is
unknown. Below `MIN_CONFIDENCE` the answer is unknown (`code` None), never a guess.

Failures never raise: a bad crop, an OCR error or a missing Tesseract binary give an unknown
identification (a missing binary logs one warning per process, on the "qrcheck" logger).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image
from rapidfuzz import fuzz

if TYPE_CHECKING:
    from qrcheck.catalog.model import Procedure

_log = logging.getLogger("qrcheck")

#: below this confidence the posting is unknown
MIN_CONFIDENCE = 0.8
#: a name matches when its score (0..100) reaches this, `NAME_MARGIN` above any other name's
NAME_SCORE = 86.0
NAME_MARGIN = 8.0
#: a name read this well (and NAME_MARGIN clear) confirms a printed number one digit off
NEAR_NAME_SCORE = 65.0
#: names scoring within this of the best must each lack a word of it that was read
RIVAL_RANGE = 20.0
#: a name read this well (and NAME_MARGIN clear) that points elsewhere than the printed code
#: is a conflict: OCR misreads a digit of a code into another catalog code ("1.013962" for
#: 1.013952, twice in a row), so a clear name outweighs the number
NAME_CONFLICT = NAME_SCORE
#: a name read in part also matches when no other name comes near: a score of WIDE_SCORE,
#: WIDE_MARGIN over every other name the text does not rule out (names within it included),
#: and at least WIDE_WORDS of its own words read as such. A long name half faded reads at
#: 75-84, its nearest rival 20-30 below; in bench_identify's 588 postings (seeds 14-20) no
#: reading of a wrong name led by more than 4 (a sibling's: most lead by 0, see `name_read`)
WIDE_SCORE = 75.0
WIDE_MARGIN = 20.0
WIDE_WORDS = 5
#: Tesseract languages and options (LSTM engine, automatic page segmentation)
TESS_LANG = "vie+eng"
TESS_CONFIG = "--oem 1 --psm 3"
#: seconds one Tesseract call may take
TESS_TIMEOUT = 30
#: how far the window reaches round the symbol, in symbol sides, on every side, when the
#: sheet it is printed on does not stand out (see `_extent`)
REACH = 2.2
#: the rectified window is scaled so that the symbol side is at least this many pixels
#: (text printed at a posting's scale then reads well) and the window at most MAX_PIXELS
MIN_SIDE_PX = 360.0
MAX_SIDE_PX = 900.0
MAX_PIXELS = 4.0e6

Ocr = Callable[[np.ndarray], str]


@dataclass(frozen=True)
class Identification:
    """Which procedure an unreadable posting is, how sure, and on what it rests."""

    code: str | None  # catalog procedure code, None = unknown (below the threshold)
    confidence: float  # 0..1, how sure
    basis: str  # "printed_code" | "name" | "link" | "" (unknown)
    read: str  # the text the match rests on, as OCR read it (e.g. "1.0004l9")

    def evidence(self) -> tuple[str, dict[str, object]]:
        """The message key and parameters of the sentence saying what the match rests on
        (e.g. "đọc được mã 1.000419 in trên bản niêm yết"), for `qrcheck.i18n.t`."""
        if self.code is None:
            return "identify.unknown", {}
        key = {"printed_code": "identify.printed_code", "name": "identify.name"}.get(
            self.basis, "identify.link"
        )
        percent = round(100 * self.confidence)
        return key, {"code": self.code, "read": self.read, "percent": percent}

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "confidence": round(self.confidence, 3),
            "basis": self.basis,
            "read": self.read,
        }


UNKNOWN = Identification(None, 0.0, "", "")


# ---------------------------------------------------------------------------------------------
# Matching text against the catalog

#: characters OCR reads for a digit
_DIGIT_LIKE = {
    **{d: d for d in "0123456789"},
    **dict.fromkeys("OoQD", "0"),
    **dict.fromkeys("IlL|i!íìỉ", "1"),
    **dict.fromkeys("Zz", "2"),
    **dict.fromkeys("Ss$", "5"),
    "b": "6",
    "G": "6",
    "T": "7",
    "B": "8",
    "g": "9",
    "q": "9",
}
_DIGIT_CLASS = "".join(re.escape(c) for c in _DIGIT_LIKE)
#: a code as OCR may read it: one digit, a separator (or none; a line break after it, as in a
#: link wrapped at its dot), six digits, spaces between
_SEP = "[.,·:;'`˙•‧*-]"
_CODE_RE = re.compile(
    rf"(?<![0-9A-Za-z])([{_DIGIT_CLASS}])( ?(?:{_SEP}{{1,2}}\n?)? ?)"
    rf"((?:[{_DIGIT_CLASS}] ?){{5}}[{_DIGIT_CLASS}])(?![0-9A-Za-z])"
)
#: the label of the line that prints a posting's code (qrcheck's layout, both languages)
_LABEL = re.compile(r"\b(?:ma thu tuc|procedure code) ?[:;.,]")  # not "ma_thu_tuc=" of a link
#: a code that follows one of these is in a link, not printed as the posting's code
_LINK_BEFORE = re.compile(
    r"(ma[_ ]?thu[_ ]?tuc|keyword|tu[_ ]?khoa|chinh/?|thu-tuc)\s*[=/]?\s*$", re.I
)


#: characters OCR reads for a hex digit of the id a printed link ends with
_HEX_LIKE = {
    **{c: c for c in "0123456789abcdef"},
    **{c: c.lower() for c in "ABCDEF"},
    **dict.fromkeys("oOQD", "0"),
    **dict.fromkeys("lIi|!", "1"),
    **dict.fromkeys("sS", "5"),
    "B": "8",
    "G": "6",
    "g": "9",
    "q": "9",
}
_HEX_RUN = re.compile("[" + re.escape("".join(_HEX_LIKE)) + r"\-]{12,}")
#: the fewest hex digits of a link's id, read in one run, that name a procedure (the ids are
#: UUIDs: twelve digits in a row occur in another one by chance about once in 10^14) ...
MIN_ID_DIGITS = 12
#: ... and how many more of them in a row than of any other procedure's id (ids made one
#: after another begin alike: two of the catalog's share 21 digits)
ID_MARGIN = 8


def _link_ids(procedures: Mapping[str, Procedure]) -> dict[str, str]:
    """The hex digits of the id each procedure's link ends with (its formalityId), by code."""
    out = {}
    for code, proc in procedures.items():
        tail = re.sub(r"#.*$", "", proc.payload).rstrip("/").rsplit("/", 1)[-1].lower()
        digits = tail.replace("-", "")
        if len(digits) >= MIN_ID_DIGITS and all(c in "0123456789abcdef" for c in digits):
            out[code] = digits
    return out


def link_ids_read(text: str, procedures: Mapping[str, Procedure]) -> list[tuple[str, str]]:
    """(raw, code) of every run of the text that holds MIN_ID_DIGITS or more hex digits in a row
    of one catalog procedure's link id, ID_MARGIN more than of any other's (what is left of a
    printed link whose start faded, "…-bd5c-ae39015a5927"); confusable characters read as hex
    digits (O/0, l/1, S/5)."""
    ids = _link_ids(procedures)
    found = []
    for m in _HEX_RUN.finditer(text):
        raw = m.group(0)
        digits = "".join(_HEX_LIKE[c] for c in raw if c != "-")
        if len(digits) < MIN_ID_DIGITS or sum(c.isdigit() for c in raw) < 4:
            continue
        runs = sorted(
            (SequenceMatcher(None, digits, full, autojunk=False).find_longest_match().size, code)
            for code, full in ids.items()
        )
        if not runs:
            break
        best, code = runs[-1]
        second = runs[-2][0] if len(runs) > 1 else 0
        if best >= MIN_ID_DIGITS and best - second >= ID_MARGIN:
            found.append((raw, code))
    return found


def _strip(text: str) -> str:
    """Lower case, NFC, without diacritics (đ -> d) and with single spaces."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(text.replace("đ", "d").split())


_WORD = re.compile(r"[^\W\d_]+")


def _nfc(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text.lower()).split())


_MARKS = re.compile(r"[\W_]+")


def _letters(text: str) -> str:
    """The text without its tokens of marks alone: the dots and dashes OCR reads from specks, a
    pin or a scratch between the words of a name ("khai sinh lưu\n. _ động") do not break
    the name."""
    return " ".join(w for w in text.split() if _MARKS.fullmatch(w) is None)


@dataclass(frozen=True)
class _CodeRead:
    code: str
    raw: str
    in_link: bool


def _numbers(text: str) -> list[tuple[str, str, bool]]:
    """(raw, code form d.dddddd, in a link) of every run in `text` that reads as a procedure
    code (confusable characters, a dropped or doubled dot, spaces), catalog code or not."""
    found = []
    for m in _CODE_RE.finditer(text):
        head, tail = m.group(1), m.group(3)
        digits = _DIGIT_LIKE[head] + "".join(_DIGIT_LIKE[c] for c in tail if c != " ")
        raw = m.group(0)
        # a run read mostly as letters is a word, not a misread number
        if sum(c.isdigit() for c in raw) < (2 if m.group(2).strip() else 4):
            continue
        before = _strip(text[max(0, m.start() - 24) : m.start()])
        found.append((raw, f"{digits[0]}.{digits[1:]}", bool(_LINK_BEFORE.search(before))))
    return found


def codes_read(text: str, codes: set[str]) -> list[_CodeRead]:
    """Every catalog code in `text`, as OCR may have read it (confusable characters, a dropped
    or doubled dot, spaces); a digit string that is no catalog code is ignored."""
    return [_CodeRead(code, raw, link) for raw, code, link in _numbers(text) if code in codes]


#: a code read with one digit lost: one digit, a separator, five digits
_SHORT_RE = re.compile(
    rf"(?<![0-9A-Za-z])([{_DIGIT_CLASS}]) ?{_SEP}{{1,2}} ?"
    rf"((?:[{_DIGIT_CLASS}] ?){{4}}[{_DIGIT_CLASS}])(?![0-9A-Za-z{_DIGIT_CLASS}])"
)


def _one_off(code: str, read: str) -> bool:
    """`read` is `code` with one digit misread, or with one digit lost."""
    if len(read) == len(code):
        return sum(a != b for a, b in zip(code, read, strict=True)) == 1
    return len(read) == len(code) - 1 and any(
        code[:i] + code[i + 1 :] == read for i in range(2, len(code))
    )


def near_codes(text: str, codes: set[str]) -> list[tuple[str, set[str]]]:
    """(raw, catalog codes one digit away) of every printed number in `text` that is no catalog
    code itself: what a single misread or lost digit ("1.010324" for 1.010824, "1.0125 3" for
    1.012531) may hide."""
    reads = [(raw, code) for raw, code, link in _numbers(text) if not link and code not in codes]
    for m in _SHORT_RE.finditer(text):
        raw = m.group(0)
        if sum(c.isdigit() for c in raw) >= 3:
            digits = "".join(_DIGIT_LIKE[c] for c in m.group(1) + m.group(2) if c != " ")
            reads.append((raw, f"{digits[0]}.{digits[1:]}"))
    out = []
    for raw, read in reads:
        near = {c for c in codes if _one_off(c, read)}
        if near:
            out.append((raw, near))
    return out


@dataclass(frozen=True)
class _NameRead:
    code: str
    score: float
    margin: float
    raw: str
    words: int = 0  # words of the name (none of a posting's own wording) read as such
    lead: float = 0.0  # the margin, kept over the names within this one too

    @property
    def clear(self) -> bool:
        """Clear enough to name a posting (and so to contradict a code read beside it): read
        well with a margin, or read in part (enough words of it) with a wide margin."""
        if self.score >= NAME_SCORE and self.margin >= NAME_MARGIN:
            return True
        return self.wide

    @property
    def wide(self) -> bool:
        """Read in part, but with no other name near, not even one within it (see
        `WIDE_SCORE`)."""
        return self.score >= WIDE_SCORE and self.lead >= WIDE_MARGIN and self.words >= WIDE_WORDS


def _name_index(procedures: Mapping[str, Procedure]) -> list[tuple[str, str, str]]:
    """(code, NFC name, stripped name) of every procedure, with "Thủ tục" dropped from the
    start (postings of other makers often leave it out)."""
    out = []
    for code, proc in procedures.items():
        nfc = _nfc(proc.name)
        nfc = _letters(re.sub(r"^thủ tục\s+", "", nfc))
        if len(nfc) >= 6:
            out.append((code, nfc, _strip(nfc)))
    return out


def name_read(text: str, procedures: Mapping[str, Procedure]) -> _NameRead | None:
    """The procedure whose name the text holds best, with its score (0..100, the NFC and
    diacritics-free comparisons averaged) and its margin over the next different name (0 when
    the name cannot tell procedures apart: two of the same name, or a name that is part of a
    longer one); None when nothing was read. A name contained in a longer one that reads as
    well is the longer one (the text shows the longer name whole)."""
    nfc_text, plain_text = _letters(_nfc(text)), _letters(_strip(text))
    if len(plain_text) < 6:
        return None
    scored: list[tuple[float, str, str, str, str]] = []
    for code, nfc, plain in _name_index(procedures):
        a = fuzz.partial_ratio_alignment(nfc, nfc_text)
        b = fuzz.partial_ratio(plain, plain_text)
        score = (a.score + b) / 2 if a is not None else b / 2
        # short names match a part of anything: weigh the score by how much name there is
        score *= min(1.0, 0.75 + len(plain) / 60)
        raw = nfc_text[a.dest_start : a.dest_end] if a is not None else ""
        scored.append((score, code, plain, raw, nfc))
    if not scored:
        return None
    scored.sort(reverse=True)
    best = scored[0]
    # a longer name that contains the best one and scores nearly as well is the one read
    for other in scored[1:]:
        if best[0] - other[0] > 3:
            break
        if best[2] in other[2] and other[2] != best[2]:
            best = other
    if any(s[2] == best[2] and s[1] != best[1] for s in scored):
        return _NameRead(best[1], best[0], 0.0, best[3])  # two procedures of the same name
    if any(best[2] in s[2] and s[2] != best[2] for s in scored):
        # the name is part of a longer one ("… khai sinh" of "… khai sinh lưu động"): the rest
        # of the longer name may have faded away, so the name alone cannot tell them apart
        return _NameRead(best[1], best[0], 0.0, best[3])
    # names within the best one (read whole) are no rivals, nor are names that put words of
    # their own inside the best one where the text reads it word for word (see `_in_between`)
    read_nfc = set(_WORD.findall(nfc_text))
    read_plain = set(_WORD.findall(plain_text))
    rivals = [
        s
        for s in scored
        if s[2] not in best[2] and not _in_between(best[2], s[2], plain_text, read_plain)
    ]
    for rival in rivals:
        if rival[0] < best[0] - RIVAL_RANGE:
            break
        # a close rival is ruled out only by a word of the best name it lacks, read as such
        # ("… lại khai sinh" against "… lại khai tử": "sinh" must be read, not guessed)
        own = set(_WORD.findall(best[4])) - set(_WORD.findall(rival[4]))
        if not any(w in read_nfc or (len(w) >= 4 and _strip(w) in read_plain) for w in own):
            return _NameRead(best[1], best[0], 0.0, best[3])
    # the margin is kept over the rivals the text does not rule out beyond doubt (a short name
    # such as "đăng ký khai tử" matches part of any longer text about as well as the name read)
    best_words = set(_WORD.findall(best[4]))
    runner = max(
        (s[0] for s in rivals if not _outread(best_words, s[4], read_nfc, read_plain)),
        default=0.0,
    )
    seen = sum(
        1
        for w in best_words - _POSTING_SET
        if len(w) >= 2 and (w in read_nfc or (len(w) >= 4 and _strip(w) in read_plain))
    )
    # read in part, the name must stand clear of the names within it as well: the posting may
    # bear the shorter one, the longer one's extra words guessed from other lines
    within = max((s[0] for s in scored if s[2] in best[2] and s[2] != best[2]), default=0.0)
    margin = best[0] - runner
    lead = min(margin, best[0] - within)
    if len(plain_text) < len(best[2]):
        # a text shorter than the name is a part of it at most, and may be the whole of a name
        # within it: "thành lập hội" read alone scores 100 on 1.013702's "công nhận ban vận
        # động thành lập hội" and is all of 1.013703's name; the margin is the lead
        margin = lead
    return _NameRead(best[1], best[0], margin, best[3], seen, lead)


#: the fewest words a name read word for word must have to rule out the names that would put
#: words of their own inside it (`_in_between`)
IN_ORDER_WORDS = 5


def _in_between(best: str, rival: str, plain_text: str, read_plain: set[str]) -> bool:
    """The text reads the `best` name (diacritics-free) whole, word for word and in order,
    where the `rival` would have words of its own inside it, and none of those words is read
    anywhere: the rival is ruled out. "… người dịch là cộng tác viên …" read as such is not
    "… người dịch không phải là cộng tác viên …": OCR does not drop two words from the middle
    of a line it reads exactly. (A rival that only adds words at an end contains the best name
    and stays a rival: the words may have faded on a line of their own.)"""
    words, rival_words = _WORD.findall(best), _WORD.findall(rival)
    if len(words) < IN_ORDER_WORDS or best in rival:
        return False
    own = [w for w in rival_words if w not in set(words)]
    if not own or any(w in read_plain for w in own):
        return False
    # the rival keeps every word of the best name, in order, with its own between two of them
    it = iter(rival_words)
    if not all(w in it for w in words):
        return False
    first, last = rival_words.index(words[0]), len(rival_words) - rival_words[::-1].index(words[-1])
    if not any(w not in set(words) for w in rival_words[first:last]):
        return False
    text = _WORD.findall(plain_text)
    n = len(words)
    return any(text[i : i + n] == words for i in range(len(text) - n + 1))


def _outread(best_words: set[str], rival: str, read_nfc: set[str], read_plain: set[str]) -> bool:
    """The text read rules the `rival` name out beyond doubt: at least two words of the best
    name that the rival lacks (of three letters or more, none of a posting's own wording) are
    read as such, and not one of the rival's own words."""

    def seen(word: str) -> bool:
        return word in read_nfc or (len(word) >= 4 and _strip(word) in read_plain)

    rival_words = set(_WORD.findall(rival))
    theirs = rival_words - best_words
    ours = [w for w in best_words - rival_words if len(w) >= 3 and w not in _POSTING_SET]
    return bool(theirs) and sum(map(seen, ours)) >= 2 and not any(map(seen, theirs))


def _two_postings(text: str) -> bool:
    """Two "Mã thủ tục:" lines in one reading: part of another posting was read too."""
    return len(_LABEL.findall(_strip(text))) > 1


def match_text(
    text: str, procedures: Mapping[str, Procedure], *, labels_once: bool = True
) -> Identification:
    """The catalog procedure `text` (read around a code) names, or unknown. `labels_once`
    False: `text` joins several readings of one posting (each checked for two code lines)."""
    codes = set(procedures)
    reads = codes_read(text, codes)
    printed = {r.code for r in reads if not r.in_link}
    by_id = link_ids_read(text, procedures)
    linked = {r.code for r in reads if r.in_link} | {code for _, code in by_id}
    name = name_read(text, procedures)
    strong_name = name is not None and name.clear
    if len(printed) > 1:
        _log.info("identify: several procedure codes read %s: unknown", sorted(printed))
        return UNKNOWN
    if labels_once and _two_postings(text):
        _log.info("identify: the code lines of two postings read: unknown")
        return UNKNOWN
    if printed:
        (code,) = printed
        raw = next(r.raw for r in reads if r.code == code and not r.in_link)
        if name is not None and name.code != code and name.clear:
            _log.info("identify: code %s read but the name reads as %s: unknown", code, name.code)
            return UNKNOWN
        if linked - {code}:
            _log.info("identify: code %s read but a link holds %s: unknown", code, linked)
            return UNKNOWN
        agrees = (name is not None and name.code == code and strong_name) or code in linked
        return Identification(code, 0.99 if agrees else 0.93, "printed_code", raw.strip())
    if strong_name and name is not None:
        if linked - {name.code}:
            _log.info("identify: name reads %s but a link holds %s: unknown", name.code, linked)
            return UNKNOWN
        confidence = min(0.95, name.score / 100 * min(1.0, 0.6 + name.margin / 25))
        if name.wide:  # read in part, no other name near: just sure enough, more as more reads
            confidence = max(confidence, MIN_CONFIDENCE + (name.score - WIDE_SCORE) / 200)
        if name.code in linked:
            confidence = 0.97
        if confidence >= MIN_CONFIDENCE:
            return Identification(name.code, round(confidence, 3), "name", name.raw)
    if len(linked) == 1:
        (code,) = linked
        raw = next((r.raw for r in reads if r.code == code), None)
        raw = raw or next(raw for raw, c in by_id if c == code)
        return Identification(code, 0.9, "link", raw.strip())
    if name is not None and name.score >= NEAR_NAME_SCORE and name.margin >= NAME_MARGIN:
        # two weaker readings that agree: a printed number one digit off a catalog code, and
        # a name read in part that points to that same code (and clearly to no other)
        near = near_codes(text, codes)
        hits = [raw for raw, candidates in near if name.code in candidates]
        if hits and all(name.code in candidates for _, candidates in near):
            return Identification(name.code, 0.85, "printed_code", hits[0].strip())
    if name is not None:
        _log.info(
            "identify: no code read; best name %s scores %.0f (margin %.0f): unknown",
            name.code,
            name.score,
            name.margin,
        )
    return UNKNOWN


# ---------------------------------------------------------------------------------------------
# Images


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


@dataclass(frozen=True)
class _Window:
    image: np.ndarray  # rectified gray window
    box: tuple[int, int, int, int]  # the symbol (no quiet zone) in window px: x0, y0, x1, y1


Reach = tuple[float, float, float, float]  # symbol sides left, above, right, below


def _usable(gray: np.ndarray, corners: np.ndarray) -> bool:
    """The corners make a convex quadrilateral of some size centred within the photo."""
    if corners.shape != (4, 2) or not np.all(np.isfinite(corners)):
        return False
    sides = np.linalg.norm(corners - np.roll(corners, -1, axis=0), axis=1)
    if sides.min() < 8:
        return False
    quad = corners.astype(np.float32)
    if cv2.contourArea(quad) < 0.3 * sides.mean() ** 2 or not cv2.isContourConvex(quad):
        return False
    cx, cy = corners.mean(axis=0)
    return bool(0 <= cx < gray.shape[1] and 0 <= cy < gray.shape[0])


def _rectify(
    gray: np.ndarray, corners: np.ndarray, reach: Reach, side: float | None = None
) -> _Window | None:
    """The photo round the code, mapped so the code is an upright square with `reach` symbol
    sides of the photo left of, above, right of and below it; the symbol `side` pixels wide
    (by default its size in the photo, within MIN_SIDE_PX..MAX_SIDE_PX and the MAX_PIXELS of
    the window). None when the corners make no usable quadrilateral."""
    if not _usable(gray, corners):
        return None
    left, top, right, bottom = reach
    if side is None:
        mean = float(np.mean(np.linalg.norm(corners - np.roll(corners, -1, axis=0), axis=1)))
        side = float(np.clip(mean, MIN_SIDE_PX, MAX_SIDE_PX))
        side = min(side, math.sqrt(MAX_PIXELS / ((left + right + 1) * (top + bottom + 1))))
    x0, y0 = left * side, top * side
    dst = np.array([(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    size = (round((left + right + 1) * side), round((top + bottom + 1) * side))
    window = cv2.warpPerspective(
        gray, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    box = (round(x0), round(y0), round(x0 + side), round(y0 + side))
    return _Window(window, box)


def _sheet(small: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """The mask (uint8) of the sheet of paper round the symbol `box` in `small` (a window
    whose symbol is about 90 px wide): bright, smooth, connected to the ring round the code,
    on the code's side of any other code (`_own_side`), its convex hull (text, pins and the
    code inside); None when no bright region touches the ring."""
    x0, y0, x1, y1 = box
    side = x1 - x0
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    blur = cv2.GaussianBlur(closed, (0, 0), 1.5)
    texture = cv2.GaussianBlur(np.abs(small - cv2.GaussianBlur(small, (0, 0), 1.5)), (0, 0), 3)
    ring = np.zeros(small.shape, bool)
    q = 0.22 * side
    rx0, ry0, rx1, ry1 = (x0 - q, y0 - q, x1 + q, y1 + q)
    ring[max(0, int(ry0)) : int(ry1) + 1, max(0, int(rx0)) : int(rx1) + 1] = True
    inner = np.zeros_like(ring)
    inner[int(ry0 + q / 2) : int(ry1 - q / 2), int(rx0 + q / 2) : int(rx1 - q / 2)] = True
    ring &= ~inner
    paper_level = float(np.median(blur[ring])) if ring.any() else float(blur.max())
    bright = (blur > 0.8 * paper_level) & (texture < max(4.0, 0.06 * paper_level))
    bright = cv2.morphologyEx(bright.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    # cut the thin bridges a light patch of cork or a shadow-free gap makes to the next card
    neck = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, neck)
    bright &= _own_side(small, box, bright)
    _, labels = cv2.connectedComponents(bright)
    seeds = np.unique(labels[ring & (bright > 0)])
    seeds = seeds[seeds > 0]
    if len(seeds) == 0:
        return None
    # the largest component touching the ring round the code
    sizes = np.bincount(labels.ravel())
    sheet = (labels == max((int(sizes[s]), s) for s in seeds)[1]).astype(np.uint8)
    # a sheet is convex: its hull fills the notches bold print and pins leave at its edges
    points = cv2.findNonZero(sheet)
    cv2.fillConvexPoly(sheet, cv2.convexHull(points), 1)
    return cv2.erode(sheet, np.ones((3, 3), np.uint8))


def _own_side(small: np.ndarray, box: tuple[float, float, float, float], bright: np.ndarray):
    """The part of the window (uint8 mask) nearer the symbol `box` than any other code printed
    on paper in it: a posting has one code, so text nearer another code is that posting's.
    Other codes are squarish blocks dense in small dark marks, on bright paper."""
    x0, y0, x1, y1 = box
    side = x1 - x0
    gray = np.clip(small, 0, 255).astype(np.uint8)
    marks = cv2.adaptiveThreshold(
        gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 7, 4
    ).astype(np.float32)
    reach = max(3, round(side / 4))
    density = cv2.blur(marks, (reach, reach))
    dense = (density > 0.3).astype(np.uint8)
    core = max(3, round(side / 3))
    dense = cv2.morphologyEx(dense, cv2.MORPH_OPEN, np.ones((core, core), np.uint8))
    count, labels, stats, centres = cv2.connectedComponentsWithStats(dense)
    own = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    keep = np.ones(small.shape, np.uint8)
    # the pixels' columns and rows, broadcast against each other (a grid of each is 10x dearer)
    xx = np.arange(small.shape[1], dtype=np.float32)[None, :]
    yy = np.arange(small.shape[0], dtype=np.float32)[:, None]
    for label in range(1, count):
        w, h = stats[label][2:4]
        centre = centres[label]
        if min(w, h) < 0.4 * side or not 0.5 <= w / h <= 2.0:
            continue  # a line or a paragraph of text, not a code
        if np.hypot(*(centre - own)) < 0.5 * side:
            continue  # the code itself
        blob = (labels == label).astype(np.uint8)
        grown = cv2.dilate(blob, np.ones((reach, reach), np.uint8)) > blob
        if bright[grown].mean() < 0.6:
            continue  # cork or a dark surround, not a code with paper round it
        # keep the half-plane on the code's side of the bisector between the two codes
        d = centre - own
        mid = (centre + own) / 2
        keep &= ((xx - mid[0]) * d[0] + (yy - mid[1]) * d[1] < 0).astype(np.uint8)
    return keep


#: the farthest the window reaches for the sheet round the code, in symbol sides
FAR = 3.5


def _extent(gray: np.ndarray, corners: np.ndarray) -> Reach:
    """How far the sheet the code is printed on reaches round it (symbol sides left, above,
    right, below; up to FAR), found on a coarse window; REACH on every side when no sheet
    stands out from its surroundings (plain paper all round)."""
    default = (REACH, REACH, REACH, REACH)
    coarse = _rectify(gray, corners, (FAR, FAR, FAR, FAR), side=90.0)
    if coarse is None:
        return default
    sheet = _sheet(coarse.image.astype(np.float32), coarse.box)
    if sheet is None:
        return default
    ys, xs = np.nonzero(sheet)
    h, w = sheet.shape
    touches = [xs.min() <= 1, ys.min() <= 1, xs.max() >= w - 2, ys.max() >= h - 2]
    if sum(touches) >= 3:
        return default
    x0, y0, x1, y1 = coarse.box
    side = x1 - x0
    margin = 0.08
    found = (
        (x0 - xs.min()) / side + margin,
        (y0 - ys.min()) / side + margin,
        (xs.max() - x1) / side + margin,
        (ys.max() - y1) / side + margin,
    )
    return tuple(float(np.clip(v, 0.3, FAR)) for v in found)  # type: ignore[return-value]


def _paper(window: _Window) -> tuple[np.ndarray, np.ndarray]:
    """(levelled, mask): the window divided by its estimated paper brightness (1.0 = paper),
    and the mask of the sheet the code is printed on (see `_sheet`; the whole window when none
    stands out), with the code and its quiet zone left out."""
    img = window.image.astype(np.float32)
    x0, y0, x1, y1 = window.box
    side = x1 - x0
    # the paper's brightness: a closing wider than any stroke, at a quarter of the size
    small = cv2.resize(img, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    k = max(5, round(side / 32)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    background = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (0, 0), k / 3)
    background = cv2.resize(background, img.shape[::-1], interpolation=cv2.INTER_LINEAR)
    levelled = img / np.maximum(background, 1.0)
    sheet = _sheet(small, (x0 / 4, y0 / 4, x1 / 4, y1 / 4))
    if sheet is None:
        sheet = np.ones(small.shape, np.uint8)
    mask = cv2.resize(sheet, img.shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    quiet = round(0.1 * side)
    mask[max(0, y0 - quiet) : y1 + quiet, max(0, x0 - quiet) : x1 + quiet] = False
    return levelled, mask


def _stretch(levelled: np.ndarray, mask: np.ndarray, reach: int) -> np.ndarray | None:
    """Ink darkness stretched so faint print reads black on white, each part of the sheet
    against the darkest ink within `reach` pixels (print fades unevenly: half a line may keep
    twice the ink of the other half); outside `mask` white; None when there is no paper or
    nothing darker than it."""
    if mask.sum() < 500:
        return None
    dark = np.clip(1.0 - levelled, 0.0, 1.0)
    dark[~mask] = 0.0
    dark = cv2.GaussianBlur(dark, (0, 0), 0.8)
    values = dark[mask][::3]  # a third of the paper tells its level and grain as well
    base = float(np.median(values))
    sigma = 1.4826 * float(np.median(np.abs(values - base)))  # the paper's grain and noise
    top = float(np.percentile(values, 99.7))
    if top - base < max(0.015, 3 * sigma):
        return None
    ink = np.clip(dark - base - 2 * sigma, 0.0, None)
    local = _local_max(ink, max(3, reach))
    floor = max(0.35 * (top - base), 4 * sigma, 0.01)
    # darkened (a gamma below 1 on the darkness): Tesseract's own binarisation drops light grey
    # strokes, so faint print must come out dark
    scaled = np.clip(ink / np.maximum(local, floor), 0.0, 1.0)
    inked = scaled > 0  # most of a page is paper, where the power is 0 anyway
    scaled[inked] **= 0.6
    out = (255 * (1.0 - 0.9 * scaled)).astype(np.uint8)
    out[~mask] = 255
    return out


def _local_max(image: np.ndarray, reach: int) -> np.ndarray:
    """The greatest value within about `reach` pixels of every pixel, smoothed (a Gaussian of
    reach / 2): found on the image max-pooled by a step of reach / 8 (the smoothing hides the
    steps), so its cost does not grow with the reach."""
    step = max(1, reach // 8)
    h, w = image.shape
    pooled = cv2.dilate(image, np.ones((step, step), np.uint8))[
        step // 2 :: step, step // 2 :: step
    ]
    k = max(3, round(reach / step)) | 1
    local = cv2.dilate(pooled, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    local = cv2.GaussianBlur(local, (0, 0), k / 2)
    return cv2.resize(local, (w, h), interpolation=cv2.INTER_LINEAR)


def _crop(image: np.ndarray, mask: np.ndarray, pad: int = 12) -> np.ndarray:
    """`image` cut to the bounding box of `mask`, `pad` pixels round it."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(cols) == 0:
        return image
    y0, y1 = max(0, rows[0] - pad), min(image.shape[0], rows[-1] + pad)
    x0, x1 = max(0, cols[0] - pad), min(image.shape[1], cols[-1] + pad)
    return image[y0:y1, x0:x1]


def _adaptive(image: np.ndarray, block: int) -> np.ndarray:
    """Black on white by a local threshold: print that fades unevenly across a line reads
    whole (a global threshold keeps only its darker part)."""
    smooth = cv2.GaussianBlur(image, (0, 0), 1.0)
    return cv2.adaptiveThreshold(
        smooth, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 8
    )


#: a reading with fewer words of the catalog's names or a posting's wording than this is read
#: again darkened (`_darken`)
FAINT_WORDS = 2


def _darken(image: np.ndarray) -> np.ndarray:
    """The prepared page with its grey print made dark (a gamma of 3 on the brightness: paper
    stays white, a stroke at 80 % of it comes out at about half)."""
    return (255.0 * (image.astype(np.float32) / 255.0) ** 3).astype(np.uint8)


def _enlarge(image: np.ndarray) -> np.ndarray:
    factor = min(2.0, math.sqrt(MAX_PIXELS / max(1, image.size)))
    if factor <= 1.05:
        return image
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


#: where qrcheck's own posting prints the procedure code in large type (`printing.layout`'s
#: `code_label_mm`: a band right above the code's quiet zone, centred): from LABEL_BAND[0] to
#: LABEL_BAND[1] symbol sides above the symbol's top edge (quiet zones of 4 modules, versions
#: 1-20, and the label's 9 mm over a 70 mm code, at every page size), LABEL_HALF_WIDTH symbol
#: sides either side of its middle
LABEL_BAND = (0.06, 0.45)
LABEL_HALF_WIDTH = 0.8


def _label_band(page: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The band of the prepared, uncropped `page` (the window's pixels, print black on white)
    where qrcheck's own layout prints the procedure code above the symbol `box`, enlarged so
    its digits stand about 60 px tall and framed in white; None when it holds no ink (another
    layout, or the code turned: nothing to read there)."""
    x0, y0, x1, _ = box
    side = x1 - x0
    top, bottom = round(y0 - LABEL_BAND[1] * side), round(y0 - LABEL_BAND[0] * side)
    middle = (x0 + x1) / 2
    left = round(middle - LABEL_HALF_WIDTH * side)
    right = round(middle + LABEL_HALF_WIDTH * side)
    top, left, right = max(0, top), max(0, left), min(page.shape[1], right)
    if bottom - top < 0.2 * side or right - left < side:
        return None
    band = page[top:bottom, left:right]
    if int((band < 128).sum()) < 0.002 * band.size:
        return None
    # the label's digits stand about a third of the band's height (LABEL_BAND's 0.39 sides
    # hold 0.13-0.19 sides of type): enlarged so they stand about 60 px tall
    factor = float(np.clip(180.0 / band.shape[0], 1.0, 3.0))
    if factor > 1.05:
        band = cv2.resize(band, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    pad = round(0.1 * band.shape[0])
    return cv2.copyMakeBorder(band, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


#: a page holds text when at least this many marks of letter size stand in lines (`_text_marks`)
MIN_TEXT_MARKS = 4


def _text_marks(page: np.ndarray, side: float) -> tuple[int, int]:
    """(across, down): how many marks of the prepared `page` (print black on white) stand in
    lines of at least MIN_TEXT_MARKS marks running across, and running down (text turned a
    quarter). A mark is a blob of ink of letter size for a symbol `side` pixels wide (1-20 %
    of it) outside any dense block (another code, the code itself when the corners miss it);
    marks of one line are of like height, level and close. The edge of a sheet, a shadow, a
    pin, the modules at the rim of a neighbouring code and paper grain make no lines: a page
    without any has no text round the code, and Tesseract is not asked to read it."""
    ink = (page < 170).astype(np.uint8)
    k = max(3, round(side / 4)) | 1
    density = cv2.blur(ink.astype(np.float32), (k, k))
    dense = cv2.dilate((density > 0.45).astype(np.uint8), np.ones((k, k), np.uint8))
    count, _, stats, centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    lo, hi = 0.012 * side, 0.2 * side
    boxes = [
        stats[i][:4]
        for i in range(1, count)
        if max(stats[i][2:4]) >= lo
        and min(stats[i][2:4]) <= hi
        and stats[i][4] >= 6
        and not dense[int(centres[i][1]), int(centres[i][0])]
    ]
    if len(boxes) < MIN_TEXT_MARKS:
        return 0, 0
    marks = np.array(boxes, np.float32)
    return _in_lines(marks, lo, hi), _in_lines(marks[:, [1, 0, 3, 2]], lo, hi)


def _in_lines(marks: np.ndarray, lo: float, hi: float) -> int:
    """How many of the boxes (x, y, w, h) stand in lines across of MIN_TEXT_MARKS or more."""
    x, y, w, h = marks.T
    middle = y + h / 2
    fits = (h >= lo) & (h <= hi)
    tall = np.maximum(h[:, None], h[None, :])
    like = np.minimum(h[:, None], h[None, :]) / tall > 0.4
    gap = np.maximum(x[None, :] - (x + w)[:, None], x[:, None] - (x + w)[None, :])
    level = np.abs(middle[:, None] - middle[None, :]) < 0.4 * tall
    near = level & like & (gap < 1.2 * tall) & fits[:, None] & fits[None, :]
    np.fill_diagonal(near, False)
    parent = list(range(len(marks)))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in zip(*np.nonzero(np.triu(near)), strict=True):
        parent[root(int(i))] = root(int(j))
    sizes: dict[int, int] = {}
    for i in range(len(marks)):
        sizes[root(i)] = sizes.get(root(i), 0) + 1
    return sum(n for n in sizes.values() if n >= MIN_TEXT_MARKS)


# ---------------------------------------------------------------------------------------------
# OCR


class _TesseractMissing(RuntimeError):
    pass


_warned_missing = False


#: where Debian's tesseract-ocr-vie puts its trained data (used when TESSDATA_PREFIX is unset)
DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"

_engine = threading.local()


def _tessdata() -> str | None:
    """The folder holding vie.traineddata and eng.traineddata: TESSDATA_PREFIX when it is set
    (an explicit setting wins, even when it lacks them), else Debian's; None when neither has
    them."""
    folder = os.environ.get("TESSDATA_PREFIX") or DEBIAN_TESSDATA
    if all((Path(folder) / f"{name}.traineddata").is_file() for name in ("vie", "eng")):
        return folder
    return None


def _in_process():  # type: ignore[no-untyped-def]
    """This thread's Tesseract engine (tesserocr) for the trained data in use, loaded once: a
    call then costs the reading only, where starting the tesseract program costs about 0.25 s
    a call. None when tesserocr or the trained data is missing (pytesseract is tried then)."""
    engines = _engine.__dict__.setdefault("by_folder", {})
    folder = _tessdata()
    if folder not in engines:
        try:
            if folder is None:
                raise RuntimeError("no vie/eng trained data (see TESSDATA_PREFIX)")
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            import tesserocr

            engines[folder] = tesserocr.PyTessBaseAPI(
                path=folder, lang=TESS_LANG, psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
            )
        except (ImportError, RuntimeError) as exc:
            _log.info("identify: Tesseract in process unavailable (%s): pytesseract instead", exc)
            engines[folder] = None
    return engines[folder]


def tesseract_ocr(image: np.ndarray) -> str:
    """Tesseract (vie+eng, LSTM, automatic page segmentation) on a gray image: in process
    through tesserocr when it and the trained data are there, else the tesseract program
    through pytesseract; _TesseractMissing when neither can run."""
    api = _in_process()
    if api is not None:
        api.SetImage(Image.fromarray(np.ascontiguousarray(image)))
        if not api.Recognize(TESS_TIMEOUT * 1000):
            raise RuntimeError(f"Tesseract gave up after {TESS_TIMEOUT} s")
        return api.GetUTF8Text()
    return program_ocr(image)


def program_ocr(image: np.ndarray) -> str:
    """Tesseract through pytesseract (one `tesseract` process a call)."""
    try:
        import pytesseract
    except ImportError as exc:
        raise _TesseractMissing(f"pytesseract: {exc}") from exc

    # one thread per call: Tesseract's OpenMP threads cost more than they gain on small images,
    # and a board check already runs one photo per core
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        return pytesseract.image_to_string(
            image, lang=TESS_LANG, config=TESS_CONFIG, timeout=TESS_TIMEOUT
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise _TesseractMissing(str(exc)) from exc


#: words postings print besides the procedure's name (qrcheck's layout, in both languages)
_POSTING_WORDS = (
    "mã thủ tục lĩnh vực quét qr để xem và nộp hồ sơ trực tuyến in ngày phiên bản trung tâm "
    "phục vụ hành chính công phường xã ủy ban nhân dân procedure code field scan the to see "
    "and apply online printed version"
)
_POSTING_SET = frozenset(_POSTING_WORDS.split())


def _vocabulary(procedures: Mapping[str, Procedure]) -> set[str]:
    words = set(_POSTING_WORDS.split())
    for proc in procedures.values():
        words.update(re.findall(r"[^\W\d_]{2,}", _nfc(proc.name)))
    return words


def _consistent(found: Identification, texts: Sequence[str], procedures) -> bool:
    """No reading so far contradicts `found`: no other catalog code printed (unless that
    reading's clear name is `found`'s), no other procedure's link id, no clear name of another
    procedure (each reading of one posting is evidence, not only the one that named)."""
    codes = set(procedures)
    for text in texts:
        name = name_read(text, procedures)
        if (
            name is not None
            and name.code == found.code
            and name.score >= NAME_CONFLICT
            and name.margin >= NAME_MARGIN
        ):
            # the reading names the same procedure clearly: another code in it is a digit
            # misread into another catalog code ("1.013962" for 1.013952), no contradiction
            continue
        if any(r.code != found.code and not r.in_link for r in codes_read(text, codes)):
            return False
        if any(code != found.code for _, code in link_ids_read(text, procedures)):
            return False  # what is left of a printed link is another procedure's
        if name is not None and name.code != found.code and name.clear:
            return False
    return True


def _checked(found: Identification, texts: Sequence[str], procedures) -> Identification:
    if _consistent(found, texts, procedures):
        return found
    _log.info("identify: %s read, but another reading of the posting says otherwise", found.code)
    return UNKNOWN


def _words(text: str, vocabulary: set[str]) -> int:
    """How many words of the catalog's names or a posting's wording the text holds: text read
    upright holds many, text read sideways or upside down (letters guessed) hardly any."""
    return sum(1 for w in re.findall(r"[^\W\d_]{2,}", _nfc(text)) if w in vocabulary)


def identify_posting(
    image: np.ndarray,
    corners: Sequence[tuple[float, float]],
    procedures: Mapping[str, Procedure],
    ocr: Ocr | None = None,
) -> Identification:
    """Which catalog procedure the posting round the code at `corners` is, read from its
    printed text (see the module docstring); unknown (`code` None) below `MIN_CONFIDENCE`.

    `image` is the photo (gray uint8 (H, W), or RGB); `corners` the symbol's TL, TR, BR, BL
    (no quiet zone) in photo pixels, in any rotation; `procedures` every catalog code
    (`CatalogView.procedures`, ended and replaced ones included); `ocr` reads text from a gray
    image (default `tesseract_ocr`: Tesseract vie+eng through pytesseract, one thread per call
    unless OMP_THREAD_LIMIT says otherwise). Never raises: a bad crop or an OCR failure gives
    unknown, and so does a missing Tesseract binary (one warning logged per process, on the
    "qrcheck" logger). Takes 1-6 OCR calls: about 1-2 s per code on a laptop core.
    """
    global _warned_missing
    read = ocr or tesseract_ocr
    try:
        gray = _gray(np.asarray(image))
        quad = np.asarray(corners, np.float64).reshape(4, 2)
        x, y = quad[:, 0], quad[:, 1]
        if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
            quad = quad[::-1].copy()  # corners listed the other way round: the text mirrored
        window = _rectify(gray, quad, _extent(gray, quad))
    except (ValueError, TypeError, cv2.error) as exc:
        _log.info("identify: unusable corners %r: %s", corners, exc)
        return UNKNOWN
    if window is None:
        _log.info("identify: corners %r make no usable square: unknown", corners)
        return UNKNOWN
    try:
        levelled, mask = _paper(window)
        page = _stretch(levelled, mask, round((window.box[2] - window.box[0]) / 6))
    except (ValueError, cv2.error) as exc:
        _log.info("identify: the crop round %r could not be prepared: %s", corners, exc)
        return UNKNOWN
    if page is None:
        _log.info("identify: no printed text round the code at %r: unknown", corners)
        return UNKNOWN
    label = _label_band(page, window.box)
    page = _crop(page, mask)
    side = window.box[2] - window.box[0]
    if max(_text_marks(page, side)) < MIN_TEXT_MARKS:
        _log.info("identify: no lines of text round the code at %r: unknown", corners)
        return UNKNOWN
    texts: list[str] = []
    block = max(15, round(side / 9)) | 1
    try:
        # the page as prepared, the code's own way up first (the symbol's corners come in its
        # reading order when it was located by its finder patterns; Tesseract reads lines that
        # run down the page as well), then (when it does not read as text) turned
        vocabulary = _vocabulary(procedures)
        words: dict[int, int] = {}
        dark: np.ndarray | None = None
        page_of_turn: dict[int, np.ndarray] = {}  # the darkened page where it read better
        for turn in range(4):
            text = read(np.ascontiguousarray(np.rot90(page, -turn)))
            texts.append(text)
            found = match_text(text, procedures)
            if found.code is not None:
                return _checked(found, texts, procedures)
            words[turn] = _words(text, vocabulary)
            if words[turn] < FAINT_WORDS:
                # hardly a word read: the print may be too faint for Tesseract's own
                # binarisation, which drops light grey strokes; the page darkened reads
                dark = _darken(page) if dark is None else dark
                text = read(np.ascontiguousarray(np.rot90(dark, -turn)))
                texts.append(text)
                found = match_text(text, procedures)
                if found.code is not None:
                    return _checked(found, texts, procedures)
                if _words(text, vocabulary) > words[turn]:
                    words[turn] = _words(text, vocabulary)
                    page_of_turn[turn] = dark
            if len(words) == 1 and words[turn] >= 5:
                break  # the text reads the first way: turning it will not read better
        best = max(words, key=lambda t: words[t])
        turned = np.ascontiguousarray(np.rot90(page_of_turn.get(best, page), -best))
        # then, the way it reads best, thresholded locally and enlarged (when some words were
        # read at all: a page of smudges does not read better enlarged)
        variants = [lambda: _adaptive(turned, block)]
        if max(words.values()) >= 2:
            variants.append(lambda: _enlarge(turned))
        for variant in variants:
            text = read(variant())
            texts.append(text)
            found = match_text(text, procedures)
            if found.code is not None:
                return _checked(found, texts, procedures)
        if not any(_two_postings(t) for t in texts):
            combined = match_text("\n".join(texts), procedures, labels_once=False)
            if combined.code is not None:
                return _checked(combined, texts, procedures)
            # last, qrcheck's own layout: the band where it prints the code in large type, read
            # alone (on the whole page, faint digits drown among the name's lines); what it
            # reads must be a catalog code that no other reading of the posting contradicts
            if label is not None:
                for band in (label, _darken(label)):
                    text = read(band)
                    found = match_text(text, procedures)
                    if found.code is not None and found.basis == "printed_code":
                        _log.info("identify: code %s read where qrcheck prints it", found.code)
                        return _checked(found, texts, procedures)
                    texts.append(text)
    except _TesseractMissing as exc:
        if not _warned_missing:
            _warned_missing = True
            _log.warning("identify: Tesseract is not installed (%s): postings stay unnamed", exc)
        return UNKNOWN
    except Exception as exc:  # an OCR engine's failure must not end a board check
        _log.warning("identify: OCR failed round %r: %s", corners, exc)
        return UNKNOWN
    _log.info(
        "identify: nothing in the text round %r names a procedure: %r",
        corners,
        " | ".join(t.strip().replace("\n", " ")[:120] for t in texts),
    )
    return UNKNOWN
