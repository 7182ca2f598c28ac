"""`qrcheck catalog validate | diff | import`."""

from pathlib import Path
from typing import Annotated

import typer

from qrcheck.catalog.diff import diff_views
from qrcheck.cli.common import (
    AsOfOpt,
    CatalogOpt,
    DbOpt,
    LangOpt,
    NoRecordOpt,
    _setup,
    default_catalog,
    fail,
    fmt_date,
    open_catalog,
    open_store,
    out,
    parse_day,
    print_issues,
    record_catalog,
    tr,
)
from qrcheck.cli.render import print_diff, print_upcoming


def cmd_validate(catalog: CatalogOpt = None, as_of: AsOfOpt = None, lang: LangOpt = None) -> None:
    _setup(lang)
    when = parse_day(as_of)
    cat = open_catalog(catalog or default_catalog())
    print_issues(cat.issues)
    errors, warnings = len(cat.errors), len(cat.warnings)
    if errors:
        summary = tr("validate.failed", errors=errors, warnings=warnings, path=str(cat.path))
        out.print(f"[bold red]{summary}[/]")
        raise typer.Exit(1)
    view = cat.as_of(when)
    out.print(
        "[bold green]"
        + tr(
            "validate.ok",
            path=str(cat.path),
            rows=len(cat.rows),
            active=len(view.active()),
            ended=len(view.ended()),
            date=fmt_date(when),
            warnings=warnings,
        )
        + "[/]"
    )
    print_upcoming(view.upcoming, when)


def cmd_diff(
    old: Annotated[Path, typer.Argument(help="Old catalog (folder or CSV)", show_default=False)],
    new: Annotated[Path, typer.Argument(help="New catalog (folder or CSV)", show_default=False)],
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
) -> None:
    _setup(lang)
    when = parse_day(as_of)
    catalogs = []
    for location in (old, new):
        cat = open_catalog(location)
        if cat.errors:
            print_issues(cat.errors)
            fail(tr("diff.invalid", path=str(cat.path)))
        catalogs.append(cat)
    result = diff_views(catalogs[0].as_of(when), catalogs[1].as_of(when))
    print_diff(result, catalogs[1], when)


def cmd_import(
    file: Annotated[
        Path, typer.Argument(help="National-portal export (.xlsx or .csv)", show_default=False)
    ],
    catalog: CatalogOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff, change nothing")
    ] = False,
    missing: Annotated[
        str, typer.Option("--missing", help="keep | abolish: procedures absent from the file")
    ] = "keep",
    as_of: AsOfOpt = None,
    lang: LangOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    from qrcheck.catalog.importer import apply_import, prepare_import

    _setup(lang)
    when = parse_day(as_of)
    if missing not in ("keep", "abolish"):
        fail(tr("import.bad_missing", value=missing))
    target = catalog or default_catalog()
    current = open_catalog(target)
    if current.damaged:  # nothing can be merged into a file that cannot be read: say where
        print_issues(current.errors)
        line = current.errors[0].line if current.errors else 1
        fail(tr("importer.current_broken", path=str(current.path), line=line))
    prepared = prepare_import(file, current, when, abolish_missing=(missing == "abolish"))
    for key, params in prepared.notes:
        out.print(f"[yellow]{tr(key, **params)}[/]")
    print_diff(prepared.diff, prepared.catalog, when)
    if prepared.catalog.errors:
        print_issues(prepared.catalog.issues)
        out.print(f"[bold red]{tr('import.invalid', errors=len(prepared.catalog.errors))}[/]")
        raise typer.Exit(1)
    if dry_run:
        out.print(tr("import.dry_run"))
        return
    if prepared.diff.empty and not prepared.changed_rows:
        out.print(tr("import.nothing"))
        return
    saved = apply_import(prepared)
    if not no_record:
        store = open_store(db)
        try:
            counts = prepared.diff.counts()
            record_catalog(store, open_catalog(target), file.name, counts)
        finally:
            store.close()
    out.print(f"[bold green]{tr('import.done', path=str(current.path), backup=str(saved))}[/]")
