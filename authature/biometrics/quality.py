"""Refusing samples too poor to compare, before any comparison (SPEC 7).

Each check returns a sentence telling the person what to do.  The bounds are loose on purpose:
every genuine SVC2004 signature (converted by :mod:`.svc2004`) passes, which a test checks.
"""

from __future__ import annotations

import numpy as np

from .capture import Capture

__all__ = [
    "MIN_DURATION_MS",
    "MIN_EXTENT_PX",
    "MIN_INK_PX",
    "MIN_POINTS",
    "quality_problem",
]

#: Fewer points than this cannot carry the dynamics the verifier compares.
MIN_POINTS = 20
#: Faster than this is a flick, not a signature.
MIN_DURATION_MS = 300.0
#: The larger side of the drawing must span at least this many CSS pixels.
MIN_EXTENT_PX = 40.0
#: Total length of ink drawn.
MIN_INK_PX = 80.0
#: Ratio of the minor to the major spread of the points below which the drawing is a line.
_MIN_STRAIGHTNESS = 0.03


def quality_problem(c: Capture) -> str | None:
    """``None`` when ``c`` is worth comparing, else a sentence saying what to do instead."""
    pts = c.points()
    xy = pts[:, :2]
    extent = xy.max(axis=0) - xy.min(axis=0)
    ink = float(sum(np.sum(np.hypot(*np.diff(s[:, :2], axis=0).T)) for s in c.strokes))
    if float(extent.max()) < 5.0 or ink < 10.0:
        return "That looks like a dot. Please sign your full signature."
    if c.point_count < MIN_POINTS:
        return "That signature has too few points to check. Please sign a little more slowly."
    if c.duration_ms < MIN_DURATION_MS:
        return "That was too quick to be a signature. Please sign your full signature."
    if float(extent.max()) < MIN_EXTENT_PX or ink < MIN_INK_PX:
        return "That signature is too small. Please sign larger, using more of the box."
    centred = xy - xy.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False)
    if spread[0] <= 0 or spread[-1] / spread[0] < _MIN_STRAIGHTNESS:
        return "That looks like a straight line. Please sign your full signature."
    return None
