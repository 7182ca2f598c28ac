"""The command line as a user meets it: exit codes, languages, help, no tracebacks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from qrcheck.cli.app import build_app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "catalog", tmp_path / "catalog"))


def test_generate_then_nothing_to_do_in_vietnamese(
    catalog_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    args = ["generate", "--catalog", str(catalog_dir), "--out", str(out), "--as-of", "2026-11-27"]
    assert run_cli([*args, "--only", "1.001193,1.000656"]) == 0
    text = capsys.readouterr().out
    assert "Đã tạo 2 bản niêm yết" in text
    assert "Tờ in gộp" in text
    assert run_cli([*args, "--only", "1.001193", "--only", "1.000656"]) == 0
    assert "Danh mục không thay đổi" in capsys.readouterr().out


def test_generate_in_english(catalog_dir: Path, tmp_path: Path, capsys) -> None:
    args = [
        "generate",
        "--catalog",
        str(catalog_dir),
        "--out",
        str(tmp_path / "o"),
        "--as-of",
        "01/12/2026",
        "--only",
        "2.000286",
        "--lang",
        "en",
    ]
    assert run_cli(args) == 0
    text = capsys.readouterr().out
    assert "1 postings made" in text
    assert "On 15/12/2026, 2.000286 is replaced by 1.116907" in text


def test_language_from_environment(catalog_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("QRCHECK_LANG", "en")
    assert (
        run_cli(["catalog", "validate", "--catalog", str(catalog_dir), "--as-of", "2026-11-27"])
        == 0
    )
    assert "is valid: 98 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["catalog", "validate", "--catalog", "/nonexistent/catalog"], "Không tìm thấy danh mục"),
        (["catalog", "validate", "--as-of", "31/02/2027"], "không hợp lệ"),
        (["generate", "--paper", "B5"], "Khổ giấy"),
        (
            ["generate", "--only", "9.999999", "--out", "{tmp}"],
            "Không có thủ tục nào mang mã 9.999999",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_sentence(
    args: list[str], expected: str, catalog_dir: Path, tmp_path: Path, capsys
) -> None:
    args = [a.replace("{tmp}", str(tmp_path / "o")) for a in args]
    if "--catalog" not in args:
        args += ["--catalog", str(catalog_dir)]
    assert run_cli(args) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_generate_refuses_an_invalid_catalog(catalog_dir: Path, tmp_path: Path, capsys) -> None:
    path = catalog_dir / "procedures.csv"
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace("1.000656", "1.00656", 1), encoding="utf-8"
    )
    assert run_cli(["generate", "--catalog", str(catalog_dir), "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert "1.00656" in captured.out
    assert "chưa tạo bản niêm yết nào" in captured.err
    assert not (tmp_path / "o").exists()


def test_console_script_runs_as_a_process(catalog_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qrcheck", "catalog", "validate", "--catalog", str(catalog_dir)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "QRCHECK_LANG": "en"},
    )
    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stdout


def _commands(app) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    import typer.main

    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
        else:
            found.append((name, command))
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_command_has_help_and_is_in_the_readme(lang: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = _commands(build_app(lang))
    assert {name for name, _ in commands} >= {
        "catalog validate",
        "catalog diff",
        "catalog import",
        "generate",
    }
    for name, command in commands:
        assert command.help and len(command.help) > 20, name
        assert re.search(rf"`qrcheck {name}\b", readme), f"{name} missing from README"


def test_a_warning_repeated_on_many_rows_is_shown_once() -> None:
    from qrcheck.catalog.load import group_issues, load_catalog

    rows = group_issues(load_catalog(REPO / "catalog").issues)
    assert [(len(members), issue.key) for members, issue in rows] == [
        (9, "catalog.search_fallback")
    ]
    assert [m.line for m in rows[0][0]] == [22, 45, 62, 66, 86, 87, 88, 89, 90]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["check", "{photos}"], "no photo was checked"),
        (["links", "--offline"], "no link was checked"),
    ],
)
def test_check_and_links_refuse_an_invalid_catalog(
    command: list[str], says: str, catalog_dir: Path, tmp_path: Path, capsys
) -> None:
    path = catalog_dir / "procedures.csv"
    text = path.read_text(encoding="utf-8-sig").replace("1.000656", "1.00656", 1)
    path.write_text(text, encoding="utf-8")
    photos = tmp_path / "photos"
    photos.mkdir()
    args = [a.replace("{photos}", str(photos)) for a in command]
    assert run_cli([*args, "--catalog", str(catalog_dir), "--lang", "en"]) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(
    "proxy", ["proxy.local:3128", "ftp://proxy.local", "http://:3128", "http://p:x"]
)
@pytest.mark.parametrize("command", [["check", "{photo}"], ["links"], ["serve"]])
def test_a_bad_proxy_is_said_before_any_work(
    command: list[str], proxy: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    photo = REPO / "samples" / "photos" / "board-1.jpg"
    monkeypatch.setenv("QRCHECK_PROXY", proxy)  # the variable, as an IT officer would set it
    args = [a.replace("{photo}", str(photo)) for a in command]
    db = ["--db", str(tmp_path / "h.sqlite")] if command[0] != "links" else []
    assert run_cli([*args, *db, "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert f'The proxy address "{proxy}" cannot be used' in err
    assert "Traceback" not in err and not (tmp_path / "h.sqlite").exists()


@pytest.mark.parametrize("columns", [60, 80])
def test_tables_never_cut_a_procedure_code(tmp_path: Path, make_catalog, columns: int) -> None:
    """In a narrow terminal the generate table wraps the reason and the name; the procedure
    code stays whole (it used to show "1.0…" at 80 columns)."""
    import os

    from conftest import procedure_row

    long_name = "Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con có yếu tố nước ngoài"
    rows = [
        procedure_row("1.001193", long_name, formality_id=""),
        procedure_row("2.000575", long_name + " (lần hai)", formality_id=""),
    ]
    folder = make_catalog(rows)
    env = {**os.environ, "COLUMNS": str(columns), "QRCHECK_LANG": "vi"}
    done = subprocess.run(
        [sys.executable, "-m", "qrcheck", "generate", "--catalog", str(folder),
         "--out", str(tmp_path / "out"), "--no-record"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    for code in ("1.001193", "2.000575"):
        assert any(code in line for line in lines), done.stdout
    assert "…" not in done.stdout


def check_table(photo: Path, columns: int) -> str:
    """`qrcheck check` as a terminal of `columns` columns prints it (rich reads COLUMNS)."""
    import os

    args = ["check", str(photo), "--offline", "--no-record", "--catalog", str(REPO / "catalog")]
    env = {**os.environ, "QRCHECK_LANG": "vi", "COLUMNS": str(columns), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "qrcheck", *args, "--as-of", "2026-11-27"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_the_check_table_says_where_and_names_the_procedure(tmp_path: Path) -> None:
    """Rows and columns of the board instead of pixels; the procedure's title from 120 columns
    on; a fake sticker's long address is never cut in two on the line that explains it."""
    from conftest import board_image, save_photo

    from qrcheck.catalog.load import load_catalog

    view = load_catalog(REPO / "catalog").as_of(__import__("datetime").date(2026, 11, 27))
    host = "dichvucong-gov-vn." + "thanh-toan-phi-dich-vu-hanh-chinh-cong." * 2 + "example.com"
    fake = f"https://{host}/p/1.001193"
    payloads = [view.procedures[c].payload for c in ("1.001193", "1.000656", "2.000635")]
    photo = save_photo(board_image([*payloads, fake], columns=2), tmp_path / "board.png")
    wide = check_table(photo, 140)
    assert "Tên thủ tục" in wide and "Vị trí (hàng, cột)" in wide
    lines = wide.splitlines()
    first = next(line for line in lines if "1.001193" in line)
    assert "hàng 1, cột 1" in first
    assert view.procedures["1.001193"].name.split()[0] in first
    assert any("hàng 2, cột 1" in line and "2.000635" in line for line in lines)
    assert not re.search(r"\b\d{2,4}, \d{2,4}\b", wide)  # no pixel positions
    note = next(line for line in lines if line.startswith("• "))
    assert "hàng 2, cột 2" in note and host in note
    narrow = check_table(photo, 80)
    assert "Tên thủ tục" not in narrow and "hàng 1, cột 1" in narrow
    assert any(host in line for line in narrow.splitlines())
