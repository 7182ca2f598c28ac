"""Where a code is on the board in words ("hàng 2, cột 3"): rows and columns of a photo's codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qrcheck.board.annotate import grid_positions

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "photos"
#: columns of postings on each sample board (truth.json lists the codes row by row)
SAMPLE_COLUMNS = {"board-1.jpg": 3, "board-2.jpg": 2, "board-3.jpg": 3, "board-4.jpg": 4}


def test_a_tilted_grid_keeps_its_rows_and_columns() -> None:
    """A 3 x 4 grid of 300 px codes 450 px apart, turned 6 degrees and jittered: every code gets
    the row and column it was placed in, whatever order the codes come in."""
    rng = np.random.default_rng(7)
    turn = math.radians(6)
    placed, centres = [], []
    for row in range(3):
        for column in range(4):
            x, y = 400 + column * 450, 300 + row * 450
            jitter = rng.uniform(-25, 25, 2)
            centres.append(
                (
                    x * math.cos(turn) - y * math.sin(turn) + jitter[0],
                    x * math.sin(turn) + y * math.cos(turn) + jitter[1] + 300,
                )
            )
            placed.append((row + 1, column + 1))
    order = rng.permutation(len(centres))
    shuffled = [centres[i] for i in order]
    sides = [300.0] * len(centres)
    assert grid_positions(shuffled, sides) == [placed[i] for i in order]


def test_codes_closer_than_half_a_code_share_a_row() -> None:
    sides = [200.0, 200.0, 200.0]
    # 90 px apart vertically: one row; 110 px more: still the same row of a chain
    assert grid_positions([(100, 100), (500, 190), (900, 280)], sides) == [(1, 1), (1, 2), (1, 3)]
    # 101 px apart (more than half a 200 px code): two rows, one column
    assert grid_positions([(100, 100), (100, 301)], [200.0, 200.0]) == [(1, 1), (2, 1)]
    assert grid_positions([], []) == []
    with pytest.raises(ValueError):
        grid_positions([(1, 1)], [])


@pytest.mark.parametrize("name", sorted(SAMPLE_COLUMNS))
def test_the_sample_boards_in_rows_and_columns(name: str) -> None:
    """The photographed sample boards (perspective, mixed code sizes): positions from the true
    corners are the layout the boards were built with."""
    truth = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
    photo = next(p for p in truth["photos"] if p["file"] == name)
    centres, sides = [], []
    for code in photo["codes"]:
        corners = code["corners"]
        centres.append((sum(x for x, _ in corners) / 4, sum(y for _, y in corners) / 4))
        sides.append(sum(math.dist(corners[i], corners[(i + 1) % 4]) for i in range(4)) / 4)
    columns = SAMPLE_COLUMNS[name]
    expected = [(i // columns + 1, i % columns + 1) for i in range(len(centres))]
    assert grid_positions(centres, sides) == expected
