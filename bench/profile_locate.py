"""Where `locate_codes` spends its time, pass by pass, and how often each pass matters.

Run by hand (not in CI):  .venv/bin/python bench/profile_locate.py [--data DIR] [--top N]

For the real photos of DIR/qr-photos and DIR/no-qr-photos (decoded once, outside the timing):

- seconds and calls of each stage of the reader stack (the module-level functions
  `locate_codes` calls are wrapped by this script only, in this process), and how many photos
  each optional pass changed the result of: the photo is read again with that pass made to
  find nothing, and the texts and decoded/located-only states compared;
- with `--top N`, cProfile's top N functions by cumulative and by own time.

The machines here are shared and noisy: say the load (`uptime`) with the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qrcheck.vision.cards  # noqa: E402,F401  (imported before timing: the layout pass's)
import qrcheck.vision.faint as faint  # noqa: E402
import qrcheck.vision.locate as locate  # noqa: E402
from qrcheck.vision.photos import load_photo  # noqa: E402

SECONDS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)

#: stage name -> (module, function name)
STAGES = {
    "zxing-cpp, whole photo": (locate, "_zxing"),
    "finder search": (locate, "find_finder_patterns"),
    "finders near lonely ones": (locate, "finders_near"),
    "grouping finders": (locate, "group_finders"),
    "pairs of finders": (locate, "pair_candidates"),
    "candidate reads (_retry)": (locate, "_retry"),
    "OpenCV detector": (locate, "_opencv_candidates"),
    "faint pass": (locate, "_faint_pass"),
    "  of it: CLAHE finder search": (faint, "faint_finders"),
    "layout pass": (locate, "_layout_pass"),
}

#: optional pass -> (module, function name, a stand-in that finds nothing)
ABLATIONS: dict[str, tuple[object, str, Callable]] = {
    "finder search without blur (nothing found)": (
        locate,
        "find_finder_patterns",
        lambda orig: (
            lambda g, min_module=1.6, reduced=None, blur=True: (
                orig(g, min_module, reduced, blur) if blur else []
            )
        ),
    ),
    "OpenCV detector": (locate, "_opencv_candidates", lambda orig: lambda reduced: []),
    "CLAHE finder search (faint pass)": (faint, "faint_finders", lambda orig: lambda g, r: []),
    "layout pass": (locate, "_layout_pass", lambda orig: lambda g, r, merged: merged),
}


def _timed(name: str, function: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[name] += time.perf_counter() - start
            CALLS[name] += 1

    return wrapper


def _photos(folder: Path) -> list[tuple[str, object]]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return [(str(p.relative_to(folder)), load_photo(p).gray) for p in files]


def _summary(found) -> list[tuple]:
    return [(r.text, r.decoded) for r in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    for folder in ("qr-photos", "no-qr-photos"):
        photos = _photos(args.data / folder)
        base = [_summary(locate.locate_codes(g)) for _, g in photos]  # warm-up and reference
        originals = {name: getattr(m, f) for name, (m, f) in STAGES.items()}
        for name, (module, function) in STAGES.items():
            setattr(module, function, _timed(name, originals[name]))
        SECONDS.clear()
        CALLS.clear()
        start = time.perf_counter()
        for _, gray in photos:
            locate.locate_codes(gray)
        total = time.perf_counter() - start
        for name, (module, function) in STAGES.items():
            setattr(module, function, originals[name])
        print(f"\n{folder}: {len(photos)} photos, locate_codes {total:.2f} s")
        for name in STAGES:
            print(f"  {name:32s} {SECONDS[name]:7.3f} s  {CALLS[name]:5d} calls")
        print("  photos whose result changes without the pass:")
        for name, (module, function, stand_in) in ABLATIONS.items():
            original = getattr(module, function)
            setattr(module, function, stand_in(original))
            try:
                changed = [
                    n
                    for (n, g), b in zip(photos, base, strict=True)
                    if _summary(locate.locate_codes(g)) != b
                ]
            finally:
                setattr(module, function, original)
            print(f"    {name:44s} {len(changed):3d}  {' '.join(changed[:6])}")
        if args.top:
            profile = cProfile.Profile()
            profile.enable()
            for _, gray in photos:
                locate.locate_codes(gray)
            profile.disable()
            for key in ("cumulative", "tottime"):
                pstats.Stats(profile).sort_stats(key).print_stats(args.top)


if __name__ == "__main__":
    main()
