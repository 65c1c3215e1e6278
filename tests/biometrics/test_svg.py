from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from authature.biometrics.capture import parse_capture
from authature.biometrics.svg import render_svg

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_902c712edaa479de.txt"
NUM = r"-?\d+(?:\.\d{1,2})?"
D_GRAMMAR = re.compile(
    rf"^M {NUM} {NUM}(?: c {NUM} {NUM} {NUM} {NUM} {NUM} {NUM})*(?: l {NUM} {NUM})?$"
)
SVG = "{http://www.w3.org/2000/svg}"


def _seed_svg() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed example not found at {SEED}")
    m = re.search(r'"image_data": "([^"]+)"', SEED.read_text(encoding="utf-8"))
    assert m
    return base64.b64decode(m.group(1)).decode("utf-8")


def _prefix(svg: str) -> str:
    return svg[: svg.index("<svg")]


def test_seed_itself_matches_the_grammar() -> None:
    root = ET.fromstring(_seed_svg())
    for path in root.iter(f"{SVG}path"):
        assert D_GRAMMAR.match(path.attrib["d"]), path.attrib["d"][:60]


def test_render_matches_the_seed_structure(squiggle: Any) -> None:
    seed = _seed_svg()
    ours = render_svg(squiggle)
    assert "\n" not in ours
    assert _prefix(ours) == _prefix(seed)
    s_root, o_root = ET.fromstring(seed), ET.fromstring(ours)
    assert o_root.tag == s_root.tag
    assert set(o_root.attrib) == set(s_root.attrib)
    assert o_root.attrib["version"] == "1.1"
    assert re.fullmatch(r"\d+", o_root.attrib["width"])
    assert re.fullmatch(r"\d+", o_root.attrib["height"])
    seed_path = next(iter(s_root.iter(f"{SVG}path"))).attrib
    paths = list(o_root)
    assert len(paths) == squiggle.stroke_count
    for p in paths:
        assert p.tag == f"{SVG}path"
        assert {k: v for k, v in p.attrib.items() if k != "d"} == {
            k: v for k, v in seed_path.items() if k != "d"
        }
        assert D_GRAMMAR.match(p.attrib["d"])
    # attribute order like the example
    tag = ours[ours.index("<svg") : ours.index(">", ours.index("<svg"))]
    assert re.fullmatch(
        r'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\d+" height="\d+"', tag
    )


def test_numbers_have_no_trailing_zeros(squiggle: Any) -> None:
    ours = render_svg(squiggle)
    for d in re.findall(r' d="([^"]+)"', ours):
        for token in d.split():
            if token not in ("M", "c", "l"):
                assert not re.search(r"\.\d*0$", token) and token != "-0", token


def test_drawing_is_translated_near_the_origin_and_fits(squiggle: Any) -> None:
    root = ET.fromstring(render_svg(squiggle))
    w, h = float(root.attrib["width"]), float(root.attrib["height"])
    pts = squiggle.points()
    assert w == pytest.approx(pts[:, 0].max() - pts[:, 0].min() + 8, abs=1.01)
    assert h == pytest.approx(pts[:, 1].max() - pts[:, 1].min() + 8, abs=1.01)
    for p in root:
        x, y = (float(v) for v in p.attrib["d"].split()[1:3])
        assert 0 <= x <= w and 0 <= y <= h


def test_path_passes_through_the_points(squiggle: Any) -> None:
    root = ET.fromstring(render_svg(squiggle))
    d = next(iter(root)).attrib["d"].split()
    x, y = float(d[1]), float(d[2])
    i = 3
    ends = [(x, y)]
    while i < len(d):
        assert d[i] == "c"
        x += float(d[i + 5])
        y += float(d[i + 6])
        ends.append((x, y))
        i += 7
    stroke = squiggle.strokes[0]
    shift_x = 4 - squiggle.points()[:, 0].min()
    shift_y = 4 - squiggle.points()[:, 1].min()
    assert len(ends) == len(stroke)
    for (ex, ey), (px, py) in zip(ends, stroke[:, :2], strict=True):
        assert ex == pytest.approx(px + shift_x, abs=0.02)
        assert ey == pytest.approx(py + shift_y, abs=0.02)


def test_single_point_stroke_is_a_dot() -> None:
    c = parse_capture(
        {
            "strokes": [
                [[10, 10, 0, 0.5], [30, 20, 10, 0.5], [50, 12, 20, 0.5]],
                [[70, 15, 300, 0.5]],
            ],
            "width": 100,
            "height": 40,
        }
    )
    root = ET.fromstring(render_svg(c))
    dot = list(root)[1].attrib["d"]
    assert re.fullmatch(rf"M {NUM} {NUM} l 0 0", dot)


def test_svg_is_valid_json_string_for_the_image_endpoint(squiggle: Any) -> None:
    svg = render_svg(squiggle)
    encoded = base64.b64encode(svg.encode()).decode()
    assert json.loads(json.dumps({"image_data": encoded}))["image_data"] == encoded
