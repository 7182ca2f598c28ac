"""What the result page shows of a checked photo: photo_view (the codes, their actions and
sentences, the badges' sizes), action_summary, the phone-sized copy of the annotated photo
(view_copy) and the client's file name as messages say it (_display_name)."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from PIL import Image

from qrcheck.board.annotate import grid_positions, legend_height
from qrcheck.board.results import ACTIONS_BY_URGENCY, PhotoResult
from qrcheck.files import atomic_write_bytes
from qrcheck.i18n import t
from qrcheck.web.jobs import Batch

#: actions that need nothing done now (folded on the result page)
SOUND_ACTIONS = ("monitor", "ok")
#: the width a result photo takes on a phone (390 px screen less the margins), the smallest tap
#: target (Apple's and WCAG's 44 px) and the number badge's size there, in CSS pixels
PHONE_PX, TAP_PX, BADGE_PX = 340, 46, 28
#: the longest side of the annotated photo as the result page shows it (the original on a tap)
VIEW_PIXELS = 1600


def _display_name(name: str | None) -> str:
    """The client's file name, for messages only (never used as a path)."""
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable())
    return Path(cleaned.replace("\\", "/")).name[:80] or "?"


def photo_view(
    batch: Batch,
    index: int,
    result: PhotoResult | None,
    lang: str,
    names: Mapping[str, str] | None = None,
) -> dict:
    """What the result page shows of one photo, every sentence already in `lang`; `names`: the
    catalog's title of each procedure code, as the posting prints it."""
    from qrcheck.reports.explain import code_sentences

    assert result is not None
    names = names or {}
    if result.error is not None:
        params = {**result.error.params, "path": batch.jobs[index].name or f"#{index + 1}"}
        return {"index": index, "error": t(result.error.key, lang, **params), "codes": []}
    codes = []
    places = grid_positions(
        [code.located.center for code in result.codes],
        [code.located.side for code in result.codes],
    )
    for number, (code, (row, column)) in enumerate(zip(result.codes, places, strict=True), start=1):
        verdict = code.verdict
        sentences = code_sentences(code, lang)
        corners = [(float(x), float(y)) for x, y in code.located.corners]
        centre_x = sum(x for x, _ in corners) / len(corners)
        centre_y = sum(y for _, y in corners) / len(corners)
        codes.append(
            {
                "number": number,
                "anchor": f"p{index + 1}-c{number}",
                "points": " ".join(f"{x:.0f},{y:.0f}" for x, y in corners),
                "centre": (round(centre_x), round(centre_y)),
                "procedure": verdict.procedure or t(f"status.{verdict.status}", lang),
                "name": names.get(verdict.procedure or "", ""),
                "where": t("web_todo.where", lang, row=row, column=column),
                "grade": code.grade.grade,
                "status": t(f"status.{verdict.status}", lang),
                "action": code.action,
                "action_word": t(f"action.{code.action}", lang),
                "action_help": t(f"action_help.{code.action}", lang),
                "detail": " ".join(sentences),
            }
        )
    codes.sort(
        key=lambda c: (
            ACTIONS_BY_URGENCY.index(c["action"]) if c["action"] in ACTIONS_BY_URGENCY else 9
        )
    )
    short = min(result.width, result.height)
    sound = [c for c in codes if c["action"] in SOUND_ACTIONS]
    return {
        "index": index,
        "error": None,
        "codes": codes,
        # what needs doing, large, first; the sound ones folded into one line under them
        "todo": [c for c in codes if c["action"] not in SOUND_ACTIONS],
        "sound": sound,
        "sound_line": action_summary([c["action"] for c in sound], lang),
        "annotated": result.annotated is not None,
        "src": f"/batch/{batch.id}/photo/{index}.jpg",
        "view": f"/batch/{batch.id}/view/{index}.jpg",
        "width": result.width,
        # the annotated copy carries a legend band under the photo
        "height": result.height + legend_height(result.width, result.height),
        # number badges on the photo, readable on the phone's screen, and a reach around each
        # code at least a thumb wide (44 px) when the photo fills a phone's width
        "badge": max(12, round(result.width * BADGE_PX / PHONE_PX / 2)),
        "reach": max(12, math.ceil(result.width * TAP_PX / PHONE_PX / 2)),
        "stroke": max(3, short // 150),
        "retake": any(code["action"] == "retake" for code in codes) or not codes,
        "offline": any(
            c.live is not None and c.live.detail_key == "links.live_no_network"
            for c in result.codes
        ),
    }


def action_summary(actions: Iterable[str], lang: str) -> str:
    """ "7 in lại · 1 gỡ bỏ · 1 kiểm tra ngay · 14 tốt": how many codes call for each action,
    the most pressing first (in reprint-list words: reprint before remove before the rest)."""
    counts = Counter(actions)
    order = ("reprint", "remove", "investigate", "retake", "monitor", "ok")
    known = [a for a in order if counts[a]] + sorted(a for a in counts if a not in order)
    return " · ".join(f"{counts[a]} {t(f'action.{a}', lang)}" for a in known)


def view_copy(annotated: Path, target: Path, longest: int = VIEW_PIXELS) -> Path:
    """A copy of the annotated photo small enough for a phone's screen (made once)."""
    if target.is_file():
        return target
    with Image.open(annotated) as image:
        image.load()
        if max(image.size) > longest:
            image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=82, optimize=True)
    atomic_write_bytes(target, buffer.getvalue())
    return target
