"""`qrcheck check`: real photos, the JSON contract, verdicts, actions, annotated photos."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
from conftest import board_image, save_photo
from PIL import Image

from qrcheck.board.annotate import COLOURS
from qrcheck.board.check import check_photo, check_photos
from qrcheck.board.results import CheckReport
from qrcheck.catalog.load import load_catalog
from qrcheck.cli.app import main
from qrcheck.links.verdict import judge
from qrcheck.reports.check_json import report_json
from qrcheck.vision.locate import locate_codes
from qrcheck.vision.photos import load_photo

REPO = Path(__file__).resolve().parent.parent
PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
SCHEMA = json.loads((REPO / "qrcheck" / "schema" / "check.schema.json").read_text(encoding="utf-8"))
TODAY = date(2026, 11, 27)
OLD_PORTAL = "https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"
MULTI = {
    "You earned the class a 5 MINUTE DANCE PARTY!!  Awesome!  Way to go!  Let's boogie!",
    "You earned the class 5 EXTRA MINUTES OF RECESS!!  Fabulous!!  Way to go!!",
    "You get to SIT AT MRS. SIGMON'S DESK FOR A DAY!!  Awesome!!  Way to go!! "
    "Guess I better clean up! :)",
    "You get to CREATE OUR JOURNAL PROMPT FOR THE DAY!  Yay!  Way to go!  ",
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "catalog")


@pytest.fixture(scope="module")
def view(catalog):
    return catalog.as_of(TODAY)


def gray(path: Path) -> np.ndarray:
    return load_photo(path).gray


board = board_image  # sharp codes on a light grey board (tests/conftest.py)
save = save_photo


# ---------------------------------------------------------------------------------------------
# real photos (zxing's blackbox images, Apache-2.0; see tests/data/photos/SOURCE.txt)


def test_real_photo_decodes() -> None:
    found = locate_codes(gray(PHOTOS / "qrcode-1_1.png"))
    assert [f.text for f in found] == ["MEBKM:URL:http\\://en.wikipedia.org/wiki/Main_Page;;"]
    assert "zxing-cpp" in found[0].readers


def test_four_codes_in_one_photo_each_once() -> None:
    found = locate_codes(gray(PHOTOS / "multi-qrcode-1_1.png"))
    assert sorted(f.text for f in found) == sorted(MULTI)


def unreadable_photo(folder: Path) -> Path:
    """qrcode-4_05.png (a code on a T-shirt: zxing-cpp locates it and cannot decode it, the
    mesh reader does) with a quarter of its modules outside the finders inked over, seeded:
    far past what its error correction restores, so no reader decodes it, while its finders
    still locate it. Written to `folder` as unreadable.png."""
    from qrcheck.vision.readers import _position, _zxing

    image = cv2.imread(str(PHOTOS / "qrcode-4_05.png"), cv2.IMREAD_COLOR)
    (barcode,) = _zxing(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), return_errors=True)
    n = 17 + 4 * int(barcode.extra["Version"])
    square = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    to_photo = cv2.getPerspectiveTransform(square, _position(barcode).astype(np.float32))
    rng = np.random.default_rng(5)
    for row in range(n):
        for col in range(n):
            top, left = row < 8, col < 8
            in_finder = (top and left) or (top and col >= n - 8) or (left and row >= n - 8)
            if in_finder or rng.random() >= 0.25:
                continue
            cell = np.float32([[col, row], [col + 1, row], [col + 1, row + 1], [col, row + 1]])
            corners = cv2.perspectiveTransform(cell[None], to_photo)[0]
            cv2.fillConvexPoly(image, np.round(corners).astype(np.int32), (20, 20, 20))
    path = folder / "unreadable.png"
    cv2.imwrite(str(path), image)
    return path


def test_a_code_that_no_reader_decodes_is_still_located(tmp_path: Path) -> None:
    found = locate_codes(gray(unreadable_photo(tmp_path)))
    assert len(found) == 1
    assert found[0].text is None
    assert found[0].finder_patterns >= 2
    x, y = found[0].center
    assert 90 < x < 160 and 80 < y < 150  # the code sits in the middle of the 240x240 photo


@pytest.mark.parametrize("name", ["falsepositives_01.png", "falsepositives-2_05.png"])
def test_no_code_is_reported_where_there_is_none(name: str) -> None:
    assert locate_codes(gray(PHOTOS / name)) == []


def test_a_check_process_loads_no_pdf_machinery(tmp_path: Path) -> None:
    """`qrcheck check` pays for its imports in every process: the posting generator and
    reportlab (PDFs) are for `generate` and `reprint`, never loaded to check photos (the
    layout pass reads the posting's geometry from `printing.layout`)."""
    photo = shutil.copy(PHOTOS / "qrcode-4_05.png", tmp_path / "board.png")  # the layout pass runs
    script = (
        "import runpy, sys\n"
        "sys.argv = ['qrcheck', 'check', '--offline', '--no-record', '--json', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('qrcheck', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('reportlab', 'qrcheck.printing.posting', 'qrcheck.printing.generate')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(photo)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "QRCHECK_LANG": "en"},
    )
    assert '"photos"' in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------------------------------------
# verdicts against the bundled catalog


def verdict_of(text: str | None, view, catalog):  # type: ignore[no-untyped-def]
    return judge(text, view, catalog.center)


def test_verdicts_for_every_link_form(view, catalog) -> None:
    birth = view.procedures["1.001193"]
    cases = {
        birth.payload: ("current", "1.001193"),
        birth.link: ("current", "1.001193"),  # no version tag: current, and says so
        f"{birth.link}#v=ZZZZZZ": ("outdated", "1.001193"),
        view.procedures["2.002621"].payload: ("abolished", "2.002621"),
        view.procedures["1.001731"].payload: ("replaced", "1.001731"),
        OLD_PORTAL + "?ma_thu_tuc=1.000656": ("legacy", "1.000656"),
        "https://dichvucong.daknong.gov.vn/thu-tuc/1.000656": ("legacy", "1.000656"),
        "https://dichvucong-gov.vn.thanhtoan-phi.com/thu-tuc-hanh-chinh/x": ("foreign", None),
        "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/00000000-0000-0000-0000-000000000000": (
            "unknown",
            None,
        ),
        "WIFI:S:center;T:WPA;P:secret;;": ("not_a_link", None),
        None: ("unreadable", None),
    }
    for text, (status, code) in cases.items():
        verdict = verdict_of(text, view, catalog)
        assert (verdict.status, verdict.procedure) == (status, code), text
    replaced = verdict_of(view.procedures["1.001731"].payload, view, catalog)
    assert replaced.detail_params["successor"] == "1.116910"
    untagged = verdict_of(birth.link, view, catalog)
    assert untagged.detail_key == "verdict.current_untagged"


def test_a_change_within_30_days_is_announced_on_a_current_posting(catalog) -> None:
    view = catalog.as_of(date(2026, 12, 1))
    verdict = judge(view.procedures["2.000286"].payload, view, catalog.center)
    assert verdict.status == "current"
    assert verdict.detail_key == "verdict.current_changing"
    assert verdict.detail_params["date"] == "15/12/2026"


# ---------------------------------------------------------------------------------------------
# photos through the whole pipeline


def test_sound_current_postings_need_no_action(tmp_path: Path, view, catalog) -> None:
    payloads = [view.procedures[c].payload for c in ("1.001193", "1.000656", "2.000635")]
    photo = save(board(payloads), tmp_path / "board.png")
    result = check_photo(photo, view, catalog.center)
    assert sorted(c.verdict.procedure for c in result.codes) == ["1.000656", "1.001193", "2.000635"]
    assert {c.action for c in result.codes} == {"ok"}
    assert {c.grade.grade for c in result.codes} <= {"A", "B"}


def test_twenty_codes_in_one_photo(tmp_path: Path, view, catalog) -> None:
    codes = [p.code for p in view.active()][:20]
    payloads = [view.procedures[c].payload for c in codes]
    photo = save(board(payloads, module_px=5, columns=5), tmp_path / "twenty.png")
    result = check_photo(photo, view, catalog.center)
    assert sorted(c.verdict.procedure for c in result.codes) == sorted(codes)


def test_json_report_follows_the_contract(tmp_path: Path, view, catalog, capsys) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    fake = "https://dichvucong-gov.vn.thanhtoan-phi.com/p/1.001193"
    save(board([view.procedures["1.001193"].payload, fake]), folder / "board.png")
    shutil.move(unreadable_photo(tmp_path), folder / "faded.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    args = [
        "check",
        str(folder),
        "--json",
        "--offline",
        "--catalog",
        str(REPO / "catalog"),
        "--as-of",
        "2026-11-27",
        "--lang",
        "en",
        "--workers",
        "2",
    ]
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, SCHEMA)
    photos = {Path(p["path"]).name: p for p in document["photos"]}
    assert photos["broken.jpg"]["error"] and photos["broken.jpg"]["codes"] == []
    statuses = sorted(c["link"]["status"] for c in photos["board.png"]["codes"])
    assert statuses == ["current", "foreign"]
    fake_entry = next(c for c in photos["board.png"]["codes"] if c["text"] == fake)
    assert fake_entry["action"] == "investigate"
    assert "not an official address" in fake_entry["link"]["detail"]
    (faded,) = photos["faded.png"]["codes"]
    assert (faded["text"], faded["grade"], faded["action"]) == (None, "F", "reprint")
    assert document["summary"] == {
        "photos": 3,
        "codes": 3,
        "by_action": {"ok": 1, "investigate": 1, "reprint": 1},
        "by_status": {"current": 1, "foreign": 1, "unreadable": 1},
    }


