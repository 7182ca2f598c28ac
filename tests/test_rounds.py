"""Rounds of photos: a posting seen in several overlapping photos of one board is one posting,
decoded or not; the reprint list counts each posting of a board's latest round once and drops
nothing the round saw.

The boards are codes from three encoders (segno, zxing-cpp's writer, python-qrcode) on grey
paper; the photos are overlapping perspective views of them (a second capture model, not
qrcheck's simulator), some codes scrambled past their error correction (located, not decoded).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BUNDLED_CATALOG, save_photo

from qrcheck.board.check import check_photos
from qrcheck.board.reprint import lost_postings, reprint_list
from qrcheck.board.rounds import Sighting, group_postings, register, split_rounds
from qrcheck.board.store import Store
from qrcheck.catalog.load import load_catalog
from testkit.encoders import INK, PAPER, encode_auto, render

TODAY = date(2026, 11, 27)
ENCODER_NAMES = ("segno", "zxing-cpp", "python-qrcode")
MODULE_PX = 5.0
CELL = 400


def board(payloads: list[str], scrambled: set[int], columns: int = 4) -> np.ndarray:
    """Codes in a grid of CELL-pixel cells on paper; the codes at `scrambled` have their middle
    replaced by noise (finders kept: located, not decoded)."""
    rows = -(-len(payloads) // columns)
    canvas = np.full((rows * CELL, columns * CELL), PAPER, np.uint8)
    rng = np.random.default_rng(5)
    for i, text in enumerate(payloads):
        tile = render(encode_auto(ENCODER_NAMES[i % 3], text, "M"), MODULE_PX)
        if i in scrambled:
            n = tile.shape[0]
            a, b = int(n * 0.3), int(n * 0.7)
            cells = rng.random(((b - a) // 5 + 1,) * 2) < 0.5
            noise = np.where(np.kron(cells, np.ones((5, 5), bool)), INK, PAPER)
            tile[a:b, a:b] = noise[: b - a, : b - a]
        y, x = (i // columns) * CELL, (i % columns) * CELL
        off = (CELL - tile.shape[0]) // 2
        canvas[y + off : y + off + tile.shape[0], x + off : x + off + tile.shape[1]] = tile
    return canvas


def view(image: np.ndarray, left: float, right: float, tilt: float, seed: int) -> np.ndarray:
    """A photo of the columns `left`..`right` (shares of the board's width) seen at an angle:
    a perspective warp to 1400 px wide, blur, noise."""
    h, w = image.shape
    x0, x1 = left * w, right * w
    src = np.float32([[x0, 0], [x1, 0], [x1, h], [x0, h]])
    out_w, out_h = 1400, int(1400 * h / (x1 - x0))
    k = tilt * out_h
    dst = np.float32([[0, k], [out_w, 0], [out_w, out_h], [0, out_h - k]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    photo = cv2.warpPerspective(
        image, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=PAPER
    )
    photo = cv2.GaussianBlur(photo, (0, 0), 0.8)
    rng = np.random.default_rng(seed)
    noisy = photo.astype(np.float32) + rng.normal(0, 3, photo.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_CATALOG)


@pytest.fixture(scope="module")
def payloads(catalog) -> list[str]:
    view_ = catalog.as_of(TODAY)
    return [p.payload for p in view_.active()[:12]]


def photos_of(tmp_path: Path, image: np.ndarray, windows) -> Path:
    folder = tmp_path / "Bảng 2"
    for n, (left, right, tilt) in enumerate(windows):
        save_photo(view(image, left, right, tilt, seed=n), folder / f"IMG_{n + 1:04d}.png")
    return folder


def record(report, db: Path, run: str = "run-1") -> None:
    with Store(db) as store:
        for photo in report.photos:
            store.record_photo(photo, run, "test")


def undecoded(report) -> list[tuple[str, dict]]:
    return [
        (p.path.name, c.grade.metrics)
        for p in report.photos
        for c in p.codes
        if not c.located.decoded
    ]


def test_an_unreadable_posting_in_two_overlapping_photos_is_one_posting(
    tmp_path: Path, catalog, payloads
) -> None:
    """Board of 8 codes (2 rows x 4); code 1 (row 1, column 2) and code 7 (row 2, column 4)
    are scrambled. Photo 1 shows columns 1-3, photo 2 columns 2-4: code 1 is in both, code 7
    only in photo 2. The round holds 2 lost postings, not 3, and nothing is dropped."""
    image = board(payloads[:8], scrambled={1, 7})
    folder = photos_of(tmp_path, image, [(0.0, 0.75, 0.04), (0.25, 1.0, -0.05)])
    view_ = catalog.as_of(TODAY)
    report = check_photos([folder], view_, catalog.center)
    lost = undecoded(report)
    assert sorted(name for name, _ in lost) == ["IMG_0001.png", "IMG_0002.png", "IMG_0002.png"]
    marked = [m["same_as"] for _, m in lost if "same_as" in m]
    assert marked == [{"photo": str(folder / "IMG_0001.png"), "index": marked[0]["index"]}]
    db = tmp_path / "h.sqlite"
    record(report, db)
    with Store(db) as store:
        found = lost_postings(store, catalog.center.round_minutes)
        items = reprint_list(store, view_, catalog.center, 0)
    assert [(p.location, p.photos) for p in found] == [("Bảng 2", 2), ("Bảng 2", 1)]
    unreadable = [i for i in items if any(r.kind == "unreadable" for r in i.reasons)]
    assert len(unreadable) == 2 and all(i.crop is not None for i in unreadable)


def test_three_overlapping_photos(tmp_path: Path, catalog, payloads) -> None:
    """12 codes (3 rows x 4), three photos of two columns each, one column of overlap between
    neighbours; codes 1 and 9 (column 2) are in photos 1 and 2, code 6 (column 3) in photos 2
    and 3: three lost postings seen twice each."""
    image = board(payloads, scrambled={1, 6, 9})
    windows = [(0.0, 0.5, 0.03), (0.25, 0.75, -0.04), (0.5, 1.0, 0.05)]
    folder = photos_of(tmp_path, image, windows)
    report = check_photos([folder], catalog.as_of(TODAY), catalog.center)
    db = tmp_path / "h.sqlite"
    record(report, db)
    with Store(db) as store:
        found = lost_postings(store, 60)
    # every scrambled code, once each, however many photos show it
    assert len(found) == 3
    assert sum(p.photos for p in found) == len(undecoded(report))
    # the decoded ones: each posting once in the round (postings are unique by text)
    decoded = {c.located.text for p in report.photos for c in p.codes if c.located.decoded}
    assert len(decoded) == 9


def square(x: float, y: float, side: float = 100.0) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + side, y), (x + side, y + side), (x, y + side))


def test_photos_that_share_no_code_are_not_merged_by_frame_position() -> None:
    """Two photos of two different parts of a board (no decoded code in common): undecoded
    codes at the same spot of the frame are two postings (the old same-spot rule merged them
    and lost one)."""
    a = [Sighting(square(100, 100), None), Sighting(square(400, 100), "https://a.example/1")]
    b = [Sighting(square(102, 98), None), Sighting(square(400, 100), "https://a.example/2")]
    assert sorted(map(sorted, group_postings([a, b]))) == [[(0, 0)], [(0, 1)], [(1, 0)], [(1, 1)]]


def test_registration_from_decoded_neighbours_moves_with_the_camera() -> None:
    """Photo b is photo a shifted by (-300, +20) and scaled by 1.1: the undecoded code is one
    posting though it sits elsewhere in the frame; a code landing between two others is not."""

    def moved(corners, dx=-300.0, dy=20.0, s=1.1):
        return tuple(((x + dx) * s, (y + dy) * s) for x, y in corners)

    a = [
        Sighting(square(400, 100), "https://a.example/1"),
        Sighting(square(700, 100), "https://a.example/2"),
        Sighting(square(550, 400), None),
    ]
    b = [
        Sighting(moved(square(400, 100)), "https://a.example/1"),
        Sighting(moved(square(700, 100)), "https://a.example/2"),
        Sighting(moved(square(550, 400)), None),
        Sighting(moved(square(850, 400)), None),
    ]
    assert register(b, a) is not None
    groups = sorted(map(sorted, group_postings([a, b])))
    assert groups == [[(0, 0), (1, 0)], [(0, 1), (1, 1)], [(0, 2), (1, 2)], [(1, 3)]]


def test_shared_codes_that_disagree_give_no_registration() -> None:
    """The same two texts, but swapped places (two boards with the same two postings): no
    homography fits both, so nothing is merged by position."""
    a = [
        Sighting(square(100, 100), "https://a.example/1"),
        Sighting(square(600, 100), "https://a.example/2"),
        Sighting(square(350, 400), None),
    ]
    b = [
        Sighting(square(600, 100), "https://a.example/1"),
        Sighting(square(100, 400), "https://a.example/2"),
        Sighting(square(350, 400), None),
    ]
    assert register(b, a) is None
    assert [(0, 2)] in group_postings([a, b]) and [(1, 2)] in group_postings([a, b])


def test_identified_postings_match_across_unregistered_photos() -> None:
    a = [Sighting(square(100, 100), None, "1.000419"), Sighting(square(400, 100), None)]
    b = [Sighting(square(800, 500), None, "1.000419"), Sighting(square(100, 100), None, "2.1")]
    groups = sorted(map(sorted, group_postings([a, b])))
    assert groups == [[(0, 0), (1, 0)], [(0, 1)], [(1, 1)]]


def test_rounds_split_by_time_but_never_inside_a_run() -> None:
    t0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

    def at(minutes: float) -> str:
        return (t0 + timedelta(minutes=minutes)).isoformat()

    checks = [("r1", at(0)), ("r1", at(5)), ("r2", at(30)), ("r3", at(200)), ("r3", at(400))]
    assert split_rounds(checks, 60) == [0, 0, 0, 1, 1]
    assert split_rounds(checks, 10) == [0, 0, 1, 2, 2]


def test_the_board_state_is_its_latest_round(tmp_path: Path, catalog, payloads) -> None:
    """A lost posting of an earlier round is no longer listed once a later round (more than
    round_minutes later) shows the board without it; two uploads within the window are one
    round and their postings are counted once."""
    image = board(payloads[:8], scrambled={1})
    folder = photos_of(tmp_path, image, [(0.0, 0.75, 0.04), (0.25, 1.0, -0.05)])
    view_ = catalog.as_of(TODAY)
    db = tmp_path / "h.sqlite"
    for n, photo in enumerate(sorted(folder.iterdir())):  # two runs, minutes apart
        report = check_photos([photo], view_, catalog.center)
        record(report, db, run=f"upload-{n}")
    with Store(db) as store:
        assert [p.photos for p in lost_postings(store, 60)] == [2]
    # the next visit, 3 hours later: the posting was reprinted (the board reads clean)
    fresh = photos_of(tmp_path / "later", board(payloads[:8], set()), [(0.0, 1.0, 0.02)])
    report = check_photos([fresh], view_, catalog.center)
    record(report, db, run="visit-2")
    with sqlite3.connect(db) as raw:  # the earlier round was taken 3 hours before
        earlier = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
        raw.execute("UPDATE checks SET checked_at = ? WHERE run LIKE 'upload-%'", (earlier,))
    with Store(db) as store:
        assert lost_postings(store, 60) == []
        rounds = store.latest_rounds(60)
        assert [p.run for p in rounds["Bảng 2"]] == ["visit-2"]
        codes = [json.loads(json.dumps(c.text)) for p in rounds["Bảng 2"] for c in p.codes]
        assert len(codes) == 8


class Named:
    """A fake identifier (passed in): names the undecoded code nearest `spot` as `code`."""

    def __init__(self, code: str, read: str) -> None:
        self.code, self.read = code, read

    def __call__(self, gray, corners, procedures):
        from dataclasses import dataclass

        assert self.code in procedures

        @dataclass(frozen=True)
        class Found:
            code: str
            confidence: float
            basis: str
            read: str

            def as_json(self) -> dict:
                return {"code": self.code, "confidence": self.confidence, "basis": self.basis,
                        "read": self.read}  # fmt: skip

        return Found(self.code, 0.97, "printed_code", self.read)


def test_a_named_unreadable_posting_is_printed_once_and_leaves_when_done(
    tmp_path: Path, catalog, payloads
) -> None:
    """The posting seen undecoded in two photos, named from its printed text: one reprint item
    with its code, the reason saying what was read, on the print sheet; `record_done` clears it."""
    from qrcheck.board.check import check_photo, keep_best
    from qrcheck.board.reprint import record_done, sheet_contents

    view_ = catalog.as_of(TODAY)
    code = view_.active()[1].code
    image = board(payloads[:8], scrambled={1})
    folder = photos_of(tmp_path, image, [(0.0, 0.75, 0.04), (0.25, 1.0, -0.05)])
    named = Named(code, code.replace("0", "O", 1))
    photos = [
        check_photo(p, view_, catalog.center, identifier=named) for p in sorted(folder.iterdir())
    ]
    lost = [c for p in photos for c in p.codes if not c.located.decoded]
    assert len(lost) == 2
    assert all(c.verdict.procedure == code and c.verdict.status == "unreadable" for c in lost)
    assert all(c.action == "reprint" and c.crop for c in lost)
    from qrcheck.links.verdict import describe

    said = describe(lost[0].verdict, "vi")
    assert said == (
        "Không đọc được mã QR này nữa (đã phai hoặc hỏng); đọc được mã "
        f"{code} in trên bản niêm yết (chắc chắn 97%): in lại bản niêm yết của thủ tục {code}."
    )
    report = keep_best(photos)
    db = tmp_path / "h.sqlite"
    with Store(db) as store:
        for photo in report:
            store.record_photo(photo, "run-1", "test")
        items = [i for i in reprint_list(store, view_, catalog.center, 0) if i.location]
        assert [(i.code, [r.kind for r in i.reasons]) for i in items] == [(code, ["unreadable"])]
        assert items[0].text == named.read  # what the name rests on
        sentence = items[0].reasons[0].text("vi")
        assert f"đọc được mã {named.read} in trên bản niêm yết" in sentence
        assert "IMG_0001.png" in sentence
        assert [(e.content.code, e.location) for e in sheet_contents(catalog, items, TODAY)] == [
            (code, "Bảng 2")
        ]
        assert record_done(store, view_, code, "Bảng 2", TODAY)
        assert [i for i in reprint_list(store, view_, catalog.center, 0) if i.location] == []


@pytest.mark.parametrize("successor_hangs", [True, False])
def test_a_successor_already_on_the_board_means_take_the_old_one_down(
    tmp_path: Path, catalog, payloads, successor_hangs: bool
) -> None:
    """Board 3 of the issue: the replaced 1.001731 beside a sound 1.116910. The task is "take
    the old one down" (action remove), not "print 1.116910" again; without the successor on the
    board, the successor is what to print."""
    from qrcheck.board.reprint import posting_states

    view_ = catalog.as_of(TODAY)
    old, new = view_.procedures["1.001731"], view_.procedures["1.116910"]
    texts = [old.payload, payloads[0]] + ([new.payload] if successor_hangs else [payloads[2]])
    save_photo(board(texts, scrambled=set(), columns=3), tmp_path / "Bảng 3" / "IMG_1.png")
    report = check_photos([tmp_path / "Bảng 3"], view_, catalog.center)
    by_procedure = {c.verdict.procedure: c for c in report.codes}
    replaced = by_procedure["1.001731"]
    assert replaced.verdict.status == "replaced"
    db = tmp_path / "h.sqlite"
    record(report, db)
    with Store(db) as store:
        items = reprint_list(store, view_, catalog.center, 0)
        states = {s.procedure: s for s in posting_states(store, view_, catalog.center)}
    here = [(i.code, i.posting) for i in items if i.location == "Bảng 3"]
    if successor_hangs:
        assert (replaced.action, replaced.reason) == ("remove", "round.successor_on_board")
        assert here == []
        assert states["1.001731"].action == "remove"
    else:
        assert replaced.action == "reprint"
        assert here == [("1.116910", "1.001731")]
        assert states["1.001731"].action == "reprint"


def test_codes_cut_by_the_frame_are_retakes_not_reprints(tmp_path: Path, catalog, payloads) -> None:
    """Overlapping photos whose edges cut through codes (as real board photos do; here the
    overlap holds only cut codes, so the photos share no decoded code to register them by): a
    code whose quiet zone the frame cuts is the photo's fault (retake), and the round has no
    lost posting."""
    image = board(payloads[:8], scrambled=set())
    # (with frames at 0.65 / 0.35 of the board, the reader also reports part of a cut code as
    # a smaller square turned 45 degrees clear of the edge: a reader limit, not tested here)
    folder = photos_of(tmp_path, image, [(0.0, 0.62, 0.04), (0.38, 1.0, -0.05)])
    report = check_photos([folder], catalog.as_of(TODAY), catalog.center)
    cut = [c for p in report.photos for c in p.codes if not c.located.decoded]
    assert cut and all(c.action == "retake" for c in cut)
    assert any(c.reason == "grade.retake_cut" for c in cut)
    db = tmp_path / "h.sqlite"
    record(report, db)
    with Store(db) as store:
        assert lost_postings(store, 60) == []


def test_the_four_sample_photos_name_both_faded_postings(tmp_path: Path) -> None:
    """Issue 14's bar: the four sample photos checked as one board. Board-1's scratched
    1.000419 and board-3's nearly white 2.001263 no longer decode; both are on the reprint list
    under their own codes, once each, and on the print sheet; no unnamed line is left."""
    from conftest import REPO_ROOT, run_cli

    db = tmp_path / "h.sqlite"
    common = ["--catalog", str(BUNDLED_CATALOG), "--as-of", TODAY.isoformat(), "--db", str(db)]
    photos = REPO_ROOT / "samples" / "photos"
    assert run_cli(["check", str(photos), "--offline", *common]) == 1
    with Store(db) as store:
        view_ = load_catalog(BUNDLED_CATALOG).as_of(TODAY)
        catalog_ = load_catalog(BUNDLED_CATALOG)
        items = reprint_list(store, view_, catalog_.center, catalog_.center.announce_days)
    lost = [i for i in items if any(r.kind == "unreadable" for r in i.reasons)]
    assert sorted(i.code for i in lost) == ["1.000419", "2.001263"]
    assert all(i.location == "photos" and i.crop is None for i in lost)
    by_code = {i.code: i for i in lost}
    assert "đọc được mã 1.000419 in trên bản niêm yết" in by_code["1.000419"].reasons[0].text("vi")
    assert "board-1.jpg" in by_code["1.000419"].reasons[0].text("vi")
    assert "board-3.jpg" in by_code["2.001263"].reasons[0].text("vi")
    from qrcheck.board.reprint import sheet_contents

    on_sheet = {e.content.code for e in sheet_contents(catalog_, items, TODAY)}
    assert {"1.000419", "2.001263"} <= on_sheet
    # and the replaced 1.001731 beside a sound 1.116910 (board-3) is a take-down, not a print
    assert "1.116910" not in {i.code for i in items}


def test_cut_by_edge_wants_the_quiet_zone_inside_the_photo() -> None:
    from qrcheck.board.check import cut_by_edge
    from qrcheck.vision.shapes import Located

    def at(x: float) -> Located:
        return Located(((x, 100.0), (x + 294, 100.0), (x + 294, 394.0), (x, 394.0)), None)

    shape = (600, 1000)
    assert not cut_by_edge(at(44), shape, module_px=6.0)  # 7 modules of margin
    assert cut_by_edge(at(20), shape, module_px=6.0)  # 3 modules: the quiet zone is cut
    assert cut_by_edge(at(-5), shape, module_px=6.0)
    assert cut_by_edge(at(1000 - 294 - 10), shape, module_px=6.0)
    assert cut_by_edge(at(44), shape) and not cut_by_edge(at(60), shape)  # 4/21 of the side
