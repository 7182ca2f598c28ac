"""Generate postings for a catalog, regenerating exactly what changed since the last run.

For each procedure in force the run makes its payload, its QR symbol (decoded back before
anything is written), a PNG at print resolution, an SVG and a PDF posting, plus one print sheet
of everything made in the run. A manifest in the output folder records what was printed from
which record version; the next run compares each procedure's *render key* (everything that
shows on the posting, plus the layout) with the manifest and the files on disk, so a run with no
catalog change writes nothing, and a change to one row regenerates one posting.

Every file is written atomically and the manifest is saved every few postings and when the run
stops for any reason, so a run killed half-way leaves whole files and a manifest that never
claims more than was written; the next run completes the job.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from qrcheck import __version__
from qrcheck.catalog import Catalog, CatalogView, Change, Procedure
from qrcheck.center import CenterSettings
from qrcheck.errors import GenerationError, QrcheckError
from qrcheck.posting import PostingContent, posting_pdf, print_sheet_pdf
from qrcheck.symbol import ERROR_CORRECTION, Symbol, make_symbol, png_bytes, svg_text, verify_symbol
from qrcheck.table import atomic_write_bytes, atomic_writer

MANIFEST = "manifest.json"
LOCK_FILE = ".qrcheck.lock"
MANIFEST_FORMAT = 1
#: Bump when the look of postings changes, so that every posting is regenerated once.
LAYOUT_VERSION = 1
PNG_DPI = 600
QR_PRINT_MM = 70.0
SAVE_EVERY = 25


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    as_of: date
    paper: str = "A5"
    only: tuple[str, ...] = ()
    force: bool = False
    print_date: date | None = None
    announce_days: int = 30
    workers: int = 1
    sheet: bool = True


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


@dataclass(frozen=True)
class Failure:
    code: str
    error: QrcheckError


@dataclass(frozen=True)
class GenerateResult:
    generated: tuple[ManifestEntry, ...]
    reasons: dict[str, str]
    unchanged: tuple[str, ...]
    take_down: tuple[TakeDown, ...]
    announce: tuple[Change, ...]
    failures: tuple[Failure, ...]
    sheet: Path | None
    manifest: Path
    first_run: bool = False

    @property
    def wrote_nothing(self) -> bool:
        return not self.generated and not self.take_down and self.sheet is None


@dataclass
class Manifest:
    """The output folder's record of what was printed (`manifest.json`)."""

    path: Path
    procedures: dict[str, ManifestEntry] = field(default_factory=dict)
    retired: dict[str, dict] = field(default_factory=dict)
    exists: bool = False

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
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GenerationError(
                "generate.manifest_unreadable", path=str(path), reason=str(exc)
            ) from exc
        return cls(path, procedures, dict(data.get("retired", {})), exists=True)

    def save(self, as_of: date) -> None:
        data = {
            "format": MANIFEST_FORMAT,
            "generator": f"qrcheck {__version__}",
            "updated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "as_of": as_of.isoformat(),
            "procedures": {c: asdict(e) for c, e in sorted(self.procedures.items())},
            "retired": dict(sorted(self.retired.items())),
        }
        with atomic_writer(self.path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.write("\n")


def render_key(proc: Procedure, center: CenterSettings, paper: str) -> str:
    """A digest of everything that shows on the posting or shapes its files."""
    parts = [
        proc.payload,
        proc.code,
        proc.name,
        proc.field,
        proc.decision,
        proc.tag,
        center.name,
        center.posting_language,
        paper,
        str(LAYOUT_VERSION),
        ERROR_CORRECTION,
        str(PNG_DPI),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def _files_intact(out: Path, entry: ManifestEntry) -> bool:
    for record in entry.files.values():
        try:
            if (out / record.path).stat().st_size != record.size:
                return False
        except OSError:
            return False
    return True


def file_names(code: str) -> dict[str, str]:
    return {"png": f"qr/{code}.png", "svg": f"qr/{code}.svg", "pdf": f"postings/{code}.pdf"}


@dataclass(frozen=True)
class _Job:
    code: str
    name: str
    field: str
    payload: str
    link: str
    tag: str
    decision: str
    center_name: str
    language: str
    paper: str
    print_date: date
    render_key: str
    out: str


def _content(job: _Job, symbol: Symbol | None = None) -> PostingContent:
    return PostingContent(
        center_name=job.center_name,
        code=job.code,
        name=job.name,
        field=job.field,
        link=job.link,
        tag=job.tag,
        decision=job.decision,
        print_date=job.print_date,
        symbol=symbol or make_symbol(job.payload),
        language=job.language,
    )


def posting_content(proc: Procedure, center: CenterSettings, print_date: date) -> PostingContent:
    """What one posting of `proc` shows, printed on `print_date` (the generator's layout)."""
    return PostingContent(
        center_name=center.name,
        code=proc.code,
        name=proc.name,
        field=proc.field,
        link=proc.link,
        tag=proc.tag,
        decision=proc.decision,
        print_date=print_date,
        symbol=make_symbol(proc.payload),
        language=center.posting_language,
    )


def render_job(job: _Job) -> tuple[ManifestEntry, Symbol]:
    """Make, verify and write one procedure's symbol and files (runs in a worker process)."""
    content = _content(job)
    verify_symbol(content.symbol)
    px = max(1, round(QR_PRINT_MM / 25.4 * PNG_DPI / (content.symbol.size + 8)))
    blobs = {
        "png": png_bytes(content.symbol, px, PNG_DPI),
        "svg": svg_text(content.symbol, QR_PRINT_MM).encode("utf-8"),
        "pdf": posting_pdf(content, job.paper),
    }
    out = Path(job.out)
    files: dict[str, FileRecord] = {}
    for kind, rel in file_names(job.code).items():
        atomic_write_bytes(out / rel, blobs[kind])
        files[kind] = FileRecord(rel, hashlib.sha256(blobs[kind]).hexdigest(), len(blobs[kind]))
    entry = ManifestEntry(
        code=job.code,
        name=job.name,
        payload=job.payload,
        tag=job.tag,
        link=job.link,
        render_key=job.render_key,
        generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        print_date=job.print_date.isoformat(),
        files=files,
        version=content.symbol.version,
    )
    return entry, content.symbol


def _retire(out: Path, entry: ManifestEntry) -> None:
    """Move a taken-down procedure's files to `retired/`, keeping them for the record."""
    for record in entry.files.values():
        source = out / record.path
        if source.exists():
            target = out / "retired" / record.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)


def plan(
    view: CatalogView, manifest: Manifest, options: GenerateOptions, center: CenterSettings
) -> tuple[list[tuple[Procedure, str]], list[str]]:
    """(procedures to (re)generate with the reason, codes that are up to date)."""
    wanted = set(options.only)
    todo: list[tuple[Procedure, str]] = []
    unchanged: list[str] = []
    for proc in view.active():
        if wanted and proc.code not in wanted:
            continue
        entry = manifest.procedures.get(proc.code)
        key = render_key(proc, center, options.paper)
        if options.force:
            todo.append((proc, "forced"))
        elif entry is None:
            todo.append((proc, "new"))
        elif entry.render_key != key:
            todo.append(
                (
                    proc,
                    "changed"
                    if entry.tag != proc.tag or entry.payload != proc.payload
                    else "layout",
                )
            )
        elif not _files_intact(options.out, entry):
            todo.append((proc, "missing_files"))
        else:
            unchanged.append(proc.code)
    return todo, unchanged


def generate(
    catalog: Catalog,
    options: GenerateOptions,
    progress: Callable[[str, int, int], None] | None = None,
) -> GenerateResult:
    """Bring the output folder up to date with the catalog as of `options.as_of`.

    `progress(code, done, total)` is called after each posting; an exception it raises stops the
    run the way a crash would (the manifest keeps what was finished).
    """
    catalog.require_valid()
    view = catalog.as_of(options.as_of)
    unknown = [c for c in options.only if c not in view.procedures]
    if unknown:
        raise GenerationError("generate.unknown_codes", codes=", ".join(unknown))
    out = options.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerationError("generate.write_failed", path=str(out), reason=exc.strerror) from exc
    with _exclusive(out):
        return _generate(catalog, view, options, progress)


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on the output folder: two runs at once would interleave their manifests."""
    try:
        handle = (out / LOCK_FILE).open("a")
    except OSError as exc:
        raise GenerationError("generate.write_failed", path=str(out), reason=exc.strerror) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise GenerationError("generate.busy", path=str(out)) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(out: Path) -> None:
    """Delete temporary files a killed run left behind (never a finished file)."""
    for folder in (out, out / "qr", out / "postings", out / "sheets"):
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def _generate(
    catalog: Catalog,
    view: CatalogView,
    options: GenerateOptions,
    progress: Callable[[str, int, int], None] | None,
) -> GenerateResult:
    center = catalog.center
    out = options.out
    _remove_leftovers(out)
    manifest = Manifest.load(out)
    first_run = not manifest.exists

    todo, unchanged = plan(view, manifest, options, center)
    print_date = options.print_date or date.today()
    jobs = [
        _Job(
            code=p.code,
            name=p.name,
            field=p.field,
            payload=p.payload,
            link=p.link,
            tag=p.tag,
            decision=p.decision,
            center_name=center.name,
            language=center.posting_language,
            paper=options.paper,
            print_date=print_date,
            render_key=render_key(p, center, options.paper),
            out=str(out),
        )
        for p, _ in todo
    ]
    reasons = {p.code: reason for p, reason in todo}

    generated: list[ManifestEntry] = []
    symbols: dict[str, Symbol] = {}
    failures: list[Failure] = []
    take_down = _take_down(view, manifest, options, first_run)
    try:
        for index, outcome in enumerate(_run(jobs, options.workers), start=1):
            code, result = outcome
            if isinstance(result, QrcheckError):
                failures.append(Failure(code, result))
            else:
                entry, symbols[code] = result
                generated.append(entry)
                manifest.procedures[code] = entry
                manifest.retired.pop(code, None)
            if index % SAVE_EVERY == 0:
                manifest.save(options.as_of)
            if progress is not None:
                progress(code, index, len(jobs))
        for item in take_down:
            entry = manifest.procedures.pop(item.code, None)
            if entry is not None:
                _retire(out, entry)
                manifest.retired[item.code] = {
                    "name": item.name,
                    "state": item.state,
                    "successor": item.successor,
                    "retired_on": options.as_of.isoformat(),
                    "payload": entry.payload,
                }
    finally:
        if generated or take_down or first_run:
            manifest.save(options.as_of)

    sheet = None
    if options.sheet and generated:
        sheet = _write_sheet(out, generated, jobs, symbols, print_date)
    announce = tuple(view.upcoming_within(options.announce_days))
    if options.only:
        announce = tuple(
            c for c in announce if c.code in options.only or c.successor in options.only
        )
    return GenerateResult(
        generated=tuple(generated),
        reasons=reasons,
        unchanged=tuple(unchanged),
        take_down=tuple(take_down),
        announce=announce,
        failures=tuple(failures),
        sheet=sheet,
        manifest=manifest.path,
        first_run=first_run,
    )


def _take_down(
    view: CatalogView, manifest: Manifest, options: GenerateOptions, first_run: bool
) -> list[TakeDown]:
    items: list[TakeDown] = []
    wanted = set(options.only)
    for code, entry in manifest.procedures.items():
        if wanted and code not in wanted:
            continue
        proc = view.procedures.get(code)
        if proc is not None and proc.in_force:
            continue
        state = proc.state if proc is not None else "removed"
        successor = proc.replaced_by if proc is not None and proc.state == "replaced" else ""
        items.append(TakeDown(code, entry.name, state, successor, _name_of(view, successor)))
    if first_run:
        for proc in view.ended():
            if wanted and proc.code not in wanted:
                continue
            successor = proc.replaced_by if proc.state == "replaced" else ""
            items.append(
                TakeDown(
                    proc.code, proc.name, proc.state, successor, _name_of(view, successor), False
                )
            )
    return items


def _name_of(view: CatalogView, code: str) -> str:
    proc = view.procedures.get(code)
    return proc.name if proc else ""


_Outcome = tuple[str, tuple[ManifestEntry, Symbol] | QrcheckError]


def _safe_render(job: _Job) -> _Outcome:
    try:
        return job.code, render_job(job)
    except QrcheckError as exc:
        return job.code, exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return job.code, GenerationError("generate.write_failed", path=job.out, reason=reason)


def _run(jobs: Sequence[_Job], workers: int) -> Iterable[_Outcome]:
    """Render the jobs, in worker processes when there are enough of them to pay off."""
    if workers <= 1 or len(jobs) < 8:
        for job in jobs:
            yield _safe_render(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_safe_render, jobs, chunksize=4)


def _write_sheet(
    out: Path,
    generated: Sequence[ManifestEntry],
    jobs: Sequence[_Job],
    symbols: dict[str, Symbol],
    print_date: date,
) -> Path:
    by_code = {job.code: job for job in jobs}
    ordered = sorted(generated, key=lambda e: e.code)
    contents = [_content(by_code[e.code], symbols[e.code]) for e in ordered]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / "sheets" / f"print-sheet-{stamp}.pdf"
    title = f"{contents[0].center_name} · {print_date.strftime('%d/%m/%Y')}"
    atomic_write_bytes(path, print_sheet_pdf(contents, title))
    return path


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
