"""Stage 7, reports: what a check and the history say, for people and for other programs.

- `check_json`: a check's JSON document (the contract in DESIGN.md);
- `explain`: what staff are told about a code (the command line's notes, the web page's cards);
- `export`: the history's posting states as JSON and CSV;
- `history_html`: the history report staff open in a browser (trends, crops, what to do).

The terminal tables are the command line's (`qrcheck.cli.render`).
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "report_json": "check_json",
        "history_json": "export",
        "history_csv": "export",
        "history_html": "history_html",
    },
)
