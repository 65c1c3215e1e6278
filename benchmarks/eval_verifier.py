"""Full evaluation of the signature verifier on SVC2004 Tasks 1 and 2 (issue 3).

    .venv/bin/python benchmarks/eval_verifier.py [--data ../shared/data/svc2004] [--write-model]
                                                 [--references N]

Prints the table of each task (both held-out halves and their mean), writes
``docs/eval_task<N>.json`` and ``docs/det_task<N>.png``, and with ``--write-model`` then
replaces ``authature/biometrics/model.json`` (``benchmarks/train_verifier.py``: the models per
reference count, and for sets grown by updates, trained on all users of each task).  The two
tasks run in parallel (one process each).

``--references 3`` measures what a user who enrolled 3 samples gets (each fold learns the
3-reference model, as the server chooses for such a set); its reports go to
``docs/eval_task<N>_refs3.json`` and no DET plot is written.
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

from authature.biometrics.evaluation import (  # noqa: E402
    SignatureSet,
    evaluate,
    plot_det,
    time_verifications,
)
from authature.biometrics.svc2004 import signature_data_root  # noqa: E402
from authature.biometrics.verifier import load_models  # noqa: E402
from benchmarks.train_verifier import MODEL_FILE, model_file  # noqa: E402


def _report_path(task: int, references: int) -> Path:
    suffix = "" if references == 5 else f"_refs{references}"
    return REPO / "docs" / f"eval_task{task}{suffix}.json"


def run(data: str, task: int, draws: int, references: int = 5) -> tuple[int, str, dict[str, Any]]:
    report = evaluate(Path(data) / f"Task{task}", task, draws=draws, references=references)
    if references == 5:
        plot_det(report, REPO / "docs" / f"det_task{task}.png")
    out = report.as_dict()
    _report_path(task, references).write_text(json.dumps(out, indent=2) + "\n")
    return task, report.table(), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default=str(signature_data_root(REPO.parent / "shared" / "data") / "svc2004")
    )
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--write-model", action="store_true")
    ap.add_argument("--references", type=int, default=5, choices=range(2, 11), metavar="2..10")
    args = ap.parse_args()
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(run, [args.data] * 2, [2, 1], [args.draws] * 2, [args.references] * 2)
        )
    for task, table, out in sorted(results):
        # Re-time alone: inside the pool both tasks share the two cores.
        data = SignatureSet(Path(args.data) / f"Task{task}")
        models = load_models("pressure" if task == 2 else "no_pressure")
        model = models.choose(args.references, enroll_samples=args.references)
        ms = time_verifications(data, model, references=args.references)
        out["ms_per_verification_median_parallel_run"] = out["ms_per_verification_median"]
        out["ms_per_verification_median"] = ms
        _report_path(task, args.references).write_text(json.dumps(out, indent=2) + "\n")
        print(table)
        print(f"ms per verification, timed alone after the run: {ms:.2f} (median)")
        print()
    if args.write_model:
        MODEL_FILE.write_text(json.dumps(model_file(args.data), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
