"""The to-do list on the phone (issue 16): one list per board, each task closed with a tap,
who and when kept in the history, an Excel download for the office.

The boards carry codes from segno, zxing-cpp's writer and python-qrcode (tests/test_rounds.py).

A real server on 127.0.0.1, real uploads checked by the real pipeline, Debian's chromium at a
390x844 phone viewport.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import BUNDLED_CATALOG, save_photo
from openpyxl import load_workbook
from test_rounds import board
from test_web import (
    ABOLISHED,
    CHROMIUM,
    SOUND,
    client,
    login,
    running_server,
    screenshot_folder,
    signed_in_phone,
    text_of,
    upload,
    view,  # noqa: F401 (a fixture)
    wait_for_result,
)

from qrcheck.board.store import Store

FAKE = "https://dichvucong-gov.vn.thanhtoan-phi.com/thanh-toan?ma=1.013978"
BOARD = "Bảng sảnh B"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with running_server(tmp_path_factory.mktemp("web-todo"), BUNDLED_CATALOG) as running:
        yield running


@pytest.fixture(scope="module")
def checked(server: dict, view, tmp_path_factory: pytest.TempPathFactory) -> dict:  # noqa: F811
    """A board with a fake sticker, an abolished procedure's posting and a sound one."""
    procs = view.procedures
    photo = save_photo(
        board([FAKE, procs[ABOLISHED].payload, procs[SOUND].payload], set(), columns=3),
        tmp_path_factory.mktemp("photos") / "IMG_2041.png",
    )
    with client(server) as http:
        login(http)
        answer = upload(http, [("photos", (photo.name, photo.read_bytes(), "image/png"))], BOARD)
        assert answer.status_code == 303
        wait_for_result(http, answer.headers["location"])
    return server


def test_the_list_and_its_excel_download(checked: dict) -> None:
    with client(checked) as http:
        assert http.get("/todo").status_code == 303  # a login first
        login(http)
        page = " ".join(text_of(http.get("/todo").text).split())
        assert BOARD in page
        assert page.index("Kiểm tra ngay") < page.index("Gỡ bỏ")  # the fake sticker first
        assert "dichvucong-gov.vn.thanhtoan-phi.com" in page and ABOLISHED in page
        download = http.get("/todo.xlsx")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(download.content)).active.rows]
    tasks = [r for r in rows[2:] if r[0] == BOARD]
    assert [r[1] for r in tasks] == ["Kiểm tra ngay", "Gỡ bỏ"]


def test_closing_needs_the_form_token(checked: dict) -> None:
    with client(checked) as http:
        login(http)
        forged = http.post(
            "/todo/done", data={"kind": "investigate", "location": BOARD, "subject": FAKE}
        )
        assert forged.status_code == 403
    with Store(checked["db"]) as store:
        assert store.tasks_done() == []


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_clerk_closes_tasks_from_the_phone(checked: dict) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser, page = signed_in_phone(pw, checked["url"], "hai")
        try:
            page.click("nav a[href='/todo']")
            page.wait_for_url("**/todo")
            here = page.locator("section.board", has_text=BOARD)
            buttons = here.locator("form.done button")
            assert buttons.count() == 2
            for i in range(buttons.count()):
                box = buttons.nth(i).bounding_box()
                assert box is not None and box["height"] >= 44 and box["width"] >= 44
            page.screenshot(path=str(screenshot_folder() / "todo.png"), full_page=True)
            first = here.locator("li.task-investigate")
            assert "thanhtoan-phi.com" in first.inner_text()
            assert first.locator(".procedure").inner_text() == "mã lạ"
            first.locator("button").click()
            page.wait_for_url("**/todo")
            notice = page.locator("p.notice")
            assert "Đã ghi nhận: Kiểm tra ngay (" + BOARD + ")" in notice.inner_text()
            assert here.locator("li.task-investigate").count() == 0
            here.locator("li.task-take_down button").click()
            page.wait_for_url("**/todo")
            assert page.locator("section.board", has_text=BOARD).count() == 0  # all done
        finally:
            browser.close()
    with Store(checked["db"]) as store:
        done = {(d.kind, d.location, d.who) for d in store.tasks_done()}
    assert done == {("investigate", BOARD, "hai"), ("take_down", BOARD, "hai")}


def test_an_upload_is_one_round_as_a_check_run_is(server: dict, view, tmp_path: Path) -> None:  # noqa: F811
    """The result page judges the photos of one upload together, as `qrcheck check` does a
    run: the replaced 1.001731 photographed beside a sound 1.116910 (in another photo of the
    same upload) is to be taken down, not reprinted."""
    import re

    procs = view.procedures
    first = save_photo(board([procs["1.001731"].payload, procs[SOUND].payload], set(), 2),
                       tmp_path / "IMG_1.png")  # fmt: skip
    second = save_photo(board([procs["1.116910"].payload], set(), 1), tmp_path / "IMG_2.png")
    files = [("photos", (p.name, p.read_bytes(), "image/png")) for p in (first, second)]
    with client(server) as http:
        login(http)
        answer = upload(http, files, "Bảng sảnh C")
        assert answer.status_code == 303
        page = wait_for_result(http, answer.headers["location"]).text
    cards = dict(
        re.findall(
            r'<span class="procedure">([^<]+)</span>.*?<span class="badge">([^<]+)</span>',
            page,
            flags=re.S,
        )
    )
    assert cards["1.001731"] == "gỡ bỏ"
    assert "chỉ cần gỡ bản cũ này" in " ".join(text_of(page).split())
