"""The verifier is measured, not only checked by example (STYLE: Tests; issue 3).

A fixed slice of SVC2004 (users 1-8, 2 draws, fixed seeds) is run through the same two-fold
evaluation as ``authature eval``; the EERs must stay within the bounds recorded when the engine
last changed.  If an intended change moves them, re-measure and update the bounds in the same
commit (benchmarks/eval_verifier.py gives the full figures for docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from authature.biometrics.evaluation import eer, evaluate, parse_users, rates_at
from authature.eval_cli import eval_command

pytestmark = pytest.mark.data

USERS = list(range(1, 9))
# Measured on the slice (fractions) when the engine last changed, plus a little slack.
BOUNDS = {
    2: {"eer_skilled": 0.079, "eer_random": 0.0, "eer_skilled_user_mean": 0.063},
    1: {"eer_skilled": 0.044, "eer_random": 0.0, "eer_skilled_user_mean": 0.038},
}
SLACK = 0.01


def test_eer_of_perfectly_separated_scores_is_zero() -> None:
    assert eer(np.array([2.0, 3.0]), np.array([0.0, 1.0]))[0] == 0.0
    rate, thr = eer(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.5, 2.5, 3.5]))
    assert 0.25 <= rate <= 0.5
    far, frr = rates_at(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.5, 2.5, 3.5]), thr)
    assert abs(far - frr) <= 0.25


def test_parse_users() -> None:
    assert parse_users("1-3,7, 9-10") == [1, 2, 3, 7, 9, 10]


@pytest.mark.parametrize("task", [2, 1])
def test_eer_on_the_fixed_slice_stays_within_recorded_bounds(svc: Path, task: int) -> None:
    report = evaluate(svc / f"Task{task}", task, users=USERS, draws=2).as_dict()
    assert report["users"] == USERS
    assert {"eer_skilled", "eer_random", "frr", "far_skilled", "far_random"} <= set(report)
    for key, bound in BOUNDS[task].items():
        assert report[key] <= bound + SLACK, f"{key} regressed: {report[key]:.4f} > {bound}"
    assert not math.isnan(report["ms_per_verification_median"])


def test_cli_writes_the_report_and_det_plot(svc: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.json"
    det = tmp_path / "det.png"
    result = runner.invoke(
        eval_command,
        [
            "--data",
            str(svc),
            "--task",
            "2",
            "--users",
            "1-4",
            "--draws",
            "1",
            "--report",
            str(out),
            "--det",
            str(det),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "EER skilled (global)" in result.output
    data = json.loads(out.read_text())
    for key in (
        "eer_skilled",
        "eer_random",
        "eer_skilled_user_mean",
        "eer_random_user_mean",
        "threshold",
        "far_skilled",
        "far_random",
        "frr",
        "ms_per_verification_median",
        "users",
        "protocol",
    ):
        assert key in data
    assert all(0 <= data[k] <= 1 for k in ("eer_skilled", "frr", "far_skilled"))
    assert det.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_any_folder_in_the_layout_works(svc: Path, tmp_path: Path) -> None:
    # A folder with a few users and a gap in sample numbers (links, not copies of the data).
    folder = tmp_path / "Task2"
    folder.mkdir()
    for user in (3, 11, 20, 27):
        for sample in (*range(1, 8), *range(11, 16), *range(21, 26)):
            (folder / f"U{user}S{sample}.TXT").symlink_to(svc / "Task2" / f"U{user}S{sample}.TXT")
    report = evaluate(folder, 2, draws=1).as_dict()
    assert report["users"] == [3, 11, 20, 27]
    assert 0 <= report["eer_skilled"] <= 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--users", "5-1"], "runs backwards"),
        (["--users", "x"], "not a user number"),
        (["--users", ","], "no users given"),
        (["--users", "1-99999999999"], "from 1 to 10000"),
        (["--users", "99"], "none of these users has files"),
        (["--threshold", "nan"], "-20..20"),
        (["--threshold", "inf"], "-20..20"),
        (["--users", "3"], "at least 2 users"),
    ],
)
def test_cli_refuses_bad_options_with_a_sentence(svc: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(eval_command, ["--data", str(svc), "--draws", "1", *args])
    assert result.exit_code in (1, 2)  # click's usage error or ClickException, not a crash
    assert says in result.output, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (ValueError, FileNotFoundError))


def test_parse_users_names_the_bad_part() -> None:
    with pytest.raises(ValueError, match="runs backwards"):
        parse_users("9-2")
    with pytest.raises(ValueError, match="'1-b'"):
        parse_users("1-b")


def test_cli_references_option_sets_the_enrollment_size(svc: Path, tmp_path: Path) -> None:
    # The server enrolls 3 samples; --references 3 measures that instead of SVC2004's 5.
    out = tmp_path / "r.json"
    args = ["--data", str(svc), "--task", "1", "--users", "1-4", "--draws", "1"]
    result = CliRunner().invoke(eval_command, [*args, "--references", "3", "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 references" in result.output
    assert json.loads(out.read_text())["protocol"]["references"].startswith("3 drawn")
    refused = CliRunner().invoke(eval_command, [*args, "--references", "11"])
    assert refused.exit_code != 0


def test_cli_finds_the_data_through_the_environment(
    svc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # ../shared/data is not beside this folder
    monkeypatch.setenv("AUTHATURE_SIGNATURE_DATA", str(svc.parent))
    found = CliRunner().invoke(eval_command, ["--users", "1-2", "--draws", "1"])
    assert found.exit_code == 0, found.output
    monkeypatch.setenv("AUTHATURE_SIGNATURE_DATA", str(tmp_path))
    missing = CliRunner().invoke(eval_command, ["--users", "1-2", "--draws", "1"])
    assert missing.exit_code == 2 and "AUTHATURE_SIGNATURE_DATA" in missing.output
