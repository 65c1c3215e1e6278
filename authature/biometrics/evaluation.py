"""Measuring the verifier on SVC2004 with the competition protocol (SPEC 7, issue 3).

Protocol, per user and per draw (10 draws with fixed seeds):

* references: 5 signatures (the SVC2004 protocol; ``references`` changes it) drawn at random
  from the user's genuine S1–S10;
* genuine tests: S11–S20 (a later session than the references);
* skilled forgeries: S21–S40;
* random forgeries: one genuine signature (S1–S20) of each of up to 20 other users.

Nothing reported is tuned on the users it is reported on: the linear model and the threshold
are learnt on one half of the users and measured on the other half, then the halves swap
(two-fold cross-validation over users); both halves and their mean are reported.

Scores come from exactly the functions the server's :class:`~.verifier.Verifier` uses
(:func:`~.verifier.prepare`, :func:`~.dtw.dtw_distance`, :func:`~.verifier.score_vector`,
:meth:`~.verifier.Model.score`); only the DTW distances are memoised across draws.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .capture import Capture, FloatArray
from .features import CHANNELS
from .svc2004 import SignatureFile, list_files, load_signature
from .verifier import (
    DEFAULT_THRESHOLD,
    VECTOR_NAMES,
    Model,
    ModelSet,
    Prepared,
    Verifier,
    distances,
    prepare,
    score_vector,
)

__all__ = [
    "FoldResult",
    "Protocol",
    "Report",
    "Scores",
    "SignatureSet",
    "det_points",
    "eer",
    "evaluate",
    "model_entry",
    "parse_users",
    "plot_det",
    "train_model",
    "user_ranges",
]

Key = tuple[int, int]  # (user, sample)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Protocol:
    references: int = 5
    reference_samples: range = range(1, 11)
    genuine_samples: range = range(11, 21)
    skilled_samples: range = range(21, 41)
    random_users: int = 20
    draws: int = 10
    seed: int = 2004

    def describe(self) -> dict[str, Any]:
        return {
            "name": "SVC2004",
            "references": f"{self.references} drawn at random from genuine "
            f"S{self.reference_samples.start}-S{self.reference_samples.stop - 1}",
            "genuine_tests": f"S{self.genuine_samples.start}-S{self.genuine_samples.stop - 1}",
            "skilled_forgeries": f"S{self.skilled_samples.start}-S{self.skilled_samples.stop - 1}",
            "random_forgeries": f"one genuine signature of each of up to {self.random_users} "
            "other users",
            "draws": self.draws,
            "seed": self.seed,
            "cross_validation": "two folds over users: learn on one half, report on the other",
        }


class SignatureSet:
    """The files of one task folder, loaded and prepared once, with memoised DTW distances."""

    def __init__(self, folder: str | Path, users: Sequence[int] | None = None) -> None:
        files = list_files(folder)
        wanted = set(users) if users is not None else None
        self.files: dict[Key, SignatureFile] = {
            (f.user, f.sample): f for f in files if wanted is None or f.user in wanted
        }
        if not self.files:
            raise FileNotFoundError(f"no U<u>S<n>.TXT files for the chosen users in {folder}")
        self.users: list[int] = sorted({u for u, _ in self.files})
        self._captures: dict[Key, Capture] = {}
        self._prepared: dict[Key, Prepared] = {}
        self._dist: dict[tuple[Key, Key], FloatArray] = {}

    def samples(self, user: int, numbers: range) -> list[int]:
        return sorted(s for u, s in self.files if u == user and s in numbers)

    def capture(self, key: Key) -> Capture:
        if key not in self._captures:
            self._captures[key] = load_signature(self.files[key].path)
        return self._captures[key]

    def prepared(self, key: Key) -> Prepared:
        if key not in self._prepared:
            self._prepared[key] = prepare(self.capture(key))
        return self._prepared[key]

    def distance(self, a: Key, b: Key) -> FloatArray:
        """Per-channel DTW distances (memoised; symmetric)."""
        pair = (a, b) if a <= b else (b, a)
        d = self._dist.get(pair)
        if d is None:
            d = distances(self.prepared(pair[0]), self.prepared(pair[1]))
            self._dist[pair] = d
        return d


@dataclass
class Scores:
    """Score vectors of every trial of some users (one row per trial)."""

    vectors: FloatArray
    kind: np.ndarray[Any, np.dtype[np.str_]]  # "genuine" | "skilled" | "random"
    user: np.ndarray[Any, np.dtype[np.int64]]
    pressure: np.ndarray[Any, np.dtype[np.bool_]]

    def subset(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> Scores:
        return Scores(self.vectors[mask], self.kind[mask], self.user[mask], self.pressure[mask])


def trial_vectors(
    data: SignatureSet,
    users: Sequence[int],
    protocol: Protocol,
    progress: Progress | None = None,
) -> Scores:
    """Run the protocol for ``users`` (other users of ``data`` serve as random forgers)."""
    rows: list[FloatArray] = []
    kinds: list[str] = []
    owners: list[int] = []
    pressures: list[bool] = []
    for user in users:
        ref_pool = data.samples(user, protocol.reference_samples)
        genuine = data.samples(user, protocol.genuine_samples)
        skilled = data.samples(user, protocol.skilled_samples)
        others = [u for u in data.users if u != user]
        if len(ref_pool) < 2:
            if progress:
                progress(1)
            continue
        for draw in range(protocol.draws):
            rng = np.random.default_rng([protocol.seed, user, draw])
            k = min(protocol.references, len(ref_pool))
            refs = [(user, int(s)) for s in sorted(rng.choice(ref_pool, size=k, replace=False))]
            chosen = others
            if len(others) > protocol.random_users:
                chosen = sorted(
                    int(u) for u in rng.choice(others, size=protocol.random_users, replace=False)
                )
            randoms: list[Key] = []
            for other in chosen:
                pool = data.samples(other, range(1, 21))
                if pool:
                    randoms.append((other, int(rng.choice(pool))))
            mutual = np.zeros((len(CHANNELS), k, k))
            for i in range(k):
                for j in range(i + 1, k):
                    mutual[:, i, j] = mutual[:, j, i] = data.distance(refs[i], refs[j])
            ref_pressure = all(data.prepared(r).has_pressure for r in refs)
            probes = (
                [((user, s), "genuine") for s in genuine]
                + [((user, s), "skilled") for s in skilled]
                + [(key, "random") for key in randoms]
            )
            for key, kind in probes:
                d = np.stack([data.distance(key, r) for r in refs], axis=1)
                p = data.prepared(key)
                rows.append(score_vector(d, mutual))
                kinds.append(kind)
                owners.append(user)
                pressures.append(ref_pressure and p.has_pressure)
        if progress:
            progress(1)
    width = len(VECTOR_NAMES)
    return Scores(
        np.array(rows).reshape(-1, width),
        np.array(kinds, dtype=np.str_),
        np.array(owners, dtype=np.int64),
        np.array(pressures, dtype=bool),
    )


# --- rates -------------------------------------------------------------------------------------


def eer(genuine: FloatArray, impostor: FloatArray) -> tuple[float, float]:
    """Equal error rate and its threshold (accept when score >= threshold)."""
    if len(genuine) == 0 or len(impostor) == 0:
        return math.nan, math.nan
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    im = np.sort(impostor)
    frr = np.searchsorted(g, thresholds, side="left") / len(g)
    far = 1.0 - np.searchsorted(im, thresholds, side="left") / len(im)
    diff = far - frr
    i = int(np.argmax(diff <= 0)) if np.any(diff <= 0) else len(thresholds) - 1
    if i == 0:
        return float((far[0] + frr[0]) / 2), float(thresholds[0])
    # FAR falls and FRR rises with the threshold; interpolate the crossing between i-1 and i.
    a, b = diff[i - 1], diff[i]
    w = a / (a - b) if a != b else 0.5
    rate = (1 - w) * (far[i - 1] + frr[i - 1]) / 2 + w * (far[i] + frr[i]) / 2
    thr = (1 - w) * thresholds[i - 1] + w * thresholds[i]
    return float(rate), float(thr)


def rates_at(genuine: FloatArray, impostor: FloatArray, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) when accepting scores >= threshold."""
    far = float(np.mean(impostor >= threshold)) if len(impostor) else math.nan
    frr = float(np.mean(genuine < threshold)) if len(genuine) else math.nan
    return far, frr


