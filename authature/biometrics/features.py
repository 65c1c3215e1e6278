"""Features the verifier compares: a local feature sequence and a few global values per capture.

Local features (one row per sample, strokes joined in writing order, each column z-normalised
within the signature so that size, position and device units drop out):

``x, y`` position, ``sin θ, cos θ`` of the pen direction, ``v`` speed (divided by its mean
rather than z-normalised: measured 0.5 point better), ``log ρ`` the log radius of curvature,
``p`` pressure and ``dp`` its change.  Pressure columns are zero when the pointer reports a
constant pressure (mouse, finger, Task 1 tablet data).

The verifier compares three channels of this sequence separately (:data:`CHANNELS`): all
columns, the shape columns (position and direction) and the motion columns (speed and
curvature); a linear model fuses them.

Captures are first resampled to a fixed 10 ms step inside each stroke, so a browser reporting
60, 100 or 240 events per second yields the same sequence as the 100 Hz tablet data the engine
was evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass

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
#: Column groups compared by separate DTWs: everything, shape, motion.
CHANNELS: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3, 4, 5, 6, 7), (0, 1, 2, 3), (4, 5))


def resample(c: Capture, step_ms: float = SAMPLE_MS) -> list[FloatArray]:
    """Each stroke linearly resampled in time at ``step_ms`` (x, y, t, p columns)."""
    out: list[FloatArray] = []
    for s in c.strokes:
        t = s[:, 2]
        # Collapse samples sharing a timestamp (keep the last: the freshest position).
        keep = np.ones(len(t), dtype=bool)
        keep[:-1] = np.diff(t) > 0
        s = s[keep]
        t = s[:, 2]
        if len(s) < 2:
            out.append(s.copy())
            continue
        grid = np.arange(t[0], t[-1] + 0.5 * step_ms, step_ms)
        grid = grid[grid <= t[-1]]
        cols = [np.interp(grid, t, s[:, k]) for k in (0, 1)]
        cols.append(grid)
        cols.append(np.interp(grid, t, s[:, 3]))
        out.append(np.stack(cols, axis=1))
    return out


def _znorm(v: FloatArray) -> FloatArray:
    sd = float(v.std())
    if sd < _EPS:
        return np.zeros_like(v)
    return (v - float(v.mean())) / sd


def local_features(c: Capture) -> FloatArray:
    """The ``(n, 8)`` C-contiguous local feature sequence of ``c`` (see module docstring)."""
    pts = np.concatenate(resample(c), axis=0)
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
