"""The history as rows: JSON and CSV export of each posting's state."""

from __future__ import annotations

from qrcheck.catalog.csv_text import csv_text

HISTORY_COLUMNS = (
    "location",
    "procedure",
    "grade",
    "score",
    "status",
    "action",
    "first_seen",
    "last_seen",
    "sightings",
    "text",
)


def history_rows(states) -> list[dict]:  # type: ignore[no-untyped-def]
    """One row per posting, by location then procedure."""
    rows = [{name: getattr(s, name) for name in HISTORY_COLUMNS} for s in states]
    return sorted(rows, key=lambda r: (r["location"], r["procedure"] or "", r["text"]))


def history_json(states) -> dict:  # type: ignore[no-untyped-def]
    """Postings grouped per location, with counts by action."""
    from collections import Counter

    locations: dict[str, list[dict]] = {}
    for row in history_rows(states):
        locations.setdefault(row["location"], []).append(row)
    return {
        "locations": [
            {
                "location": name,
                "postings": rows,
                "by_action": dict(Counter(r["action"] for r in rows)),
            }
            for name, rows in locations.items()
        ],
        "summary": {
            "locations": len(locations),
            "postings": sum(len(r) for r in locations.values()),
            "by_action": dict(Counter(s.action for s in states)),
        },
    }


def history_csv(states) -> str:  # type: ignore[no-untyped-def]
    """The rows as CSV (UTF-8 with a BOM when written to a file, so Excel reads Vietnamese).

    Every cell is neutralised (`qrcheck.catalog.csv_text.neutralise`): a decoded text such as
    `=HYPERLINK(...)` is an attacker's, and must show as text, never run, in Excel."""
    rows = ([row[name] for name in HISTORY_COLUMNS] for row in history_rows(states))
    return csv_text(HISTORY_COLUMNS, rows, newline="\r\n")
