"""Pipeline-detail experiments for the verifier (issue 3, third round): throwaway harness.

    .venv/bin/python benchmarks/verifier_pipeline.py VARIANT [VARIANT ...] [--draws 10]

Each variant swaps one detail of the feature / DTW pipeline (by patching the functions the
engine's own ``prepare`` and ``_dtw`` call) and runs the unchanged evaluation protocol
(``authature.biometrics.evaluation.evaluate``: 5 references of S1-S10, 10 draws, two folds over
users) on both tasks, one process per task.  Prints one line per task: held-out mean skilled /
random EER, per-user mean, the two folds, and the median time per verification.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authature.biometrics import dtw as dtw_mod  # noqa: E402
from authature.biometrics import features as feat  # noqa: E402
from authature.biometrics import verifier as ver  # noqa: E402
from authature.biometrics.capture import Capture, FloatArray  # noqa: E402
from authature.biometrics.evaluation import evaluate  # noqa: E402
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402

_EPS = 1e-9


def raw_points(c: Capture, drop_first: bool = False) -> FloatArray:
    """Strokes joined, samples sharing a timestamp inside a stroke collapsed to the last one."""
    out = []
    for i, s in enumerate(c.strokes):
        if drop_first and i > 0 and len(s) > 1:
            s = s[1:]
        keep = np.ones(len(s), dtype=bool)
        keep[:-1] = np.diff(s[:, 2]) > 0
        out.append(s[keep])
    return np.concatenate(out, axis=0)


def deriv(v: FloatArray, how: str) -> FloatArray:
    if how == "gradient":
        return np.gradient(v)
    if how == "reg2":  # 2-sample regression window (Fierrez et al.)
        p = np.pad(v, 2, mode="edge")
        return ((p[3:-1] - p[1:-3]) + 2 * (p[4:] - p[:-4])) / 10.0
    if how == "reg1":
        p = np.pad(v, 1, mode="edge")
        return (p[2:] - p[:-2]) / 2.0
    raise ValueError(how)


def make_local_features(
    points: str = "grid",
    d: str = "gradient",
    speed_norm: str = "mean",
    xy_norm: str = "z",
    curv: str = "logr",
    drop_pressure: bool = False,
    d_theta: str | None = None,
    d_p: str | None = None,
    trim: int = 0,
    clip_logr: float = 0.0,
    gap: float = 0.0,
    plain: bool = False,
) -> Callable[[Capture], FloatArray]:
    def local_features(c: Capture) -> FloatArray:
        if points == "grid":
            pts, _ = feat._resampled(c)
        elif points == "raw":
            pts = raw_points(c)
        elif points == "raw_dropfirst":
            pts = raw_points(c, drop_first=True)
        elif points.startswith("auto"):  # resample only when the rate is far from 100 Hz
            raw = raw_points(c)
            step = float(np.median(np.diff(raw[:, 2]))) if len(raw) > 1 else 10.0
            pts = raw if 8.0 <= step <= 12.5 else feat._resampled(c)[0]
        else:
            raise ValueError(points)
        if trim and len(pts) > 2 * trim + 3:
            pts = pts[trim:-trim]
        x, y, p = pts[:, 0], pts[:, 1], pts[:, 3]
        if len(pts) < 3:
            return np.zeros((len(pts), 9 if gap else 8))
        if d == "time":  # derivatives over the real time step (a pen-up pause slows the jump)
            tt = pts[:, 2]
            tt = tt + 1e-3 * np.arange(len(tt))  # strictly increasing
            dx, dy = 10.0 * np.gradient(x, tt), 10.0 * np.gradient(y, tt)
        else:
            dx, dy = deriv(x, d), deriv(y, d)
        speed = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        dd = "gradient" if d == "time" else d
        dtheta = deriv(np.unwrap(theta), d_theta or dd)
        log_radius = np.log((speed + 1e-3) / (np.abs(dtheta) + 1e-3))
        if clip_logr:
            lo, hi = np.percentile(log_radius, [clip_logr, 100 - clip_logr])
            log_radius = np.clip(log_radius, lo, hi)
        moving = speed > _EPS
        sin = np.where(moving, np.sin(theta), 0.0)
        cos = np.where(moving, np.cos(theta), 0.0)
        has_p = float(p.max() - p.min()) > 1e-6 and not drop_pressure
        zn = feat._znorm
        pressure = zn(p) if has_p else np.zeros_like(p)
        dpressure = (
            zn(deriv(p, d_p or ("gradient" if d == "time" else d))) if has_p else np.zeros_like(p)
        )
        if speed_norm == "mean":
            sp = speed / max(float(speed.mean()), _EPS)
        elif speed_norm == "z":
            sp = zn(speed)
        elif speed_norm.startswith("size"):  # tempo kept: speed over the drawing's size
            k = float(speed_norm[4:] or 10.0)
            size = 0.5 * (float(x.std()) + float(y.std()))
            sp = k * speed / max(size, _EPS)
        elif speed_norm == "median":
            sp = speed / max(float(np.median(speed)), _EPS)
        else:
            raise ValueError(speed_norm)
        if xy_norm == "z":
            fx, fy = zn(x), zn(y)
        elif xy_norm == "height":  # centred, one scale (the y spread) for both
            scale = max(float(y.std()), _EPS)
            fx, fy = (x - x.mean()) / scale, (y - y.mean()) / scale
        else:
            raise ValueError(xy_norm)
        cols = [fx, fy, sin, cos, sp, zn(log_radius), pressure, dpressure]
        if plain:  # the first baseline: x, y, dx, dy (+ pressure)
            zero = np.zeros_like(x)
            cols = [fx, fy, zn(dx), zn(dy), zero, zero, pressure, zero]
        if gap:  # pen-up pause before each stroke, at the stroke's first sample
            _, counts = feat._resampled(c)
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])
            g = np.zeros(len(x))
            for i, stroke in enumerate(c.strokes[1:], start=1):
                pause = float(stroke[0, 2] - c.strokes[i - 1][-1, 2])
                g[first[i]] = gap * np.log1p(max(pause, 0.0) / 10.0)
            cols.append(g)
        feats = np.stack(cols, axis=1)
        return np.ascontiguousarray(feats, dtype=np.float64)

    return local_features


#: A plain banded DTW (symmetric1 / symmetric2 step patterns, best-path length), compiled with
#: the system C compiler on first use; symmetric1 reproduces dtaidistance's sum exactly.
_KERNEL_C = r"""
#include <math.h>
#include <stdlib.h>
/* DTW between a (n x k) and b (m x k), Euclidean local cost, band |i - j*n/m| <= w (in a's index).
   step 1: symmetric1 (every step adds c); step 2: symmetric2 (diagonal adds 2c).
   Returns accumulated cost; *plen gets the path length of the best path (number of cells). */
