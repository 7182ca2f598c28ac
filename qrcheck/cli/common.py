"""What every command shares: the language, failing, dates, opening the catalog and the store,
the live-check options and the option aliases (CatalogOpt, DbOpt, LangOpt...).
"""

import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qrcheck.catalog.load import catalog_fingerprint, date_in_range, group_issues, load_catalog
from qrcheck.catalog.model import EARLIEST_DATE, LATEST_DATE, Catalog, Issue
from qrcheck.i18n import resolve_language, t

out = Console(highlight=False, soft_wrap=False)


err = Console(stderr=True, highlight=False)


class Context:
    """What every command shares: the language it speaks."""

    lang = "vi"


def _system_user() -> str:
    """Who runs the command, for the history ("" when the system cannot tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


#: the width of a procedure code ("1.001193"): table columns holding one never get narrower
CODE_WIDTH = 8


def tr(key: str, **params: object) -> str:
    """The message in the current language, escaped so rich prints it as written."""
    return escape(t(key, Context.lang, **params))


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]{tr('cli.error_prefix')}[/] {message}")
    raise typer.Exit(code)


def fmt_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def parse_day(value: str | None) -> date:
    """--as-of: ISO (2027-03-01) or day/month/year (01/03/2027); today when absent."""
    if not value:
        return date.today()
    value = value.strip()
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", value)
    day: date | None = None
    try:
        if match:
            d, m, y = (int(g) for g in match.groups())
            day = date(y, m, d)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
    except ValueError:
        pass
    if day is None:
        fail(tr("cli.bad_date", value=value))
    if not date_in_range(day):
        earliest, latest = fmt_date(EARLIEST_DATE), fmt_date(LATEST_DATE)
        fail(tr("cli.date_out_of_range", value=value, earliest=earliest, latest=latest))
    return day


def default_catalog() -> Path:
    return Path(os.environ.get("QRCHECK_CATALOG", "catalog"))


def open_catalog(location: Path) -> Catalog:
    return load_catalog(location)


def open_valid_catalog(location: Path | None, refusal: str = "check.catalog_invalid") -> Catalog:
    """The catalog, or its errors printed and exit 2: nothing is judged by a broken one."""
    cat = open_catalog(location or default_catalog())
    if cat.errors:
        print_issues(cat.errors)
        fail(tr(refusal, path=str(cat.path)))
    return cat


def issue_message(issue: Issue) -> str:
    return tr(issue.key, **issue.params)


def print_issues(issues: Sequence[Issue]) -> None:
    if not issues:
        return
    table = Table(show_lines=False, header_style="bold")
    table.add_column(tr("cli.col_where"), no_wrap=False)
    table.add_column(tr("cli.col_column"))
    table.add_column(tr("cli.col_level"))
    table.add_column(tr("cli.col_problem"), overflow="fold")
    for members, issue in group_issues(issues):
        level = tr("cli.level_error") if issue.is_error else tr("cli.level_warning")
        style = "red" if issue.is_error else "yellow"
        name = Path(issue.file).name
        if len(members) == 1:
            where = f"{name}:{issue.line}"
        else:
            where = tr("cli.lines", file=name, lines=", ".join(str(m.line) for m in members))
        table.add_row(where, issue.column_label, f"[{style}]{level}[/]", issue_message(issue))
    out.print(table)


# ---------------------------------------------------------------------------------------------
# catalog commands
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="vi | en (QRCHECK_LANG)", show_default=False)
]


CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalog folder (QRCHECK_CATALOG; default: ./catalog)", show_default=False
    ),
]


AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD or DD/MM/YYYY (default: today)", show_default=False),
]


WorkersOpt = Annotated[int, typer.Option("--workers", help="Processes to use")]


DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="History database (QRCHECK_DB; default: ./data/qrcheck.sqlite)",
        show_default=False,
    ),
]


DaysOpt = Annotated[
    int | None,
    typer.Option("--days", help="Scheduled changes due within this many days (center.toml)"),
]


NoRecordOpt = Annotated[
    bool, typer.Option("--no-record", help="Do not record the results in the history database")
]


def open_store(path: Path | None):  # type: ignore[no-untyped-def]
    """The history database (exit 2 with a sentence when it cannot be used)."""
    from qrcheck.board.store import Store, StoreError, default_db_path

    try:
        return Store(path or default_db_path())
    except StoreError as exc:
        fail(tr(exc.key, **exc.params))


def _setup(lang: str | None) -> None:
    Context.lang = resolve_language(lang)


def record_catalog(store, cat: Catalog, source: str = "", changes: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    """Note in the history which catalog version a run used (once per version)."""
    store.record_catalog(catalog_fingerprint(cat), str(cat.path), len(cat.rows), source, changes)


# ---------------------------------------------------------------------------------------------
# check
LinkCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="Live-check cache file (QRCHECK_LINK_CACHE; default: the user's cache folder)",
        show_default=False,
    ),
]


CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle", help="CA certificates (PEM) to verify TLS with", show_default=False
    ),
]


ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        envvar="QRCHECK_PROXY",
        help="Send live checks through this HTTP proxy, e.g. http://proxy.local:3128 "
        "(QRCHECK_PROXY; the system's proxy variables are never used)",
        show_default=False,
    ),
]


# ---------------------------------------------------------------------------------------------
# live link checks
def live_options(ca_bundle: Path | None, proxy: str | None = None):  # type: ignore[no-untyped-def]
    from urllib.parse import urlsplit

    from qrcheck.links.model import LiveOptions

    if ca_bundle is not None and not ca_bundle.is_file():
        fail(tr("photos.not_found", path=str(ca_bundle)))
    if proxy:
        try:
            parts = urlsplit(proxy)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port that is not a number
            valid = False
        if not valid:
            fail(tr("links.proxy_invalid", proxy=proxy))
    return LiveOptions(ca_bundle=ca_bundle, proxy=proxy or None)


def open_link_cache(path: Path | None):  # type: ignore[no-untyped-def]
    """The live-check cache (see qrcheck/links/live.py); in memory when the file cannot be used."""
    import sqlite3

    from qrcheck.links.cache import LinkCache, default_cache_path

    try:
        return LinkCache(path or default_cache_path())
    except (OSError, sqlite3.Error):
        return LinkCache(None)
