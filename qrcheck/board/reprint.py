"""The reprint list: everything that needs printing now, with where each posting goes and why.

From the history (`store.py`) and the catalog as of a date:

- postings whose latest check graded them D or F (not when the photo was the cause: `retake`);
- postings whose link is outdated, legacy, replaced by a new code, or was found dead online;
  the link is judged again against today's catalog, so a catalog update is reflected at once;
- scheduled changes (new, amended, replaced) due within N days, at every board where the
  procedure was seen (a new procedure: at no board yet);
- postings whose code no reader decodes any more, in each board's latest round of photos
  (`rounds.py`: a posting seen in several photos of the round is one posting). The posting's
  printed text usually names its procedure (`identify.py`): then it is printed like any other
  item, and the reason says on what the name rests. A posting nobody could name is listed with
  the photo, where in it, and a crop of the posting, but cannot be on the print sheet. Both
  leave the list when a later round of the board no longer shows them.

A posting leaves the list when a print of it (or of its successor) is recorded at its location
after it was last seen (`qrcheck reprint --done CODE --location NAME`), or when a newer posting
of the same procedure has been seen at that location since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from qrcheck.board.annotate import grid_positions
from qrcheck.board.decide import decide, effective_verdict
from qrcheck.board.rounds import Sighting, group_postings
from qrcheck.board.store import (
    Observation,
    Posting,
    PrintRecord,
    RoundPhoto,
    Store,
    StoredCode,
    latest_state,
    now,
)
from qrcheck.catalog.model import Catalog, CatalogView, Procedure
from qrcheck.center import CenterSettings
from qrcheck.links.verdict import judge
from qrcheck.printing.generate import posting_content
from qrcheck.printing.posting import SheetEntry, print_sheet_pdf

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
#: an unreadable posting named from its printed text: the sentence says on what the name rests
NAMED_KEYS = {
    "printed_code": "store.why_unreadable_printed_code",
    "name": "store.why_unreadable_name",
    "link": "store.why_unreadable_link",
}
LINK_REASONS = ("outdated", "legacy", "replaced", "dead")
SCHEDULED_KINDS = ("new", "amended", "replaced")


@dataclass(frozen=True)
class Reason:
    kind: str  # a key of REASON_KEYS
    params: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The reason as a sentence in `lang`."""
        from qrcheck.i18n import t

        return t(self.key, lang, **self.params)

    @property
    def key(self) -> str:
        if self.kind == "unreadable" and self.params.get("code"):
            return NAMED_KEYS.get(str(self.params.get("basis")), NAMED_KEYS["printed_code"])
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
    #: for a posting nobody could name: the stored code whose crop shows it (`Store.crop`)
    crop: int | None = None

    def as_json(self, lang: str) -> dict:
        """The item in `qrcheck reprint --json` (the reprint contract in DESIGN.md)."""
        return {
            "location": self.location,
            "code": self.code or None,
            "posting": self.posting,
            "text": self.text,
            "last_seen": self.last_seen or None,
            "due": self.due.isoformat() if self.due else None,
            "reasons": [{"kind": r.kind, "text": r.text(lang)} for r in self.reasons],
        }


@dataclass(frozen=True)
class LostPosting:
    """A posting of a board's latest round whose code no reader decodes any more."""

    location: str
    #: the procedure its printed text names (None: nobody could name it)
    code: str | None
    basis: str
    read: str
    confidence: float
    #: the photo that shows it first, for staff, and where in it: (row, column) among its codes
    photo: str
    spot: tuple[int, int]
    #: the stored code of that sighting (its crop: `Store.crop`)
    code_id: int
    checked_at: str
    #: how many photos of the round show it
    photos: int


