"""Hostile photos (issue 17's sweep): shapes no phone takes are refused with a sentence.

A 1,000,000 x 2 PNG holds only 2 MP, under the pixel limit, so it used to reach the readers,
which raised "ValueError: Maximum image width/height is 65535" and the staff member read that
programmer's message with "tell the IT officer". Such a file is refused from its header now,
by `load_photo` and `probe_photo` alike (the web upload probes first), in both languages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from PIL import Image
from test_photos import png_header_only

from qrcheck.errors import PhotoError
from qrcheck.i18n import t
from qrcheck.vision.photos import MAX_ASPECT, MAX_SIDE, load_photo, probe_photo


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (1_000_000, 2),
        (2, 1_000_000),
        (70_000, 20),
        (MAX_SIDE + 1, 2_000),
        (1_000, 1_000 * MAX_ASPECT + 1),
    ],
)
@pytest.mark.parametrize("read", [load_photo, probe_photo])
def test_a_shape_no_phone_takes_is_refused_from_its_header(tmp_path, width, height, read):
    path = tmp_path / "strip.png"
    path.write_bytes(png_header_only(width, height))  # no pixels: a refusal must come first
    with pytest.raises(PhotoError) as info:
        read(path)
    assert info.value.key == "photos.odd_shape"
    assert info.value.params == {"path": str(path), "width": width, "height": height}
    vi = t(info.value.key, "vi", **info.value.params)
    assert f"{width} × {height}" in vi
    assert "chụp lại" in vi
    assert "Maximum" not in vi


@pytest.mark.parametrize(("width", "height"), [(MAX_SIDE, 1_500), (1_000, 1_000 * MAX_ASPECT)])
def test_a_long_panorama_within_the_limits_is_read(tmp_path, width, height):
    path = tmp_path / "pano.png"
    Image.new("L", (width, height), 200).save(path)
    assert probe_photo(path) == (width, height)
    assert load_photo(path).width == width


def test_check_says_the_refusal_and_goes_on_with_the_other_photos(tmp_path, capsys):
    strip = tmp_path / "strip.png"
    Image.new("L", (1_000_000, 2), 255).save(strip)  # a real, decodable file
    blank = tmp_path / "blank.png"
    Image.new("L", (800, 600), 255).save(blank)
    code = run_cli(["check", "--offline", "--no-record", str(strip), str(blank)])
    out = capsys.readouterr().out
    assert code == 0  # the blank photo was checked; nothing needs action
    assert "kích thước bất thường" in " ".join(out.split())
    assert "ValueError" not in out
    assert "cán bộ CNTT" not in out
    assert "blank.png" in out


def test_check_json_names_the_refused_photo(tmp_path, capsys):
    strip = tmp_path / "strip.png"
    strip.write_bytes(png_header_only(1_000_000, 2))
    assert run_cli(["check", "--offline", "--no-record", "--json", "--lang", "en", str(strip)]) == 2
    report = json.loads(capsys.readouterr().out)
    (photo,) = report["photos"]
    assert photo["codes"] == []
    assert "unusual shape" in photo["error"]
    assert Path(photo["path"]).name == "strip.png"
