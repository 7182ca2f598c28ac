"""Reports of a check: the JSON document of the contract, and annotated copies of the photos."""

from __future__ import annotations

from qrcheck.board.results import CheckReport, CodeResult, PhotoResult
from qrcheck.i18n import t
from qrcheck.links.verdict import describe


def code_json(code: CodeResult, lang: str) -> dict:
    verdict = code.verdict
    detail = describe(verdict, lang)
    entry = {
        "corners": [[x, y] for x, y in code.located.corners],
        "text": code.located.text,
        "grade": code.grade.grade,
        "score": code.grade.score,
        "metrics": code.grade.metrics,
        "link": {
            "status": verdict.status,
            "procedure": verdict.procedure,
            "detail": detail,
            "live": code.live.to_json(lang) if code.live is not None else None,
        },
        "action": code.action,
    }
    if code.reason:
        entry["advice"] = t(code.reason, lang)
    if code.identified is not None:
        entry["identified"] = code.identified.as_json()
    return entry


def photo_json(photo: PhotoResult, lang: str) -> dict:
    error = None
    if photo.error is not None:
        error = t(photo.error.key, lang, **photo.error.params)
    return {
        "path": str(photo.path),
        "width": photo.width,
        "height": photo.height,
        "error": error,
        "location": photo.location,
        "sha256": photo.sha256 or None,
        "codes": [code_json(c, lang) for c in photo.codes],
    }


def report_json(report: CheckReport, lang: str) -> dict:
    """The `qrcheck check --json` document (contract in DESIGN.md)."""
    return {
        "photos": [photo_json(p, lang) for p in report.photos],
        "summary": {
            "photos": len(report.photos),
            "codes": len(report.codes),
            "by_action": report.by_action(),
            "by_status": report.by_status(),
        },
    }