def lost_postings(
    store: Store, minutes: int, rounds: Mapping[str, Sequence[RoundPhoto]] | None = None
) -> list[LostPosting]:
    """The postings of each board's latest round that no reader decodes: one per posting,
    however many photos of the round show it. A posting the round decodes in some photo is not
    lost; one whose every sighting asks for a retake (glare, blur: the photo's fault) is not
    listed either. `rounds`: `Store.latest_rounds(minutes)` when the caller has it."""
    found = []
    rounds = store.latest_rounds(minutes) if rounds is None else rounds
    for location, photos in sorted(rounds.items()):
        sightings = [
            [Sighting(c.corners, c.text, (c.identified or {}).get("code")) for c in photo.codes]
            for photo in photos
        ]
        for group in group_postings(sightings):
            members = [(photos[p], photos[p].codes[c]) for p, c in group]
            if any(code.text is not None for _, code in members):
                continue
            if not any(code.action == "reprint" for _, code in members):
                continue
            named = [
                code.identified
                for _, code in members
                if code.identified and code.identified.get("code")
            ]
            best = max(named, key=lambda i: float(i.get("confidence") or 0.0), default=None)
            photo, first = members[0]
            spot = _row_and_column(photo, first)
            found.append(
                LostPosting(
                    location,
                    str(best["code"]) if best else None,
                    str(best.get("basis", "")) if best else "",
                    str(best.get("read", "")) if best else "",
                    float(best.get("confidence") or 0.0) if best else 0.0,
                    photo.name,
                    spot,
                    first.id,
                    photo.checked_at,
                    len({p.check_id for p, _ in members}),
                )
            )
    return found


def _row_and_column(photo: RoundPhoto, code: StoredCode) -> tuple[int, int]:
    """Where a code is among the codes of its photo (row, column), as the check's result page
    and table say it (`report.grid_positions`)."""
    corners = [np.asarray(c.corners, dtype=np.float64) for c in photo.codes]
    centres = [tuple(c.mean(axis=0)) for c in corners]
    sides = [float(np.mean(np.linalg.norm(c - np.roll(c, -1, axis=0), axis=1))) for c in corners]
    places = grid_positions(centres, sides)  # type: ignore[arg-type]
    return places[[c.id for c in photo.codes].index(code.id)]


def lost_reason(lost: LostPosting) -> Reason:
    """Why a lost posting is listed: on what its name rests, or where to find it unnamed."""
    if lost.code is None:
        row, column = lost.spot
        return Reason("unreadable", {"count": 1, "photo": lost.photo, "row": row, "column": column})
    return Reason(
        "unreadable",
        {"code": lost.code, "basis": lost.basis, "read": lost.read, "photo": lost.photo},
    )


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


def sound_postings(
    postings: dict[int, Posting], states: dict, view: CatalogView, center: CenterSettings
) -> dict[tuple[str, str], str]:
    """(location, procedure) -> when last seen, for postings that hang sound and current."""
    sound: dict[tuple[str, str], str] = {}
    for posting_id, obs in states.items():
        posting = postings[posting_id]
        if obs.grade in ("D", "F") or obs.status == "dead":
            continue
        verdict = judge(posting.text, view, center)
        if verdict.status == "current" and verdict.procedure:
            key = (posting.location, verdict.procedure)
            sound[key] = max(sound.get(key, ""), posting.last_seen)
    return sound


def successor_hangs(posting: Posting, successor: str, sound: dict[tuple[str, str], str]) -> bool:
    """The successor of a replaced posting hangs sound at the same place, seen no earlier than
    the day the old one was last seen: the task is to take the old one down, not to print the
    successor again."""
    if not successor:
        return False
    seen = sound.get((posting.location, successor))
    return seen is not None and seen >= posting.last_seen[:10]


