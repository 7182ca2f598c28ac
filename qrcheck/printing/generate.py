"""Generate postings for a catalog, regenerating exactly what changed since the last run.

For each procedure in force the run makes its payload, its QR symbol (decoded back before
anything is written), a PNG at print resolution, an SVG and a PDF posting, plus one print sheet
of everything made in the run. A manifest in the output folder records what was printed from
which record version; the next run compares each procedure's *render key* (everything that
shows on the posting, plus the layout) with the manifest and the files on disk, so a run with no
catalog change writes nothing, and a change to one row regenerates one posting.

Every file is written atomically, and the manifest is kept in step with the files at every
moment, so that `kill -9` at any point leaves whole files and a manifest that never claims a file
that is not there with its hash:

- before any file changes, the run saves the manifest once with the claims of every posting it is
  about to rewrite withdrawn (`files` emptied: the next run sees them as to be made again), its
  take-down list (`pending_take_down`) and a mark that it is running (`running`);
- each finished posting is claimed again as it comes back (saved every few postings; a posting
  written but not yet claimed is simply made again by the next run);
- a posting taken down leaves the manifest before its files move to `retired/`;
- the take-down list is cleared, and the running mark removed, only when the run has finished:
  a run that was killed leaves both, so the next one still lists what to take off the boards
  (the very first run's list too) and says that it completes a run that ended without finishing.

The output folder is locked for the run (`flock` on `.qrcheck.lock`). Worker processes die with
the run (`qrcheck.workers`) and drop the lock file as they start, so a killed run never keeps the
folder locked; a lock still held by the leftovers of a run that died (an older version's workers)
is taken over: see `_acquire`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from qrcheck.catalog.load import history_rows
from qrcheck.catalog.model import Catalog, CatalogView, Change, Procedure, Row
from qrcheck.center import CenterSettings
from qrcheck.errors import GenerationError, QrcheckError
from qrcheck.files import atomic_write_bytes
from qrcheck.payload import VERSION_FIELDS, legacy_version_tag, split_payload
from qrcheck.printing.lock import (
    _exclusive,
)
from qrcheck.printing.manifest import (
    FileRecord,
    Manifest,
    ManifestEntry,
    TakeDown,
    _files_intact,
    _files_match,
)
from qrcheck.printing.posting import PostingContent, posting_pdf, print_sheet_pdf
from qrcheck.printing.symbol import (
    ERROR_CORRECTION,
    Symbol,
    make_symbol,
    png_bytes,
    svg_text,
    verify_symbol,
)
from qrcheck.workers import worker_pool

#: Bump when the look of postings changes, so that every posting is regenerated once.
LAYOUT_VERSION = 2
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
    #: a previous run ended without finishing and this one completed its work: its PID (0 when
    #: not known); None when the previous run finished
    interrupted: int | None = None

    @property
    def wrote_nothing(self) -> bool:
        return not self.generated and not self.take_down and self.sheet is None


def render_key(proc: Procedure, center: CenterSettings, paper: str) -> str:
    """A digest of everything that shows on the posting or shapes its files."""
    parts = [
        proc.payload,
        proc.code,
        proc.name,
        proc.field,
        proc.tag,
        center.name,
        center.posting_language,
        official_host(proc, center),
        paper,
        str(LAYOUT_VERSION),
        ERROR_CORRECTION,
        str(PNG_DPI),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


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
    official_host: str
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
        official_host=job.official_host,
    )


def official_host(proc: Procedure, center: CenterSettings) -> str:
    """The host `proc`'s code leads to when it is official (the posting names it as the only
    one to trust), else ""."""
    host = (urlsplit(proc.payload).hostname or "").lower()
    return host if host and center.host_is_official(host) else ""


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
        official_host=official_host(proc, center),
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


def _retire(out: Path, code: str, entry: ManifestEntry | None) -> None:
    """Move a taken-down procedure's files to `retired/`, keeping them for the record.

    The usual file names are moved too when no entry claims them (a run killed after the
    manifest let go of them, or while they were being rewritten).
    """
    names = set(file_names(code).values())
    if entry is not None:
        names |= {record.path for record in entry.files.values()}
    for name in sorted(names):
        source = out / name
        if source.exists():
            target = out / "retired" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)


def _shows_other(entry: ManifestEntry, proc: Procedure, history: Sequence[Row] = ()) -> bool:
    """The posting made for `entry` shows or links to something else than `proc` now does.
    Not a change: a tag of the earlier formula over the same record (see payload.py), or the
    tag of an earlier version of the record that differs only in what no posting prints."""
    if split_payload(entry.payload)[0] != split_payload(proc.payload)[0]:
        return True
    if entry.tag in (proc.tag, legacy_version_tag(proc.values)):
        return False
    for row in history:
        if row.code == proc.code and entry.tag in row.tags:
            return any(row.get(f) != proc.values.get(f, "") for f in VERSION_FIELDS)
    return True


def plan(
    view: CatalogView,
    manifest: Manifest,
    options: GenerateOptions,
    center: CenterSettings,
    history: Sequence[Row] = (),
) -> tuple[list[tuple[Procedure, str]], list[str]]:
    """(procedures to (re)generate with the reason, codes that are up to date); `history`
    (the catalog's rows and those of its earlier versions) tells a change of what a posting
    shows from one of what it does not."""
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
                    "changed" if _shows_other(entry, proc, history) else "layout",
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
    with _exclusive(out) as took_over:
        return _generate(catalog, view, options, progress, took_over)


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
    took_over: int | None = None,
) -> GenerateResult:
    center = catalog.center
    out = options.out
    _remove_leftovers(out)
    manifest = Manifest.load(out)
    first_run = not manifest.exists
    # a mark left in the manifest is a run that did not finish (only a run holding the lock
    # writes one, and this run holds it now)
    interrupted = int(manifest.running.get("pid", 0) or 0) if manifest.running else took_over

    todo, unchanged = plan(view, manifest, options, center, history_rows(catalog))
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
            official_host=official_host(p, center),
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
    take_down, later = _with_pending(
        _take_down(view, manifest, options, first_run), manifest, view, options
    )
    changes = bool(jobs or take_down or first_run or manifest.running)
    withdrawn: dict[str, ManifestEntry] = {}
    if changes:
        # before any file changes: the postings about to be rewritten are no longer claimed,
        # the take-down list is kept until this run has finished, and the run is marked
        for job in jobs:
            entry = manifest.procedures.get(job.code)
            if entry is not None and entry.files:
                withdrawn[job.code] = entry
                manifest.procedures[job.code] = replace(entry, files={})
        manifest.pending_take_down = [asdict(t) for t in take_down] + later
        manifest.running = {
            "pid": os.getpid(),
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        manifest.save(options.as_of)
    finished = False
    try:
        for index, outcome in enumerate(_run(jobs, options.workers), start=1):
            code, result = outcome
            if isinstance(result, QrcheckError):
                failures.append(Failure(code, result))
                old = withdrawn.get(code)
                if old is not None and _files_match(out, old):
                    manifest.procedures[code] = old  # nothing was overwritten: still claimed
            else:
                entry, symbols[code] = result
                generated.append(entry)
                manifest.procedures[code] = entry
                manifest.retired.pop(code, None)
            if index % SAVE_EVERY == 0:
                manifest.save(options.as_of)
            if progress is not None:
                progress(code, index, len(jobs))
        # the manifest lets go of the postings taken down before their files move
        leaving: list[tuple[str, ManifestEntry | None]] = []
        for item in take_down:
            entry = manifest.procedures.pop(item.code, None)
            if entry is not None:
                manifest.retired[item.code] = {
                    "name": item.name,
                    "state": item.state,
                    "successor": item.successor,
                    "retired_on": options.as_of.isoformat(),
                    "payload": entry.payload,
                }
            leaving.append((item.code, entry))
        if any(entry is not None for _, entry in leaving):
            manifest.save(options.as_of)
        for code, entry in leaving:
            _retire(out, code, entry)
        finished = True
    finally:
        if changes:
            if finished:
                manifest.pending_take_down = later
                manifest.running = {}
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
        interrupted=interrupted,
    )


def _with_pending(
    take_down: list[TakeDown], manifest: Manifest, view: CatalogView, options: GenerateOptions
) -> tuple[list[TakeDown], list[dict]]:
    """This run's take-down list with what an unfinished run had to say, and what waits.

    An item of an unfinished run is said again unless its procedure is back in force; one that
    `--only` leaves out waits for a later run.
    """
    wanted = set(options.only)
    said = {item.code for item in take_down}
    items = list(take_down)
    later: list[dict] = []
    for data in manifest.pending_take_down:
        item = TakeDown(**data)
        proc = view.procedures.get(item.code)
        if item.code in said or (proc is not None and proc.in_force):
            continue
        if wanted and item.code not in wanted:
            later.append(data)
            continue
        said.add(item.code)
        items.append(item)
    return items, later


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
    with worker_pool(workers) as pool:  # its workers die with this process
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
    atomic_write_bytes(path, print_sheet_pdf(contents, title, paper=jobs[0].paper))
    return path
