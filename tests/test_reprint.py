"""`qrcheck reprint`: one list of what to print, from the history and the catalog."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from conftest import BUNDLED_CATALOG, board_image, run_cli, save_photo
from pypdf import PdfReader

from qrcheck.board.check import check_photos
from qrcheck.board.store import Store
from qrcheck.catalog.load import load_catalog
from qrcheck.links.verdict import Verdict

TODAY = date(2026, 11, 27)
OLD_PORTAL = "https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"
#: active procedures with no change scheduled in the bundled catalog
FADED, OUTDATED, LEGACY, SOUND, DEAD = "1.000656", "1.003622", "1.004884", "1.012812", "2.000575"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


@pytest.fixture(scope="module")
def view(catalog):
    return catalog.as_of(TODAY)


def faded(image: np.ndarray) -> np.ndarray:
    """The board with its ink faded to a pale grey: the code still reads but grades D or F."""
    return np.where(image < 128, 205, image).astype(np.uint8)


def common(db: Path) -> list[str]:
    return ["--catalog", str(BUNDLED_CATALOG), "--as-of", TODAY.isoformat(), "--db", str(db)]


def reprint_json(db: Path, *extra: str) -> list[dict]:
    return reprint_rows(db, *extra)


def reprint_rows(db: Path, *extra: str, capsys=None) -> list[dict]:  # type: ignore[no-untyped-def]
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert run_cli(["reprint", "--json", "--lang", "en", *common(db), *extra]) == 0
    return json.loads(buffer.getvalue())["items"]


@pytest.fixture
def history(tmp_path: Path, view, catalog) -> Path:
    """Two boards: Quầy 1 with one posting for every reason, Quầy 2 with a dead link."""
    db = tmp_path / "h.sqlite"
    boards = tmp_path / "boards"
    procs = view.procedures
    sound = [
        procs[SOUND].payload,
        procs[OUTDATED].link + "#v=AAAAAA",
        f"{OLD_PORTAL}?ma_thu_tuc={LEGACY}",
        procs["1.001731"].payload,  # replaced by 1.116910
        procs["2.000286"].payload,  # replaced by 1.116907 on 15/12/2026
    ]
    save_photo(board_image(sound), boards / "Quầy 1" / "a.png")
    save_photo(faded(board_image([procs[FADED].payload])), boards / "Quầy 1" / "b.png")
    assert run_cli(["check", str(boards / "Quầy 1"), "--offline", *common(db)]) == 1

    # Quầy 2: a current link that the live check found dead (recorded as `check` does it)
    photo = save_photo(board_image([procs[DEAD].payload]), boards / "Quầy 2" / "c.png")
    report = check_photos([photo], view, catalog.center)
    with Store(db) as store:
        check_id = store.record_photo(report.photos[0], "run-live", "qrcheck test")
        assert check_id is not None
        code = report.photos[0].codes[0]
        dead = replace(
            code, verdict=Verdict("dead", DEAD, "links.live_dead", {"http": 404}), action="reprint"
        )
        live = replace(report, photos=(replace(report.photos[0], codes=(dead,)),))
        assert store.update_links(live, {report.photos[0].sha256: check_id}) == 1
    return db


def kinds(items: list[dict]) -> dict[tuple[str, str], list[str]]:
    return {(i["location"], i["code"]): [r["kind"] for r in i["reasons"]] for i in items}


def test_the_list_covers_every_reason(history: Path) -> None:
    items = reprint_json(history)
    assert kinds(items) == {
        ("Quầy 1", FADED): ["grade"],
        ("Quầy 1", OUTDATED): ["outdated"],
        ("Quầy 1", LEGACY): ["legacy"],
        ("Quầy 1", "1.116910"): ["replaced"],  # the successor is what gets printed
        ("Quầy 1", "1.116907"): ["scheduled_replaced"],
        ("Quầy 2", DEAD): ["dead"],
        ("", "1.116907"): ["scheduled_new"],  # a new procedure: on no board yet
    }
    by_code = {(i["location"], i["code"]): i for i in items}
    assert by_code[("Quầy 1", "1.116910")]["posting"] == "1.001731"
    assert by_code[("Quầy 1", "1.116907")]["due"] == "2026-12-15"
    sentence = by_code[("Quầy 1", "1.116910")]["reasons"][0]["text"]
    assert sentence == "Procedure 1.001731 was replaced by the new code 1.116910: print 1.116910."
    assert SOUND not in {i["code"] for i in items}
    # the sound posting and every other are in the history all the same
    with Store(history) as store:
        assert len(store.postings()) == 7


def test_days_widen_the_window_of_scheduled_changes(history: Path) -> None:
    assert ("", "1.116909") not in kinds(reprint_json(history))
    wide = kinds(reprint_json(history, "--days", "120"))
    # 01/03/2027: 1.116909 is new and replaces 1.001776, which hangs on no board: one item
    assert wide[("", "1.116909")] == ["scheduled_replaced", "scheduled_new"]
    assert wide[("Quầy 1", OUTDATED)] == ["outdated"]
    assert ("", "1.116907") in wide
    assert ("", "1.116907") not in kinds(reprint_json(history, "--days", "7"))


def test_the_terminal_list_says_where_and_why_in_vietnamese(history: Path, capsys) -> None:
    assert run_cli(["reprint", *common(history)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Cần in và thay 7 bản niêm yết" in text
    assert "Quầy 2" in text and "(chưa niêm yết ở đâu)" in text
    assert "hạng" in text


def test_done_takes_a_posting_off_the_list(history: Path, capsys) -> None:
    args = ["--done", "1.116910", "--location", "Quầy 1"]
    items = reprint_rows(history, *args)
    assert ("Quầy 1", "1.116910") not in kinds(items)
    assert len(items) == 6
    with Store(history) as store:
        [done] = [p for p in store.prints() if p.source == "done"]
    assert (done.procedure, done.location, done.printed_on) == ("1.116910", "Quầy 1", "2026-11-27")
    # the same code at another board is not touched by it
    items = reprint_rows(history, "--done", DEAD, "--location", "Quầy 1")
    assert ("Quầy 2", DEAD) in kinds(items)
    items = reprint_rows(history, "--done", DEAD, "--location", "Quầy 2")
    assert ("Quầy 2", DEAD) not in kinds(items)


def test_done_with_an_unknown_code_is_a_usage_error(history: Path, capsys) -> None:
    args = ["reprint", *common(history), "--done", "9.999999", "--location", "Quầy 1"]
    assert run_cli([*args, "--lang", "en"]) == 2
    assert "No procedure has the code 9.999999" in capsys.readouterr().err


def test_a_sound_new_photo_of_the_posting_takes_it_off_the_list(
    history: Path, tmp_path: Path, view
) -> None:
    photo = board_image([view.procedures[FADED].payload])
    save_photo(photo, tmp_path / "again" / "Quầy 1" / "d.png")
    assert (
        run_cli(["check", str(tmp_path / "again" / "Quầy 1"), "--offline", *common(history)]) == 0
    )
    assert ("Quầy 1", FADED) not in kinds(reprint_json(history))


def test_the_sheet_holds_one_posting_per_item(history: Path, tmp_path: Path, capsys) -> None:
    sheet = tmp_path / "print" / "reprint.pdf"
    assert run_cli(["reprint", *common(history), "--sheet", str(sheet), "--lang", "en"]) == 0
    assert "(7 postings)" in " ".join(capsys.readouterr().out.split())
    reader = PdfReader(sheet)
    assert len(reader.pages) == 4  # A5 postings, two to a landscape A4 page
    text = "".join(page.extract_text() for page in reader.pages)
    for code in (FADED, OUTDATED, LEGACY, "1.116910", DEAD):
        assert text.count(code) >= 1, code
    assert "1.001731" not in text  # the replaced code is not printed again
    assert text.count("1.116907") >= 2  # at Quầy 1 and for the board where it is new


def test_an_empty_history_needs_nothing_but_scheduled_changes(tmp_path: Path, capsys) -> None:
    db = tmp_path / "empty.sqlite"
    assert kinds(reprint_json(db, "--days", "0")) == {}
    assert run_cli(["reprint", *common(db), "--days", "0", "--lang", "en"]) == 0
    assert "No posting needs reprinting." in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# qrcheck report --format csv|json


def test_report_json_lists_every_posting_per_location(history: Path, capsys) -> None:
    assert run_cli(["report", *common(history), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    places = {p["location"]: p for p in document["locations"]}
    assert set(places) == {"Quầy 1", "Quầy 2"}
    assert document["summary"]["postings"] == 7
    quay1 = {row["procedure"]: row for row in places["Quầy 1"]["postings"]}
    assert quay1[SOUND]["action"] == "ok" and quay1[SOUND]["status"] == "current"
    assert quay1[FADED]["grade"] in ("D", "F") and quay1[FADED]["action"] == "reprint"
    assert quay1["1.001731"]["status"] == "replaced"
    assert places["Quầy 2"]["postings"][0]["status"] == "dead"
    assert places["Quầy 1"]["by_action"] == {"ok": 2, "reprint": 4}


def test_report_csv_opens_in_excel(history: Path, tmp_path: Path) -> None:
    import csv

    out = tmp_path / "report.csv"
    assert run_cli(["report", *common(history), "--format", "csv", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Vietnamese right
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert len(rows) == 7
    assert {r["location"] for r in rows} == {"Quầy 1", "Quầy 2"}
    assert {"grade", "status", "action", "last_seen"} <= set(rows[0])


def test_report_refuses_an_unknown_format(history: Path, capsys) -> None:
    assert run_cli(["report", *common(history), "--format", "xml", "--lang", "en"]) == 2
    assert "choose csv or json" in capsys.readouterr().err


def unreadable_board(view, seed: int = 3) -> np.ndarray:
    """A board of two codes, the first with its middle scrambled past error correction (its
    finders and timing patterns intact: located, not decoded), in a photo's grey range."""
    image = board_image([view.procedures[SOUND].payload, view.procedures[FADED].payload])
    side = max(image.shape[0] - 80, 0)
    a, b = 20 + side // 4, 20 + 3 * side // 4
    rng = np.random.default_rng(seed)
    cells = (rng.random(((b - a) // 6 + 1,) * 2) < 0.5).astype(np.uint8) * 255
    image[a:b, a:b] = np.kron(cells, np.ones((6, 6), np.uint8))[: b - a, : b - a]
    return (30 + image.astype(np.float32) * 200 / 255).astype(np.uint8)


def test_codes_nobody_can_read_are_listed_until_a_new_check(tmp_path: Path, view, capsys) -> None:
    """An unreadable code has no procedure, so it cannot go on the print sheet; it is listed
    at its board with the photo, and leaves the list when a later check no longer shows it."""
    db = tmp_path / "h.sqlite"
    photo = save_photo(unreadable_board(view), tmp_path / "Quầy 5" / "IMG_0001.png")
    assert run_cli(["check", str(photo.parent), "--offline", *common(db)]) == 1
    items = reprint_json(db)
    lost = [i for i in items if i["location"] == "Quầy 5"]
    assert [(i["code"], [r["kind"] for r in i["reasons"]]) for i in lost] == [
        (None, ["unreadable"])
    ]
    assert "IMG_0001.png" in lost[0]["reasons"][0]["text"]
    assert lost[0]["reasons"][0]["text"].startswith(
        "A QR code can no longer be read, nor the text printed around it (photo IMG_0001.png, "
    )
    # where in the photo, as the check's table says it (the scrambled code is the first)
    assert "(photo IMG_0001.png, row 1, column 1; see the crop)" in lost[0]["reasons"][0]["text"]
    # the terminal list says it in Vietnamese; the sheet leaves it out (nothing to print)
    capsys.readouterr()
    sheet = tmp_path / "sheet.pdf"
    assert run_cli(["reprint", *common(db), "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Một mã QR" in out and "IMG_0001.png" in out
    printable = [i for i in items if i["code"]]  # the scheduled changes of the catalog
    assert printable and len(printable) == len(items) - 1
    assert f"({len(printable)} bản niêm yết)" in " ".join(out.split())  # not the unreadable one
    assert sheet.read_bytes().startswith(b"%PDF")
    # the history report says it under the board too
    page = tmp_path / "report.html"
    assert run_cli(["report", *common(db), "--out", str(page)]) == 0
    html = " ".join(page.read_text(encoding="utf-8").split())
    assert "<h2>Quầy 5</h2>" in html
    said = "Một mã QR không đọc được nữa, và chữ in quanh nó cũng không đọc được (ảnh IMG_0001.png"
    assert said in html
    assert 'img class="crop" src="data:image/jpeg;base64,' in html
    # the board photographed again after the reprint: both codes read, the item is gone
    fresh = board_image([view.procedures[SOUND].payload, view.procedures[FADED].payload])
    again = save_photo(fresh, tmp_path / "Quầy 5" / "IMG_0002.png")
    (tmp_path / "Quầy 5" / "IMG_0001.png").rename(tmp_path / "IMG_0001.png")
    assert run_cli(["check", str(again.parent), "--offline", *common(db)]) == 0
    assert [i for i in reprint_json(db) if i["location"] == "Quầy 5"] == []


def test_the_report_counts_what_the_reprint_list_counts(tmp_path: Path, history: Path) -> None:
    """The report used to say "in lại 5" where the reprint list said 7: it now adds the
    postings no reader decodes to its counts and says how many the reprint list holds."""
    photo = save_photo(unreadable_board_for_history(), tmp_path / "boards" / "Quầy 4" / "x.png")
    assert run_cli(["check", str(photo.parent), "--offline", *common(history)]) == 1
    items = reprint_json(history)
    page = tmp_path / "report.html"
    assert run_cli(["report", *common(history), "--out", str(page), "--lang", "en"]) == 0
    html = " ".join(page.read_text(encoding="utf-8").split())
    assert f"The reprint list holds {len(items)} postings to print" in html
    assert any(i["location"] == "Quầy 4" and i["code"] is None for i in items)


def unreadable_board_for_history() -> np.ndarray:
    from qrcheck.catalog.load import load_catalog

    return unreadable_board(load_catalog(BUNDLED_CATALOG).as_of(TODAY), seed=4)


def test_the_sheet_names_each_board_and_marks_what_is_not_yet_in_force(
    history: Path, catalog, view
) -> None:
    """Each posting of the sheet carries its board; a posting printed ahead of a change that
    takes effect later says from when it applies (issue 16)."""
    from qrcheck.board.reprint import reprint_list, sheet_contents

    with Store(history) as store:
        items = reprint_list(store, view, catalog.center, 30)
    entries = sheet_contents(catalog, items, TODAY)
    by_code = {(e.content.code, e.location): e for e in entries}
    ahead = by_code[("1.116907", "Quầy 1")]  # replaces 2.000286 on 15/12/2026
    assert ahead.content.applies_from == date(2026, 12, 15)
    now_ = [e for e in entries if e.content.code == FADED]
    assert now_ and all(e.content.applies_from is None and e.location for e in now_)
