"""Render samples/photos/: synthetic phone photos of posting boards, with their ground truth.

Deterministic (fixed seeds): running it again gives the same files. Postings come from the
bundled catalog as of 2026-11-27; `testkit.simulate` prints, ages and photographs them. Also
copies a few real photos from ../shared/data/qr-photos/ into samples/photos/real/.
Usage: python scripts/make_sample_photos.py [OUTPUT_DIR]
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qrcheck.catalog.load import load_catalog  # noqa: E402
from qrcheck.catalog.model import CatalogView  # noqa: E402
from testkit.simulate import (  # noqa: E402
    Condition,
    age_print,
    as_rng,
    paste_sticker,
    photograph,
    render_posting,
    render_sticker,
)

AS_OF = date(2026, 11, 27)
PX_PER_MM = 8.0
JPEG_QUALITY = 88
REAL_SOURCE = ROOT.parent / "shared" / "data" / "qr-photos"
REAL_PHOTOS = ("multi-qrcode-1/1.png", "qrcode-1/16.png", "qrcode-2/28.png", "qrcode-3/20.png")
LEGACY_LINK = (
    "https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma_thu_tuc={code}"
)
FAKE_LINK = "https://dichvucong-gov.vn.thanhtoan-phi.com/thu-tuc-hanh-chinh/{code}?nop-phi=qr"
OLD_TAG = "K3XQ7B"  # a version tag no current record has


@dataclass(frozen=True)
class Posting:
    """One posting on a board: which procedure, what it holds, what happened to it."""

    code: str
    condition: Condition = field(default_factory=Condition)
    kind: str = "current"  # current, legacy, outdated, fake, or the record's state
    printed: date = date(2026, 10, 5)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    size: tuple[int, int]
    seed: int
    postings: Sequence[Posting]
    options: dict


BOARDS = (
    Board(
        "board-1.jpg",
        "Hộ tịch board on cork, landscape: one fresh posting, fading 0.4 / 0.7 / 0.9, "
        "a scratched code, and an old posting with the legacy code-based portal link.",
        (4000, 3000),
        101,
        (
            Posting("1.001193"),
            Posting("1.000894", Condition(fade=0.4, yellowing=0.2), printed=date(2025, 9, 1)),
            Posting("1.004873", Condition(fade=0.7, yellowing=0.4), printed=date(2024, 11, 4)),
            Posting("1.004884", Condition(fade=0.9, yellowing=0.5), printed=date(2024, 3, 11)),
            Posting("1.000419", Condition(fade=0.2, scratches=7), printed=date(2025, 5, 20)),
            Posting("1.000656", Condition(fade=0.3, yellowing=0.3), "legacy", date(2023, 8, 2)),
        ),
        {"perspective_deg": 12, "light_gradient": 0.35, "board": "cork"},
    ),
    Board(
        "board-2.jpg",
        "Portrait photo of a painted board: a laminated posting with glare, a fake sticker "
        "(look-alike domain) pasted over an official posting, a posting of an abolished "
        "procedure (2.002621), and an outdated posting (old version tag).",
        (3000, 4000),
        202,
        (
            Posting("1.001612", Condition(glare=0.9)),
            Posting("1.013978", Condition(fade=0.3), "fake", date(2025, 2, 17)),
            Posting("2.002621", Condition(fade=0.3, yellowing=0.3), printed=date(2025, 4, 8)),
            Posting("2.000575", Condition(fade=0.1), "outdated", date(2025, 12, 1)),
        ),
        {"perspective_deg": 16, "light_gradient": 0.45, "board": "painted"},
    ),
    Board(
        "board-3.jpg",
        "Cork board seen at a steep angle in dim, uneven light: a posting of a replaced "
        "procedure (1.001731), a stained code, a torn corner, an inverted code, a code faded "
        "nearly white (0.95), and a fresh posting of the successor 1.116910.",
        (4000, 3000),
        303,
        (
            Posting("1.001731", Condition(fade=0.5, yellowing=0.3), printed=date(2024, 6, 3)),
            Posting("2.000815", Condition(fade=0.2, stain=True), printed=date(2025, 7, 14)),
            Posting("1.012812", Condition(torn_corner=True, fade=0.3), printed=date(2025, 1, 6)),
            Posting("1.116910"),
            Posting("2.001263", Condition(fade=0.95, yellowing=0.8), printed=date(2023, 5, 2)),
            Posting("1.003622", Condition(invert=True)),
        ),
        {"perspective_deg": 24, "light_gradient": 0.6, "noise": 0.025, "board": "cork"},
    ),
    Board(
        "board-4.jpg",
        "A crowded painted board (8 postings, smaller codes), slightly out of focus: fresh "
        "postings, fading 0.4 and 0.7 with a stain, a scratched faded code, light glare, and "
        "1.001776, current today but replaced by 1.116909 on 2027-03-01.",
        (4000, 3000),
        404,
        (
            Posting("1.001266"),
            Posting("1.001570", Condition(fade=0.4), printed=date(2025, 10, 2)),
            Posting("1.013724"),
            Posting("1.011606", Condition(fade=0.7, stain=True), printed=date(2024, 9, 9)),
            Posting("1.010833", Condition(fade=0.5, scratches=4), printed=date(2024, 12, 2)),
            Posting("2.002409", Condition(glare=0.5)),
            Posting("1.001776"),
            Posting("2.001909", Condition(yellowing=0.5, fade=0.2), printed=date(2025, 3, 3)),
        ),
        {"perspective_deg": 8, "light_gradient": 0.3, "blur_px": 1.8, "board": "painted"},
    ),
)


def payload_for(view: CatalogView, posting: Posting) -> tuple[str, str]:
    """(payload printed on the posting, the link status a checker should give it)."""
    proc = view.procedures[posting.code]
    if posting.kind == "legacy":
        return LEGACY_LINK.format(code=proc.code), "legacy"
    if posting.kind == "outdated":
        assert proc.tag != OLD_TAG
        return f"{proc.link}#v={OLD_TAG}", "outdated"
    if posting.kind == "fake":
        return FAKE_LINK.format(code=proc.code), "foreign"
    status = {"active": "current"}.get(proc.state, proc.state)
    return proc.payload, status  # abolished and replaced postings carry what was printed then


def make_card(view, center_name, posting: Posting, rng):
    """(card, box, condition, label, payload) ready for `photograph`, plus the link status."""
    proc = view.procedures[posting.code]
    payload, status = payload_for(view, posting)
    official = proc.payload if posting.kind == "fake" else payload
    card, box = render_posting(
        proc.code,
        proc.name,
        proc.field,
        center_name,
        official,
        PX_PER_MM,
        print_date=posting.printed,
    )
    card = age_print(card, box, posting.condition, rng, PX_PER_MM)
    label = f"{proc.code} {status}"
    condition = posting.condition
    if posting.kind == "fake":
        sticker, sbox = render_sticker(payload, "Quét mã nộp phí nhanh", PX_PER_MM)
        card, box = paste_sticker(
            card, sticker, sbox, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        )
        label, condition = f"fake sticker over {proc.code}", Condition()
    return (card, box, condition, label, payload), status


def render_board(view, center_name: str, board: Board, out: Path) -> dict:
    rng = as_rng(board.seed)
    made = [make_card(view, center_name, p, rng) for p in board.postings]
    cards = [card for card, _ in made]
    image, placed = photograph(
        cards, board.size, rng, px_per_mm=PX_PER_MM, jpeg_quality=None, **board.options
    )
    Image.fromarray(image).save(out / board.name, "JPEG", quality=JPEG_QUALITY, optimize=True)
    codes = [
        {**dataclasses.asdict(code), "link_status": status}
        for code, (_, status) in zip(placed, made, strict=True)
    ]
    return {
        "file": board.name,
        "width": board.size[0],
        "height": board.size[1],
        "description": board.description,
        "codes": codes,
    }


def copy_real(out: Path) -> None:
    real = out / "real"
    real.mkdir(parents=True, exist_ok=True)
    expected = {}
    for line in (REAL_SOURCE / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]:
        expected[line.split(",", 1)[0]] = line
    names = []
    for rel in REAL_PHOTOS:
        name = rel.replace("/", "_")
        shutil.copyfile(REAL_SOURCE / rel, real / name)
        names.append(f"  {name}  <- {rel}\n    manifest: {expected[rel]}")
    note = (REAL_SOURCE / "SOURCE.txt").read_text(encoding="utf-8")
    (real / "SOURCE.txt").write_text(
        "Real photos of QR codes, copied unchanged from ../shared/data/qr-photos/ "
        "(zxing blackbox test images). Files taken (new name <- original path):\n"
        + "\n".join(names)
        + "\n\nThe source and licence note of that folder, verbatim:\n\n"
        + note,
        encoding="utf-8",
    )


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "samples" / "photos"
    out.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(ROOT / "catalog")
    view = catalog.as_of(AS_OF)
    center_name = catalog.center.name
    photos = []
    for board in BOARDS:
        photos.append(render_board(view, center_name, board, out))
        size = (out / board.name).stat().st_size / 1e6
        print(f"{board.name}: {len(board.postings)} postings, {size:.2f} MB")
    truth = {
        "note": "Synthetic photos rendered by scripts/make_sample_photos.py (testkit.simulate); "
        "corners are the symbol's (no quiet zone) TL, TR, BR, BL in photo pixels; "
        "link_status is what a checker should say of the decoded text, as of "
        f"{AS_OF.isoformat()}, with the bundled catalog.",
        "as_of": AS_OF.isoformat(),
        "photos": photos,
    }
    text = json.dumps(truth, ensure_ascii=False, indent=1)
    (out / "truth.json").write_text(text + "\n", encoding="utf-8")
    copy_real(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
