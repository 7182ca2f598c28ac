"""Benchmark `generate`: bundled catalog, 1,000-procedure synthetic catalog, no-change runs.

Run by hand (not in CI):  .venv/bin/python bench/bench_generate.py [--count 1000] [--workers 2]

Targets (issue 2): 1,000 postings (PNG + SVG + PDF) in under 60 s on a 2-core machine, and a
no-change run under 1 s. Machines here are shared and noisy, so next to the wall-clock figures
it reports a ratio against the library we build on, measured in the same run: the time
`qrcode` alone takes to make the same symbols and save them as PNG with its own image factory
(no verification, no SVG, no PDF). The ratio says how much our whole pipeline costs on top.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.catalog.load import load_catalog  # noqa: E402
from qrcheck.catalog.model import COLUMNS  # noqa: E402
from qrcheck.printing.generate import GenerateOptions, generate  # noqa: E402
from qrcheck.printing.posting import PostingContent, posting_pdf  # noqa: E402
from qrcheck.printing.symbol import make_symbol, png_bytes, svg_text, verify_symbol  # noqa: E402

AS_OF = date(2026, 11, 27)


def synthetic_catalog(target: Path, count: int, seed: int = 7) -> Path:
    """A catalog folder with `count` active procedures named after the bundled ones."""
    shutil.copytree(ROOT / "catalog", target)
    with (ROOT / "catalog" / "procedures.csv").open(encoding="utf-8-sig", newline="") as handle:
        names = [(r["name"], r["field"]) for r in csv.DictReader(handle)]
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        name, field = names[index % len(names)]
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            code=f"{1 + index // 900000}.{100000 + index:06d}",
            name=f"{name} (mẫu {index})",
            field=field,
            level="Cấp xã",
            formality_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            status="active",
        )
        rows.append(row)
    with (target / "procedures.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def run_generate(catalog_dir: Path, out: Path, workers: int, force: bool = False):  # type: ignore[no-untyped-def]
    catalog = load_catalog(catalog_dir)
    return generate(catalog, GenerateOptions(out=out, as_of=AS_OF, workers=workers, force=force))


def qrcode_baseline(payloads: list[str], out: Path) -> float:
    """qrcode alone: make each symbol at level Q and save it as PNG with its PIL factory."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for index, payload in enumerate(payloads):
        qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4, box_size=24)
        qr.add_data(payload)
        qr.make(fit=True)
        qr.make_image().save(out / f"{index}.png")
    return time.perf_counter() - start


def stage_profile(payloads: list[str]) -> dict[str, float]:
    """Median milliseconds per posting for each stage, single process."""
    stages: dict[str, list[float]] = {k: [] for k in ("symbol", "verify", "png", "svg", "pdf")}
    for payload in payloads:
        t0 = time.perf_counter()
        symbol = make_symbol(payload)
        t1 = time.perf_counter()
        verify_symbol(symbol)
        t2 = time.perf_counter()
        png_bytes(symbol, 24, 600)
        t3 = time.perf_counter()
        svg_text(symbol, 70)
        t4 = time.perf_counter()
        content = PostingContent(
            "Trung tâm Phục vụ hành chính công phường Nam Gia Nghĩa",
            "1.001193",
            "Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con",
            "Hộ tịch",
            payload.split("#")[0],
            "ABCDEF",
            "",
            AS_OF,
            symbol,
        )
        posting_pdf(content)
        t5 = time.perf_counter()
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            value_ms = value * 1000
            stages[key].append(value_ms)
    return {k: statistics.median(v) for k, v in stages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qrcheck-bench-") as tmp:
        base = Path(tmp)
        rows: list[tuple[str, str]] = []

        seconds, result = timed(run_generate, ROOT / "catalog", base / "bundled", args.workers)
        rows.append(
            (f"bundled catalog, first run ({len(result.generated)} postings)", f"{seconds:.2f} s")
        )
        seconds, result = timed(run_generate, ROOT / "catalog", base / "bundled", args.workers)
        rows.append(
            (f"bundled catalog, no change ({len(result.generated)} made)", f"{seconds:.3f} s")
        )

        synthetic = synthetic_catalog(base / "synthetic", args.count)
        seconds, result = timed(run_generate, synthetic, base / "out", args.workers)
        made = len(result.generated)
        per = seconds / max(made, 1) * 1000
        rows.append(
            (
                f"{args.count} synthetic, first run ({made} postings)",
                f"{seconds:.2f} s ({per:.1f} ms each)",
            )
        )
        full_seconds = seconds
        seconds, result = timed(run_generate, synthetic, base / "out", args.workers)
        rows.append(
            (
                f"{args.count} synthetic, no change ({len(result.generated)} made)",
                f"{seconds:.3f} s",
            )
        )
        seconds, result = timed(run_generate, synthetic, base / "out", args.workers, True)
        rows.append(
            (
                f"{args.count} synthetic, --all ({len(result.generated)} postings)",
                f"{seconds:.2f} s",
            )
        )

        seconds, _ = timed(run_generate, synthetic, base / "out1", 1)
        rows.append((f"{args.count} synthetic, first run, 1 process", f"{seconds:.2f} s"))
        single_seconds = seconds
        cli = [
            str(ROOT / ".venv/bin/qrcheck"),
            "generate",
            "--catalog",
            str(synthetic),
            "--out",
            str(base / "out"),
            "--as-of",
            AS_OF.isoformat(),
        ]
        seconds, _ = timed(subprocess.run, cli, check=True, capture_output=True)
        rows.append((f"{args.count} synthetic, no change, whole CLI process", f"{seconds:.3f} s"))

        payloads = [e.payload for e in result.generated]
        baseline = qrcode_baseline(payloads, base / "baseline")
        rows.append(
            (f"qrcode alone: make + PNG, {len(payloads)} symbols, 1 process", f"{baseline:.2f} s")
        )
        rows.append(
            (f"ratio, {args.workers} processes / qrcode alone", f"{full_seconds / baseline:.2f}x")
        )
        rows.append(("ratio, 1 process / qrcode alone", f"{single_seconds / baseline:.2f}x"))

        profile = stage_profile(payloads[:100])
        for stage, ms in profile.items():
            rows.append((f"stage {stage} (median of 100, 1 process)", f"{ms:.1f} ms"))

    width = max(len(r[0]) for r in rows)
    print(f"qrcheck generate benchmark, workers={args.workers}")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
