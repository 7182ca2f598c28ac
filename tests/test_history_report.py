"""`qrcheck report` as HTML: valid, self-contained, every board and posting; fading projection."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import BUNDLED_CATALOG, board_image, run_cli, save_photo

from qrcheck.board.check import check_photos
from qrcheck.board.store import Store
from qrcheck.catalog.load import load_catalog
from qrcheck.grade.fading import project_grade_d
from qrcheck.reports.history_html import projection, tracks

TODAY = date(2026, 11, 27)
SOUND, OTHER, REPLACED, ABOLISHED = "1.012812", "1.000656", "1.001731", "2.001009"
#: a board name that must be escaped
ODD_BOARD = 'Bảng <tầng 1> & "sảnh"'
VOID = {"meta", "img", "br", "link", "input", "hr", "col", "source", "wbr", "area", "base"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


@pytest.fixture(scope="module")
def view(catalog):
    return catalog.as_of(TODAY)


def common(db: Path) -> list[str]:
    return ["--catalog", str(BUNDLED_CATALOG), "--as-of", TODAY.isoformat(), "--db", str(db)]


@pytest.fixture
def history(tmp_path: Path, view) -> Path:
    """Two boards recorded by the real `qrcheck check`: three photos, five postings."""
    db = tmp_path / "h.sqlite"
    boards = tmp_path / "boards"
    procs = view.procedures
    save_photo(
        board_image([procs[SOUND].payload, procs[REPLACED].payload]), boards / "Quầy 1" / "a.png"
    )
    save_photo(board_image([procs[OTHER].payload]), boards / "Quầy 1" / "b.png")
    save_photo(
        board_image([procs[ABOLISHED].payload, procs[SOUND].payload]), boards / ODD_BOARD / "c.png"
    )
    assert run_cli(["check", str(boards), "--offline", *common(db)]) == 1
    return db


def report(db: Path, out: Path, *extra: str) -> str:
    assert run_cli(["report", *common(db), "--out", str(out), *extra]) == 0
    return out.read_text(encoding="utf-8")


class Page(HTMLParser):
    """Checks that tags nest properly; collects attributes, sections and their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.sections: list[dict] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))
        if tag == "section":
            self.sections.append({"class": dict(attrs).get("class", ""), "text": ""})
        self._in_style = tag == "style"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):  # type: ignore[no-untyped-def]
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        self._in_style = False

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in_style:
            self.styles.append(data)
        elif self.sections and "section" in self.stack:
            self.sections[-1]["text"] += data + " "


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.errors == [] and page.stack == []
    return page


def section(page: Page, kind: str) -> list[str]:
    return [s["text"] for s in page.sections if s["class"] == kind]


# ---------------------------------------------------------------------------------------------
# the page


def test_the_report_is_valid_self_contained_and_shows_every_board_and_posting(
    history: Path, tmp_path: Path
) -> None:
    text = report(history, tmp_path / "r.html", "--lang", "en")
    assert text.startswith("<!DOCTYPE html>")
    page = parse(text)
    # self-contained: no resource outside the file
    for tag, name, value in page.attributes:
        if name in ("src", "href", "xlink:href", "srcset", "action", "data"):
            assert not re.match(r"\s*(https?:|//|ftp:|file:)", value, re.I), (tag, name, value)
    images = [v for tag, n, v in page.attributes if tag == "img" and n == "src"]
    assert len(images) == 5 and all(v.startswith("data:image/jpeg;base64,") for v in images)
    assert not any("url(" in s or "@import" in s for s in page.styles)
    assert "<script" not in text and "<link" not in text
    assert "@page { size: A4" in text and "break-before: page" in text
    # every board, with its postings
    assert len(section(page, "board")) == 2
    quay1 = next(s for s in section(page, "board") if "Quầy 1" in s)
    odd = next(s for s in section(page, "board") if ODD_BOARD in s)
    for code in (SOUND, REPLACED, OTHER):
        assert code in quay1
    for code in (SOUND, ABOLISHED):
        assert code in odd
    assert "&lt;tầng 1&gt; &amp;" in text and "<tầng" not in text  # escaped in the source
    summary = section(page, "summary")[0]
    assert "5 postings checked at 2 locations" in summary
    # the procedures in force seen on no board, and the ended ones still up
    unseen = section(page, "unseen")[0]
    assert "1.000894" in unseen and SOUND not in unseen and OTHER not in unseen
    ended = section(page, "ended")[0]
    assert REPLACED in ended and "1.116910" in ended and ABOLISHED in ended
    assert SOUND not in ended