double dtw2(const double *a, const double *b, int n, int m, int k, int w, int step, int *plen) {
    double *D = malloc(sizeof(double) * (size_t)(n + 1) * (m + 1));
    int *L = malloc(sizeof(int) * (size_t)(n + 1) * (m + 1));
    for (int i = 0; i <= n; i++) for (int j = 0; j <= m; j++) { D[i*(m+1)+j] = INFINITY; L[i*(m+1)+j] = 0; }
    D[0] = 0;
    for (int i = 1; i <= n; i++) {
        double centre = (double)i * m / n;
        int lo = (int)floor(centre - (double)w * m / n); if (lo < 1) lo = 1;
        int hi = (int)ceil(centre + (double)w * m / n); if (hi > m) hi = m;
        for (int j = lo; j <= hi; j++) {
            double c = 0;
            for (int t = 0; t < k; t++) { double d = a[(i-1)*k+t] - b[(j-1)*k+t]; c += d*d; }
            if (step != 3) c = sqrt(c);
            double dd = D[(i-1)*(m+1)+(j-1)] + (step == 2 ? 2*c : c);  /* 3: squared cost */
            double du = D[(i-1)*(m+1)+j] + c;
            double dl = D[i*(m+1)+(j-1)] + c;
            double best = dd; int bl = L[(i-1)*(m+1)+(j-1)];
            if (du < best) { best = du; bl = L[(i-1)*(m+1)+j]; }
            if (dl < best) { best = dl; bl = L[i*(m+1)+(j-1)]; }
            D[i*(m+1)+j] = best; L[i*(m+1)+j] = bl + 1;
        }
    }
    double r = D[n*(m+1)+m]; *plen = L[n*(m+1)+m];
    free(D); free(L);
    return r;
}
"""
_LIB: Any = None


def _kernel() -> Any:
    global _LIB
    if _LIB is None:
        import ctypes
        import hashlib
        import subprocess
        import tempfile

        tag = hashlib.sha256(_KERNEL_C.encode()).hexdigest()[:12]
        folder = Path(tempfile.gettempdir()) / f"authature-dtw2-{tag}"
        lib = folder / "dtw2.so"
        if not lib.exists():
            folder.mkdir(exist_ok=True)
            (folder / "dtw2.c").write_text(_KERNEL_C)
            subprocess.run(
                ["cc", "-O3", "-shared", "-fPIC", "-o", str(lib), str(folder / "dtw2.c"), "-lm"],
                check=True,
            )
        _LIB = ctypes.CDLL(str(lib))
        _LIB.dtw2.restype = ctypes.c_double
    return _LIB


def make_dtw(norm: str = "sum") -> Callable[..., float]:
    from dtaidistance import dtw_cc

    base = dict(dtw_mod._C_KWARGS or {})

    def dtw_distance(
        a: FloatArray,
        b: FloatArray,
        band_fraction: float = dtw_mod.BAND_FRACTION,
        abandon_above: float | None = None,
    ) -> float:
        if len(a) == 0 or len(b) == 0:
            return math.inf
        window = max(2, math.ceil(band_fraction * max(len(a), len(b))))
        kw = dict(base)
        kw["window"] = window
        if norm.startswith("k"):  # own C kernel: kS1 / kS2, normalised by n + m or the path
            import ctypes

            lib = _kernel()
            pl = ctypes.c_int()
            ptr = ctypes.POINTER(ctypes.c_double)
            step = 2 if "S2" in norm else 3 if "Sq" in norm else 1
            a = np.ascontiguousarray(a)
            b = np.ascontiguousarray(b)
            r = lib.dtw2(
                a.ctypes.data_as(ptr),
                b.ctypes.data_as(ptr),
                len(a),
                len(b),
                a.shape[1],
                window,
                step,
                ctypes.byref(pl),
            )
            if norm.endswith("path"):
                return float(r) / ((2 if step == 2 else 1) * pl.value)
            return float(r) / (len(a) + len(b))
        dist = float(dtw_cc.distance_ndim(a, b, **kw))
        if norm == "sum":
            return dist / (len(a) + len(b))
        if norm == "max":
            return dist / max(len(a), len(b))
        if norm == "min":
            return dist / (2 * min(len(a), len(b)))
        if norm == "geo":
            return dist / (2 * math.sqrt(len(a) * len(b)))
        if norm == "none":
            return dist / 500.0
        raise ValueError(norm)

    return dtw_distance


VARIANTS: dict[str, dict[str, Any]] = {
    "engine": {},
    "raw": {"points": "raw"},
    "auto": {"points": "auto"},
    "reg2": {"d": "reg2"},
    "gap1": {"gap": 1.0, "channels": ((0, 1, 2, 3, 4, 5, 8, 6, 7), (0, 1, 2, 3))},
    "gap3": {"gap": 3.0, "channels": ((0, 1, 2, 3, 4, 5, 8, 6, 7), (0, 1, 2, 3))},
    "dtime": {"points": "raw", "d": "time"},
    "dropfirst": {"points": "raw_dropfirst"},
    "trim1": {"trim": 1},
    "trim3": {"trim": 3},
    "cliplogr5": {"clip_logr": 5.0},
    "cliplogr1": {"clip_logr": 1.0},
    "reg2xy": {"d": "reg2", "d_theta": "gradient", "d_p": "gradient"},
    "reg2xyt": {"d": "reg2", "d_p": "gradient"},
    "reg2xyp": {"d": "reg2", "d_theta": "gradient"},
    "raw_reg2": {"points": "raw", "d": "reg2"},
    "speed_z": {"speed_norm": "z"},
    "speed_median": {"speed_norm": "median"},
    "speed_size": {"speed_norm": "size10"},
    "speed_size5": {"speed_norm": "size5"},
    "speed_size20": {"speed_norm": "size20"},
    "xy_height": {"xy_norm": "height"},
    "dtw_max": {"dtw": "max"},
    "dtw_none": {"dtw": "none"},
    "dtw_min": {"dtw": "min"},
    "kS1": {"dtw": "kS1"},
    "kS2": {"dtw": "kS2"},
    "kS1path": {"dtw": "kS1path"},
    "kS2path": {"dtw": "kS2path"},
    "nopressure": {"drop_pressure": True},
    "noxy0": {"channels": ((2, 3, 4, 5, 6, 7), (0, 1, 2, 3))},
    "noxy": {"channels": ((2, 3, 4, 5, 6, 7), (2, 3))},
    "xyonly1": {"channels": ((0, 1, 2, 3, 4, 5, 6, 7), (0, 1))},
    "dtw_geo": {"dtw": "geo"},
    "score_nearest": {"score": "nearest"},
    "plain_sq": {"plain": True, "dtw": "kSq", "channels": ((0, 1, 2, 3, 6), (0, 1, 2, 3))},
    "plain_eu": {"plain": True, "channels": ((0, 1, 2, 3, 6), (0, 1, 2, 3))},
    "score_mean": {"score": "mean"},
    "score_raw": {"score": "raw"},
}


from authature.biometrics.evaluation import Protocol as _PROTOCOL  # noqa: E402

_ORIGINAL: dict[str, Any] = {
    "channels": feat.CHANNELS,
    "dtw": dtw_mod.dtw_distance,
    "score_vector": ver.score_vector,
}


def make_score_vector(how: str) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """Score formation variants (the evaluation's input vector; same three columns)."""
    base = _ORIGINAL["score_vector"]

    def score_vector(probe_to_refs: FloatArray, mutual: FloatArray) -> FloatArray:
        v = np.asarray(base(probe_to_refs, mutual), dtype=np.float64)
        if how == "nearest":  # the mean-distance column left out
            v[1] = 0.0
        elif how == "mean":  # the nearest-distance column left out
            v[0] = 0.0
        elif how == "raw":  # no division by the writer's own spread
            d = probe_to_refs
            v = np.log(np.array([d[0].min(), d[0].mean(), d[1].min()]) + 1e-6)
        else:
            raise ValueError(how)
        return v

    return score_vector


def _patch(module: ModuleType, name: str, value: object) -> None:
    """Replace one of the engine's module globals with a variant (in this process only).

    Deliberately outside the type system: a variant need not have the original's type (the
    seeded Protocol is a functools.partial, not the class), and the engine does not export
    these names. The name must exist, so a typo cannot add an unused global instead."""
    assert hasattr(module, name), f"{module.__name__} has no {name}"
    setattr(module, name, value)


def apply(variant: str) -> None:
    from authature.biometrics import evaluation

    spec: dict[str, Any] = {}
    for part in variant.split("+"):
        spec.update(VARIANTS[part])
    # Pool workers run several jobs: start every variant from the engine's own functions.
    _patch(ver, "CHANNELS", _ORIGINAL["channels"])
    _patch(ver, "dtw_distance", _ORIGINAL["dtw"])
    _patch(evaluation, "score_vector", _ORIGINAL["score_vector"])
    score = spec.pop("score", None)
    if score is not None:
        _patch(evaluation, "score_vector", make_score_vector(score))
    dtw_norm = spec.pop("dtw", "sum")
    channels = spec.pop("channels", None)
    if channels is not None:
        _patch(ver, "CHANNELS", channels)
    lf = make_local_features(**spec)
    _patch(ver, "local_features", lf)
    _patch(feat, "local_features", lf)
    if dtw_norm != "sum":
        _patch(ver, "dtw_distance", make_dtw(dtw_norm))


def run(
    variant: str, task: int, draws: int, data: str, seed: int = 2004
) -> tuple[str, int, dict[str, Any]]:
    import functools

    from authature.biometrics import evaluation

    apply(variant)
    _patch(evaluation, "Protocol", functools.partial(_PROTOCOL, seed=seed))
    report = evaluate(Path(data) / f"Task{task}", task, draws=draws)
    return variant, task, report.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--tasks", default="2,1")
    ap.add_argument("--seeds", default="2004")
    ap.add_argument(
        "--data", default=str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")
    )
    args = ap.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(v, t, s) for s in seeds for v in args.variants for t in tasks]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futs = [pool.submit(run, v, t, args.draws, args.data, s) for v, t, s in jobs]
        for f, (_, _, seed) in zip(futs, jobs, strict=True):
            v, t, out = f.result()
            v = f"{v} s{seed}"
            folds = out["folds"]
            print(
                f"{v:<28} T{t}  skilled {100 * out['eer_skilled']:5.2f}"
                f" ({100 * folds[0]['eer_skilled']:.2f}/{100 * folds[1]['eer_skilled']:.2f})"
                f"  user {100 * out['eer_skilled_user_mean']:5.2f}"
                f"  random {100 * out['eer_random']:4.2f}"
                f"  ms {out['ms_per_verification_median']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
