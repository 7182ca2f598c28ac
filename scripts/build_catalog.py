"""Build catalog/procedures.csv from ../shared/reference/procedures-sample.csv (run once).

Keeps every row's code, name, field, level, formalityId and source (source_url, confidence,
note), maps the reference's notes onto the catalog contract (abolished rows, successors), and
adds the few scheduled rows that exercise every path. Rows whose dates were invented for that
purpose say "DEMO" in their note. Usage: python scripts/build_catalog.py [REFERENCE_CSV]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.catalog.csv_text import write_csv  # noqa: E402
from qrcheck.catalog.model import COLUMNS  # noqa: E402

EXTRA = ("source_url", "confidence", "note")

# code -> overrides, from the reference's own notes (Hải Phòng decisions) and DESIGN.md
FACTS = {
    "2.002913": {"decision": "3582/QĐ-UBND ngày 08/9/2026", "effective_from": "2026-09-08"},
    "2.002621": {
        "status": "abolished",
        "decision": "3582/QĐ-UBND ngày 08/9/2026",
        "effective_from": "2026-09-08",
    },
    "2.002622": {
        "status": "abolished",
        "decision": "3582/QĐ-UBND ngày 08/9/2026",
        "effective_from": "2026-09-08",
        "replaced_by": "2.002913",
    },
    "2.001009": {"status": "abolished", "decision": "4517/QĐ-UBND"},
    # DESIGN.md: hỗ trợ chi phí mai táng 1.001731 became 1.116910
    "1.001731": {"status": "abolished", "replaced_by": "1.116910"},
    "2.001909": {"decision": "3626/QĐ-UBND ngày 10/9/2026", "effective_from": "2026-09-10"},
    "2.001801": {"decision": "3626/QĐ-UBND ngày 10/9/2026", "effective_from": "2026-09-10"},
    "2.002409": {"decision": "3626/QĐ-UBND ngày 10/9/2026", "effective_from": "2026-09-10"},
    "2.002396": {"decision": "3626/QĐ-UBND ngày 10/9/2026", "effective_from": "2026-09-10"},
}
DEMO = "DEMO: effective date chosen to exercise a scheduled change in the bundled data; verify"
# Scheduled successions: the old code stays in force until its successor's date.
SCHEDULED = {
    "2.000286": ("1.116907", "2026-12-15"),
    "1.001776": ("1.116909", "2027-03-01"),
}


def main(reference: Path) -> None:
    with reference.open(encoding="utf-8-sig", newline="") as handle:
        source = list(csv.DictReader(handle))
    rows: list[dict[str, str]] = []
    for item in source:
        row = {c: "" for c in COLUMNS + EXTRA}
        for key in ("code", "name", "field", "level", "formality_id", *EXTRA):
            row[key] = item.get(key, "").strip()
        row["status"] = "active"
        row.update(FACTS.get(row["code"], {}))
        rows.append(row)
    by_code = {r["code"]: r for r in rows}
    for old, (new, when) in SCHEDULED.items():
        by_code[old]["replaced_by"] = new
        by_code[new].update(status="scheduled", effective_from=when)
        by_code[new]["note"] = "; ".join(filter(None, [by_code[new]["note"], DEMO]))
    # A scheduled amendment of a procedure that stays under the same code.
    amended = dict(by_code["1.001193"])
    amended.update(status="scheduled", effective_from="2027-03-01", note=DEMO)
    rows.insert(rows.index(by_code["1.001193"]) + 1, amended)
    header = COLUMNS + EXTRA
    write_csv(ROOT / "catalog" / "procedures.csv", header, [[r[c] for c in header] for r in rows])
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared/reference/procedures-sample.csv"
    )