def test_vietnamese_html_by_default_into_output(
    history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(["report", *common(history), "--lang", "vi"]) == 0
    text = (tmp_path / "output" / "report.html").read_text(encoding="utf-8")
    parse(text)
    assert '<html lang="vi">' in text and "Tóm tắt" in text
    assert "Đã ghi báo cáo" in capsys.readouterr().out


def test_a_photo_gone_is_said_instead_of_its_thumbnail(history: Path, tmp_path: Path) -> None:
    (tmp_path / "boards" / "Quầy 1" / "b.png").unlink()
    text = report(history, tmp_path / "r.html", "--lang", "en")
    parse(text)
    assert text.count("Photo file no longer found") == 1
    assert text.count("data:image/jpeg;base64,") == 4


def test_since_and_unseen_days(history: Path, tmp_path: Path) -> None:
    later = report(history, tmp_path / "a.html", "--lang", "en", "--since", "2099-01-01")
    assert "The history holds no posting yet" in later
    # nothing is recent enough when the window ends before the checks: all 91 are unseen
    long_after = ["--as-of", "2099-01-01", "--unseen-days", "0"]
    assert (
        run_cli(
            [
                "report",
                *common(history),
                "--lang",
                "en",
                "--out",
                str(tmp_path / "b.html"),
                *long_after,
            ]
        )
        == 0
    )
    unseen = section(parse((tmp_path / "b.html").read_text(encoding="utf-8")), "unseen")[0]
    assert SOUND in unseen


def test_csv_and_json_are_still_there(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert run_cli(["report", *common(history), "--format", "json", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["postings"] == 5


# ---------------------------------------------------------------------------------------------
# the fading projection


START = datetime(2026, 1, 1, 9, 0)


def declining(step: float = -0.05, checks: int = 4) -> list[tuple[datetime, float]]:
    """Contrast 0.70 changing by `step` every 30 days."""
    return [(START + timedelta(days=30 * k), 0.70 + step * k) for k in range(checks)]


def test_projection_of_a_steady_decline_lands_on_the_truth() -> None:
    truth = (START + timedelta(days=300)).date()  # 0.70 - 0.05/30 * d = 0.20
    found = project_grade_d(declining())
    assert found is not None and abs((found - truth).days) <= 30
    noisy = [
        (when, value + noise)
        for (when, value), noise in zip(declining(), (0.02, -0.02, 0.015, -0.01), strict=True)
    ]
    found = project_grade_d(noisy)
    assert found is not None and abs((found - truth).days) <= 30


@pytest.mark.parametrize(
    "points",
    [
        declining(step=0.0),
        declining(step=0.03),
        declining(checks=1),
        [],
        [(START, 0.7), (START, 0.5)],  # two checks at one moment: no rate
    ],
)
def test_no_projection_when_flat_rising_or_too_few(points) -> None:  # type: ignore[no-untyped-def]
    assert project_grade_d(points) is None


def test_a_fading_posting_in_the_history_gets_its_month(tmp_path: Path, view, catalog) -> None:
    """Four real photos of one posting, each paler, recorded 30 days apart."""
    db = tmp_path / "fading.sqlite"
    board = board_image([view.procedures[SOUND].payload])
    photos = []
    for k, ink in enumerate((0, 50, 90, 120)):
        image = np.where(board < 128, ink, board).astype(np.uint8)
        photos.append(save_photo(image, tmp_path / "boards" / "Quầy 5" / f"p{k}.png"))
    with Store(db) as store:
        for k, photo in enumerate(photos):
            result = check_photos([photo], view, catalog.center).photos[0]
            check_id = store.record_photo(result, f"run-{k}", "qrcheck test")
            assert check_id is not None
            stamp = (START + timedelta(days=30 * k)).isoformat() + "+00:00"
            with store.transaction() as con:
                con.execute("UPDATE checks SET checked_at = ? WHERE id = ?", (stamp, check_id))
        track = tracks(store)[("Quầy 5", view.procedures[SOUND].payload)]
    values = [s.contrast for s in track.sightings]
    assert len(values) == 4 and all(v is not None for v in values)
    assert values == sorted(values, reverse=True)
    expected = projection(track)
    assert expected is not None
    text = report(db, tmp_path / "r.html", "--as-of", TODAY.isoformat())
    assert f"dự kiến cần thay khoảng {expected:%m/%Y}" in text


# ---------------------------------------------------------------------------------------------
# read by staff on a phone (issue 16)


@pytest.fixture
def outdated_history(tmp_path: Path) -> tuple[Path, Path, str]:
    """A board whose posting was printed before its procedure's name changed (the version it
    was printed from is in the catalog's history): (database, catalog folder, printed link)."""
    import shutil

    folder = Path(shutil.copytree(BUNDLED_CATALOG, tmp_path / "catalog"))
    csv_path = folder / "procedures.csv"
    printed = load_catalog(folder).as_of(TODAY).procedures["1.001193"].payload
    (folder / "history").mkdir(exist_ok=True)
    shutil.copy(csv_path, folder / "history" / "procedures-20261101T090000.csv")
    text = csv_path.read_text(encoding="utf-8-sig")
    csv_path.write_text(
        text.replace("Thủ tục đăng ký khai sinh,", "Thủ tục đăng ký khai sinh (sửa đổi),", 1),
        encoding="utf-8",
    )
    db = tmp_path / "o.sqlite"
    photo = save_photo(
        board_image([printed, load_catalog(folder).as_of(TODAY).procedures[SOUND].payload]),
        tmp_path / "boards" / "Quầy 2" / "a.png",
    )
    args = ["--catalog", str(folder), "--as-of", TODAY.isoformat(), "--db", str(db)]
    assert run_cli(["check", str(photo), "--offline", *args]) == 1
    out = tmp_path / "r.html"
    assert run_cli(["report", *args, "--out", str(out), "--lang", "vi"]) == 0
    return out, folder, printed


def test_version_tags_and_uuids_stay_out_of_staff_sentences(outdated_history) -> None:
    out, _, printed = outdated_history
    text = out.read_text(encoding="utf-8")
    tag = printed.rsplit("#v=", 1)[1]
    uuid = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", printed)[0]
    # the page without its technical details: what staff read
    staff = re.sub(r'<details class="tech">.*?</details>', "", text, flags=re.S)
    assert "đã thay đổi sau khi in bản này" in staff and "in lại bản niêm yết" in staff
    assert tag not in staff and uuid not in staff and "phiên bản" not in staff
    # all of it still there for the IT officer, folded
    details = re.findall(r'<details class="tech">(.*?)</details>', text, re.S)
    assert any(tag in d and uuid in d for d in details)
    assert all("Chi tiết kỹ thuật" in d for d in details)


def test_report_columns_never_split_words(outdated_history) -> None:
    out, _, _ = outdated_history
    text = out.read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", text, re.S)[1]
    anywhere = re.findall(r"([^{}]+)\{[^}]*overflow-wrap:\s*anywhere", style)
    assert [s.strip() for s in anywhere] == [".link"]
    assert "word-break: break-all" not in style
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert re.search(r'<div class="scroll"><table>', text)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_report_reads_on_a_phone(outdated_history) -> None:
    """At 390 px the page body never scrolls sideways (a wide table scrolls in its own box);
    table cells keep words whole, only links may break anywhere."""
    from playwright.sync_api import sync_playwright

    out, _, _ = outdated_history
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
            ).new_page()
            page.goto(out.as_uri())
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, width
            cells = page.evaluate(
                """() => [...document.querySelectorAll('td, th')].map(e => {
                     const s = getComputedStyle(e); return [s.overflowWrap, s.wordBreak]; })"""
            )
            assert cells and all(cell == ["normal", "normal"] for cell in cells), set(
                map(tuple, cells)
            )
            # no cell is narrower than its longest word: nothing was split letter by letter
            narrow = page.evaluate(
                """() => {
                  const canvas = document.createElement('canvas').getContext('2d');
                  const bad = [];
                  for (const cell of document.querySelectorAll('td, th')) {
                    const s = getComputedStyle(cell);
                    const inner = cell.clientWidth - parseFloat(s.paddingLeft)
                                  - parseFloat(s.paddingRight);
                    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                      if (n.parentElement.closest('.link, details, svg')) continue;
                      const f = getComputedStyle(n.parentElement);
                      canvas.font = `${f.fontWeight} ${f.fontSize} ${f.fontFamily}`;
                      for (const word of n.data.split(/\\s+/).filter(Boolean)) {
                        if (canvas.measureText(word).width > inner + 1) bad.push(word);
                      }
                    }
                  }
                  return bad;
                }"""
            )
            assert narrow == []
        finally:
            browser.close()
