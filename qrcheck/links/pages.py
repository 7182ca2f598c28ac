"""What a fetched page says: its text, whether it says it does not exist (a soft 404), whether
two pages are the same."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


#: phrases of a page that says it does not exist (Vietnamese, with and without diacritics)
NOT_FOUND_RE = re.compile(
    r"không\s+tồn\s+tại|khong\s+ton\s+tai|không\s+tìm\s+thấy|khong\s+tim\s+thay"
    r"|page\s+not\s+found|not\s+found|(?:error|lỗi)\s*404|đã\s+bị\s+xóa|đã\s+bị\s+gỡ|không\s+còn\s+tồn\s+tại"
    r"|does\s+not\s+exist|no\s+longer\s+available",
    re.I,
)


# Pages are untrusted too: everything below runs in time linear in the page (no pattern that
# can backtrack across the whole text, e.g. `<[^>]+>` on "<<<<..."), on at most PAGE_LIMIT
# bytes, because it runs on the event loop where no deadline can interrupt it.
PAGE_LIMIT = 300_000


_TAG_RE = re.compile(r"<[^<>]*>")


_BLOCK_RE = re.compile(r"<(script|style)\b", re.I)


_HEADING_RES = {tag: re.compile(rf"<{tag}\b[^<>]*>", re.I) for tag in ("title", "h1", "h2")}


def _without_blocks(text: str) -> str:
    """`text` without its <script> and <style> elements (an unclosed one runs to the end)."""
    lower = text.lower()
    kept = []
    position = 0
    while (found := _BLOCK_RE.search(text, position)) is not None:
        kept.append(text[position : found.start()])
        end = lower.find(f"</{found.group(1).lower()}", found.end())
        if end == -1:
            return " ".join(kept)
        close = lower.find(">", end)
        position = len(text) if close == -1 else close + 1
    kept.append(text[position:])
    return " ".join(kept)


def _headings(text: str) -> str:
    """The text of the page's <title>, <h1> and <h2> elements."""
    lower = text.lower()
    found = []
    for tag, opening in _HEADING_RES.items():
        position = 0
        while len(found) < 50 and (start := opening.search(text, position)) is not None:
            end = lower.find(f"</{tag}", start.end())
            if end == -1:  # no later one can close either
                break
            found.append(text[start.end() : end])
            position = end
    return " ".join(_TAG_RE.sub(" ", part) for part in found)


def page_text(body: bytes) -> str:
    """The visible text of a page (its first PAGE_LIMIT bytes), whitespace collapsed."""
    import html

    text = body[:PAGE_LIMIT].decode("utf-8", errors="replace")
    return html.unescape(" ".join(_TAG_RE.sub(" ", _without_blocks(text)).split()))


def not_found_phrase(body: bytes) -> str | None:
    """The phrase by which a page says it does not exist (in its title or headings, or
    anywhere in a short page), or None."""
    import html
    import unicodedata

    raw = body[:PAGE_LIMIT].decode("utf-8", errors="replace")
    headings = " ".join(html.unescape(_headings(raw)).split())
    places = [unicodedata.normalize("NFC", headings)]
    text = unicodedata.normalize("NFC", page_text(body))
    if len(text) < 3000:
        places.append(text)
    for place in places:
        match = NOT_FOUND_RE.search(place)
        if match:
            return match.group(0)
    return None


def _shingles(body: bytes) -> set[str]:
    words = re.sub(r"[0-9a-f]{6,}|\d+", "#", page_text(body).lower()).split()
    return {" ".join(words[i : i + 4]) for i in range(max(1, len(words) - 3))}


def same_page(a: bytes, b: bytes, threshold: float = 0.9) -> bool:
    """True when two pages are the same but for numbers and tokens (Jaccard of word 4-grams)."""
    if a == b:
        return True
    left, right = _shingles(a), _shingles(b)
    if not left or not right:
        return not left and not right
    return len(left & right) / len(left | right) >= threshold
