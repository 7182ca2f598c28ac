"""Check photos of boards: every code located, graded, judged against the catalog, and acted on.

`check_photos` runs the whole pipeline on many photos, in worker processes when there are
several (one photo per process at a time; a photo that cannot be read becomes an error entry and
the others go on). Results are typed; rendering (terminal, JSON, annotated images) lives in
`report.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from qrcheck.catalog import CatalogView
from qrcheck.center import CenterSettings
from qrcheck.errors import QrcheckError
from qrcheck.grade import Grade, grade_code
from qrcheck.links.verdict import Verdict, judge
from qrcheck.locate import Located, LocateOptions, locate_codes
from qrcheck.photos import PhotoError, find_photos, load_photo

ACTIONS = ("ok", "monitor", "reprint", "remove", "investigate", "retake")
#: actions that mean "nothing to do now" for the exit status
AT_EASE = ("ok", "monitor")


@dataclass(frozen=True)
class CodeResult:
    located: Located
    grade: Grade
    verdict: Verdict
    action: str
    #: message key explaining the action (e.g. how to retake the photo)
    reason: str | None = None


@dataclass(frozen=True)
class PhotoResult:
    path: Path
    width: int = 0
    height: int = 0
    sha256: str = ""
    location: str = ""
    codes: tuple[CodeResult, ...] = ()
    error: QrcheckError | None = None
    annotated: Path | None = None


@dataclass(frozen=True)
class CheckReport:
    photos: tuple[PhotoResult, ...]

    @property
    def codes(self) -> list[CodeResult]:
        return [c for p in self.photos for c in p.codes]

    def by_action(self) -> dict[str, int]:
        return dict(Counter(c.action for c in self.codes))

    def by_status(self) -> dict[str, int]:
        return dict(Counter(c.verdict.status for c in self.codes))

    @property
    def readable_photos(self) -> int:
        return sum(1 for p in self.photos if p.error is None)

    def exit_status(self) -> int:
        """0 all codes ok or monitor; 1 something needs action; 2 no photo could be read."""
        if not self.photos or self.readable_photos == 0:
            return 2
        return 0 if all(c.action in AT_EASE for c in self.codes) else 1


def decide(grade: Grade, verdict: Verdict) -> tuple[str, str | None]:
    """The action a code calls for, from its grade and its link verdict (the stronger wins)."""
    status = verdict.status
    if status in ("foreign", "unknown", "not_a_link"):
        return "investigate", None
    if status == "abolished":
        return "remove", None
    if grade.retake and grade.grade in ("D", "F"):
        return "retake", grade.retake
    if status in ("outdated", "replaced", "legacy", "dead"):
        return "reprint", None
    if grade.grade in ("D", "F"):
        return "reprint", "grade.weak" if verdict.status != "unreadable" else None
    if grade.grade == "C":
        return "monitor", "grade.weakening"
    return "ok", None


def check_photo(
    path: Path,
    view: CatalogView,
    center: CenterSettings,
    location: str = "",
    annotate_to: Path | None = None,
    lang: str = "vi",
    options: LocateOptions = LocateOptions(),  # noqa: B008
) -> PhotoResult:
    """Check one photo; an unreadable photo gives a result with `error` set, never an exception.

    With `annotate_to`, a copy of the photo with every code outlined is written there.
    """
    place = location or path.parent.name
    try:
        photo = load_photo(path)
    except PhotoError as exc:
        return PhotoResult(path, location=place, error=exc)
    codes = []
    for located in locate_codes(photo.gray, options):
        grade = grade_code(located, photo.gray)
        verdict = judge(located.text, view, center)
        action, reason = decide(grade, verdict)
        codes.append(CodeResult(located, grade, verdict, action, reason))
    result = PhotoResult(path, photo.width, photo.height, photo.sha256, place, tuple(codes))
    if annotate_to is not None:
        from qrcheck.report import annotate, save_annotated

        save_annotated(annotate(photo.rgb, result, lang), annotate_to)
        result = replace(result, annotated=annotate_to)
    return result


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
) -> CheckReport:
    """Check every photo under `paths` (files or folders, searched recursively)."""
    from qrcheck.report import annotated_name

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
        with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
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
    return CheckReport(tuple(results))
