"""The history database: migrations, recording checks, the same photo once, a killed check."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from conftest import BUNDLED_CATALOG, REPO_ROOT, board_image, run_cli, save_photo

from qrcheck.board.migrations import SCHEMA_VERSION
from qrcheck.board.store import PrintRecord, Store, StoreError, default_db_path
from qrcheck.catalog.load import load_catalog

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def view():
    return load_catalog(BUNDLED_CATALOG).as_of(TODAY)


def check_args(*paths: Path, db: Path) -> list[str]:
    return [
        "check",
        *map(str, paths),
        "--offline",
        "--catalog",
        str(BUNDLED_CATALOG),
        "--as-of",
        TODAY.isoformat(),
        "--db",
        str(db),
        "--workers",
        "1",
        "--lang",
        "en",
    ]


def flat(text: str) -> str:
    """Console text with its line wrapping undone."""
    return " ".join(text.split())


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    db.close()
    return {r[0] for r in rows}


# ---------------------------------------------------------------------------------------------
# schema and migrations


def test_a_new_database_gets_the_whole_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "h.sqlite"
    with Store(path) as store:
        assert store.version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.counts() == {"checks": 0, "codes": 0, "postings": 0, "prints": 0}
    assert {"checks", "codes", "postings", "prints", "catalog_versions"} <= table_names(path)
    with Store(path) as again:  # opening a current database changes nothing
        assert again.version == SCHEMA_VERSION


#: the first release's schema, written out by hand as that release left it on disk
SCHEMA_V1 = """
CREATE TABLE checks (id INTEGER PRIMARY KEY, run TEXT NOT NULL, photo TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE, checked_at TEXT NOT NULL, location TEXT NOT NULL,
    checker TEXT NOT NULL, width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0);
CREATE TABLE postings (id INTEGER PRIMARY KEY, location TEXT NOT NULL, text TEXT NOT NULL,
    procedure TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, UNIQUE (location, text));
