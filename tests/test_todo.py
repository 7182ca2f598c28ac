"""The to-do list of each board (issue 16): print, take down, check a possible fake sticker; each
closable with who and when; an Excel download for the office.

The board is photographed for real (codes from segno, zxing-cpp's writer and python-qrcode in
tests/test_rounds.py's capture model), checked, and recorded in a real SQLite history.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import BUNDLED_CATALOG, save_photo
from openpyxl import load_workbook
from test_rounds import board

from qrcheck.board.check import check_photos
from qrcheck.board.store import Store
from qrcheck.board.todo import board_todo, close_task, todo_xlsx
from qrcheck.catalog.load import load_catalog

TODAY = date(2026, 11, 27)
FAKE = "https://dichvucong-gov.vn.thanhtoan-phi.com/thanh-toan?ma=1.013978"
BOARD = "Bảng 1"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


def check_board(folder: Path, catalog, texts: list[str], scrambled: set[int], db: Path) -> None:
    save_photo(board(texts, scrambled, columns=3), folder / "IMG_0001.png")
    report = check_photos([folder], catalog.as_of(TODAY), catalog.center)
    with Store(db) as store:
        for photo in report.photos:
            store.record_photo(photo, str(folder), "test")  # one run per folder


@pytest.fixture
def history(tmp_path: Path, catalog) -> Path:
    view = catalog.as_of(TODAY)
    procs = view.procedures
    sound = next(p for p in view.active() if p.code not in ("1.116910",))
    texts = [
        FAKE,  # a fake sticker
        procs["2.002621"].payload,  # abolished
        procs["1.001731"].payload,  # replaced by 1.116910, which hangs beside it
        procs["1.116910"].payload,
        sound.payload,  # scrambled below: unreadable, nobody can name it
        next(p for p in view.active() if p.code not in (sound.code, "1.116910")).payload,
    ]
    db = tmp_path / "h.sqlite"
    check_board(tmp_path / BOARD, catalog, texts, {4}, db)
    return db


def test_each_board_gets_one_list_most_urgent_first(history: Path, catalog) -> None:
    view = catalog.as_of(TODAY)
    with Store(history) as store:
        tasks = [k for k in board_todo(store, view, catalog.center, "vi", days=0) if k.location]
    assert [(k.kind, k.code) for k in tasks] == [
        ("investigate", None),
        ("take_down", "1.001731"),
        ("take_down", "2.002621"),
        ("print", None),
    ]
    fake, replaced, abolished, unreadable = tasks
    assert "dichvucong-gov.vn.thanhtoan-phi.com" in fake.sentence and fake.subject == FAKE
    assert "chỉ cần gỡ bản cũ này" in replaced.sentence
    assert "bãi bỏ" in abolished.sentence
    assert unreadable.crop is not None and unreadable.subject == ""  # no button: retake
    assert all(k.location == BOARD for k in tasks)
    # nothing asks to print 1.116910 again: it hangs there, sound
    assert not any(k.kind == "print" and k.code == "1.116910" for k in tasks)


def test_closing_a_task_records_who_and_when_and_a_later_round_can_reopen_it(
    tmp_path: Path, history: Path, catalog
) -> None:
    view = catalog.as_of(TODAY)
    with Store(history) as store:
        tasks = [k for k in board_todo(store, view, catalog.center, "vi", days=0) if k.location]
        fake = tasks[0]
        assert close_task(store, view, fake.kind, fake.location, fake.subject, "lan", TODAY)
        assert not close_task(store, view, "print", BOARD, "9.999999", "lan", TODAY)
        assert not close_task(store, view, "nonsense", BOARD, "x", "lan", TODAY)
        left = [k for k in board_todo(store, view, catalog.center, "vi", days=0) if k.location]
        assert [k.kind for k in left] == ["take_down", "take_down", "print"]
        (done,) = store.tasks_done()
        assert (done.kind, done.location, done.subject, done.who) == (
            "investigate",
            BOARD,
            FAKE,
            "lan",
        )
    # the board checked again two hours later: the sticker is still there, the task is back
    with sqlite3.connect(history) as raw:
        earlier = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        raw.execute("UPDATE checks SET checked_at = ?", (earlier,))
        raw.execute("UPDATE postings SET first_seen = ?, last_seen = ?", (earlier, earlier))
        raw.execute("UPDATE tasks_done SET done_at = ?", (earlier,))
    texts = [FAKE, view.procedures["1.116910"].payload]
    check_board(tmp_path / "again" / BOARD, catalog, texts, set(), history)
    with Store(history) as store:
        tasks = [k for k in board_todo(store, view, catalog.center, "vi", days=0) if k.location]
    # the round shows the sticker again (reopened); the abolished and replaced postings are
    # gone from the board, so their tasks are too
    assert [(k.kind, k.subject) for k in tasks if k.kind != "print"] == [("investigate", FAKE)]


def test_a_print_task_is_closed_as_reprint_done_is(tmp_path: Path, catalog) -> None:
    """A faded posting named by its code: closing "đã thay xong" records the print with who."""
    view = catalog.as_of(TODAY)
    proc = view.active()[3]
    db = tmp_path / "h.sqlite"
    check_board(tmp_path / BOARD, catalog, [proc.payload, view.active()[4].payload], set(), db)
    with Store(db) as store:
        store.db.execute("UPDATE codes SET grade = 'F', action = 'reprint' WHERE procedure = ?",
                         (proc.code,))  # fmt: skip
        tasks = [k for k in board_todo(store, view, catalog.center, "vi", days=0) if k.location]
        assert [(k.kind, k.code) for k in tasks] == [("print", proc.code)]
        assert close_task(store, view, "print", BOARD, proc.code, "minh", TODAY)
        assert [k for k in board_todo(store, view, catalog.center, "vi", 0) if k.location] == []
        (printed,) = [p for p in store.prints() if p.source == "done"]
        assert (printed.procedure, printed.location, printed.who) == (proc.code, BOARD, "minh")


def test_the_excel_download_holds_every_task_with_vietnamese_headers(
    history: Path, catalog
) -> None:
    view = catalog.as_of(TODAY)
    with Store(history) as store:
        tasks = board_todo(store, view, catalog.center, "vi", days=30)
    hostile = tasks[0].__class__(**{**tasks[0].__dict__, "location": '=HYPERLINK("x")'})
    data = todo_xlsx([*tasks, hostile], "vi", "Trung tâm · 27/11/2026")
    sheet = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Trung tâm · 27/11/2026"
    assert rows[1] == [
        "Bảng",
        "Việc",
        "Mã thủ tục",
        "Tên thủ tục",
        "Lý do",
        "Thấy lần cuối",
        "Đã làm (ai, ngày)",
    ]
    assert len(rows) == 2 + len(tasks) + 1
    assert {r[1] for r in rows[2:]} >= {"Kiểm tra ngay", "Gỡ bỏ", "In và thay"}
    assert rows[-1][0] == '\'=HYPERLINK("x")'  # shown as text in Excel, never run


def test_the_cli_lists_the_tasks_and_writes_the_workbook(
    tmp_path: Path, history: Path, capsys
) -> None:
    from conftest import run_cli

    common = ["--catalog", str(BUNDLED_CATALOG), "--as-of", TODAY.isoformat(), "--db", str(history)]
    book = tmp_path / "viec.xlsx"
    assert run_cli(["todo", *common, "--xlsx", str(book), "--lang", "en"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Check now" in out and "Take down" in out and "1.001731" in out
    assert "thanhtoan-phi" in out.replace("│", "").replace(" ", "")
    rows = list(load_workbook(book).active.iter_rows(values_only=True))
    assert rows[1][0] == "Board" and len(rows) > 4
