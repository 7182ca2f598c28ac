"""The output folder's manifest: what each posting file was made from, so a later run redoes
exactly what changed (and notices files edited or lost by hand)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from qrcheck import __version__
from qrcheck.errors import GenerationError
from qrcheck.files import atomic_writer
from qrcheck.printing.symbol import (
    ERROR_CORRECTION,
)

MANIFEST = "manifest.json"


MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ManifestEntry:
    code: str
    name: str
    payload: str
    tag: str
    link: str
    render_key: str
    generated_at: str
    print_date: str
    files: dict[str, FileRecord]
    version: int = 0
    error_correction: str = ERROR_CORRECTION

    @classmethod
    def from_json(cls, data: dict) -> ManifestEntry:
        files = {k: FileRecord(**v) for k, v in data.get("files", {}).items()}
        return cls(**{**data, "files": files})


@dataclass
class Manifest:
    """The output folder's record of what was printed (`manifest.json`)."""

    path: Path
    procedures: dict[str, ManifestEntry] = field(default_factory=dict)
    retired: dict[str, dict] = field(default_factory=dict)
    exists: bool = False
    #: the take-down list of a run that has not finished yet (TakeDown fields)
    pending_take_down: list[dict] = field(default_factory=list)
    #: {"pid", "started"} while a run is changing the folder; left behind by a run that was killed
    running: dict = field(default_factory=dict)

    @classmethod
    def load(cls, out: Path) -> Manifest:
        path = out / MANIFEST
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            procedures = {c: ManifestEntry.from_json(e) for c, e in data["procedures"].items()}
            pending = [asdict(TakeDown(**item)) for item in data.get("pending_take_down", [])]
            running = dict(data.get("running") or {})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GenerationError(
                "generate.manifest_unreadable", path=str(path), reason=str(exc)
            ) from exc
        retired = dict(data.get("retired", {}))
        return cls(
            path, procedures, retired, exists=True, pending_take_down=pending, running=running
        )

    def save(self, as_of: date) -> None:
        data = {
            "format": MANIFEST_FORMAT,
            "generator": f"qrcheck {__version__}",
            "updated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "as_of": as_of.isoformat(),
            "procedures": {c: asdict(e) for c, e in sorted(self.procedures.items())},
            "retired": dict(sorted(self.retired.items())),
        }
        if self.pending_take_down:
            data["pending_take_down"] = self.pending_take_down
        if self.running:
            data["running"] = self.running
        with atomic_writer(self.path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.write("\n")


def _files_intact(out: Path, entry: ManifestEntry) -> bool:
    if not entry.files:  # its claims were withdrawn by a run that did not finish rewriting it
        return False
    for record in entry.files.values():
        try:
            if (out / record.path).stat().st_size != record.size:
                return False
        except OSError:
            return False
    return True


def _files_match(out: Path, entry: ManifestEntry) -> bool:
    """Every file `entry` names is there with its hash."""
    try:
        return bool(entry.files) and all(
            hashlib.sha256((out / r.path).read_bytes()).hexdigest() == r.sha256
            for r in entry.files.values()
        )
    except OSError:
        return False


@dataclass(frozen=True)
class TakeDown:
    """A posting that must come off the boards."""

    code: str
    name: str
    state: str  # "abolished", "replaced" or "removed" (no longer in the catalog)
    successor: str = ""
    successor_name: str = ""
    #: True when this output folder had printed it; False when only the catalog says so
    printed_here: bool = True
