"""Rendering a capture as the SVG image returned to authorised clients.

The output has exactly the shape of the reference example: an XML declaration, the SVG 1.1
doctype, one ``<svg>`` sized to the drawing's bounding box, and one ``<path>`` per stroke whose
``d`` is ``M x y`` followed by relative cubic ``c`` segments (Catmull-Rom through the points,
converted to Bézier), all numbers rounded to two decimals without trailing zeros.  A single-point
stroke is drawn as a dot (``l 0 0`` with a round cap).  No newlines.
"""

from __future__ import annotations

import math

import numpy as np

from .capture import Capture, FloatArray

__all__ = ["STROKE_WIDTH", "render_svg"]

STROKE_WIDTH = 2
_MARGIN = 2.0 * STROKE_WIDTH
_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
)
_PATH = (
    '<path fill="none" stroke="#000000" stroke-width="{w}" stroke-linecap="round" '
    'stroke-linejoin="round" d="{d}"/>'
)


def _num(value: float) -> str:
    """Two decimals, no trailing zeros, no negative zero: ``4``, ``-0.05``, ``6.74``."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _r(value: float) -> float:
    return round(value, 2)


def _stroke_path(xy: FloatArray) -> str:
    # Drop consecutive repeats: they add nothing to the drawing and break the tangents.
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) >= 0.005, axis=1)
    pts = [(_r(float(x)), _r(float(y))) for x, y in xy[keep]]
    x0, y0 = pts[0]
    parts = [f"M {_num(x0)} {_num(y0)}"]
    if len(pts) == 1:
        parts.append("l 0 0")
        return " ".join(parts)
    n = len(pts)
    for i in range(n - 1):
        p0 = pts[i - 1] if i > 0 else pts[i]
        p1, p2 = pts[i], pts[i + 1]
        p3 = pts[i + 2] if i + 2 < n else p2
        c1 = (p1[0] + (p2[0] - p0[0]) / 6.0, p1[1] + (p2[1] - p0[1]) / 6.0)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6.0, p2[1] - (p3[1] - p1[1]) / 6.0)
        cx, cy = p1
        parts.append(
            "c "
            + " ".join(
                _num(v)
                for v in (
                    c1[0] - cx,
                    c1[1] - cy,
                    c2[0] - cx,
                    c2[1] - cy,
                    p2[0] - cx,
                    p2[1] - cy,
                )
            )
        )
    return " ".join(parts)


def render_svg(c: Capture) -> str:
    """The signature as a standalone SVG document (one line)."""
    pts = c.points()[:, :2]
    lo = pts.min(axis=0)
    hi = pts.max(axis=0)
    shift = _MARGIN - lo
    width = max(1, math.ceil(float(hi[0] - lo[0]) + 2 * _MARGIN))
    height = max(1, math.ceil(float(hi[1] - lo[1]) + 2 * _MARGIN))
    paths = "".join(
        _PATH.format(w=STROKE_WIDTH, d=_stroke_path(s[:, :2] + shift)) for s in c.strokes
    )
    return (
        f'{_HEAD}<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{width}" height="{height}">{paths}</svg>'
    )
