"""`qrcheck generate`: the postings of a catalog, recorded in the history."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qrcheck.catalog.model import Catalog
from qrcheck.cli.common import (
    AsOfOpt,
    CatalogOpt,
    DbOpt,
    LangOpt,
    NoRecordOpt,
    WorkersOpt,
    _setup,
    default_catalog,
    err,
    fail,
    open_catalog,
    open_store,
    parse_day,
    print_issues,
    record_catalog,
    tr,
)
from qrcheck.cli.render import print_generate
from qrcheck.errors import CatalogInvalid

if TYPE_CHECKING:  # generation pulls in numpy, Pillow and the PDF writer: imported when used
    from qrcheck.printing.generate import GenerateResult


# ---------------------------------------------------------------------------------------------
# generate
def cmd_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("output"),
    all_: Annotated[
        bool, typer.Option("--all", help="Regenerate every posting, changed or not")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Only these codes (repeat, or separate with commas)", show_default=False
        ),
    ] = None,
    paper: Annotated[
        str | None,
        typer.Option("--paper", help="A5 | A4 (default: center.toml)", show_default=False),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Announce scheduled changes this many days ahead")
    ] = None,
    workers: WorkersOpt = 0,
    catalog: CatalogOpt = None,
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    from qrcheck.printing.generate import GenerateOptions, generate
    from qrcheck.workers import default_workers

    _setup(lang)
    when = parse_day(as_of)
    cat = open_catalog(catalog or default_catalog())
    chosen = paper.upper() if paper else cat.center.paper
    if chosen not in ("A5", "A4"):
        fail(tr("generate.bad_paper", value=paper))
    codes = tuple(c.strip() for item in (only or []) for c in item.split(",") if c.strip())
    options = GenerateOptions(
        out=out_dir,
        as_of=when,
        paper=chosen,
        only=codes,
        force=all_,
        announce_days=cat.center.announce_days if days is None else days,
        workers=workers or default_workers(),
    )
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(tr("generate.progress"), total=None)

            def progress(code: str, done: int, total: int) -> None:
                bar.update(
                    task,
                    completed=done,
                    total=total,
                    description=f"{tr('generate.progress')} {code}",
                )

            result = generate(cat, options, progress)
    except CatalogInvalid as exc:
        print_issues([i for i in exc.issues if i.is_error])
        fail(tr("generate.catalog_invalid", path=str(cat.path)))
    print_generate(result, options)
    if result.generated and not no_record:
        record_generated(result, db, cat)
    if result.failures:
        raise typer.Exit(1)


def record_generated(result: "GenerateResult", db: Path | None, cat: Catalog) -> None:
    """What the run printed, from its manifest entries, into the history."""
    from qrcheck.board.store import PrintRecord, now

    store = open_store(db)
    try:
        record_catalog(store, cat)
        store.record_prints(
            PrintRecord(e.code, e.tag, e.payload, e.print_date, now(), "", "manifest")
            for e in result.generated
        )
    finally:
        store.close()
