"""Features the verifier compares: a local feature sequence and a few global values per capture.

Local features (one row per sample, strokes joined in writing order, each column z-normalised
within the signature so that size, position and device units drop out):

``x, y`` position, ``sin θ, cos θ`` of the pen direction, ``v`` speed (divided by its mean
rather than z-normalised: measured 0.5 point better), ``log ρ`` the log radius of curvature,
``p`` pressure and ``dp`` its change.  Pressure columns are zero when the pointer reports a
constant pressure (mouse, finger, Task 1 tablet data).

The verifier compares two channels of this sequence separately (:data:`CHANNELS`): all
columns, and the shape columns (position and direction); a linear model fuses them.

Captures are first resampled to a fixed 10 ms step inside each stroke, so a browser reporting
60, 100 or 240 events per second yields the same sequence as the 100 Hz tablet data the engine
was evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .capture import Capture, FloatArray

__all__ = [
    "CHANNELS",
    "LOCAL_FEATURES",
    "SAMPLE_MS",
    "GlobalFeatures",
    "global_features",
    "local_features",
    "resample",
]

SAMPLE_MS = 10.0
LOCAL_FEATURES = ("x", "y", "sin", "cos", "speed", "log_radius", "pressure", "dpressure")
_EPS = 1e-9
#: Column groups compared by separate DTWs: everything, shape (position and direction).
CHANNELS: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3, 4, 5, 6, 7), (0, 1, 2, 3))


def resample(c: Capture, step_ms: float = SAMPLE_MS) -> list[FloatArray]:
    """Each stroke linearly resampled in time at ``step_ms`` (x, y, t, p columns)."""
    pts, counts = _resampled(c, step_ms)
    return list(np.split(pts, np.cumsum(counts)[:-1]))


def _resampled(
    c: Capture, step_ms: float = SAMPLE_MS
) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.int64]]]:
    """All strokes resampled at ``step_ms`` in one pass, and the number of samples per stroke.

    Samples sharing a timestamp inside a stroke collapse to the last one (the freshest
    position); each stroke gets the grid ``t0, t0 + step, ... <= t_end``.  Strokes are moved
    apart on a private time axis so that a single interpolation serves them all.
    """
    strokes = c.strokes
    lengths = np.array([len(s) for s in strokes])
    pts = np.concatenate(strokes, axis=0)
    sid = np.repeat(np.arange(len(strokes)), lengths)
    t = pts[:, 2]
    last = np.cumsum(lengths) - 1
    keep = np.ones(len(pts), dtype=bool)
    keep[:-1] = np.diff(t) > 0
    keep[last] = True
    pts, sid, t = pts[keep], sid[keep], t[keep]
    first = np.searchsorted(sid, np.arange(len(strokes)), side="left")
    final = np.searchsorted(sid, np.arange(len(strokes)), side="right") - 1
    t0, t1 = t[first], t[final]
    counts = np.floor((t1 - t0) / step_ms + 1e-9).astype(np.int64) + 1
    gsid = np.repeat(np.arange(len(strokes)), counts)
    offsets = np.arange(len(strokes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    grid = t0[gsid] + step_ms * (np.arange(int(counts.sum())) - starts[gsid])
    grid = np.minimum(grid, t1[gsid])
    # A private time axis on which strokes cannot overlap.
    shift = (t1.max() - t0.min() + 10 * step_ms + 1.0) * offsets
    axis = t + shift[sid]
    gaxis = grid + shift[gsid]
    out = np.empty((len(grid), 4))
    out[:, 0] = np.interp(gaxis, axis, pts[:, 0])
    out[:, 1] = np.interp(gaxis, axis, pts[:, 1])
    out[:, 2] = grid
    out[:, 3] = np.interp(gaxis, axis, pts[:, 3])
    return out, counts


def _znorm(v: FloatArray) -> FloatArray:
    sd = float(v.std())
    if sd < _EPS:
        return np.zeros_like(v)
    return (v - float(v.mean())) / sd


def local_features(c: Capture) -> FloatArray:
    """The ``(n, 8)`` C-contiguous local feature sequence of ``c`` (see module docstring)."""
    pts, _ = _resampled(c)
    x, y, p = pts[:, 0], pts[:, 1], pts[:, 3]
    if len(pts) < 3:
        return np.zeros((len(pts), len(LOCAL_FEATURES)))
    dx = np.gradient(x)
    dy = np.gradient(y)
    speed = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    # Unwrapped change of direction per sample; radius of curvature = speed / |dθ|.
    dtheta = np.gradient(np.unwrap(theta))
    log_radius = np.log((speed + 1e-3) / (np.abs(dtheta) + 1e-3))
    moving = speed > _EPS
    sin = np.where(moving, np.sin(theta), 0.0)
    cos = np.where(moving, np.cos(theta), 0.0)
    has_pressure = float(p.max() - p.min()) > 1e-6
    pressure = _znorm(p) if has_pressure else np.zeros_like(p)
    dpressure = _znorm(np.gradient(p)) if has_pressure else np.zeros_like(p)
    feats = np.stack(
        [
            _znorm(x),
            _znorm(y),
            sin,
            cos,
            speed / max(float(speed.mean()), _EPS),
            _znorm(log_radius),
            pressure,
            dpressure,
        ],
        axis=1,
    )
    return np.ascontiguousarray(feats, dtype=np.float64)


@dataclass(frozen=True)
class GlobalFeatures:
    """Whole-signature values whose spread over a writer's references is informative."""

    duration_ms: float
    pen_down_ms: float
    ink_px_per_height: float
    stroke_count: int
    aspect: float
    mean_speed: float
    has_pressure: bool

    def vector(self) -> FloatArray:
        return np.array(
            [
                np.log(max(self.duration_ms, 1.0)),
                np.log(max(self.pen_down_ms, 1.0)),
                np.log(max(self.ink_px_per_height, _EPS)),
                float(self.stroke_count),
                np.log(max(self.aspect, _EPS)),
                np.log(max(self.mean_speed, _EPS)),
            ]
        )


def global_features(c: Capture) -> GlobalFeatures:
    pts = c.points()
    xy = pts[:, :2]
    extent = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1.0)
    ink = float(sum(np.sum(np.hypot(*np.diff(s[:, :2], axis=0).T)) for s in c.strokes))
    pen_down = float(sum(s[-1, 2] - s[0, 2] for s in c.strokes))
    height = float(extent[1])
    return GlobalFeatures(
        duration_ms=c.duration_ms,
        pen_down_ms=pen_down,
        ink_px_per_height=ink / height,
        stroke_count=c.stroke_count,
        aspect=float(extent[0] / extent[1]),
        mean_speed=ink / height / max(pen_down, 1.0),
        has_pressure=c.has_pressure,
    )
