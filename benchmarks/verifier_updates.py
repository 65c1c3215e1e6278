"""What the threshold buys for the reference sets the server has (SVC2004, held-out halves).

    .venv/bin/python benchmarks/verifier_updates.py [--data ../shared/data/svc2004] [--task 2]
                                                    [--margin 3] [--json FILE]

The server scores against 3-10 references: the writer enrolls 3-10 samples, and template updates
(a probe scoring >= threshold + ``TEMPLATE_UPDATE_MARGIN`` joins, at most 10) grow the set. For
each half of the users, models are learnt on the other half, and two servers are compared:

* before: one model learnt on the SVC2004 protocol (5 references) for every set, as shipped
  until the models per set (``model.json`` "enrolled/5" alone);
* after: :func:`authature.biometrics.updates.learn_models` (a model per enrolled count, one
  for sets grown by updates), chosen as ``Verifier.model_for`` chooses.

Rows: the ``authature eval`` protocol with 3, 5 and 10 enrolled references (genuine S11-S20,
skilled S21-S40), and replayed runs (:mod:`authature.biometrics.updates`): enroll 3 or 5 from
S1-S10, then no sign-ins, the genuine sign-ins S11-S15 ("updates"), or the same with skilled
forgeries S21-S25 interleaved ("attacked"), every probe scoring >= threshold + margin joining;
tests genuine S16-S20 vs skilled S26-S40. Printed: skilled EER, FAR / FRR at threshold 0
(mean of the halves, each half in brackets), random-forgery FAR, and how many genuine / forged
probes joined per run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authature.biometrics.evaluation import (  # noqa: E402
    Protocol,
    SignatureSet,
    eer,
    rates_at,
    train_model,
    trial_vectors,
)
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402
from authature.biometrics.updates import Rates, learn_models, measure  # noqa: E402
from authature.biometrics.verifier import (  # noqa: E402
    DEFAULT_THRESHOLD,
    TEMPLATE_UPDATE_MARGIN,
    ModelSet,
)

PLAIN_COUNTS = (3, 5, 10)
REPLAYS = (
    (3, False, False, "enroll 3, no updates"),
    (3, True, False, "enroll 3, updates"),
    (3, True, True, "enroll 3, attacked"),
    (5, False, False, "enroll 5, no updates"),
    (5, True, False, "enroll 5, updates"),
    (5, True, True, "enroll 5, attacked"),
)


def plain(data: SignatureSet, models: ModelSet, users: list[int], n: int) -> Rates:
    """The ``authature eval`` protocol with ``n`` enrolled references, scored as the server."""
    trials = trial_vectors(data, users, Protocol(references=n))
    model = models.choose(n, enroll_samples=n)
    s = trials.vectors @ model.weights + model.bias
    g, sk, rd = (s[trials.kind == k] for k in ("genuine", "skilled", "random"))
    far, frr = rates_at(g, sk, DEFAULT_THRESHOLD)
    return Rates(eer(g, sk)[0], far, frr, rates_at(g, rd, DEFAULT_THRESHOLD)[0], 0, 0, n)


def table(data: SignatureSet, margin: float) -> dict[str, dict[str, list[Rates]]]:
    """{condition: {"before"|"after": [rates of held-out half 1, half 2]}}."""
    half = len(data.users) // 2
    halves = (data.users[:half], data.users[half:])
    out: dict[str, dict[str, list[Rates]]] = {}
    for train_users, test_users in (halves, halves[::-1]):
        five = trial_vectors(data, train_users, Protocol(references=5))
        servers = {
            "before": ModelSet.single(train_model(five, "before", "")),
            "after": learn_models(data, train_users, "after", ""),
        }
        for name, models in servers.items():
            for n in PLAIN_COUNTS:
                rates = plain(data, models, list(test_users), n)
                out.setdefault(f"eval protocol, {n} references", {}).setdefault(name, [])
                out[f"eval protocol, {n} references"][name].append(rates)
            for enroll, updates, attacked, label in REPLAYS:
                rates = measure(data, models, test_users, enroll, updates, attacked, margin=margin)
                out.setdefault(label, {}).setdefault(name, []).append(rates)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default=str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")
    )
    ap.add_argument("--task", type=int, choices=(1, 2), default=2)
    ap.add_argument("--margin", type=float, default=TEMPLATE_UPDATE_MARGIN)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    data = SignatureSet(Path(args.data) / f"Task{args.task}")
    result = table(data, args.margin)
    print(
        f"SVC2004 Task {args.task}, held-out halves, threshold {DEFAULT_THRESHOLD:g}, update "
        f"margin {args.margin:g}; %, mean of the halves (half 1 / half 2):"
    )
    print(
        f"  {'':<32}{'':<7}{'EER':>7}{'FAR@0':>20}{'FRR@0':>20}{'rnd FAR':>8}"
        f"{'+gen':>6}{'+forged':>8}{'refs':>6}"
    )
    doc: dict[str, Any] = {}
    for label, servers in result.items():
        for name, folds in servers.items():
            m = {k: float(np.mean([getattr(f, k) for f in folds])) for k in folds[0].as_dict()}
            doc.setdefault(label, {})[name] = {"mean": m, "halves": [f.as_dict() for f in folds]}
            far = f"{100 * m['far_skilled']:6.2f} ({100 * folds[0].far_skilled:4.1f}/"
            far += f"{100 * folds[1].far_skilled:4.1f})"
            frr = f"{100 * m['frr']:6.2f} ({100 * folds[0].frr:4.1f}/{100 * folds[1].frr:4.1f})"
            print(
                f"  {label if name == 'before' else '':<32}{name:<7}"
                f"{100 * m['eer_skilled']:7.2f}{far:>20}{frr:>20}{100 * m['far_random']:8.2f}"
                f"{m['added_genuine']:6.2f}{m['added_forged']:8.2f}{m['references']:6.2f}"
            )
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