def test_exit_status_follows_the_contract(tmp_path: Path, view) -> None:
    good = save(board([view.procedures["1.001193"].payload]), tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nothing")
    base = ["check", "--offline", "--catalog", str(REPO / "catalog"), "--as-of", "2026-11-27"]
    for paths, expected in (([good], 0), ([bad], 2), ([good, bad], 0), ([tmp_path / "missing"], 2)):
        with pytest.raises(SystemExit) as caught:
            main([*base, *map(str, paths)])
        assert caught.value.code == expected, paths


def test_annotated_photo_outlines_every_code(tmp_path: Path, view, catalog) -> None:
    payloads = [view.procedures[c].payload for c in ("1.001193", "2.002621", "1.000656")]
    payloads.append("https://example.com/fake")
    photo = save(board(payloads, columns=2), tmp_path / "wall.png")
    report = check_photos([photo], view, catalog.center, annotate_dir=tmp_path / "out")
    (result,) = report.photos
    assert result.annotated is not None and result.annotated.exists()
    image = np.array(Image.open(result.annotated).convert("RGB")).astype(int)
    height = result.height  # the legend band sits below the photo
    outlines = 0
    for action in {c.action for c in result.codes}:
        colour = np.array(COLOURS[action])
        # white text antialiased on one colour can pass for another: match colours closely
        mask = (np.abs(image[:height] - colour).sum(axis=2) < 45).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((7, 7), np.uint8))  # JPEG frays thin coloured lines
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        outlines += sum(1 for s in stats[1:] if s[cv2.CC_STAT_AREA] > 500)
    assert outlines == len(result.codes) == 4
    assert {c.action for c in result.codes} == {"ok", "remove", "investigate"}


