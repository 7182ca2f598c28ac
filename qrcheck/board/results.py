"""What a check finds: the result of each code and photo, and the actions they call for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qrcheck.errors import QrcheckError
from qrcheck.grade.measure import Grade
from qrcheck.links.verdict import Verdict
from qrcheck.vision.shapes import Located

if TYPE_CHECKING:
    from qrcheck.links.model import LiveResult
    from qrcheck.vision.identify import Identification


ACTIONS = ("ok", "monitor", "reprint", "remove", "investigate", "retake")

#: the actions, the most urgent first (the order of the codes on the result page)
ACTIONS_BY_URGENCY = ("investigate", "remove", "reprint", "retake", "monitor", "ok")


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
    #: the live check of the link (None offline or when the code holds no link)
    live: LiveResult | None = None
    #: an undecoded code: the procedure its posting's printed text names (None: not tried)
    identified: Identification | None = None
    #: an undecoded code: a small JPEG of the posting around it, for staff to look at
    crop: bytes | None = field(default=None, repr=False, compare=False)


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

    def exit_status(self, strict: bool = False) -> int:
        """0 all codes ok or monitor; 1 something needs action; 2 no photo could be read.

        `strict` (`check --strict`): 2 as soon as any photo could not be read.
        """
        if not self.photos or self.readable_photos == 0:
            return 2
        if strict and self.readable_photos < len(self.photos):
            return 2
        return 0 if all(c.action in AT_EASE for c in self.codes) else 1