def det_points(genuine: FloatArray, impostor: FloatArray) -> tuple[FloatArray, FloatArray]:
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    frr = np.searchsorted(np.sort(genuine), thresholds, side="left") / len(genuine)
    far = 1.0 - np.searchsorted(np.sort(impostor), thresholds, side="left") / len(impostor)
    return far, frr


# --- learning ----------------------------------------------------------------------------------


#: Column sets the training may choose between (by inner cross-validation on its own users).
#: The score vector is now three well-behaved ratios, so there is a single set; the machinery
#: stays for experiments with optional columns.
COLUMN_SETS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(len(VECTOR_NAMES))),
}


def _fit(x: FloatArray, kind: Any, l2: float, skilled_weight: float) -> tuple[FloatArray, float]:
    """Weighted L2 logistic regression on standardised columns; returns raw-scale weights."""
    centre = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-9
    xs = (x - centre) / scale
    y = (kind == "genuine").astype(np.float64)
    w_imp = np.where(kind == "skilled", skilled_weight, 1.0) * (1 - y)
    sample_w = np.where(y == 1, 1.0 / max(y.sum(), 1), w_imp / max(w_imp.sum(), 1e-12))
    xa = np.hstack([xs, np.ones((len(xs), 1))])
    beta = np.zeros(xa.shape[1])
    reg = np.full(xa.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(60):
        z = np.clip(xa @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = xa.T @ (sample_w * (p - y)) + reg * beta
        hess = (xa * (sample_w * p * (1 - p))[:, None]).T @ xa + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    weights = beta[:-1] / scale
    return weights, float(beta[-1] - np.sum(weights * centre))


def _skilled_eer(weights: FloatArray, bias: float, scores: Scores) -> float:
    s = scores.vectors @ weights + bias
    return eer(s[scores.kind == "genuine"], s[scores.kind == "skilled"])[0]


def train_model(
    scores: Scores,
    name: str,
    trained_on: str,
    l2: float = 1e-3,
    skilled_weight: float = 2.0,
) -> Model:
    """Logistic regression genuine vs forgeries; bias shifted to the skilled-forgery EER point.

    Genuine trials weigh as much as all forgeries together, skilled forgeries ``skilled_weight``
    times as much as random ones.  Which columns to use (:data:`COLUMN_SETS`) is chosen by a
    two-fold cross-validation over the training users themselves; the model is then fitted on
    all of them, and its bias shifted so that the skilled-forgery EER threshold on these
    training users is :data:`~.verifier.DEFAULT_THRESHOLD`.
    """
    users = np.unique(scores.user)
    halves = (users[: len(users) // 2], users[len(users) // 2 :])
    best_cols, best = COLUMN_SETS["all"], math.inf
    if len(COLUMN_SETS) > 1 and min(len(h) for h in halves) >= 2:
        for cols in COLUMN_SETS.values():
            errs = []
            for fit_users, check_users in (halves, halves[::-1]):
                fit = scores.subset(np.isin(scores.user, fit_users))
                check = scores.subset(np.isin(scores.user, check_users))
                w, b = _fit(fit.vectors[:, cols], fit.kind, l2, skilled_weight)
                full = np.zeros(scores.vectors.shape[1])
                full[list(cols)] = w
                errs.append(_skilled_eer(full, b, check))
            if float(np.mean(errs)) < best - 1e-4:
                best, best_cols = float(np.mean(errs)), cols
    w, b = _fit(scores.vectors[:, best_cols], scores.kind, l2, skilled_weight)
    weights = np.zeros(scores.vectors.shape[1])
    weights[list(best_cols)] = w
    s = scores.vectors @ weights + b
    _, thr = eer(s[scores.kind == "genuine"], s[scores.kind == "skilled"])
    return Model(name, weights, b - thr + DEFAULT_THRESHOLD, trained_on)


# --- the report --------------------------------------------------------------------------------


@dataclass
class FoldResult:
    train_users: list[int]
    test_users: list[int]
    model: Model
    eer_skilled: float
    eer_random: float
    eer_skilled_user_mean: float
    eer_random_user_mean: float
    far_skilled: float
    far_random: float
    frr: float
    genuine: FloatArray = field(repr=False)
    skilled: FloatArray = field(repr=False)
    random: FloatArray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "train_users": self.train_users,
            "test_users": self.test_users,
            "eer_skilled": self.eer_skilled,
            "eer_random": self.eer_random,
            "eer_skilled_user_mean": self.eer_skilled_user_mean,
            "eer_random_user_mean": self.eer_random_user_mean,
            "far_skilled": self.far_skilled,
            "far_random": self.far_random,
            "frr": self.frr,
            "model": {
                "weights": [round(float(w), 6) for w in self.model.weights],
                "bias": round(self.model.bias, 6),
            },
        }


@dataclass
class Report:
    task: int
    users: list[int]
    protocol: Protocol
    threshold: float
    folds: list[FoldResult]
    ms_per_verification_median: float
    trials: dict[str, int]
    shipped: Model

    def _mean(self, name: str) -> float:
        return float(np.mean([getattr(f, name) for f in self.folds]))

    def as_dict(self) -> dict[str, Any]:
        keys = (
            "eer_skilled",
            "eer_random",
            "eer_skilled_user_mean",
            "eer_random_user_mean",
            "far_skilled",
            "far_random",
            "frr",
        )
        out: dict[str, Any] = {k: self._mean(k) for k in keys}
        out.update(
            {
                "task": self.task,
                "threshold": self.threshold,
                "ms_per_verification_median": self.ms_per_verification_median,
                "users": self.users,
                "protocol": self.protocol.describe(),
                "trials": self.trials,
                "folds": [f.as_dict() for f in self.folds],
                "operating_points": self.operating_points(),
                "score_vector": list(VECTOR_NAMES),
            }
        )
        return out

    def operating_points(self) -> list[dict[str, float]]:
        """FAR/FRR of the held-out halves (pooled) at thresholds around the default."""
        g = np.concatenate([f.genuine for f in self.folds])
        sk = np.concatenate([f.skilled for f in self.folds])
        rd = np.concatenate([f.random for f in self.folds])
        out = []
        for t in (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0):
            far_s, frr = rates_at(g, sk, t)
            far_r, _ = rates_at(g, rd, t)
            out.append({"threshold": t, "far_skilled": far_s, "far_random": far_r, "frr": frr})
        return out

    def table(self) -> str:
        head = f"{'':<24}" + "".join(f"{f'fold {i + 1}':>10}" for i in range(len(self.folds)))
        head += f"{'mean':>10}"
        lines = [
            f"SVC2004 Task {self.task}: users {_ranges(self.users)}, {self.protocol.draws} draws, "
            f"{self.protocol.references} references, threshold {self.threshold:g}",
            head,
        ]
        rows = (
            ("EER skilled (global)", "eer_skilled"),
            ("EER random (global)", "eer_random"),
            ("EER skilled (user mean)", "eer_skilled_user_mean"),
            ("EER random (user mean)", "eer_random_user_mean"),
            ("FAR skilled @threshold", "far_skilled"),
            ("FAR random @threshold", "far_random"),
            ("FRR @threshold", "frr"),
        )
        for label, key in rows:
            vals = [getattr(f, key) for f in self.folds]
            lines.append(
                f"{label:<24}"
                + "".join(f"{100 * v:>9.2f}%" for v in vals)
                + f"{100 * float(np.mean(vals)):>9.2f}%"
            )
        lines.append(
            f"{'ms per verification':<24}{self.ms_per_verification_median:>10.2f} (median)"
        )
        return "\n".join(lines)


def _ranges(users: Sequence[int]) -> str:
    if not users:
        return "none"
    parts = []
    start = prev = users[0]
    for u in [*users[1:], None]:
        if u is not None and u == prev + 1:
            prev = u
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if u is not None:
            start = prev = u
    return ",".join(parts)


#: ``[1, 2, 3, 7]`` -> ``"1-3,7"`` (for messages that name users).
user_ranges = _ranges


#: Largest user number ``parse_users`` accepts (SVC2004 has 40; a typo must not build a
#: billion-element range).
MAX_USER = 10_000


def parse_users(text: str) -> list[int]:
    """``"1-15,20"`` -> [1, ..., 15, 20].

    Raises ``ValueError`` with a sentence naming the bad part (not a number, a range that runs
    backwards, a number outside 1..MAX_USER, nothing chosen).
    """
    out: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        a, sep, b = part.partition("-")
        try:
            low = int(a)
            high = int(b) if sep else low
        except ValueError:
            raise ValueError(f"{part!r} is not a user number or a range like 1-15") from None
        if low > high:
            raise ValueError(f"the range {part!r} runs backwards; write it as {high}-{low}")
        if low < 1 or high > MAX_USER:
            raise ValueError(f"user numbers go from 1 to {MAX_USER}; {part!r} is outside")
        out.update(range(low, high + 1))
    if not out:
        raise ValueError("no users given; write them like 1-30 or 1,5,7")
    return sorted(out)


def _user_mean_eer(scores: FloatArray, kind: Any, user: Any, impostor_kind: str) -> float:
    vals = []
    for u in np.unique(user):
        m = user == u
        g = scores[m & (kind == "genuine")]
        im = scores[m & (kind == impostor_kind)]
        if len(g) and len(im):
            vals.append(eer(g, im)[0])
    return float(np.mean(vals)) if vals else math.nan


def _fold(
    train: Scores,
    test: Scores,
    train_users: list[int],
    test_users: list[int],
    task: int,
    threshold: float,
) -> FoldResult:
    name = "pressure" if task == 2 else "no_pressure"
    model = train_model(train, name, f"SVC2004 Task {task} users {_ranges(train_users)}")
    s = np.array([model.score(v) for v in test.vectors])
    g = s[test.kind == "genuine"]
    sk = s[test.kind == "skilled"]
    rd = s[test.kind == "random"]
    far_s, frr = rates_at(g, sk, threshold)
    far_r, _ = rates_at(g, rd, threshold)
    return FoldResult(
        train_users=train_users,
        test_users=test_users,
        model=model,
        eer_skilled=eer(g, sk)[0],
        eer_random=eer(g, rd)[0],
        eer_skilled_user_mean=_user_mean_eer(s, test.kind, test.user, "skilled"),
        eer_random_user_mean=_user_mean_eer(s, test.kind, test.user, "random"),
        far_skilled=far_s,
        far_random=far_r,
        frr=frr,
        genuine=g,
        skilled=sk,
        random=rd,
    )


def time_verifications(
    data: SignatureSet, model: Model, samples: int = 200, seed: int = 7, references: int = 5
) -> float:
    """Median wall time (ms) of ``Verifier.verify`` for a probe against ``references`` references.

    References are prepared once per writer (the verifier caches prepared reference sets, as
    the server's repeated sign-ins hit); the timed call includes the probe's feature
    extraction, the replay check, the DTW comparisons and the model.
    """
    one = ModelSet.single(model)
    verifier = Verifier(models={"pressure": one, "no_pressure": one})
    rng = np.random.default_rng(seed)
    times = []
    users = data.users
    for _ in range(samples):
        u = int(rng.choice(users))
        pool = data.samples(u, range(1, 11))
        probes = data.samples(u, range(11, 41))
        if len(pool) < 2 or not probes:
            continue
        chosen = rng.choice(pool, min(references, len(pool)), False)
        refs = [data.capture((u, int(s))) for s in chosen]
        probe = data.capture((u, int(rng.choice(probes))))
        verifier.template(refs)  # the references are prepared once, as after enrollment
        t0 = time.perf_counter()
        verifier.verify(refs, probe)
        times.append((time.perf_counter() - t0) * 1000)
    return float(statistics.median(times)) if times else math.nan


def evaluate(
    folder: str | Path,
    task: int,
    users: Sequence[int] | None = None,
    draws: int = 10,
    threshold: float | None = None,
    progress: Progress | None = None,
    references: int = 5,
) -> Report:
    """Two-fold (over users) evaluation of the engine on one SVC2004 task folder.

    ``references`` is the number of enrollment samples per draw: 5 is the SVC2004 protocol
    (and the server's default ``AUTHATURE_ENROLL_SAMPLES``).  Each fold's model is learnt on
    trials with that many references, as the server's model for a freshly enrolled set of
    that size is (``model.json`` "enrolled", :class:`~.verifier.ModelSet`).
    """
    if not 2 <= references <= 10:
        raise ValueError("references must be between 2 and 10 (drawn from S1-S10)")
    data = SignatureSet(folder, users)
    protocol = Protocol(references=references, draws=draws)
    all_users = data.users
    usable = [u for u in all_users if len(data.samples(u, protocol.reference_samples)) >= 2]
    if len(usable) < 2:
        raise ValueError(
            "the evaluation needs at least 2 users with 2 or more genuine signatures among "
            f"S1-S10 (one to learn on, one to report on); {folder} has {len(usable)}"
        )
    if not any(data.samples(u, protocol.genuine_samples) for u in usable):
        raise ValueError(f"no genuine test signatures (S11-S20) of those users in {folder}")
    half = len(all_users) // 2
    first, second = all_users[:half], all_users[half:]
    scores = trial_vectors(data, all_users, protocol, progress)
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    folds = []
    for train_users, test_users in ((first, second), (second, first)):
        train = scores.subset(np.isin(scores.user, train_users))
        test = scores.subset(np.isin(scores.user, test_users))
        folds.append(_fold(train, test, list(train_users), list(test_users), task, thr))
    name = "pressure" if task == 2 else "no_pressure"
    shipped = train_model(scores, name, f"SVC2004 Task {task} users {_ranges(all_users)}")
    ms = time_verifications(data, folds[0].model, references=references)
    trials = {k: int(np.sum(scores.kind == k)) for k in ("genuine", "skilled", "random")}
    return Report(task, all_users, protocol, thr, folds, ms, trials, shipped)


def model_entry(model: Model) -> dict[str, Any]:
    """The ``model.json`` entry of a model (weights only; no signature data)."""
    return {
        "weights": [round(float(w), 6) for w in model.weights],
        "bias": round(model.bias, 6),
        "trained_on": model.trained_on,
    }


def plot_det(report: Report, path: str | Path) -> None:
    """DET curves (held-out folds pooled) for skilled and random forgeries, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nd = statistics.NormalDist()
    ticks = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]

    def probit(v: FloatArray) -> FloatArray:
        return np.array([nd.inv_cdf(min(max(float(x), 5e-4), 1 - 5e-4)) for x in v])

    g = np.concatenate([f.genuine for f in report.folds])
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    for label, imp in (
        ("skilled forgeries", np.concatenate([f.skilled for f in report.folds])),
        ("random forgeries", np.concatenate([f.random for f in report.folds])),
    ):
        far, frr = det_points(g, imp)
        rate, _ = eer(g, imp)
        ax.plot(probit(far), probit(frr), label=f"{label} (EER {100 * rate:.2f} %)")
    far_s = float(np.mean([f.far_skilled for f in report.folds]))
    frr0 = float(np.mean([f.frr for f in report.folds]))
    ax.plot(probit(np.array([far_s])), probit(np.array([frr0])), "ko", label="server threshold")
    ax.plot(probit(np.array(ticks)), probit(np.array(ticks)), ":", color="grey", lw=0.8)
    ax.set_xticks(probit(np.array(ticks)), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(probit(np.array(ticks)), [f"{100 * t:g}" for t in ticks])
    ax.set_xlim(probit(np.array([0.0008]))[0], probit(np.array([0.45]))[0])
    ax.set_ylim(probit(np.array([0.0008]))[0], probit(np.array([0.45]))[0])
    ax.set_xlabel("false acceptance rate (%)")
    ax.set_ylabel("false rejection rate (%)")
    ax.set_title(f"SVC2004 Task {report.task}, held-out users (two folds pooled)")
    ax.grid(True, lw=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