def test_one_unreadable_photo_does_not_stop_the_others(tmp_path: Path, view, catalog) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    save(board([view.procedures["1.001193"].payload]), tmp_path / "b.png")
    report: CheckReport = check_photos([tmp_path], view, catalog.center, workers=2)
    assert [p.path.name for p in report.photos] == ["a.jpg", "b.png"]
    assert report.photos[0].error is not None and report.photos[1].error is None
    assert len(report_json(report, "vi")["photos"][1]["codes"]) == 1


def test_annotations_follow_a_link_found_dead_online(tmp_path: Path, view, catalog) -> None:
    from qrcheck.board.check import refresh_annotations
    from qrcheck.board.decide import apply_live
    from qrcheck.links.model import LiveResult

    proc = view.procedures["1.001193"]
    photo = save(board([proc.payload]), tmp_path / "one.png")
    before = check_photos([photo], view, catalog.center, annotate_dir=tmp_path / "out")
    (code,) = before.photos[0].codes
    assert code.action == "ok"
    dead = LiveResult(code.verdict.link, "dead", 404, detail_key="links.live_dead")
    after = apply_live(before, {code.verdict.link: dead})
    assert after.photos[0].codes[0].action == "reprint"
    refresh_annotations(before, after, "vi")
    image = np.array(Image.open(before.photos[0].annotated).convert("RGB")).astype(int)
    pixels = image[: before.photos[0].height]

    def share(action: str) -> float:
        return float((np.abs(pixels - np.array(COLOURS[action])).sum(axis=2) < 45).mean())

    assert share("reprint") > 0.002 and share("ok") < 0.0005


def test_an_outdated_posting_says_which_fields_changed(tmp_path: Path, capsys) -> None:
    """The version it was printed from is found among the catalog's earlier versions."""
    folder = Path(shutil.copytree(REPO / "catalog", tmp_path / "catalog"))
    csv_path = folder / "procedures.csv"
    printed = load_catalog(folder).as_of(TODAY).procedures["1.001193"].payload
    (folder / "history").mkdir()
    shutil.copy(csv_path, folder / "history" / "procedures-20261101T090000.csv")
    text = csv_path.read_text(encoding="utf-8-sig")
    csv_path.write_text(
        text.replace("Thủ tục đăng ký khai sinh,", "Thủ tục đăng ký khai sinh (sửa đổi),", 1),
        encoding="utf-8",
    )
    photo = save(board([printed]), tmp_path / "Quầy 1" / "a.png")
    args = [
        "check",
        str(photo),
        "--offline",
        "--json",
        "--no-record",
        "--catalog",
        str(folder),
        "--as-of",
        "2026-11-27",
        "--lang",
        "en",
    ]
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 1
    (code,) = json.loads(capsys.readouterr().out)["photos"][0]["codes"]
    assert code["link"]["status"] == "outdated" and code["action"] == "reprint"
    assert "name" in code["link"]["detail"]


