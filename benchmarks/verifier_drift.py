"""How much of the verifier's global-threshold error could per-writer normalisation remove?

    .venv/bin/python benchmarks/verifier_drift.py [--data ../shared/data/svc2004] [--task 2]

Runs the evaluation protocol of ``authature eval`` (5 references from S1-S10, 10 draws, genuine
tests S11-S20, skilled forgeries S21-S40, random forgeries; model learnt on one half of the
users, scores of the other half) with the engine's own score vector, and prints three things
for the held-out halves:

0. The same measurement with other reference / genuine-test pools: genuine tests from the
   references' own session (the other five of S1-S10), and references that mix the two
   sessions (3 of S1-S10 and 2 of S11-S15, as template updates would add; genuine S16-S20),
   against 5 of S1-S10 on the same S16-S20.  The gap is how much the later-session drift
   costs; the SVC2004 figures are the first row.
1. Oracle bounds: the global skilled EER after shifting each test writer's scores by a value
   only an oracle knows (the median score of their later-session genuine signatures, per writer
   or per reference draw; the median of their skilled forgeries; the midpoint).  No method that
   sees only the enrollment samples can beat the "genuine median" rows, since that is the best
   possible estimate of where a writer's genuine scores fall.
2. Whether the enrollment samples predict that location at all: the correlation, over
   (writer, draw), of the median later-session genuine score with what is known at enrollment:
   the references' leave-one-out scores (each against the other four), and the scores of the
   writer's other session-1 genuine signatures (the S1-S10 not drawn as references, which a
   server would not have either: an optimistic predictor).

Nothing here is tuned; it is a measurement for docs/biometrics.md ("Where it stands").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authature.biometrics.evaluation import (  # noqa: E402
    Protocol,
    Scores,
    SignatureSet,
    _user_mean_eer,
    eer,
    train_model,
)
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402
from authature.biometrics.updates import set_vector  # noqa: E402
from authature.biometrics.verifier import Model  # noqa: E402

Key = tuple[int, int]


def _vector(data: SignatureSet, refs: list[Key], probe: Key) -> np.ndarray:
    return set_vector(data, refs, probe)  # the replayed-updates harness's, one definition


#: Reference and genuine-test pools: (name, how the 5 references are drawn, genuine tests).
#: "other5" means the five S1-S10 signatures that were not drawn as references.
SPLITS: tuple[tuple[str, tuple[tuple[range, int], ...], range | str], ...] = (
    ("SVC2004: refs 5 of S1-S10, genuine S11-S20", ((range(1, 11), 5),), range(11, 21)),
    ("same session: genuine = the other 5 of S1-S10", ((range(1, 11), 5),), "other5"),
    ("refs 5 of S1-S10, genuine S16-S20", ((range(1, 11), 5),), range(16, 21)),
    (
        "refs 3 of S1-S10 + 2 of S11-S15, genuine S16-S20",
        ((range(1, 11), 3), (range(11, 16), 2)),
        range(16, 21),
    ),
)


def trials(
    data: SignatureSet, split: tuple[tuple[range, int], ...], genuine: range | str
) -> tuple[list[tuple[int, list[Key]]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score vectors of every trial; references drawn from ``split``, skilled S21-S40, random
    forgeries as evaluation.trial_vectors draws them."""
    protocol = Protocol()
    draws: list[tuple[int, list[Key]]] = []
    rows, kinds, owners, draw_ids = [], [], [], []
    for user in data.users:
        for draw in range(protocol.draws):
            rng = np.random.default_rng([protocol.seed, user, draw])
            refs: list[Key] = []
            for pool, count in split:
                chosen_refs = rng.choice(data.samples(user, pool), size=count, replace=False)
                refs += [(user, int(n)) for n in sorted(chosen_refs)]
            if isinstance(genuine, str):
                tests = [n for n in data.samples(user, range(1, 11)) if (user, n) not in refs]
            else:
                tests = data.samples(user, genuine)
            probes = [((user, n), "genuine") for n in tests]
            probes += [((user, n), "skilled") for n in data.samples(user, protocol.skilled_samples)]
            others = [u for u in data.users if u != user]
            chosen = sorted(int(u) for u in rng.choice(others, protocol.random_users, False))
            for other in chosen:
                probes.append(
                    ((other, int(rng.choice(data.samples(other, range(1, 21))))), "random")
                )
            for key, kind in probes:
                rows.append(_vector(data, refs, key))
                kinds.append(kind)
                owners.append(user)
                draw_ids.append(len(draws))
            draws.append((user, refs))
    return (
        draws,
        np.array(rows),
        np.array(kinds, dtype=np.str_),
        np.array(owners),
        np.array(draw_ids),
    )


