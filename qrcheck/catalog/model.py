"""The center's procedure catalog: load, validate, resolve as of a date, diff.

`catalog/procedures.csv` holds one row per procedure (the contract in DESIGN.md). A procedure
may additionally have `scheduled` rows: versions announced by a decision that takes effect on a
future `effective_from`. Resolving the catalog *as of* a date applies exactly the rows in force
on that date and lists the rest as upcoming changes, so a future decision never alters today's
postings but staff can prepare the reprint.

Row semantics (per code, rows ordered by `effective_from`, an empty date meaning "long ago"):

- `active`     this version is in force from `effective_from`;
- `scheduled`  this version comes into force on `effective_from` (required, usually future);
- `abolished`  the procedure ends on `effective_from` (until then the row describes it in force);
- `replaced_by` on a row names the successor code; the procedure counts as replaced once it has
  ended (abolished) or once its successor is in force, whichever comes first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from qrcheck.catalog.csv_text import (
    column_letter,
    write_csv,
)
from qrcheck.center import CenterSettings
from qrcheck.errors import CatalogInvalid
from qrcheck.payload import (
    VERSION_FIELDS,
    build_payload,
    canonical_link,
    legacy_version_tag,
    version_tag,
)

COLUMNS = (
    "code",
    "name",
    "field",
    "level",
    "formality_id",
    "url",
    "decision",
    "effective_from",
    "status",
    "replaced_by",
)
STATUSES = ("active", "abolished", "scheduled")
CODE_RE = re.compile(r"^\d\.\d{6}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
PROCEDURES_FILE = "procedures.csv"
CENTER_FILE = "center.toml"
#: Dates a catalog (or --as-of) may name: from the founding of the Democratic Republic of
#: Viet Nam (2 September 1945), before which no procedure of today's state can take effect, to
#: the end of 2100. A date outside is a typing or conversion slip (0001-01-01, 20260-01-01).
EARLIEST_DATE = date(1945, 9, 2)
LATEST_DATE = date(2100, 12, 31)
#: The longest cell a catalog may hold. Procedure names run to a few hundred characters; a
#: longer cell is text swallowed by a quote left open, or a file that is not a catalog.
MAX_CELL_CHARS = 4000
#: Free-text columns that are printed or shown as they are, and so may never begin like a
#: spreadsheet formula (`=HYPERLINK(...)`): the cell would run as one when opened in Excel.
TEXT_COLUMNS = ("name", "field", "level", "decision")


# ---------------------------------------------------------------------------------------------
# Issues


@dataclass(frozen=True)
class Issue:
    """One problem found in a catalog file, with where it is and a message key saying the fix."""

    file: str
    line: int
    column: str
    column_index: int | None
    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def column_label(self) -> str:
        """`E (status)` as a person finds it in Excel; just the name when no index is known."""
        if self.column_index is None:
            return self.column
        letter = column_letter(self.column_index)
        return f"{letter} ({self.column})" if self.column else letter


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Row:
    """A catalog row as written, with every column (extra columns included) and its line."""

    line: int
    values: Mapping[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def code(self) -> str:
        return self.get("code")

    @property
    def status(self) -> str:
        return self.get("status")

    @property
    def effective(self) -> date | None:
        return parse_date(self.get("effective_from"))

    @property
    def tag(self) -> str:
        return version_tag(self.values)

    @property
    def tags(self) -> tuple[str, str]:
        """The row's tag and the tag earlier qrcheck versions gave it (`legacy_version_tag`)."""
        return version_tag(self.values), legacy_version_tag(self.values)


@dataclass(frozen=True)
class Procedure:
    """A procedure as it stands on the catalog's as-of date."""

    code: str
    name: str
    field: str
    level: str
    formality_id: str
    url: str
    decision: str
    effective_from: date | None
    #: "active", "abolished" or "replaced"
    state: str
    replaced_by: str
    #: version tag of the row in force, the link it should carry, and that link with the tag
    tag: str
    link: str
    payload: str
    line: int
    values: Mapping[str, str]

    @property
    def in_force(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class Change:
    """A change that takes effect after the as-of date."""

    when: date
    code: str
    #: "new", "amended", "abolished" or "replaced"
    kind: str
    successor: str = ""
    decision: str = ""
    line: int = 0
    #: False for an amendment that changes nothing a posting shows or links to (VERSION_FIELDS):
    #: no posting needs printing for it
    printed: bool = True


@dataclass(frozen=True)
class CatalogView:
    """The catalog as it stands on `as_of`: every known procedure's state, and what comes next."""

    as_of: date
    procedures: Mapping[str, Procedure]
    upcoming: tuple[Change, ...]

    def active(self) -> list[Procedure]:
        return [p for p in self.procedures.values() if p.in_force]

    def ended(self) -> list[Procedure]:
        return [p for p in self.procedures.values() if not p.in_force]

    def upcoming_within(self, days: int) -> list[Change]:
        """The changes within `days` that change what postings show (to print ahead)."""
        return [c for c in self.upcoming if c.printed and (c.when - self.as_of).days <= days]

    @cached_property
    def by_link(self) -> dict[str, Procedure]:
        """Procedures by the normalised key of their link (the first one wins), built once:
        judging a link must not parse every link of the catalog again."""
        from qrcheck.urls import parse_link

        index: dict[str, Procedure] = {}
        for proc in self.procedures.values():
            parsed = parse_link(proc.link) if proc.link else None
            if parsed is not None:
                index.setdefault(parsed.key, proc)
        return index

    @cached_property
    def by_formality_id(self) -> dict[str, tuple[int, Procedure]]:
        """Procedures by formalityId (lower case), with their order in `procedures`."""
        index: dict[str, tuple[int, Procedure]] = {}
        for order, proc in enumerate(self.procedures.values()):
            if proc.formality_id:
                index.setdefault(proc.formality_id.lower(), (order, proc))
        return index


@dataclass(frozen=True)
class Catalog:
    """A loaded catalog: its settings, header, rows and every issue found while reading them."""

    directory: Path | None
    path: Path
    center: CenterSettings
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    issues: tuple[Issue, ...]
    encoding: str = "utf-8"
    #: True when the file could not be read as CSV text at all (an issue says where and why):
    #: nothing in it may be used, not even to merge an import into
    damaged: bool = False

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]

    def require_valid(self) -> Catalog:
        """This catalog, or CatalogInvalid listing every error when there is any."""
        if self.errors:
            raise CatalogInvalid(list(self.issues))
        return self

    def as_of(self, when: date) -> CatalogView:
        return resolve(self.rows, self.center, when)

    def write(self, path: Path | None = None) -> None:
        """Write the rows back as CSV (UTF-8 with BOM), atomically."""
        write_csv(
            path or self.path, self.header, [[r.get(c) for c in self.header] for r in self.rows]
        )


