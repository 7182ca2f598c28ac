"""Where a code's action is decided: one function, `decide`, from its grade and its link verdict.

Every path that turns a code into an action (a photo's check, the merge of a round, a live check
added afterwards, a posting's state in the history) calls `decide`, after `effective_verdict` has
applied the live check's answer to the catalog verdict.

The rules, first match wins:

| link verdict (`links.verdict`)     | grade (`grade.measure`) | action, reason                  |
|------------------------------------|-------------------------|---------------------------------|
| foreign, unknown, not_a_link       | any                     | `investigate`                   |
| abolished                          | any                     | `remove`                        |
| outdated, replaced, legacy, dead   | any                     | `reprint`                       |
| current, unreadable                | D/F, retake reason      | `retake`, why the photo failed  |
| unreadable (no longer decodes)     | D/F                     | `reprint`                       |
| current                            | D/F                     | `reprint`, grade.weak [1]       |
| current                            | C                       | `monitor`, grade.weakening [1]  |
| current                            | A/B                     | `ok`                            |

[1] grade.quiet_zone instead when the lowest measure is print crowding the quiet zone.

`effective_verdict`: a link the catalog calls current but the live check found dead (or a
"not found" page served as a success, soft_404) is `dead`, so it is reprinted.

What happens to a round's actions afterwards (a code read in another photo becomes `retake`;
a replaced posting whose successor already hangs becomes `remove`) is in `board.check` and
`board.reprint`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from qrcheck.links.model import BROKEN
from qrcheck.links.verdict import Verdict

if TYPE_CHECKING:
    from qrcheck.board.results import CheckReport
    from qrcheck.grade.measure import Grade
    from qrcheck.links.model import LiveResult


def effective_verdict(verdict: Verdict, live_status: str | None) -> Verdict:
    """The catalog verdict with the live check's answer applied: a current link that is dead
    online (`live_status` in `links.model.BROKEN`: a live answer, or a posting's stored status)
    becomes `dead`; every other verdict stands."""
    if live_status in BROKEN and verdict.status == "current":
        return replace(
            verdict,
            status="dead",
            detail_key="links.dead_current",
            detail_params={"code": verdict.procedure or ""},
        )
    return verdict


def decide(grade: Grade, verdict: Verdict) -> tuple[str, str | None]:
    """The action a code calls for, from its grade and its link verdict (the stronger wins)."""
    status = verdict.status
    if status in ("foreign", "unknown", "not_a_link"):
        return "investigate", None
    if status == "abolished":
        return "remove", None
    if status in ("outdated", "replaced", "legacy", "dead"):
        return "reprint", None  # whatever the photo shows, the link itself needs reprinting
    if grade.retake and grade.grade in ("D", "F"):
        return "retake", grade.retake
    # text or a picture printed into the quiet zone is real print damage, but not fading
    crowded = grade.metrics.get("lowest") == "quiet_zone"
    if grade.grade in ("D", "F"):
        if verdict.status == "unreadable":
            return "reprint", None
        return "reprint", "grade.quiet_zone" if crowded else "grade.weak"
    if grade.grade == "C":
        return "monitor", "grade.quiet_zone" if crowded else "grade.weakening"
    return "ok", None


def apply_live(report: CheckReport, results: dict[str, LiveResult]) -> CheckReport:
    """The report with each code's live result attached (keyed by the verdict's link).

    A dead or soft-404 answer on an otherwise current link makes the link `dead` (reprint);
    every other catalog verdict stands, with the live result alongside it.
    """
    from qrcheck.board.results import CheckReport

    photos = []
    for photo in report.photos:
        codes = []
        for code in photo.codes:
            live = results.get(code.verdict.link or "")
            if live is None:
                codes.append(code)
                continue
            verdict = effective_verdict(code.verdict, live.status)
            action, reason = decide(code.grade, verdict)
            if verdict is code.verdict:
                action, reason = code.action, code.reason
            codes.append(replace(code, verdict=verdict, action=action, reason=reason, live=live))
        photos.append(replace(photo, codes=tuple(codes)))
    return CheckReport(tuple(photos))


def links_to_check(report: CheckReport) -> list[str]:
    """Every distinct decoded link of a report, normalised (version tag left out)."""
    found = [c.verdict.link for c in report.codes if c.verdict.link]
    return list(dict.fromkeys(found))
