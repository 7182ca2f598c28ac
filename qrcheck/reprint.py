"""The reprint list: everything that needs printing now, with where each posting goes and why.

From the history (`store.py`) and the catalog as of a date:

- postings whose latest check graded them D or F (not when the photo was the cause: `retake`);
- postings whose link is outdated, legacy, replaced by a new code, or was found dead online;
  the link is judged again against today's catalog, so a catalog update is reflected at once;
- scheduled changes (new, amended, replaced) due within N days, at every board where the
  procedure was seen (a new procedure: at no board yet);
- codes that no reader could decode any more, per board as its latest check saw them: their
  procedure is unknown until someone reads the posting's printed code, so they are listed (with
  the photo) but cannot be on the print sheet. They leave the list when a later check of the
  board no longer shows them.

A posting leaves the list when a print of it (or of its successor) is recorded at its location
after it was last seen (`qrcheck reprint --done CODE --location NAME`), or when a newer posting
of the same procedure has been seen at that location since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from qrcheck.catalog import Catalog, CatalogView, Procedure
from qrcheck.center import CenterSettings
from qrcheck.generate import posting_content
from qrcheck.links.verdict import judge
from qrcheck.posting import PostingContent
from qrcheck.store import Posting, PrintRecord, Store, latest_state, now

#: the message key of each reason (literal keys: tests/test_i18n.py checks that they exist)
REASON_KEYS = {
    "grade": "store.why_grade",
    "outdated": "store.why_outdated",
    "legacy": "store.why_legacy",
    "replaced": "store.why_replaced",
    "dead": "store.why_dead",
    "scheduled_new": "store.why_scheduled_new",
    "scheduled_amended": "store.why_scheduled_amended",
    "scheduled_replaced": "store.why_scheduled_replaced",
    "unreadable": "store.why_unreadable",
}
LINK_REASONS = ("outdated", "legacy", "replaced", "dead")
SCHEDULED_KINDS = ("new", "amended", "replaced")


@dataclass(frozen=True)
class Reason:
    kind: str  # a key of REASON_KEYS
    params: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return REASON_KEYS[self.kind]


@dataclass(frozen=True)
class ReprintItem:
    """One posting to print and put up at `location` ('' when it is on no board yet)."""

    location: str
    #: the procedure to print (the successor of a replaced one; '' for codes no one can read,
    #: whose procedure only the posting's printed text tells)
    code: str
    #: the procedure of the posting now on the wall (None when there is none)
    posting: str | None
    reasons: tuple[Reason, ...]
    text: str | None = None
    last_seen: str = ""
    #: for a scheduled change: the date it takes effect (print the version in force then)
    due: date | None = None


def _target(procedure: str | None, view: CatalogView) -> str | None:
    """The procedure to print for a posting of `procedure`: itself, or its successor."""
    seen: set[str] = set()
    code = procedure
    while code is not None and code not in seen:
        seen.add(code)
        proc = view.procedures.get(code)
        if proc is None:
            return None
        if proc.state == "replaced" and proc.replaced_by:
            code = proc.replaced_by
            continue
        return code if proc.in_force else None
    return None


def _printed_after(
    prints: Sequence[PrintRecord], location: str, codes: set[str], after: str
) -> bool:
    return any(
        p.location == location and p.procedure in codes and p.recorded_at > after for p in prints
    )


def reprint_list(store: Store, view: CatalogView, center: CenterSettings, days: int) -> list:
    """Everything that needs printing now (see the module docstring), sorted by location."""
    postings = {p.id: p for p in store.postings()}
    states = latest_state(store.observations())
    prints = store.prints()
    items: dict[tuple[str, str | None, str], ReprintItem] = {}

    def superseded(posting: Posting) -> bool:
        """A newer posting of the same procedure has been seen at the same place since."""
        return any(
            other.id != posting.id
            and other.location == posting.location
            and other.procedure == posting.procedure
            and other.first_seen > posting.last_seen
            for other in postings.values()
        )

    for posting_id, obs in states.items():
        posting = postings[posting_id]
        if superseded(posting):
            continue
        verdict = judge(posting.text, view, center)
        status = verdict.status
        if obs.status == "dead" and status == "current":
            status = "dead"  # the live check found it broken; the catalog cannot tell
        reasons: list[Reason] = []
        if obs.grade in ("D", "F") and obs.action != "retake":
            reasons.append(Reason("grade", {"grade": obs.grade}))
        if status in LINK_REASONS:
            procedure = verdict.procedure or posting.procedure
            successor = ""
            proc = view.procedures.get(procedure or "")
            if proc is not None and proc.replaced_by:
                successor = proc.replaced_by
            reasons.append(Reason(status, {"code": procedure or "", "successor": successor}))
        if not reasons:
            continue
        procedure = verdict.procedure or posting.procedure
        target = _target(procedure, view)
        if target is None:
            continue  # abolished or unknown: nothing to print (the check says remove/investigate)
        codes = {target, procedure or target}
        if _printed_after(prints, posting.location, codes, posting.last_seen):
            continue
        items[(posting.location, procedure, target)] = ReprintItem(
            posting.location, target, procedure, tuple(reasons), posting.text, posting.last_seen
        )

    # scheduled changes due within `days`, at every board where the procedure hangs
    for change in view.upcoming_within(days):
        if change.kind not in SCHEDULED_KINDS:
            continue
        target = change.successor if change.kind == "replaced" and change.successor else change.code
        where = sorted(
            {
                (p.location, p.last_seen)
                for p in postings.values()
                if p.procedure == change.code and not superseded(p)
            }
        )
        places: dict[str, str] = {}
        for location, seen in where:
            places[location] = max(seen, places.get(location, ""))
        if not places:
            places[""] = ""
        reason = Reason(
            f"scheduled_{change.kind}",
            {
                "code": change.code,
                "successor": change.successor,
                "date": change.when.strftime("%d/%m/%Y"),
            },
        )
        for location, seen in places.items():
            codes = {target, change.code}
            if _printed_after(prints, location, codes, seen):
                continue
            key = (location, change.code if location else None, target)
            held = items.get(key)
            if held is not None:
                items[key] = ReprintItem(
                    held.location,
                    held.code,
                    held.posting,
                    (*held.reasons, reason),
                    held.text,
                    held.last_seen,
                    change.when,
                )
            else:
                items[key] = ReprintItem(
                    location,
                    target,
                    change.code if location else None,
                    (reason,),
                    None,
                    seen,
                    change.when,
                )
    # codes nobody can read any more: which procedure they were is unknown (the posting's
    # printed code tells), so they are listed for staff to look at but not on the print sheet
    for lost in store.unreadable_codes():
        reason = Reason(
            "unreadable", {"count": lost.count, "photo": Path(lost.photo).name or lost.photo}
        )
        items[(lost.location, None, "")] = ReprintItem(
            lost.location, "", None, (reason,), None, lost.checked_at
        )
    return sorted(items.values(), key=lambda i: (i.location == "", i.location, i.code))


@dataclass(frozen=True)
class PostingState:
    """A posting on a wall as the history last saw it, judged against today's catalog."""

    location: str
    procedure: str | None
    text: str
    grade: str
    score: float
    status: str
    action: str
    first_seen: str
    last_seen: str
    sightings: int


