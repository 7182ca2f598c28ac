"""Rounds of photos: the photos of one board taken in one visit, and the postings they show.

A board is usually photographed in several overlapping photos. The photos of one location taken
in one visit (one `check` run, one upload on the web page, or photos of the location checked
within `CenterSettings.round_minutes` of the round's first photo) form a **round**; a posting
seen in two photos of a round is one posting, decoded or not.

Two sightings in different photos are the same posting when:

1. they hold the same decoded text (a text shown twice in one photo is two postings);
2. the photos are registered to each other and one lands on the other: the homography between
   two photos comes from the corners of the decoded codes both show (a board is flat, so the
   corners of one shared code fix it near that code; two or more codes, fitted with RANSAC,
   fix it across the photo), and a code lands on another when its centre maps to within
   `SAME_SPOT` of that code's side and its size agrees within `SAME_SIZE`, or when its centre
   maps inside the other code (postings never overlap; a code cut by the frame is located
   smaller than it is);
3. neither holds a text, the photos cannot be registered, and both were identified from their
   printed text as the same procedure (shown once in each photo).

Two different decoded texts are always two postings. Sightings that nothing ties together stay
separate postings: a round never drops what it saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

#: photos of one location checked within this many minutes of each other are one round
#: (`center.toml`: `[boards] round_minutes`)
ROUND_MINUTES = 60
#: a code lands on another when its mapped centre is within this share of the other's side
SAME_SPOT = 0.35
#: ...and their sides (after mapping) are within this ratio of each other
SAME_SIZE = 1.3
#: with a single shared code, the homography is trusted only this many code sides away from it
ONE_CODE_REACH = 4.0
#: a homography whose shared corners land further than this share of a side from where the
#: other photo sees them is not trusted (the shared codes disagree: a wrong match)
FIT_TOLERANCE = 0.15


@dataclass(frozen=True)
class Sighting:
    """One code as one photo of a round shows it."""

    corners: tuple[tuple[float, float], ...]
    text: str | None
    #: the procedure the code was identified as from its printed text (undecoded codes only)
    identified: str | None = None

    @cached_property
    def center(self) -> np.ndarray:
        return np.asarray(self.corners, dtype=np.float64).mean(axis=0)

    @cached_property
    def side(self) -> float:
        c = np.asarray(self.corners, dtype=np.float64)
        return float(np.mean(np.linalg.norm(c - np.roll(c, -1, axis=0), axis=1)))


def _unique_texts(photo: Sequence[Sighting]) -> dict[str, Sighting]:
    counts = Counter(s.text for s in photo if s.text is not None)
    return {s.text: s for s in photo if s.text is not None and counts[s.text] == 1}


@dataclass(frozen=True)
class Registration:
    """The homography taking pixels of one photo to another, and where it can be trusted."""

    matrix: np.ndarray
    #: centres (in the source photo) of the shared codes it was fitted on, and their sides
    anchors: tuple[tuple[float, float, float], ...]

    def reaches(self, point: np.ndarray) -> bool:
        if len(self.anchors) >= 2:
            return True
        x, y, side = self.anchors[0]
        return float(np.hypot(point[0] - x, point[1] - y)) <= ONE_CODE_REACH * side

    def map(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.matrix).reshape(-1, 2)


def register(source: Sequence[Sighting], target: Sequence[Sighting]) -> Registration | None:
    """The registration taking `source`'s pixels to `target`'s, from the decoded codes both
    photos show once each; None when they share none or the shared codes disagree."""
    a, b = _unique_texts(source), _unique_texts(target)
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    src = np.array([p for text in shared for p in a[text].corners], dtype=np.float64)
    dst = np.array([p for text in shared for p in b[text].corners], dtype=np.float64)
    if len(shared) == 1:
        matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    else:
        tolerance = FIT_TOLERANCE * min(b[text].side for text in shared)
        matrix, _ = cv2.findHomography(src, dst, cv2.RANSAC, max(tolerance, 1.0))
    if matrix is None or not np.all(np.isfinite(matrix)):
        return None
    registration = Registration(matrix, tuple((*a[text].center, a[text].side) for text in shared))
    # every shared code must land where the other photo sees it
    landed = registration.map(src)
    error = np.linalg.norm(landed - dst, axis=1).reshape(len(shared), 4).max(axis=1)
    if any(e > FIT_TOLERANCE * b[t].side for e, t in zip(error, shared, strict=True)):
        return None
    return registration


def lands_on(registration: Registration, code: Sighting, other: Sighting) -> bool:
    """True when `code` (in the registration's source photo) maps onto `other`."""
    if not registration.reaches(code.center):
        return False
    mapped = registration.map(np.asarray(code.corners))
    centre = mapped.mean(axis=0)
    side = float(np.mean(np.linalg.norm(mapped - np.roll(mapped, -1, axis=0), axis=1)))
    near = float(np.hypot(*(centre - other.center))) <= SAME_SPOT * other.side
    if near and max(side, other.side) <= SAME_SIZE * max(min(side, other.side), 1.0):
        return True
    # two postings never overlap: a code whose centre lies inside the other's square (a part
    # of a code cut by the frame, located smaller than it is) is that code
    inside = np.asarray(other.corners, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(inside, (float(centre[0]), float(centre[1])), False) > 0


def group_postings(photos: Sequence[Sequence[Sighting]]) -> list[list[tuple[int, int]]]:
    """The postings a round of photos shows: each a list of (photo index, code index), in the
    order first seen. Every sighting is in exactly one posting (see the module docstring)."""
    keys = [(p, c) for p, photo in enumerate(photos) for c in range(len(photo))]
    index = {key: k for k, key in enumerate(keys)}
    parent = list(range(len(keys)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def join(a: tuple[int, int], b: tuple[int, int]) -> None:
        parent[root(index[a])] = root(index[b])

    unique = [_unique_texts(photo) for photo in photos]
    # 1. the same decoded text (shown once in each photo): one posting
    first: dict[str, tuple[int, int]] = {}
    for p, photo in enumerate(photos):
        for c, sighting in enumerate(photo):
            if sighting.text is not None and unique[p].get(sighting.text) is sighting:
                if sighting.text in first:
                    join(first[sighting.text], (p, c))
                else:
                    first[sighting.text] = (p, c)
    # undecoded codes are matched pair by pair, only where a photo has one
    undecoded = [any(s.text is None for s in photo) for photo in photos]
    identified = [
        Counter(s.identified for s in photo if s.text is None and s.identified) for photo in photos
    ]
    for pa in range(len(photos)):
        for pb in range(pa + 1, len(photos)):
            if not (undecoded[pa] or undecoded[pb]):
                continue
            # 2. registered photos: an undecoded code landing on a code of the other photo
            registration = register(photos[pb], photos[pa])
            if registration is not None:
                for cb, sb in enumerate(photos[pb]):
                    for ca, sa in enumerate(photos[pa]):
                        if sa.text is not None and sb.text is not None:
                            continue  # decoded both: their texts decide
                        if lands_on(registration, sb, sa):
                            join((pa, ca), (pb, cb))
                continue
            # 3. not registered: undecoded codes identified as the same procedure
            for ca, sa in enumerate(photos[pa]):
                if sa.text is not None or not sa.identified or identified[pa][sa.identified] != 1:
                    continue
                for cb, sb in enumerate(photos[pb]):
                    if (
                        sb.text is None
                        and sb.identified == sa.identified
                        and identified[pb][sb.identified] == 1
                    ):
                        join((pa, ca), (pb, cb))
    groups: dict[int, list[tuple[int, int]]] = {}
    for k, key in enumerate(keys):
        groups.setdefault(root(k), []).append(key)
    return list(groups.values())


def split_rounds(times: Sequence[tuple[str, str]], minutes: int) -> list[int]:
    """Round numbers for checks of one location given as (run, checked_at ISO time), oldest
    first. A round begins with a check and takes every check made within `minutes` of that
    first one (so a round never grows longer than `minutes`, however often a board is
    photographed); one run is always one round, however long it took."""
    from datetime import datetime

    rounds: list[int] = []
    number = -1
    began: datetime | None = None
    run_round: dict[str, int] = {}
    for run, checked_at in times:
        when = datetime.fromisoformat(checked_at)
        if run in run_round:
            rounds.append(run_round[run])
            continue
        if began is None or (when - began).total_seconds() > minutes * 60:
            number += 1
            began = when
        run_round[run] = number
        rounds.append(number)
    return rounds
