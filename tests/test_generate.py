"""Generation: every posting decodes back to its payload, and only what changed is regenerated."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from pyzbar import pyzbar

from qrcheck.catalog.load import load_catalog
from qrcheck.errors import CatalogInvalid, GenerationError
from qrcheck.printing.generate import GenerateOptions, generate
from qrcheck.printing.manifest import MANIFEST
from qrcheck.printing.symbol import Symbol, make_symbol, verify_symbol

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)


def copy_catalog(target: Path, keep: int | None = None) -> Path:
    """The bundled catalog in `target`; with `keep`, only its first `keep` active rows."""
    shutil.copytree(REPO / "catalog", target)
    if keep is not None:
        path = target / "procedures.csv"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        body = [r for r in rows[1:] if r[8] == "active" and not r[9]][:keep]
        write_rows(path, [rows[0], *body])
    return target


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_row(path: Path, code: str, **changes: str) -> None:
    rows = read_rows(path)
    header = rows[0]
    for row in rows[1:]:
        if row[0] == code and row[header.index("status")] != "scheduled":
            for name, value in changes.items():
                row[header.index(name)] = value
    write_rows(path, rows)


def decode(image: np.ndarray) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def file_hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def svg_to_matrix(text: str) -> np.ndarray:
    """Rasterise the path our SVG writer emits (M x y h n v1 h-n z runs), one pixel a module."""
    total = int(re.search(r'viewBox="0 0 (\d+) \1"', text).group(1))
    grid = np.full((total, total), 255, dtype=np.uint8)
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", text):
        grid[int(y), int(x) : int(x) + int(n)] = 0
    return grid


def rasterise_pdf(path: Path, dpi: int, page: int = 1) -> np.ndarray:
    """A page of a PDF as a grayscale array, rendered by poppler's pdftoppm."""
    prefix = path.parent / f"{path.stem}-render"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(path),
            str(prefix),
        ],
        check=True,
    )
    return np.array(Image.open(f"{prefix}.png").convert("L"))


def folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


# ---------------------------------------------------------------------------------------------
# the bundled catalog, generated once for the module


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("bundled")
    catalog = load_catalog(copy_catalog(base / "catalog"))
    out = base / "out"
    result = generate(catalog, GenerateOptions(out=out, as_of=TODAY, workers=2))
    return catalog, out, result


def test_every_procedure_in_force_gets_a_posting(bundled) -> None:
    catalog, out, result = bundled
    view = catalog.as_of(TODAY)
    assert sorted(e.code for e in result.generated) == sorted(p.code for p in view.active())
    assert len(result.generated) == 91
    assert not result.failures
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["procedures"]) == {p.code for p in view.active()}


def test_every_png_decodes_to_its_payload(bundled) -> None:
    catalog, out, result = bundled
    view = catalog.as_of(TODAY)
    for entry in result.generated:
        proc = view.procedures[entry.code]
        image = np.array(Image.open(out / entry.files["png"].path).convert("L"))
        assert decode(image) == [proc.payload], entry.code
        assert proc.payload == f"{proc.link}#v={proc.tag}"
        # the PNG carries its print resolution, and prints the code at about 70 mm
        with Image.open(out / entry.files["png"].path) as png:
            dpi = png.info["dpi"][0]
            assert round(dpi) == 600
            assert 65 <= png.width / dpi * 25.4 <= 75


