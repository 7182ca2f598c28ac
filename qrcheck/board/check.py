"""Check photos of boards: every code located, graded, judged against the catalog, and acted on.

`check_photos` runs the whole pipeline on many photos, in worker processes when there are
several (one photo per process at a time; a photo that cannot be read becomes an error entry and
the others go on). Results are typed; rendering (terminal, JSON, annotated images) lives in
`report.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qrcheck.board.decide import decide
from qrcheck.board.results import CheckReport, CodeResult, PhotoResult
from qrcheck.board.rounds import Sighting, group_postings
from qrcheck.catalog.model import CatalogView, Row
from qrcheck.center import CenterSettings
from qrcheck.errors import QrcheckError
from qrcheck.grade.measure import Grade, grade_code, unmeasured_grade
from qrcheck.links.verdict import Verdict, judge
from qrcheck.vision.locate import LocateOptions, locate_codes
from qrcheck.vision.photos import PhotoError, find_photos, load_photo, posting_crop
from qrcheck.vision.shapes import Located
from qrcheck.workers import worker_pool

if TYPE_CHECKING:
    from qrcheck.vision.identify import Identification

#: names the posting of an undecoded code from its printed text: (photo gray, corners,
#: procedures) -> Identification (`qrcheck.vision.identify.identify_posting`; tests pass others)
Identifier = Callable[[np.ndarray, Sequence[tuple[float, float]], dict], "Identification"]

_log = logging.getLogger("qrcheck")


def check_photo(
    path: Path,
    view: CatalogView,
    center: CenterSettings,
    location: str = "",
    annotate_to: Path | None = None,
    lang: str = "vi",
    options: LocateOptions = LocateOptions(),
    history: Sequence[Row] = (),
    locator: Callable[[np.ndarray, LocateOptions], list[Located]] = locate_codes,
    identifier: Identifier | None = None,
) -> PhotoResult:
    """Check one photo; an unreadable photo gives a result with `error` set, never an exception.

    With `annotate_to`, a copy of the photo with every code outlined is written there.
    `locator` is `locate_codes` (tests pass others); `identifier` names the posting of a code
    that no longer decodes from its printed text (default `vision.identify.identify_posting`).
    `history`: catalog rows of earlier versions too, so an outdated posting can say what changed.
    """
    place = location or path.parent.name
    try:
        photo = load_photo(path)
    except PhotoError as exc:
        return PhotoResult(path, location=place, error=exc)
    codes = [
        code_result(located, photo.gray, view, center, history, where=str(path))
        for located in _locate(photo.gray, options, locator, where=str(path))
    ]
    codes = [
        code
        if code.located.decoded
        else _undecoded(code, photo.rgb, photo.gray, view, identifier, where=str(path))
        for code in codes
    ]
    result = PhotoResult(path, photo.width, photo.height, photo.sha256, place, tuple(codes))
    if annotate_to is not None:
        from qrcheck.board.annotate import annotate, save_annotated

        save_annotated(annotate(photo.rgb, result, lang), annotate_to)
        result = replace(result, annotated=annotate_to)
    return result


#: the reader stack's first pass alone (zxing-cpp), when a stronger pass failed on a photo
ZXING_ONLY = LocateOptions(
    use_opencv=False, use_finders=False, use_zbar=False, use_faint=False, use_layout=False
)


def _locate(
    gray: np.ndarray,
    options: LocateOptions,
    locator: Callable[[np.ndarray, LocateOptions], list[Located]],
    where: str,
) -> list[Located]:
    """The codes of a photo. A fault in one of the reader stack's stronger passes does not cost
    the photo: the codes zxing-cpp alone finds are still reported (the error is logged); only a
    fault of that first pass too makes the photo an error."""
    try:
        return locator(gray, options)
    except Exception as exc:
        if options == ZXING_ONLY:
            raise
        _log.warning("locating codes in %s failed; zxing-cpp alone is used", where, exc_info=exc)
        return locator(gray, ZXING_ONLY)


def code_result(
    located: Located,
    gray: np.ndarray | None,
    view: CatalogView,
    center: CenterSettings,
    history: Sequence[Row] = (),
    where: str = "",
    grader: Callable[[Located, np.ndarray | None], Grade] = grade_code,
) -> CodeResult:
    """Grade, judge and decide one located code. An error while grading or judging costs this
    code's measurement or verdict only: the code is still reported (where it is, its text), with
    a grade from its decode alone and a sentence saying it could not be measured, or a verdict
    saying its link could not be judged; the error goes to the log for the IT officer."""
    note = None
    try:
        grade = grader(located, gray)
    except Exception as exc:
        _log.warning("grading the code at %s in %s failed", located.center, where, exc_info=exc)
        grade = unmeasured_grade(located, f"{type(exc).__name__}: {exc}"[:200])
        note = "grade.not_measured"
    try:
        verdict = judge(located.text, view, center, history)
    except Exception as exc:
        _log.warning("judging the link of the code at %s in %s failed", located.center, where,
                     exc_info=exc)  # fmt: skip
        verdict = Verdict("unknown", detail_key="links.not_judged", link=located.text)
    action, reason = decide(grade, verdict)
    return CodeResult(located, grade, verdict, action, reason or note)


def _default_identifier() -> Identifier:
    from qrcheck.vision.identify import identify_posting

    return identify_posting


def _undecoded(
    code: CodeResult,
    rgb: np.ndarray,
    gray: np.ndarray,
    view: CatalogView,
    identifier: Identifier | None,
    where: str = "",
) -> CodeResult:
    """An undecoded code with its posting's crop and, when its printed text names it, the
    procedure (kept as the verdict's procedure, status still `unreadable`). A failure here
    costs only the name or the crop (logged). A code cut by the photo's edge is a retake."""
    photo = code.grade.metrics.get("photo")
    module_px = photo.get("module_px") if isinstance(photo, dict) else None
    if cut_by_edge(code.located, gray.shape, float(module_px) if module_px else None):
        code = replace(code, action="retake", reason="grade.retake_cut")
    try:
        crop = posting_crop(rgb, code.located.corners)
    except Exception as exc:
        _log.warning("cropping the code at %s in %s failed", code.located.center, where,
                     exc_info=exc)  # fmt: skip
        crop = None
    try:
        identify = identifier or _default_identifier()
        found = identify(gray, code.located.corners, dict(view.procedures))
    except Exception as exc:
        _log.warning("reading the posting around the code at %s in %s failed",
                     code.located.center, where, exc_info=exc)  # fmt: skip
        return replace(code, crop=crop)
    verdict = code.verdict
    if found is not None and found.code and verdict.status == "unreadable":
        verdict = replace(
            verdict,
            procedure=found.code,
            # worded by `describe` with the identification's own evidence sentence
            detail_key="verdict.identified",
            detail_params=found.as_json(),
        )
    return replace(code, verdict=verdict, identified=found, crop=crop)


#: the quiet zone a code needs, in modules: an undecoded code closer than this to the photo's
#: edge has it cut by the frame; when the module size could not be measured, a share of the
#: code's side stands for it (4 modules of the smallest code, 21 modules wide)
QUIET_MODULES = 4
EDGE_SHARE = 4 / 21


def cut_by_edge(located: Located, shape: tuple[int, ...], module_px: float | None = None) -> bool:
    """The code or its quiet zone runs into (or past) the edge of the photo: the photo, not the
    print, is why it does not decode (boards are photographed in overlapping shots; the next
    shot shows it). `module_px`: the measured module size, when known."""
    height, width = shape[:2]
    xs = [float(x) for x, _ in located.corners]
    ys = [float(y) for _, y in located.corners]
    side = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    margin = QUIET_MODULES * module_px if module_px else EDGE_SHARE * side
    return (
        min(xs) < margin
        or min(ys) < margin
        or max(xs) > width - 1 - margin
        or max(ys) > height - 1 - margin
    )


def sighting(code: CodeResult) -> Sighting:
    """A code as `rounds.group_postings` matches it across the photos of a round."""
    named = code.identified.code if code.identified is not None else None
    return Sighting(tuple(map(tuple, code.located.corners)), code.located.text, named)


def _check_one(args: tuple) -> PhotoResult:
    return check_photo(*args)


def _failed(job: tuple, exc: BaseException) -> PhotoResult:
    """The entry of a photo whose check crashed (a bug or the machine, not the photo's fault)."""
    reason = f"{type(exc).__name__}: {exc}"[:200]
    return PhotoResult(job[0], location=job[3], error=QrcheckError("check.failed", reason=reason))


def check_photos(
    paths: Sequence[Path],
    view: CatalogView,
    center: CenterSettings,
    location: str = "",
    workers: int = 1,
    annotate_dir: Path | None = None,
    lang: str = "vi",
    progress: Callable[[PhotoResult, int, int], None] | None = None,
    history: Sequence[Row] = (),
) -> CheckReport:
    """Check every photo under `paths` (files or folders, searched recursively)."""
    from qrcheck.board.annotate import annotated_name

    files, missing = find_photos(paths)
    results: list[PhotoResult] = [PhotoResult(p, error=e) for p, e in missing]
    taken: set[str] = set()
    jobs = [
        (
            p,
            view,
            center,
            location,
            annotate_dir / annotated_name(PhotoResult(p), taken) if annotate_dir else None,
            lang,
            LocateOptions(),
            tuple(history),
        )
        for p in files
    ]
    total = len(jobs)
    done: dict[int, PhotoResult] = {}

    def finish(index: int, result: PhotoResult) -> None:
        done[index] = result
        if progress:
            progress(result, len(done), total)

    if workers > 1 and total > 1:
        with worker_pool(min(workers, total)) as pool:  # its workers die with this process
            futures = {pool.submit(_check_one, job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                index = futures[future]
                try:
                    finish(index, future.result())
                except Exception as exc:  # a crashed worker costs that photo only
                    finish(index, _failed(jobs[index], exc))
    else:
        for index, job in enumerate(jobs):
            try:
                finish(index, _check_one(job))
            except Exception as exc:
                finish(index, _failed(job, exc))
    results += [done[i] for i in range(total)]
    return CheckReport(tuple(finish_round(results)))


def finish_round(photos: Sequence[PhotoResult]) -> list[PhotoResult]:
    """What the photos of one round (one run, one upload) say together: the best grade of
    every posting seen in several of them (`keep_best`), and a replaced posting whose successor
    hangs sound on the same board to be taken down (`successors_on_board`). `check_photos`
    and the web page's batches both end with it."""
    return successors_on_board(keep_best(photos))


#: actions of a posting that hangs sound on its board
SOUND = ("ok", "monitor")


def successors_on_board(photos: Sequence[PhotoResult]) -> list[PhotoResult]:
    """A replaced procedure's posting whose successor already hangs, sound and current, on the
    same board (in a photo of the same location): the task is to take the old posting down,
    not to print the successor again (action `remove`, reason `round.successor_on_board`)."""
    sound: dict[str, set[str]] = {}
    for photo in photos:
        for code in photo.codes:
            if code.located.decoded and code.verdict.procedure and code.action in SOUND:
                sound.setdefault(photo.location, set()).add(code.verdict.procedure)
    result = []
    for photo in photos:
        here = sound.get(photo.location, set())
        codes = tuple(
            replace(code, action="remove", reason="round.successor_on_board")
            if code.verdict.status == "replaced"
            and str(code.verdict.detail_params.get("successor", "")) in here
            else code
            for code in photo.codes
        )
        result.append(replace(photo, codes=codes) if codes != photo.codes else photo)
    return result


def keep_best(photos: Sequence[PhotoResult]) -> list[PhotoResult]:
    """The best grade for every posting seen in several photos, as verifiers keep the best of
    several scans: a glare spot or a blurred shot in one photo does not condemn a posting that
    another photo of the same location shows sound.

    The photos of one location are a round (`rounds.py`): codes are the same posting when they
    hold the same text, or when the photos are registered to each other by the decoded codes
    they share and one code lands on the other (an undecoded code is matched this way), or when
    two undecoded codes were identified as the same procedure from their printed text. Every
    decoded code of such a group takes the best grade and the action it calls for with its link
    verdict; `metrics["best_of"]` records which photo gave it and what this photo alone showed.
    An undecoded code keeps its F (the JSON contract grades every undecoded code F);
    `metrics["better_in"]` names the photo where the same posting reads better, and
    `metrics["same_as"]` the photo and code index of its first sighting in the round.
    """
    readable = [(i, photo) for i, photo in enumerate(photos) if photo.error is None]
    if len({photo.path for _, photo in readable}) < 2:
        return list(photos)
    entries: list[tuple[int, int, PhotoResult, CodeResult]] = []
    groups: list[list[int]] = []
    by_location: dict[str, list[tuple[int, PhotoResult]]] = {}
    for i, photo in readable:
        by_location.setdefault(photo.location, []).append((i, photo))
    for members in by_location.values():
        sightings = [[sighting(code) for code in photo.codes] for _, photo in members]
        for group in group_postings(sightings):
            keys = []
            for p, c in group:
                p_index, photo = members[p]
                keys.append(len(entries))
                entries.append((p_index, c, photo, photo.codes[c]))
            groups.append(keys)

    updated = {(p, c): code for p, c, _, code in entries}
    for members in groups:
        if len(members) < 2:
            continue

        def rank(k: int) -> tuple[float, bool, bool]:
            code = entries[k][3]
            return (code.grade.score, code.located.decoded, code.grade.retake is None)

        best_index = max(members, key=rank)
        _, _, best_photo, best = entries[best_index]
        _, first_c, first_photo, _ = entries[members[0]]
        for k in members[1:]:  # later sightings point at the first: one posting, counted once
            p_index, c_index, _, code = entries[k]
            same_as = {"photo": str(first_photo.path), "index": first_c}
            metrics = {**code.grade.metrics, "same_as": same_as}
            updated[(p_index, c_index)] = replace(code, grade=replace(code.grade, metrics=metrics))
        for k in members:
            p_index, c_index, _, _ = entries[k]
            code = updated[(p_index, c_index)]
            if k == best_index or rank(k) >= rank(best_index):
                continue
            note = {
                "photo": str(best_photo.path),
                "photos": len(members),
                "this_photo": {"grade": code.grade.grade, "score": code.grade.score},
            }
            if not code.located.decoded or not best.located.decoded:
                # the contract grades an undecoded code F: only say where it reads better; when
                # another photo of the round decodes it, this photo (not the posting) failed
                metrics = {**code.grade.metrics, "better_in": {**note, "grade": best.grade.grade}}
                grade = replace(code.grade, metrics=metrics)
                if best.located.decoded and not code.located.decoded:
                    updated[(p_index, c_index)] = replace(
                        code, grade=grade, action="retake",
                        reason="round.read_in_other",
                    )  # fmt: skip
                else:
                    updated[(p_index, c_index)] = replace(code, grade=grade)
                continue
            grade = replace(best.grade, metrics={**best.grade.metrics, "best_of": note})
            action, reason = decide(grade, code.verdict)
            updated[(p_index, c_index)] = replace(code, grade=grade, action=action, reason=reason)
    return [
        replace(photo, codes=tuple(updated[(i, c)] for c in range(len(photo.codes))))
        if photo.error is None
        else photo
        for i, photo in enumerate(photos)
    ]


def refresh_annotations(before: CheckReport, after: CheckReport, lang: str = "vi") -> None:
    """Draw the annotated photos again where a later step (live link checks) changed an action.

    Photos are annotated in the workers, before links are checked online; a code whose link
    turns out dead must not keep its earlier colour on the photo staff look at.
    """
    from qrcheck.board.annotate import annotate, save_annotated

    for old, new in zip(before.photos, after.photos, strict=True):
        if new.annotated is None or [c.action for c in old.codes] == [c.action for c in new.codes]:
            continue
        try:
            photo = load_photo(new.path)
        except PhotoError:
            continue  # the photo went away since it was checked: keep the first drawing
        save_annotated(annotate(photo.rgb, new, lang), new.annotated)