def reprint_list(
    store: Store,
    view: CatalogView,
    center: CenterSettings,
    days: int,
    lost: Sequence[LostPosting] | None = None,
    observations: Sequence[Observation] | None = None,
) -> list:
    """Everything that needs printing now (see the module docstring), sorted by location.
    `lost` and `observations`: the boards' lost postings (`lost_postings`) and
    `Store.observations()` when the caller has them."""
    postings = {p.id: p for p in store.postings()}
    states = latest_state(store.observations() if observations is None else observations)
    prints = store.prints()
    sound = sound_postings(postings, states, view, center)
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
        # a link the live check found broken is dead, whatever the catalog says
        verdict = effective_verdict(judge(posting.text, view, center), obs.status)
        status = verdict.status
        reasons: list[Reason] = []
        if obs.grade in ("D", "F") and obs.action != "retake":
            reasons.append(Reason("grade", {"grade": obs.grade}))
        if status in LINK_REASONS:
            procedure = verdict.procedure or posting.procedure
            successor = ""
            proc = view.procedures.get(procedure or "")
            if proc is not None and proc.replaced_by:
                successor = proc.replaced_by
            if status == "replaced" and successor and successor_hangs(posting, successor, sound):
                continue  # take the old one down (the boards page says so); nothing to print
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
    # postings whose code nobody can read any more: printed again when their text names them
    lost = lost_postings(store, center.round_minutes) if lost is None else lost
    for one in lost:
        reason = lost_reason(one)
        if one.code is None:
            items[(one.location, None, f"~{one.code_id}")] = ReprintItem(
                one.location, "", None, (reason,), None, one.checked_at, crop=one.code_id
            )
            continue
        target = _target(one.code, view)
        if target is None:
            continue  # abolished or unknown: nothing to print
        if _printed_after(prints, one.location, {target, one.code}, one.checked_at):
            continue
        if target != one.code:
            successor = view.procedures[one.code].replaced_by or target
            replaced = Reason("replaced", {"code": one.code, "successor": successor})
            reasons: tuple[Reason, ...] = (reason, replaced)
        else:
            reasons = (reason,)
        key = (one.location, one.code, target)
        held = items.get(key)
        if held is not None:
            items[key] = replace(held, reasons=(*held.reasons, *reasons))
        else:
            items[key] = ReprintItem(
                # `text`: what the name rests on, as read off the posting (the JSON contract)
                one.location,
                target,
                one.code,
                reasons,
                one.read or None,
                one.checked_at,
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


def posting_states(
    store: Store,
    view: CatalogView,
    center: CenterSettings,
    observations: Sequence[Observation] | None = None,
) -> list[PostingState]:
    """Every posting with its latest grade, link verdict (judged again today) and action
    (`observations`: `Store.observations()` when the caller has them)."""
    from qrcheck.grade.measure import Grade

    observations = store.observations() if observations is None else observations
    sightings: dict[int, int] = {}
    for obs in observations:
        if obs.posting_id is not None:
            sightings[obs.posting_id] = sightings.get(obs.posting_id, 0) + 1
    states = latest_state(observations)
    postings = {p.id: p for p in store.postings()}
    sound = sound_postings(postings, states, view, center)
    result = []
    for posting in postings.values():
        obs = states.get(posting.id)
        if obs is None:
            continue
        verdict = effective_verdict(judge(posting.text, view, center), obs.status)
        retake = obs.reason if obs.action == "retake" else None
        action, _ = decide(Grade(obs.grade, obs.score, {}, retake), verdict)
        successor = str(verdict.detail_params.get("successor", ""))
        if verdict.status == "replaced" and successor_hangs(posting, successor, sound):
            action = "remove"
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


def record_done(
    store: Store, view: CatalogView, code: str, location: str, when: date, who: str = ""
) -> bool:
    """Record that a new posting of `code` was put up at `location` (by `who`); False for an
    unknown code."""
    proc = view.procedures.get(code)
    if proc is None:
        return False
    store.record_prints(
        [PrintRecord(code, proc.tag, proc.payload, when.isoformat(), now(), location, "done", who)]
    )
    return True


def posting_for(catalog: Catalog, item: ReprintItem, when: date) -> Procedure | None:
    """The catalog record to print for an item: in force today, or on its due date."""
    view = catalog.as_of(item.due if item.due and item.due > when else when)
    proc = view.procedures.get(item.code)
    return proc if proc is not None and proc.in_force else None


def sheet_contents(catalog: Catalog, items: Sequence[ReprintItem], when: date) -> list[SheetEntry]:
    """The postings of a print sheet for `items` (one per item; the generator's layout), each
    with the board it goes to; a posting printed ahead of its change says from when it applies."""
    center = catalog.center
    entries = []
    for item in items:
        proc = posting_for(catalog, item, when)
        if proc is None:
            continue
        content = posting_content(proc, center, when)
        starts = proc.effective_from
        if item.due is not None and item.due > when:
            starts = max(starts or item.due, item.due)
        if starts is not None and starts > when:
            content = replace(content, applies_from=starts)
        entries.append(SheetEntry(content, item.location))
    return entries


def sheet_pdf(catalog: Catalog, items: Sequence[ReprintItem], when: date) -> tuple[bytes, int]:
    """The print sheet of `items` (`qrcheck reprint --sheet`, the web page's sheet): the PDF
    and how many postings it holds (0: nothing to print, no PDF)."""
    entries = sheet_contents(catalog, items, when)
    if not entries:
        return b"", 0
    title = f"{catalog.center.name} · {when:%d/%m/%Y}"
    return print_sheet_pdf(entries, title, paper=catalog.center.paper), len(entries)
