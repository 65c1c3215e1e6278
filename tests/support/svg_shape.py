"""The shape SPEC 3.4 requires of the signature image (that of the example in shared/seeds)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET


def check_svg_shape(svg: str) -> None:
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>')
    assert '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"' in svg
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.attrib["version"] == "1.1"
    assert re.fullmatch(r"\d+", root.attrib["width"]) and re.fullmatch(
        r"\d+", root.attrib["height"]
    )
    paths = list(root)
    assert paths, "one path per stroke"
    number = r"-?\d+(?:\.\d{1,2})?"
    d_shape = re.compile(rf"M {number} {number}(?: c(?: {number}){{6}})*(?: l {number} {number})?")
    for path in paths:
        assert path.tag == "{http://www.w3.org/2000/svg}path"
        assert path.attrib["fill"] == "none"
        assert path.attrib["stroke"] == "#000000"
        assert path.attrib["stroke-width"] == "2"
        assert path.attrib["stroke-linecap"] == "round"
        assert path.attrib["stroke-linejoin"] == "round"
        assert d_shape.fullmatch(path.attrib["d"]), path.attrib["d"][:80]
