"""What template updates buy a writer over their first sign-ins (SVC2004, held-out halves).

    .venv/bin/python benchmarks/verifier_updates.py [--data ../shared/data/svc2004] [--task 2]

The server enrolls a few samples and later adds an accepted probe to the references when it
scores at least threshold + ``TEMPLATE_UPDATE_MARGIN`` (docs/biometrics.md). This replays that
on SVC2004 per writer and reference draw (10 draws, seeds as ``authature eval``):

1. enrollment: ``--enroll`` (3, the server's default, and 5) signatures drawn from S1-S10;
2. sign-ins: the later-session genuine S11-S15 in order, and, in the "attacked" rows, the
   skilled forgeries S21-S25 interleaved with them (one forgery before each genuine sign-in);
   every probe that scores >= threshold + margin joins the references (at most 10);
3. then the held-out test: genuine S16-S20 against skilled forgeries S26-S40.

The model (and threshold 0) is learnt on the other half of the users with the SVC2004 protocol
(5 references from S1-S10), as ``authature eval`` learns it; scores come from the engine's own
score vector. Printed: skilled EER, FAR and FRR at the threshold, and how many genuine and
forged probes joined the references on average.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authature.biometrics.evaluation import (  # noqa: E402
    Protocol,
    Scores,
    SignatureSet,
    eer,
    rates_at,
    train_model,
)
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402
from authature.biometrics.verifier import (  # noqa: E402
    DEFAULT_THRESHOLD,
    TEMPLATE_UPDATE_MARGIN,
    Model,
)
from benchmarks.verifier_drift import SPLITS, Key, _vector, trials  # noqa: E402

MAX_REFERENCES = 10


def replay(
    data: SignatureSet,
    model: Model,
    users: list[int],
    enroll: int,
    attacked: bool,
    margin: float,
) -> tuple[float, float, float, float, float]:
    """(skilled EER, FAR, FRR at the threshold, genuine added, forgeries added) over ``users``."""
    protocol = Protocol()
    genuine_scores: list[float] = []
    skilled_scores: list[float] = []
    added_genuine = added_forged = 0
    runs = 0
    for user in users:
        for draw in range(protocol.draws):
            rng = np.random.default_rng([protocol.seed, user, draw])
            pool = data.samples(user, range(1, 11))
            refs: list[Key] = [(user, int(n)) for n in sorted(rng.choice(pool, enroll, False))]
            sign_ins: list[tuple[Key, bool]] = []
            for i, n in enumerate(range(11, 16)):
                if attacked:
                    sign_ins.append(((user, 21 + i), False))
                sign_ins.append(((user, n), True))
            for key, genuine in sign_ins:
                if model.score(_vector(data, refs, key)) >= DEFAULT_THRESHOLD + margin:
                    refs = (refs + [key])[-MAX_REFERENCES:]
                    added_genuine += genuine
                    added_forged += not genuine
            genuine_scores += [model.score(_vector(data, refs, (user, n))) for n in range(16, 21)]
            skilled_scores += [model.score(_vector(data, refs, (user, n))) for n in range(26, 41)]
            runs += 1
    g, s = np.array(genuine_scores), np.array(skilled_scores)
    far, frr = rates_at(g, s, DEFAULT_THRESHOLD)
    return eer(g, s)[0], far, frr, added_genuine / runs, added_forged / runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default=str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")
    )
    ap.add_argument("--task", type=int, choices=(1, 2), default=2)
    ap.add_argument("--margin", type=float, default=TEMPLATE_UPDATE_MARGIN)
    args = ap.parse_args()
    data = SignatureSet(Path(args.data) / f"Task{args.task}")
    _, x, kind, user_of, _ = trials(data, SPLITS[0][1], SPLITS[0][2])
    half = len(data.users) // 2
    halves = (data.users[:half], data.users[half:])
    models = []
    for train_users in halves:
        train = np.isin(user_of, train_users)
        scores = Scores(x[train], kind[train], user_of[train], np.ones(int(train.sum()), bool))
        models.append(train_model(scores, "updates", ""))
    print(
        f"SVC2004 Task {args.task}, held-out halves, update margin {args.margin:g}; "
        "test genuine S16-S20 vs skilled S26-S40 (%, mean of the halves):"
    )
    print(f"  {'':<34}{'EER':>7}{'FAR@0':>7}{'FRR@0':>7}{'+gen':>6}{'+forged':>8}")
    for enroll in (3, 5):
        for attacked, margin in ((False, np.inf), (False, args.margin), (True, args.margin)):
            label = f"enroll {enroll}, " + (
                "no updates" if margin == np.inf else "attacked" if attacked else "updates"
            )
            rows = [
                replay(data, models[i], list(halves[1 - i]), enroll, attacked, margin)
                for i in (0, 1)
            ]
            m = np.mean(np.array(rows), axis=0)
            print(
                f"  {label:<34}{100 * m[0]:7.2f}{100 * m[1]:7.2f}{100 * m[2]:7.2f}"
                f"{m[3]:6.2f}{m[4]:8.2f}"
            )


if __name__ == "__main__":
    main()