ODD_SHAPES = {
    "one pixel": np.zeros((1, 1), np.uint8),
    "a 2 x 3 speck": np.zeros((2, 3), np.uint8),
    "a thin strip": np.full((3, 20000), 200, np.uint8),
    "a tall sliver": np.full((20000, 2), 200, np.uint8),
    "one row": np.full((1, 30000), 200, np.uint8),
    "all black": np.zeros((800, 600), np.uint8),
    "all white": np.full((800, 600), 255, np.uint8),
    "a checkerboard": np.kron(np.indices((40, 40)).sum(0) % 2 * 255, np.ones((12, 12))).astype(
        np.uint8
    ),
    "a blank card": np.pad(np.full((420, 296), 245, np.uint8), 100, constant_values=90),
}


#: shapes no phone takes: `load_photo` refuses them with a sentence (issue 17)
REFUSED_SHAPES = ("a thin strip", "a tall sliver", "one row")


@pytest.mark.parametrize("name", list(ODD_SHAPES))
def test_odd_images_are_checked_without_a_crash(name: str, tmp_path: Path, view, catalog) -> None:
    """Every pass of the locator copes with degenerate shapes and blank content: no code, no
    error (a thin strip once made the card search resize to zero pixels); the shapes no phone
    takes are refused by the photo reader with its own sentence, never an error of the code."""
    photo = save_photo(ODD_SHAPES[name], tmp_path / "odd.png")
    result = check_photo(photo, view, catalog.center)
    if name in REFUSED_SHAPES:
        assert result.error is not None and result.error.key == "photos.odd_shape"
    else:
        assert result.error is None
    assert result.codes == ()
    assert locate_codes(ODD_SHAPES[name]) == []  # the locator alone copes with them all


@pytest.mark.parametrize("shape", [(50, 1000), (1000, 50), (3, 60)])
def test_strips_within_the_photo_limits_are_checked(shape, tmp_path: Path, view, catalog) -> None:
    photo = save_photo(np.full(shape, 200, np.uint8), tmp_path / "strip.png")
    result = check_photo(photo, view, catalog.center)
    assert result.error is None
    assert result.codes == ()


def test_unreadable_photos_are_counted_and_strict_makes_them_an_error(
    tmp_path: Path, view, capsys
) -> None:
    """Issue 17: 3 of 5 photos unreadable gave exit 0 and no count in the summary."""
    payload = view.procedures["1.001193"].payload
    good = [save(board([payload]), tmp_path / f"good{i}.png") for i in range(2)]
    bad = [tmp_path / f"bad{i}.jpg" for i in range(3)]
    for path in bad:
        path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    base = ["check", *map(str, good + bad), "--offline", "--no-record", "--lang", "en"]
    base += ["--catalog", str(REPO / "catalog"), "--as-of", "2026-11-27"]

    def run(*extra: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as caught:
            main([*base, *extra])
        captured = capsys.readouterr()
        return caught.value.code, " ".join(captured.out.split()), " ".join(captured.err.split())

    code, out, _ = run()
    assert code == 0  # the contract: 2 only when no photo could be read
    assert "3 of 5 photos could not be read" in out and "--strict" in out
    code, out, _ = run("--strict")
    assert code == 2
    assert "3 of 5 photos could not be read" in out and "with --strict that is an error" in out
    code, out, err = run("--strict", "--json")
    assert code == 2 and json.loads(out)["summary"]["photos"] == 5
    assert "3 of 5 photos could not be read" in err  # stdout holds the JSON only
    good_only = [a for a in base if not a.endswith(".jpg")]
    with pytest.raises(SystemExit) as caught:
        main([*good_only, "--strict"])
    assert caught.value.code == 0  # every photo read: --strict changes nothing


def test_a_fault_in_a_stronger_pass_keeps_the_codes_zxing_cpp_finds(
    tmp_path: Path, view, catalog, caplog
) -> None:
    """No photo lost to a fault inside the reader stack: the first pass's codes are reported."""
    from qrcheck.board.check import ZXING_ONLY

    payloads = [p.payload for p in view.active()][:4]
    photo = save_photo(board_image(payloads), tmp_path / "board.png")
    seen = []

    def failing(gray, options):  # a stronger pass that raises, as a bug in it would
        seen.append(options)
        if options != ZXING_ONLY:
            raise cv2.error("a pass failed")
        return locate_codes(gray, options)

    with caplog.at_level("WARNING", logger="qrcheck"):
        result = check_photo(photo, view, catalog.center, locator=failing)
    assert result.error is None
    assert sorted(c.located.text for c in result.codes) == sorted(payloads)
    assert seen[-1] == ZXING_ONLY and "a pass failed" in caplog.text

    def broken(gray, options):
        raise cv2.error("even zxing-cpp failed")

    with pytest.raises(cv2.error):  # check_photos turns this into the photo's own error entry
        check_photo(photo, view, catalog.center, locator=broken)