CREATE TABLE codes (id INTEGER PRIMARY KEY,
    check_id INTEGER NOT NULL REFERENCES checks(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    posting_id INTEGER REFERENCES postings(id), procedure TEXT, text TEXT, corners TEXT NOT NULL,
    grade TEXT NOT NULL, score REAL NOT NULL, metrics TEXT NOT NULL, status TEXT NOT NULL,
    detail_key TEXT NOT NULL DEFAULT '', detail_params TEXT NOT NULL DEFAULT '{}',
    action TEXT NOT NULL, reason TEXT, UNIQUE (check_id, idx));
CREATE INDEX codes_posting ON codes(posting_id);
CREATE TABLE prints (id INTEGER PRIMARY KEY, procedure TEXT NOT NULL, tag TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '', printed_on TEXT NOT NULL, recorded_at TEXT NOT NULL,
    UNIQUE (procedure, payload, printed_on));
INSERT INTO checks VALUES (1, 'run1', 'board/a.jpg', 'abc123', '2026-10-01T08:00:00+00:00',
    'Quầy 3', 'qrcheck 0.1.0', 4000, 3000);
INSERT INTO postings VALUES (1, 'Quầy 3', 'https://dichvucong.gov.vn/x', '1.001193',
    '2026-10-01T08:00:00+00:00', '2026-10-01T08:00:00+00:00');
INSERT INTO codes VALUES (1, 1, 0, 1, '1.001193', 'https://dichvucong.gov.vn/x',
    '[[0,0],[1,0],[1,1],[0,1]]', 'B', 3.1, '{"symbol_contrast": 0.7}', 'current', '', '{}',
    'ok', NULL);
INSERT INTO prints VALUES (1, '1.001193', 'MMX4YO', 'https://dichvucong.gov.vn/x#v=MMX4YO',
    '2026-09-30', '2026-09-30T10:00:00+00:00');
PRAGMA user_version = 1;
"""


def test_an_older_database_is_upgraded_without_losing_a_row(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_V1)
    db.close()
    assert "catalog_versions" not in table_names(path)

    with Store(path) as store:
        assert store.version == SCHEMA_VERSION
        assert store.counts() == {"checks": 1, "codes": 1, "postings": 1, "prints": 1}
        [printed] = store.prints()
        assert (printed.procedure, printed.tag, printed.printed_on) == (
            "1.001193",
            "MMX4YO",
            "2026-09-30",
        )
        assert (printed.location, printed.source) == ("", "manifest")  # the new columns
        [obs] = store.observations()
        assert (obs.location, obs.grade, obs.score, obs.status) == ("Quầy 3", "B", 3.1, "current")
        # the upgraded tables take the new kind of row
        store.record_prints(
            [PrintRecord("1.001193", "MMX4YO", "p", "2026-11-27", "", "Quầy 3", "done")]
        )
        assert len(store.prints()) == 2
        assert store.record_catalog("f" * 64, "catalog/procedures.csv", 98, "x.xlsx", {"added": 1})
        assert store.catalog_versions()[0]["changes"] == {"added": 1}  # the v3 column
    assert "catalog_versions" in table_names(path)


def test_catalog_versions_record_imports_and_the_versions_used(tmp_path: Path) -> None:
    import xlsx_fixture

    catalog = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, catalog)
    db = tmp_path / "h.sqlite"
    photo = save_photo(
        board_image([load_catalog(catalog).as_of(date(2026, 11, 27)).active()[0].payload]),
        tmp_path / "Quầy 1" / "a.png",
    )
    args = ["--catalog", str(catalog), "--db", str(db), "--as-of", "2026-11-27"]
    assert run_cli(["check", str(photo), "--offline", *args]) == 0
    assert run_cli(["check", str(photo), "--offline", *args]) == 0  # same version: once
    export = tmp_path / "export.xlsx"
    xlsx_fixture.build_export(export)
    assert run_cli(["catalog", "import", str(export), *args]) == 0
    with Store(db) as store:
        versions = store.catalog_versions()
    assert len(versions) == 2
    used, imported = versions
    assert used["source"] == "" and used["rows"] == 98
    assert imported["source"] == "export.xlsx"
    assert imported["changes"]["added"] == 1 and imported["changes"]["abolished"] == 1
    assert imported["fingerprint"] != used["fingerprint"]


def test_a_database_from_a_newer_release_is_refused_untouched(tmp_path: Path, capsys) -> None:
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.key == "store.too_new"
    assert table_names(path) == {"future"}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    db.close()
    # the command says so in a sentence and exits 2
    args = ["reprint", "--db", str(path), "--catalog", str(BUNDLED_CATALOG), "--lang", "en"]
    assert run_cli(args) == 2
    assert "was made by a newer qrcheck" in flat(capsys.readouterr().err)
    assert run_cli(check_args(tmp_path, db=path)) == 2


def test_a_file_that_is_no_database_is_an_error_not_a_traceback(tmp_path: Path, capsys) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database at all, just text" * 100)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.key == "store.unusable"
    assert run_cli(["reprint", "--db", str(path), "--lang", "en"]) == 2
    err = flat(capsys.readouterr().err)
    assert "Cannot open the history database" in err and "Traceback" not in err


def test_default_path_is_data_folder_or_environment(monkeypatch) -> None:
    monkeypatch.delenv("QRCHECK_DB", raising=False)
    assert default_db_path() == Path("data") / "qrcheck.sqlite"
    monkeypatch.setenv("QRCHECK_DB", "/x/h.sqlite")
    assert default_db_path() == Path("/x/h.sqlite")


# ---------------------------------------------------------------------------------------------
# recording checks


def test_check_records_every_code_and_posting(tmp_path: Path, view, capsys) -> None:
    payloads = [p.payload for p in view.active()[:3]]
    photo = save_photo(board_image(payloads), tmp_path / "Quầy 3" / "a.png")
    db = tmp_path / "h.sqlite"
    assert run_cli(check_args(photo, db=db)) == 0
    assert "Recorded the results of 1 photos" in flat(capsys.readouterr().err)
    with Store(db) as store:
        assert store.counts() == {"checks": 1, "codes": 3, "postings": 3, "prints": 0}
        postings = store.postings()
        assert {p.location for p in postings} == {"Quầy 3"}  # the photo's folder
        assert {p.text for p in postings} == set(payloads)
        observations = store.observations()
        assert {o.action for o in observations} == {"ok"}
        assert all(o.status == "current" and o.grade in "AB" for o in observations)
        row = store.db.execute(
            "SELECT sha256, checker, corners, metrics FROM checks, codes"
        ).fetchone()
        assert len(row[0]) == 64 and row[1].startswith("qrcheck ")
        assert len(eval_json(row[2])) == 4 and "symbol_contrast" in eval_json(row[3])


def eval_json(text: str):  # type: ignore[no-untyped-def]
    import json

    return json.loads(text)


def test_location_option_names_the_board(tmp_path: Path, view) -> None:
    photo = save_photo(board_image([view.active()[0].payload]), tmp_path / "x" / "a.png")
    db = tmp_path / "h.sqlite"
    assert run_cli([*check_args(photo, db=db), "--location", "Bảng niêm yết tầng 1"]) == 0
    with Store(db) as store:
        assert [p.location for p in store.postings()] == ["Bảng niêm yết tầng 1"]


def test_the_same_photo_recorded_twice_counts_once(tmp_path: Path, view, capsys) -> None:
    payloads = [p.payload for p in view.active()[:2]]
    photo = save_photo(board_image(payloads), tmp_path / "board" / "a.png")
    db = tmp_path / "h.sqlite"
    assert run_cli(check_args(photo, db=db)) == 0
    capsys.readouterr()
    # the same photo again, and a copy of it under another name
    shutil.copyfile(photo, tmp_path / "board" / "copy-of-a.png")
    assert run_cli(check_args(tmp_path / "board", db=db)) == 0
    assert "2 photos were already in the history" in flat(capsys.readouterr().err)
    with Store(db) as store:
        assert store.counts()["checks"] == 1
        assert store.counts()["codes"] == 2
        first, last = (
            {p.first_seen for p in store.postings()},
            {p.last_seen for p in store.postings()},
        )
        assert first == last  # not seen "again": it is the same photo


def test_a_new_photo_of_the_same_board_updates_last_seen(tmp_path: Path, view) -> None:
    payloads = [p.payload for p in view.active()[:2]]
    db = tmp_path / "h.sqlite"
    first = save_photo(board_image(payloads), tmp_path / "board" / "a.png")
    assert run_cli(check_args(first, db=db)) == 0
    second = save_photo(board_image(payloads, columns=2), tmp_path / "board" / "b.png")
    assert run_cli(check_args(second, db=db)) == 0
    with Store(db) as store:
        assert store.counts() == {"checks": 2, "codes": 4, "postings": 2, "prints": 0}
        assert all(p.last_seen > p.first_seen for p in store.postings())


def test_no_record_writes_nothing(tmp_path: Path, view, history_db: Path) -> None:
    photo = save_photo(board_image([view.active()[0].payload]), tmp_path / "b" / "a.png")
    args = [a for a in check_args(photo, db=tmp_path / "unused.sqlite")]
    assert run_cli([*args, "--no-record"]) == 0
    assert not (tmp_path / "unused.sqlite").exists()
    # without --db the environment's QRCHECK_DB (set for every test in conftest) is used
    index = args.index("--db")
    del args[index : index + 2]
    assert run_cli(args) == 0
    with Store(history_db) as store:
        assert store.counts()["checks"] == 1


def test_generate_records_what_it_printed(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    args = ["generate", "--catalog", str(BUNDLED_CATALOG), "--out", str(tmp_path / "out")]
    args += ["--as-of", TODAY.isoformat(), "--only", "1.001193,1.000656", "--db", str(db)]
    assert run_cli(args) == 0
    with Store(db) as store:
        prints = store.prints()
    assert sorted(p.procedure for p in prints) == ["1.000656", "1.001193"]
    assert all(p.payload.endswith("#v=" + p.tag) and p.source == "manifest" for p in prints)


# ---------------------------------------------------------------------------------------------
# a check killed half-way keeps every photo it finished


def noisy_board(payloads: list[str], seed: int) -> np.ndarray:
    """Codes on a large, noisy board: a few tenths of a second of work per photo."""
    codes = board_image(payloads)
    rng = np.random.default_rng(seed)
    photo = np.clip(rng.normal(200, 25, (2400, 3200)), 0, 255).astype(np.uint8)
    y, x = 300 + 20 * seed, 400
    photo[y : y + codes.shape[0], x : x + codes.shape[1]] = codes
    return photo


def count_checks(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(connection.execute("SELECT count(*) FROM checks").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def test_a_check_killed_mid_run_keeps_every_earlier_photo(tmp_path: Path, view) -> None:
    procedures = view.active()
    photos = tmp_path / "Quầy 1"
    expected: dict[str, int] = {}
    for index in range(12):
        payloads = [p.payload for p in procedures[index * 2 : index * 2 + 2]]
        save_photo(noisy_board(payloads, index), photos / f"p{index:02}.png")
        expected[f"p{index:02}.png"] = len(payloads)
    db = tmp_path / "h.sqlite"
    command = [sys.executable, "-m", "qrcheck", *check_args(photos, db=db)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 120
        while count_checks(db) < 3:
            assert process.poll() is None, "the check ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    with Store(db) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = store.counts()["checks"]
        assert 3 <= kept < 12, "the kill came after the end of the run"
        # every recorded photo has all its codes: nothing half-written
        rows = store.db.execute(
            "SELECT k.photo, count(c.id) FROM checks k LEFT JOIN codes c ON c.check_id = k.id"
            " GROUP BY k.id"
        ).fetchall()
        assert len(rows) == kept
        for photo, codes in rows:
            assert codes == expected[Path(photo).name], photo

    # the next run records the rest and skips what was recorded
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{kept} photos were already in the history" in flat(done.stderr)
    assert f"Recorded the results of {12 - kept} photos" in flat(done.stderr)
    with Store(db) as store:
        assert store.counts()["checks"] == 12
        assert store.counts()["codes"] == sum(expected.values())
    assert not (tmp_path / "data").exists()
