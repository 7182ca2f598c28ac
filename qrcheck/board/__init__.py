"""Stage 6, the board: what each code on the boards calls for, and the history of the boards.

- `decide`: **where a code's action is decided**, from its grade and its link verdict (the
  table of rules is the module's docstring);
- `results`: what a check finds (CodeResult, PhotoResult, CheckReport) and the action words;
- `check`: a photo's check (locate, grade, judge, decide) and a round of photos (`keep_best`);
- `run`: a whole check run as the command line does it (check, record, live links, redraw);
- `rounds`: which codes of several photos of one board are the same posting;
- `annotate`: the photo with each code outlined in its action's colour; where a code sits;
- `store`: the SQLite history (checks, postings, prints, users);
- `reprint`, `todo`: the reprint list, the print sheet and the staff's to-do list.

The link verdict (stage 5) is `qrcheck.links`.
"""

from qrcheck._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "decide": "decide",
        "effective_verdict": "decide",
        "CodeResult": "results",
        "PhotoResult": "results",
        "CheckReport": "results",
        "check_photo": "check",
        "check_photos": "check",
        "run_check": "run",
        "Store": "store",
        "reprint_list": "reprint",
        "board_todo": "todo",
    },
)
