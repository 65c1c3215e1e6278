"""How far apart genuine repetitions and replayed copies are on the replay rule's measure.

The replay rule (`authature.biometrics.verifier`, SPEC 7) compares the 64-point normalised shape
of a probe with every stored sample of the user. This prints, for every pair of genuine
SVC2004 signatures of one writer, the distance (the rule must never fire there) and, for copies
of genuine signatures replayed slower, smaller, stretched, with strokes joined or with noise on
every point, the distance to the original (the rule must fire there), against the threshold.

    .venv/bin/python benchmarks/replay_rule.py [--data ../shared/data/svc2004]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from authature.biometrics import svc2004
from authature.biometrics.capture import Capture
from authature.biometrics.verifier import _REPLAY_SHAPE, replay_print


def distance(a: Capture, b: Capture) -> float:
    pa, pb = replay_print(a), replay_print(b)
    return float(np.sqrt(np.mean(np.sum((pa.xy - pb.xy) ** 2, axis=1))))


def _map(c: Capture, f: Callable[[np.ndarray], np.ndarray]) -> Capture:
    return dataclasses.replace(c, strokes=tuple(f(s.copy()) for s in c.strokes))


def _scale(col: int, k: float) -> Callable[[np.ndarray], np.ndarray]:
    def f(s: np.ndarray) -> np.ndarray:
        s[:, col] *= k
        return s

    return f


def _drop_tenth(s: np.ndarray) -> np.ndarray:
    keep = np.ones(len(s), dtype=bool)
    keep[5:-1:10] = False
    return s[keep]


def _midpoints(s: np.ndarray) -> np.ndarray:
    out = np.empty((2 * len(s) - 1, s.shape[1]))
    out[0::2] = s
    out[1::2] = (s[:-1] + s[1:]) / 2
    return out


def _retimed(s: np.ndarray, step_ms: float) -> np.ndarray:
    """The stroke resampled in time at another rate, as another tablet would have recorded it."""
    order = np.maximum.accumulate(s[:, 2])  # SVC2004 time stamps may step back
    if len(s) < 2 or order[-1] <= order[0]:
        return s
    grid = np.arange(order[0], order[-1] + 1e-9, step_ms)
    cols = [np.interp(grid, order, s[:, k]) for k in (0, 1)]
    return np.stack([cols[0], cols[1], grid, np.interp(grid, order, s[:, 3])], axis=1)


def _noise(c: Capture, frac: float, rng: np.random.Generator) -> Capture:
    size = float(np.ptp(c.points()[:, :2], axis=0).max())
    return _map(
        c, lambda s: s + np.c_[rng.normal(0, frac * size, (len(s), 2)), np.zeros((len(s), 2))]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = svc2004.signature_data_root(Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--data", type=Path, default=default / "svc2004")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"threshold {_REPLAY_SHAPE}")
    for task in ("Task1", "Task2"):
        folder = args.data / task
        genuine: list[float] = []
        copies: dict[str, list[float]] = {}
        for user in svc2004.list_users(folder):
            caps = [svc2004.load_signature(f.path) for f in svc2004.genuine_files(folder, user)]
            genuine += [distance(a, b) for a, b in itertools.combinations(caps, 2)]
            for c in caps[:3]:
                variants = {
                    "3 % slower": _map(c, _scale(2, 1.03)),
                    "20 % faster": _map(c, _scale(2, 0.8)),
                    "3 % smaller": _map(_map(c, _scale(0, 0.97)), _scale(1, 0.97)),
                    "10 % narrower": _map(c, _scale(0, 0.9)),
                    "strokes joined": dataclasses.replace(c, strokes=(np.concatenate(c.strokes),)),
                    "every other point": _map(c, lambda s: s[::2] if len(s) > 2 else s),
                    "the other half": _map(c, lambda s: s[1::2] if len(s) > 2 else s),
                    "every third point": _map(c, lambda s: s[::3] if len(s) > 2 else s),
                    "1 point in 10 dropped": _map(c, _drop_tenth),
                    "midpoints added": _map(c, _midpoints),
                    "re-timed to 60 Hz": _map(c, lambda s: _retimed(s, 1000 / 60)),
                    "re-timed to 133 Hz": _map(c, lambda s: _retimed(s, 1000 / 133)),
                    "noise 0.5 % of size": _noise(c, 0.005, rng),
                    "noise 1 % of size": _noise(c, 0.01, rng),
                    "noise 2 % of size": _noise(c, 0.02, rng),
                }
                for name, v in variants.items():
                    copies.setdefault(name, []).append(distance(c, v))
        g = np.array(genuine)
        print(
            f"{task}: {len(g)} genuine pairs: closest {g.min():.4f}, 0.1 % under "
            f"{np.quantile(g, 0.001):.4f}, 1 % under {np.quantile(g, 0.01):.4f}; "
            f"under the threshold: {int((g < _REPLAY_SHAPE).sum())}"
        )
        for name, d in copies.items():
            arr = np.array(d)
            caught = float((arr < _REPLAY_SHAPE).mean()) * 100
            print(
                f"  copy {name:<20} median {np.median(arr):.4f}, max {arr.max():.4f}: {caught:.0f} % refused"
            )


if __name__ == "__main__":
    main()