# ---------------------------------------------------------------------------------------------
# Resolving as of a date

_LONG_AGO = date.min


def resolve(rows: Iterable[Row], center: CenterSettings, when: date) -> CatalogView:
    """The catalog as it stands on `when` (see the module docstring for the row semantics)."""
    by_code: dict[str, list[Row]] = {}
    for row in rows:
        if row.code and row.status in STATUSES:
            by_code.setdefault(row.code, []).append(row)

    start: dict[str, date] = {}  # the date each code first comes into force
    for code, code_rows in by_code.items():
        starts = [r.effective or _LONG_AGO for r in code_rows if r.status != "abolished"]
        start[code] = min(starts) if starts else _LONG_AGO

    procedures: dict[str, Procedure] = {}
    upcoming: list[Change] = []
    for code, code_rows in by_code.items():
        code_rows = sorted(code_rows, key=lambda r: r.effective or _LONG_AGO)
        arrived = [r for r in code_rows if (r.effective or _LONG_AGO) <= when]
        future = [r for r in code_rows if (r.effective or _LONG_AGO) > when]
        current: Row | None = arrived[-1] if arrived else None
        state = "active"
        if current is not None and current.status == "abolished":
            state = "abolished"
        elif current is None:
            pending_end = [r for r in future if r.status == "abolished"]
            current = pending_end[0] if pending_end else None
        if current is not None:
            successor = current.get("replaced_by")
            successor_started = successor in start and start[successor] <= when
            if successor and (state == "abolished" or successor_started):
                state = "replaced"
            procedures[code] = _procedure(current, state, center)

        had_version = current is not None
        before = current
        for row in future:
            kind = {"abolished": "abolished"}.get(row.status, "amended" if had_version else "new")
            takes_effect = row.effective or when
            if kind == "abolished" and row.get("replaced_by"):
                kind = "replaced"
                if state == "replaced":
                    continue  # its successor is already in force: replaced as of now
                # replaced when it ends or when its successor comes into force, if earlier
                begins = start.get(row.get("replaced_by"))
                if begins is not None and when < begins < takes_effect:
                    takes_effect = begins
            printed = (
                kind != "amended"
                or before is None
                or any(row.get(f) != before.get(f) for f in VERSION_FIELDS)
            )
            upcoming.append(
                Change(
                    takes_effect,
                    code,
                    kind,
                    row.get("replaced_by"),
                    row.get("decision"),
                    row.line,
                    printed,
                )
            )
            had_version = True
            before = row
        if current is not None and state == "active":
            successor = current.get("replaced_by")
            already = any(c.code == code and c.kind == "replaced" for c in upcoming)
            if successor and successor in start and start[successor] > when and not already:
                upcoming.append(
                    Change(start[successor], code, "replaced", successor, "", current.line)
                )
    upcoming.sort(key=lambda c: (c.when, c.code))
    ordered = dict(sorted(procedures.items()))
    return CatalogView(when, ordered, tuple(upcoming))


def _procedure(row: Row, state: str, center: CenterSettings) -> Procedure:
    link = canonical_link(row.code, row.get("formality_id"), row.get("url"), center)
    tag = row.tag
    return Procedure(
        code=row.code,
        name=row.get("name"),
        field=row.get("field"),
        level=row.get("level"),
        formality_id=row.get("formality_id"),
        url=row.get("url"),
        decision=row.get("decision"),
        effective_from=row.effective,
        state=state,
        replaced_by=row.get("replaced_by"),
        tag=tag,
        link=link,
        payload=build_payload(link, tag, center),
        line=row.line,
        values=row.values,
    )


# ---------------------------------------------------------------------------------------------
# Diff


def parse_date(value: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None for an empty or malformed value."""
    value = value.strip()
    if not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
