"""Learn the verifier's models and write ``authature/biometrics/model.json`` (issue 3).

    .venv/bin/python benchmarks/train_verifier.py [--data ../shared/data/svc2004] [--check]

One command regenerates the shipped file from the SVC2004 data (about 2 minutes on 2 cores; the
two tasks run in parallel): for each task (Task 2 -> "pressure", Task 1 -> "no_pressure"),
:func:`authature.biometrics.updates.learn_models` on all of users 1-30: a model per enrolled
reference count 3..10 and one for reference sets grown by template updates.  Retrain after
any change to the features, the DTW or the score vector.  ``--check`` writes nothing and says
whether the file on disk is what the data gives now (exit status 1 when it differs).
``benchmarks/eval_verifier.py --write-model`` runs this too.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authature.biometrics.evaluation import SignatureSet, model_entry  # noqa: E402
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402
from authature.biometrics.updates import (  # noqa: E402
    ENROLLED_COUNTS,
    MAX_REFERENCES,
    REPLAYED_ENROLLMENTS,
    learn_models,
)
from authature.biometrics.verifier import TEMPLATE_UPDATE_MARGIN, VECTOR_NAMES  # noqa: E402

MODEL_FILE = REPO / "authature" / "biometrics" / "model.json"
KINDS = {2: "pressure", 1: "no_pressure"}


def default_data() -> str:
    return str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")


def learn(data: str, task: int) -> tuple[str, dict[str, Any]]:
    signatures = SignatureSet(Path(data) / f"Task{task}")
    users = signatures.users
    trained_on = f"SVC2004 Task {task} users {users[0]}-{users[-1]}"
    models = learn_models(signatures, users, KINDS[task], trained_on)
    assert models.updated is not None
    return KINDS[task], {
        "enrolled": {str(n): model_entry(m) for n, m in sorted(models.enrolled.items())},
        "updated": model_entry(models.updated),
    }


def model_file(data: str) -> dict[str, Any]:
    """The whole ``model.json`` document learnt from ``data``."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        learnt = dict(pool.map(learn, [data] * 2, [2, 1]))
    counts = f"{ENROLLED_COUNTS.start}-{ENROLLED_COUNTS.stop - 1}"
    return {
        "about": "Linear models over the verifier's score vector, learnt on the SVC2004 data "
        "(Task 2 for 'pressure', pen with pressure; Task 1 for 'no_pressure'). No signature "
        "data is stored here. Regenerate with: .venv/bin/python benchmarks/train_verifier.py",
        "how": {
            "enrolled": f"one model per enrolled reference count ({counts}): weighted logistic "
            "regression on the authature-eval protocol with that many references drawn from "
            "S1-S10 (genuine S11-S20, skilled S21-S40, random forgeries), bias shifted to the "
            "skilled EER point (score 0); 'enrolled/5' is the SVC2004-protocol model",
            "updated": "one model for reference sets grown past the enrollment by template "
            f"updates: the same regression on replayed runs (enroll {REPLAYED_ENROLLMENTS}, "
            "later-session genuine sign-ins S11-S15, plain and with skilled forgeries S21-S25 "
            f"interleaved, each probe scoring >= {TEMPLATE_UPDATE_MARGIN:g} with the enrolled "
            f"models joins, at most {MAX_REFERENCES}), tested with genuine S16-S20, skilled "
            "S26-S40 and random forgeries against every state an update reached",
            "chosen_by": "Verifier.model_for: the 'updated' model when the template has more "
            "references than AUTHATURE_ENROLL_SAMPLES, else 'enrolled' for its count "
            "(nearest below; above 10 the 10-reference model)",
        },
        "vector": list(VECTOR_NAMES),
        "models": {k: learnt[k] for k in ("no_pressure", "pressure")},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--check", action="store_true", help="compare with the file; write nothing")
    args = ap.parse_args()
    doc = model_file(args.data)
    text = json.dumps(doc, indent=1) + "\n"
    if args.check:
        same = MODEL_FILE.read_text(encoding="utf-8") == text
        print(f"{MODEL_FILE} is {'up to date' if same else 'NOT what the data gives now'}")
        sys.exit(0 if same else 1)
    MODEL_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