def test_a_second_reader_agrees(bundled) -> None:
    """pyzbar (ZBar), independent of zxing-cpp, reads the same text from a sample of codes."""
    _, out, result = bundled
    for entry in result.generated[::9]:
        with Image.open(out / entry.files["png"].path) as png:
            small = png.convert("L").resize((png.width // 4, png.height // 4), Image.NEAREST)
        found = [d.data.decode("utf-8") for d in pyzbar.decode(small)]
        assert found == [entry.payload]


def test_every_svg_draws_the_same_symbol(bundled) -> None:
    _, out, result = bundled
    for entry in result.generated:
        text = (out / entry.files["svg"].path).read_text(encoding="utf-8")
        grid = svg_to_matrix(text)
        assert decode(np.kron(grid, np.ones((4, 4), dtype=np.uint8))) == [entry.payload]
        assert 'width="70mm"' in text


def test_pdf_postings_scan_and_carry_the_vietnamese_text(bundled) -> None:
    catalog, out, result = bundled
    view = catalog.as_of(TODAY)
    sample = [e for e in result.generated if e.code in ("1.000689", "1.013962", "2.000720")]
    assert len(sample) == 3
    for entry in sample:
        proc = view.procedures[entry.code]
        pdf = out / entry.files["pdf"].path
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1
        width_mm = float(reader.pages[0].mediabox.width) / 72 * 25.4
        assert round(width_mm) == 148  # A5
        text = folded(reader.pages[0].extract_text())
        assert folded(proc.name) in text
        assert catalog.center.name.upper() in text
        assert proc.code in text and proc.field in text
        assert "Quét mã QR" in text
        assert f"Phiên bản {proc.tag}" in text
        assert "Chỉ quét mã dẫn tới dichvucong.gov.vn" in text  # against fake stickers
        fonts = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
        assert all("BeVietnamPro" in f for f in fonts), fonts
        # the printed code (vector squares) scans back to the payload
        assert decode(rasterise_pdf(pdf, 150)) == [entry.payload]


def test_print_sheet_holds_two_a5_postings_per_a4_page_that_scan(bundled) -> None:
    result = bundled[2]
    sheet = result.sheet
    assert sheet is not None and sheet.exists()
    reader = PdfReader(sheet)
    assert len(reader.pages) == -(-91 // 2)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (297, 210)
    page = rasterise_pdf(sheet, 200, page=1)
    first_two = sorted(e.payload for e in sorted(result.generated, key=lambda e: e.code)[:2])
    assert sorted(decode(page)) == first_two


def test_take_down_and_announcements_from_the_bundled_catalog(bundled) -> None:
    _, _, result = bundled
    assert {(t.code, t.state, t.successor) for t in result.take_down} == {
        ("1.001731", "replaced", "1.116910"),
        ("2.002622", "replaced", "2.002913"),
        ("2.001009", "abolished", ""),
        ("2.002621", "abolished", ""),
    }
    assert all(not t.printed_here for t in result.take_down)
    assert [(c.when, c.code, c.kind) for c in result.announce] == [
        (date(2026, 12, 15), "1.116907", "new"),
        (date(2026, 12, 15), "2.000286", "replaced"),
    ]


# ---------------------------------------------------------------------------------------------
# incremental regeneration, on a small catalog


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    return copy_catalog(tmp_path / "catalog", keep=6), tmp_path / "out"


def run(catalog_dir: Path, out: Path, **options):
    options.setdefault("as_of", TODAY)
    return generate(load_catalog(catalog_dir), GenerateOptions(out=out, **options))


def test_second_run_with_no_change_writes_nothing(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    assert len(first.generated) == 6
    before = file_hashes(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    second = run(catalog_dir, out)
    assert second.generated == () and second.wrote_nothing
    assert len(second.unchanged) == 6
    assert file_hashes(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes


def test_changing_one_row_regenerates_exactly_that_posting(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    code = first.generated[2].code
    before = file_hashes(out)
    edit_row(catalog_dir / "procedures.csv", code, name="Tên thủ tục đã được sửa đổi, bổ sung")
    second = run(catalog_dir, out)
    assert [e.code for e in second.generated] == [code]
    assert second.reasons == {code: "changed"}
    assert second.generated[0].tag != first.generated[2].tag
    after = file_hashes(out)
    changed = {name for name in after if before.get(name) != after[name]}
    sheet = {n for n in changed if n.startswith("sheets/")}
    assert changed - sheet == {f"qr/{code}.png", f"qr/{code}.svg", f"postings/{code}.pdf", MANIFEST}
    assert len(sheet) <= 1  # the new print sheet holds just that posting
    text = folded(PdfReader(out / f"postings/{code}.pdf").pages[0].extract_text())
    assert "Tên thủ tục đã được sửa đổi, bổ sung" in text


def test_note_change_does_not_regenerate(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    edit_row(catalog_dir / "procedures.csv", first.generated[0].code, note="kiểm tra lại nguồn")
    assert run(catalog_dir, out).generated == ()


def test_abolished_procedure_is_taken_down_and_retired(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    code = first.generated[0].code
    edit_row(catalog_dir / "procedures.csv", code, status="abolished", effective_from="2026-11-01")
    second = run(catalog_dir, out)
    assert second.generated == ()
    assert [(t.code, t.state, t.printed_here) for t in second.take_down] == [
        (code, "abolished", True)
    ]
    assert not (out / f"postings/{code}.pdf").exists()
    assert (out / f"retired/postings/{code}.pdf").exists()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert code not in manifest["procedures"] and code in manifest["retired"]
    assert run(catalog_dir, out).take_down == ()  # said once, not on every run


def test_missing_file_is_regenerated(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    code = first.generated[1].code
    (out / f"qr/{code}.svg").unlink()
    second = run(catalog_dir, out)
    assert [e.code for e in second.generated] == [code]
    assert second.reasons == {code: "missing_files"}


def test_all_and_only(small) -> None:
    catalog_dir, out = small
    first = run(catalog_dir, out)
    assert len(run(catalog_dir, out, force=True).generated) == 6
    code = first.generated[3].code
    only = run(catalog_dir, out, force=True, only=(code,))
    assert [e.code for e in only.generated] == [code]
    with pytest.raises(GenerationError) as caught:
        run(catalog_dir, out, only=("9.999999",))
    assert caught.value.key == "generate.unknown_codes"


def test_a4_postings(small) -> None:
    catalog_dir, out = small
    result = run(catalog_dir, out, paper="A4")
    reader = PdfReader(out / result.generated[0].files["pdf"].path)
    assert round(float(reader.pages[0].mediabox.width) / 72 * 25.4) == 210
    sheet = PdfReader(result.sheet)  # A4 postings print one to an A4 page, at their size
    assert len(sheet.pages) == 6
    assert round(float(sheet.pages[0].mediabox.width) / 72 * 25.4) == 210


def test_an_amendment_that_changes_nothing_printed_needs_no_posting(tmp_path: Path) -> None:
    """The bundled catalog's scheduled row of 1.001193 changes only its date of effect: nothing
    a posting shows or links to, so nothing is announced for printing and nothing regenerated
    (issue 16: "reprints for changes nobody can see")."""
    catalog_dir = copy_catalog(tmp_path / "catalog")
    out = tmp_path / "out"
    before = run(catalog_dir, out, only=("1.001193",))
    near = run(catalog_dir, out, only=("1.001193",), as_of=date(2027, 2, 15))
    assert near.announce == () and near.generated == ()
    after = run(catalog_dir, out, only=("1.001193",), as_of=date(2027, 3, 1))
    assert after.generated == ()
    assert (
        before.generated[0].tag
        == load_catalog(catalog_dir).as_of(date(2027, 3, 1)).procedures["1.001193"].tag
    )


def test_scheduled_amendment_changes_the_posting_from_its_date(tmp_path: Path) -> None:
    catalog_dir = copy_catalog(tmp_path / "catalog")
    rows = read_rows(catalog_dir / "procedures.csv")
    header = rows[0]
    for row in rows[1:]:  # the scheduled version of 1.001193 gets a new name (printed)
        if row[0] == "1.001193" and row[header.index("status")] == "scheduled":
            row[header.index("name")] = "Thủ tục đăng ký khai sinh (sửa đổi)"
    write_rows(catalog_dir / "procedures.csv", rows)
    out = tmp_path / "out"
    before = run(catalog_dir, out, only=("1.001193",))
    assert [(c.code, c.kind) for c in before.announce] == []  # 01/03/2027 is beyond 30 days
    near = run(catalog_dir, out, only=("1.001193",), as_of=date(2027, 2, 15))
    assert near.generated == ()
    assert [(c.when, c.code, c.kind) for c in near.announce] == [
        (date(2027, 3, 1), "1.001193", "amended")
    ]
    after = run(catalog_dir, out, only=("1.001193",), as_of=date(2027, 3, 1))
    assert [e.code for e in after.generated] == ["1.001193"]
    assert after.generated[0].tag != before.generated[0].tag


def test_a_crash_mid_run_leaves_consistent_outputs_and_the_next_run_finishes(small) -> None:
    catalog_dir, out = small
    old_tags = {e.code: e.tag for e in run(catalog_dir, out).generated}
    rows = read_rows(catalog_dir / "procedures.csv")
    for row in rows[1:]:  # a change every posting shows
        row[rows[0].index("name")] += " (sửa đổi)"
    write_rows(catalog_dir / "procedures.csv", rows)

    class Crash(Exception):
        pass

    def crash_after_three(code: str, done: int, total: int) -> None:
        if done == 3:
            raise Crash

    with pytest.raises(Crash):
        generate(
            load_catalog(catalog_dir),
            GenerateOptions(out=out, as_of=TODAY),
            progress=crash_after_three,
        )
    assert not list(out.rglob("*.tmp")), "no temporary file is left behind"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["procedures"].values():
        for record in entry["files"].values():
            data = (out / record["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == record["sha256"]
    assert set(manifest["procedures"]) == set(old_tags)
    updated = [c for c, e in manifest["procedures"].items() if e["tag"] != old_tags[c]]
    assert len(updated) == 3
    resumed = run(catalog_dir, out)
    assert len(resumed.generated) == 3  # the three finished before the crash are not redone
    assert run(catalog_dir, out).generated == ()


def test_invalid_catalog_generates_nothing(small) -> None:
    catalog_dir, out = small
    edit_row(
        catalog_dir / "procedures.csv",
        read_rows(catalog_dir / "procedures.csv")[1][0],
        effective_from="31/12/2026",
    )
    with pytest.raises(CatalogInvalid):
        run(catalog_dir, out)
    assert not out.exists() or not any(out.iterdir())


def test_a_character_the_font_lacks_fails_that_posting_only(small) -> None:
    catalog_dir, out = small
    code = read_rows(catalog_dir / "procedures.csv")[1][0]
    edit_row(catalog_dir / "procedures.csv", code, name="Thủ tục 漢字")
    result = run(catalog_dir, out)
    assert [f.code for f in result.failures] == [code]
    assert result.failures[0].error.key == "posting.glyph_missing"
    assert len(result.generated) == 5
    assert not (out / f"postings/{code}.pdf").exists()


def test_decode_back_mismatch_is_an_error() -> None:
    good = make_symbol("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/x#v=AAAAAA")
    other = make_symbol("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/y#v=AAAAAA")
    verify_symbol(good)
    with pytest.raises(GenerationError) as caught:
        verify_symbol(Symbol(good.payload, good.version, other.modules))
    assert caught.value.key == "generate.decode_mismatch"
    assert good.modules.shape == (17 + 4 * good.version,) * 2


def test_an_unwritable_output_folder_is_a_clear_error(small, tmp_path: Path) -> None:
    catalog_dir, _ = small
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be", encoding="utf-8")
    with pytest.raises(GenerationError) as caught:
        run(catalog_dir, blocker / "out")
    assert caught.value.key == "generate.write_failed"


def test_two_runs_at_once_do_not_interleave(small) -> None:
    catalog_dir, out = small
    seen: list[str] = []

    def second_run_meanwhile(code: str, done: int, total: int) -> None:
        if done == 1:
            with pytest.raises(GenerationError) as caught:
                run(catalog_dir, out)
            seen.append(caught.value.key)

    generate(load_catalog(catalog_dir), GenerateOptions(out=out, as_of=TODAY), second_run_meanwhile)
    assert seen == ["generate.busy"]
    assert run(catalog_dir, out).generated == ()


def test_a_killed_process_keeps_every_finished_posting(tmp_path: Path) -> None:
    """A real `qrcheck generate` process, killed with SIGKILL half-way through."""
    import os
    import signal
    import sys
    import time

    catalog_dir = copy_catalog(tmp_path / "catalog")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "qrcheck",
        "generate",
        "--catalog",
        str(catalog_dir),
        "--out",
        str(out),
        "--as-of",
        "2026-11-27",
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if (out / MANIFEST).exists() and len(list((out / "postings").glob("*.pdf"))) >= 30:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    finished = manifest["procedures"]
    assert 25 <= len(finished) < 91
    for entry in finished.values():
        for record in entry["files"].values():
            data = (out / record["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == record["sha256"]
    for pdf in (out / "postings").glob("*.pdf"):
        assert len(PdfReader(pdf).pages) == 1  # no half-written posting, listed or not
    resumed = run(catalog_dir, out)
    assert len(resumed.generated) == 91 - len(finished)
    assert not list(out.rglob("*.tmp"))
    assert run(catalog_dir, out).generated == ()
