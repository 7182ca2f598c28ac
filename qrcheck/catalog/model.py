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

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from qrcheck.catalog.csv_text import (
    CsvDamaged,
    RawRow,
    column_letter,
    decode_bytes,
    is_formula,
    read_rows,
    unmangle,
    unneutralise,
    write_csv,
)
from qrcheck.center import CenterSettings, load_center
from qrcheck.errors import CatalogError, CatalogInvalid
from qrcheck.payload import (
    VERSION_FIELDS,
    build_payload,
    canonical_link,
    clean_text,
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
_ZIP = b"PK\x03\x04"
#: CsvDamaged.key → the message saying it of a catalog file
_CSV_DAMAGE = {
    "quote_unclosed": "catalog.quote_unclosed",
    "nul_byte": "catalog.nul_byte",
    "csv_damaged": "catalog.csv_damaged",
}


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
# Loading and validation


def date_in_range(value: date) -> bool:
    """True for a date a catalog may name (EARLIEST_DATE to LATEST_DATE)."""
    return EARLIEST_DATE <= value <= LATEST_DATE


def parse_date(value: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None for an empty or malformed value."""
    value = value.strip()
    if not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def catalog_paths(location: Path) -> tuple[Path | None, Path]:
    """(folder, procedures CSV) for a catalog folder or a CSV file given directly."""
    if location.is_dir():
        return location, location / PROCEDURES_FILE
    return None, location


def load_catalog(location: Path, center: CenterSettings | None = None) -> Catalog:
    """Read and validate a catalog folder (or one procedures CSV file).

    Never raises for problems inside the rows: they are collected as issues. Raises
    CatalogError when there is nothing to read at all.
    """
    directory, csv_path = catalog_paths(location)
    if directory is None and not csv_path.exists():
        raise CatalogError("catalog.not_found", path=str(location))
    if not csv_path.exists():
        raise CatalogError("catalog.no_procedures", path=str(csv_path))
    if center is None:
        center = (
            load_center(directory / CENTER_FILE)
            if directory
            else load_center(csv_path.parent / CENTER_FILE)
        )
    try:
        raw = csv_path.read_bytes()
    except OSError as exc:
        raise CatalogError("catalog.unreadable", path=str(csv_path), reason=exc.strerror) from exc
    return parse_catalog(raw, csv_path, center, directory)


def parse_catalog(
    raw: bytes, csv_path: Path, center: CenterSettings, directory: Path | None = None
) -> Catalog:
    """Validate CSV bytes as a catalog (see `load_catalog`)."""
    file = str(csv_path)
    issues: list[Issue] = []

    def damaged(key: str, line: int, encoding: str = "unknown") -> Catalog:
        issues.append(Issue(file, line, "", None, key))
        return Catalog(directory, csv_path, center, (), (), tuple(issues), encoding, True)

    if raw.startswith(_ZIP):
        return damaged("catalog.xlsx_as_csv", 1)
    nul = raw.find(b"\0")
    if nul >= 0 and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 is full of NULs
        return damaged("catalog.nul_byte", raw.count(b"\n", 0, nul) + 1)
    source = decode_bytes(raw)
    for key, params, line in source.notes:
        issues.append(
            Issue(file, line, "", None, key, params, "error" if source.fatal else "warning")
        )
    if source.fatal:
        return Catalog(directory, csv_path, center, (), (), tuple(issues), source.encoding, True)

    try:
        _, header, raw_rows = read_rows(source.text)
    except CsvDamaged as exc:
        return damaged(_CSV_DAMAGE[exc.key], exc.line, source.encoding)
    if not header or not any(header):
        issues.append(Issue(file, 1, "", None, "catalog.empty"))
        return Catalog(directory, csv_path, center, (), (), tuple(issues), source.encoding)

    seen_columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in seen_columns:  # unnamed columns: Excel's trailing empty cells
            issues.append(
                Issue(
                    file,
                    1,
                    name,
                    index,
                    "catalog.duplicate_column",
                    {"first": column_letter(seen_columns[name])},
                )
            )
        else:
            seen_columns[name] = index
    missing = [c for c in COLUMNS if c not in seen_columns]
    for name in missing:
        issues.append(
            Issue(file, 1, name, None, "catalog.missing_column", {"columns": ", ".join(COLUMNS)})
        )

    rows = [_make_row(r, header, file, issues) for r in raw_rows]
    if not missing:
        _check_rows(rows, header, center, file, issues)
    issues.sort(key=lambda i: (i.line, i.column_index if i.column_index is not None else -1))
    return Catalog(
        directory, csv_path, center, tuple(header), tuple(rows), tuple(issues), source.encoding
    )


def _make_row(raw: RawRow, header: list[str], file: str, issues: list[Issue]) -> Row:
    cells = list(raw.cells)
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        issues.append(
            Issue(
                file,
                raw.line,
                "",
                len(header),
                "catalog.extra_cells",
                {"expected": len(header), "found": len(cells)},
            )
        )
    values: dict[str, str] = {}
    for index, name in enumerate(header):
        if name in values:
            continue
        value = unneutralise(cells[index]) if index < len(cells) else ""
        value = value.strip() if name != "name" else clean_text(value)
        if len(value) > MAX_CELL_CHARS:
            issues.append(
                Issue(
                    file,
                    raw.line,
                    name,
                    index,
                    "catalog.cell_too_long",
                    {"length": len(value), "limit": MAX_CELL_CHARS},
                )
            )
        fixed = unmangle(value)
        if fixed is not None:
            issues.append(
                Issue(
                    file,
                    raw.line,
                    name,
                    index,
                    "catalog.mojibake",
                    {"fixed": fixed[:60]},
                    "warning",
                )
            )
        values[name] = value
    return Row(raw.line, values)


def _check_rows(
    rows: list[Row], header: list[str], center: CenterSettings, file: str, issues: list[Issue]
) -> None:
    col = {name: header.index(name) for name in COLUMNS}

    def add(row: Row, name: str, key: str, severity: str = "error", **params: object) -> None:
        issues.append(Issue(file, row.line, name, col.get(name), key, params, severity))

    known_codes = {r.code for r in rows if CODE_RE.match(r.code)}
    versions: dict[tuple[str, str], Row] = {}
    #: (code, successor) → the last row saying so
    replacements: dict[tuple[str, str], Row] = {}
    current_rows: dict[str, Row] = {}

    for row in rows:
        code = row.code
        if not code:
            add(row, "code", "catalog.code_empty")
        elif not CODE_RE.match(code):
            if re.fullmatch(r"\d\.\d{1,5}", code):
                add(row, "code", "catalog.code_excel_number", value=code)
            else:
                add(row, "code", "catalog.code_malformed", value=code)
        if not row.get("name"):
            add(row, "name", "catalog.name_empty")

        status = row.status
        if status not in STATUSES:
            add(row, "status", "catalog.status_unknown", value=status, allowed=", ".join(STATUSES))

        for name in TEXT_COLUMNS:
            if is_formula(row.get(name)):
                add(row, name, "catalog.formula_text", char=row.get(name)[0])

        raw_date = row.get("effective_from")
        when = parse_date(raw_date)
        if when is not None and not date_in_range(when):
            add(
                row,
                "effective_from",
                "catalog.date_out_of_range",
                value=raw_date,
                earliest=f"{EARLIEST_DATE:%d/%m/%Y}",
                latest=f"{LATEST_DATE:%d/%m/%Y}",
            )
        if raw_date and when is None:
            dmy = DMY_RE.match(raw_date)
            if dmy and _real_date(*(int(g) for g in reversed(dmy.groups()))):
                day, month, year = (int(g) for g in dmy.groups())
                add(
                    row,
                    "effective_from",
                    "catalog.date_dmy",
                    value=raw_date,
                    iso=f"{year:04d}-{month:02d}-{day:02d}",
                )
            else:
                add(row, "effective_from", "catalog.date_malformed", value=raw_date)
        if status == "scheduled" and not raw_date:
            add(row, "effective_from", "catalog.scheduled_needs_date")

        successor = row.get("replaced_by")
        if successor:
            if successor == code:
                add(row, "replaced_by", "catalog.replaced_by_self")
            elif not CODE_RE.match(successor):
                add(row, "replaced_by", "catalog.code_malformed", value=successor)
            elif successor not in known_codes:
                add(row, "replaced_by", "catalog.replaced_by_unknown", value=successor)
            elif CODE_RE.match(code):
                replacements[(code, successor)] = row

        formality = row.get("formality_id")
        if formality:
            try:
                uuid.UUID(formality)
            except ValueError:
                add(row, "formality_id", "catalog.formality_malformed", value=formality)

        url = row.get("url")
        if url:
            for key, severity, params in _check_url(url, center):
                add(row, "url", key, severity, **params)
        elif not formality and status in ("active", "scheduled") and center.link_mode == "portal":
            add(row, "formality_id", "catalog.search_fallback", "warning")

        if code:
            key = (code, raw_date if status == "scheduled" else "")
            if key in versions:
                add(row, "code", "catalog.code_duplicate", value=code, first=versions[key].line)
            else:
                versions[key] = row
            if status != "scheduled":
                current_rows.setdefault(code, row)

    # A scheduled version of a code must come after that code's current row.
    for (code, raw_date), row in versions.items():
        current = current_rows.get(code)
        when = parse_date(raw_date) if raw_date else None
        if current is not None and when and current.effective and when <= current.effective:
            add(row, "effective_from", "catalog.scheduled_before_current", line=current.line)

    # A replacement cycle (A by B, B by A) would take every procedure of it out of force.
    for row, cycle in replacement_cycles(replacements):
        add(row, "replaced_by", "catalog.replaced_cycle", cycle=" → ".join(cycle))


def replacement_cycles(
    edges: Mapping[tuple[str, str], Row],
) -> list[tuple[Row, list[str]]]:
    """Each replacement cycle among `edges` ((code, successor) → row saying so), as the row
    that closes it (of the cycle's rows, the one furthest down the file) and the codes of the
    cycle, from that row's code back to it: one per group of codes replacing one another.

    Strongly connected components (Tarjan's algorithm, without recursion, so a chain of
    thousands of replacements costs linear time): every edge inside a component lies on a
    cycle, so the component's last edge in the file closes one.
    """
    graph: dict[str, list[str]] = {}
    for code, successor in edges:
        graph.setdefault(code, []).append(successor)
        graph.setdefault(successor, [])
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in graph:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in order:
                    order[child] = low[child] = len(order)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], order[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == order[node]:
                    component: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)

    found: list[tuple[Row, list[str]]] = []
    for component in components:
        inside = [(k, r) for k, r in edges.items() if k[0] in component and k[1] in component]
        (code, successor), row = max(inside, key=lambda item: item[1].line)
        # the way back from the successor to the code, inside the component (breadth first)
        came_from: dict[str, str] = {successor: successor}
        queue = [successor]
        for node in queue:
            if node == code:
                break
            for child in graph[node]:
                if child in component and child not in came_from:
                    came_from[child] = node
                    queue.append(child)
        path = [code]
        while path[-1] != successor:
            path.append(came_from[path[-1]])
        found.append((row, [code, *reversed(path[1:]), code]))
    found.sort(key=lambda item: item[0].line)
    return found


def _check_url(url: str, center: CenterSettings) -> list[tuple[str, str, dict[str, object]]]:
    """Problems with an explicit `url`, as (message key, severity, params). The link is read
    as a phone's browser reads it (WHATWG), so a catalog link that hides where it leads (a
    backslash, user info, an official page forwarding elsewhere) is refused like a sticker's."""
    from qrcheck.urls import disguised, parse_link

    parts = parse_link(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.host:
        return [("catalog.url_malformed", "error", {"value": url})]
    host = parts.host
    if disguised(parts, center) is not None:
        return [("catalog.url_disguised", "error", {"value": url, "host": host})]
    if center.host_is_legacy(host):
        return [("catalog.url_legacy", "warning", {"host": host})]
    if not center.host_is_official(host):
        domains = ", ".join(center.official_domains)
        return [("catalog.url_not_official", "error", {"host": host, "domains": domains})]
    if parts.scheme != "https":
        return [("catalog.url_not_https", "warning", {})]
    if any(p in parts.path for p in center.legacy_paths):
        return [("catalog.url_legacy_form", "warning", {})]
    return []


def catalog_fingerprint(cat: Catalog) -> str:
    """SHA-256 of the catalog's CSV as it is on disk (a catalog version, in the history)."""
    return hashlib.sha256(cat.path.read_bytes()).hexdigest()


def group_issues(issues: Sequence[Issue]) -> list[tuple[list[Issue], Issue]]:
    """Issues to show, one row each; the same warning on many rows becomes one row.

    Errors each need a fix where they are, so they stay one per row. A warning repeated on
    three or more rows (e.g. many procedures without a formalityId) is shown once, with its lines.
    """
    groups: dict[tuple[str, str, str], list[Issue]] = {}
    for issue in issues:
        key = (
            (issue.key, issue.column, issue.file)
            if not issue.is_error
            else (str(id(issue)), "", "")
        )
        groups.setdefault(key, []).append(issue)
    rows = []
    for members in groups.values():
        if len(members) >= 3 and not members[0].is_error and not members[0].params:
            rows.append((members, members[0]))
        else:
            rows.extend(([m], m) for m in members)
    rows.sort(key=lambda r: (not r[1].is_error, r[0][0].line))
    return rows


def history_rows(catalog: Catalog) -> tuple[Row, ...]:
    """The catalog's rows plus those of its earlier versions kept in `history/` by imports.

    A posting printed from an earlier version carries that version's tag; with these rows a
    checker can say which fields changed since. Unreadable old files are passed over.
    """
    rows = list(catalog.rows)
    folder = catalog.directory / "history" if catalog.directory else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("procedures-*.csv")):
            try:
                old = parse_catalog(path.read_bytes(), path, catalog.center)
            except (OSError, ValueError):
                continue
            rows.extend(old.rows)
    return tuple(rows)


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


@dataclass(frozen=True)
class FieldChange:
    code: str
    fields: tuple[str, ...]
    #: True when a field printed on the posting (or its version) changed: it must be reprinted
    reprint: bool


@dataclass(frozen=True)
class CatalogDiff:
    """What differs between two catalogs, each taken as of the same date."""

    added: tuple[Procedure, ...]
    removed: tuple[Procedure, ...]
    changed: tuple[FieldChange, ...]
    replaced: tuple[Procedure, ...]
    abolished: tuple[Procedure, ...]
    scheduled: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not any(
            (self.added, self.removed, self.changed, self.replaced, self.abolished, self.scheduled)
        )

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "replaced": len(self.replaced),
            "abolished": len(self.abolished),
            "scheduled": len(self.scheduled),
        }


def diff_views(old: CatalogView, new: CatalogView) -> CatalogDiff:
    """Compare two resolved catalogs procedure by procedure."""
    added, removed, replaced, abolished = [], [], [], []
    changed: list[FieldChange] = []
    for code, proc in new.procedures.items():
        before = old.procedures.get(code)
        if before is None:
            (
                added
                if proc.in_force
                else {"replaced": replaced, "abolished": abolished}[proc.state]
            ).append(proc)
            continue
        if proc.state == "replaced" and (
            before.state != "replaced" or before.replaced_by != proc.replaced_by
        ):
            replaced.append(proc)
        elif proc.state == "abolished" and before.state != "abolished":
            abolished.append(proc)
        names = sorted(set(before.values) | set(proc.values))
        fields = tuple(n for n in names if before.values.get(n, "") != proc.values.get(n, ""))
        if fields and proc.in_force:
            reprint = any(f in VERSION_FIELDS for f in fields) or before.link != proc.link
            changed.append(FieldChange(code, fields, reprint))
    for code, proc in old.procedures.items():
        if code not in new.procedures:
            removed.append(proc)
    known = {(c.when, c.code, c.kind, c.successor) for c in old.upcoming}
    scheduled = [c for c in new.upcoming if (c.when, c.code, c.kind, c.successor) not in known]
    return CatalogDiff(
        tuple(added),
        tuple(removed),
        tuple(changed),
        tuple(replaced),
        tuple(abolished),
        tuple(scheduled),
    )
