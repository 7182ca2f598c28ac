"""Reading the catalog files: each row checked (codes, dates, links, replacements), every problem
an issue naming its file, line and column; nothing half-read is ever used."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
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
)
from qrcheck.catalog.model import (
    CENTER_FILE,
    CODE_RE,
    COLUMNS,
    DMY_RE,
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_CELL_CHARS,
    PROCEDURES_FILE,
    STATUSES,
    TEXT_COLUMNS,
    Catalog,
    Issue,
    Row,
    parse_date,
)
from qrcheck.center import CenterSettings, load_center
from qrcheck.errors import CatalogError
from qrcheck.payload import (
    clean_text,
)

_ZIP = b"PK\x03\x04"


#: CsvDamaged.key → the message saying it of a catalog file
_CSV_DAMAGE = {
    "quote_unclosed": "catalog.quote_unclosed",
    "nul_byte": "catalog.nul_byte",
    "csv_damaged": "catalog.csv_damaged",
}


def date_in_range(value: date) -> bool:
    """True for a date a catalog may name (EARLIEST_DATE to LATEST_DATE)."""
    return EARLIEST_DATE <= value <= LATEST_DATE


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