def posting_states(store: Store, view: CatalogView, center: CenterSettings) -> list[PostingState]:
    """Every posting with its latest grade, link verdict (judged again today) and action."""
    from qrcheck.check import decide
    from qrcheck.grade import Grade

    observations = store.observations()
    sightings: dict[int, int] = {}
    for obs in observations:
        if obs.posting_id is not None:
            sightings[obs.posting_id] = sightings.get(obs.posting_id, 0) + 1
    states = latest_state(observations)
    result = []
    for posting in store.postings():
        obs = states.get(posting.id)
        if obs is None:
            continue
        verdict = judge(posting.text, view, center)
        if obs.status == "dead" and verdict.status == "current":
            verdict = replace(verdict, status="dead")
        retake = obs.reason if obs.action == "retake" else None
        action, _ = decide(Grade(obs.grade, obs.score, {}, retake), verdict)
        result.append(
            PostingState(
                posting.location,
                verdict.procedure or posting.procedure,
                posting.text,
                obs.grade,
                obs.score,
                verdict.status,
                action,
                posting.first_seen,
                posting.last_seen,
                sightings.get(posting.id, 0),
            )
        )
    return result


def record_done(store: Store, view: CatalogView, code: str, location: str, when: date) -> bool:
    """Record that a new posting of `code` was put up at `location`; False for an unknown code."""
    proc = view.procedures.get(code)
    if proc is None:
        return False
    store.record_prints(
        [PrintRecord(code, proc.tag, proc.payload, when.isoformat(), now(), location, "done")]
    )
    return True


def posting_for(catalog: Catalog, item: ReprintItem, when: date) -> Procedure | None:
    """The catalog record to print for an item: in force today, or on its due date."""
    view = catalog.as_of(item.due if item.due and item.due > when else when)
    proc = view.procedures.get(item.code)
    return proc if proc is not None and proc.in_force else None


def sheet_contents(
    catalog: Catalog, items: Sequence[ReprintItem], when: date
) -> list[PostingContent]:
    """The postings of a print sheet for `items` (one per item; the generator's layout)."""
    center = catalog.center
    contents = []
    for item in items:
        proc = posting_for(catalog, item, when)
        if proc is None:
            continue
        contents.append(posting_content(proc, center, when))
    return contents