def _folds(
    data: SignatureSet, x: np.ndarray, kind: np.ndarray, user_of: np.ndarray
) -> Iterator[tuple[np.ndarray, Model]]:
    """For each half of the users: the mask of its trials and the model learnt on the other."""
    half = len(data.users) // 2
    halves = (data.users[:half], data.users[half:])
    for train_users, test_users in (halves, halves[::-1]):
        train = np.isin(user_of, train_users)
        scores = Scores(x[train], kind[train], user_of[train], np.ones(int(train.sum()), bool))
        yield np.isin(user_of, test_users), train_model(scores, "drift", "")


def _held_out(
    data: SignatureSet, x: np.ndarray, kind: np.ndarray, user_of: np.ndarray
) -> tuple[list[float], list[float], list[float]]:
    """Skilled EER, per-user mean skilled EER and random EER of each held-out half."""
    out: tuple[list[float], list[float], list[float]] = ([], [], [])
    for test, model in _folds(data, x, kind, user_of):
        s = x[test] @ model.weights + model.bias
        k = kind[test]
        out[0].append(eer(s[k == "genuine"], s[k == "skilled"])[0])
        out[1].append(_user_mean_eer(s, k, user_of[test], "skilled"))
        out[2].append(eer(s[k == "genuine"], s[k == "random"])[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default=str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")
    )
    ap.add_argument("--task", type=int, choices=(1, 2), default=2)
    args = ap.parse_args()
    data = SignatureSet(Path(args.data) / f"Task{args.task}")
    protocol = Protocol()
    print(f"SVC2004 Task {args.task}, held-out halves (fold 1, fold 2, mean), % EER:")
    print(
        f"  {'references / genuine tests':<52}{'skilled f1, f2, mean':>22}{'user':>10}{'random':>8}"
    )
    for name, split, genuine in SPLITS:
        sk, um, rd = _held_out(data, *trials(data, split, genuine)[1:4])
        print(
            f"  {name:<52}{100 * sk[0]:6.2f}{100 * sk[1]:7.2f}{50 * sum(sk):9.2f}"
            f"{50 * sum(um):10.2f}{50 * sum(rd):8.2f}"
        )
    draws, x, kind, user_of, draw_of = trials(data, SPLITS[0][1], SPLITS[0][2])
    shifts: tuple[str, ...] = ("none", "genuine median per writer", "genuine median per draw")
    shifts += ("skilled median per writer", "midpoint per writer")
    rates: dict[str, list[float]] = {name: [] for name in shifts}
    predictors: dict[str, list[float]] = {"genuine": [], "loo": [], "session1": []}
    for test, model in _folds(data, x, kind, user_of):
        test_users = {int(u) for u in np.unique(user_of[test])}
        s = x @ model.weights + model.bias
        for name in shifts:
            shifted = s.copy()
            for u in test_users:
                mine = user_of == u
                g = float(np.median(s[mine & (kind == "genuine")]))
                f = float(np.median(s[mine & (kind == "skilled")]))
                if name == "genuine median per draw":
                    for d in np.unique(draw_of[mine]):
                        this = draw_of == d
                        shifted[this] -= float(np.median(s[this & (kind == "genuine")]))
                elif name != "none":
                    shifted[mine] -= {"genuine": g, "skilled": f, "midpoint": (g + f) / 2}[
                        name.split()[0]
                    ]
            g_all = shifted[test & (kind == "genuine")]
            rates[name].append(eer(g_all, shifted[test & (kind == "skilled")])[0])
        for d, (u, refs) in enumerate(draws):
            if u not in test_users:
                continue
            this = draw_of == d
            predictors["genuine"].append(float(np.median(s[this & (kind == "genuine")])))
            loo = [
                model.score(_vector(data, refs[:i] + refs[i + 1 :], refs[i]))
                for i in range(len(refs))
            ]
            predictors["loo"].append(float(np.median(loo)))
            rest = [(u, n) for n in data.samples(u, protocol.reference_samples)]
            rest = [key for key in rest if key not in refs]
            predictors["session1"].append(
                float(np.median([model.score(_vector(data, refs, key)) for key in rest]))
            )
    print("SVC2004 protocol, skilled EER (%) after per-writer shifts only an oracle knows:")
    for name, vals in rates.items():
        print(f"  {name:<28} {100 * vals[0]:6.2f} {100 * vals[1]:6.2f}  mean {50 * sum(vals):6.2f}")
    gen = np.array(predictors["genuine"])
    print("correlation with the median later-session genuine score, over (writer, draw):")
    for name, label in (
        ("loo", "references' leave-one-out score"),
        ("session1", "other session-1 genuine signatures"),
    ):
        r = float(np.corrcoef(np.array(predictors[name]), gen)[0, 1])
        print(f"  {label:<40} r = {r:5.2f}")


if __name__ == "__main__":
    main()
