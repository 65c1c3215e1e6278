"""``authature eval``: measure the signature verifier on SVC2004 (issue 3, SPEC 7).

The CLI owner registers :data:`eval_command` as ``authature eval``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from .biometrics.evaluation import evaluate, parse_users, plot_det
from .biometrics.evaluation import user_ranges as _ranges

__all__ = ["eval_command"]


@click.command("eval")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder in the SVC2004 layout (Task1/, Task2/, files U<u>S<n>.TXT). Default: "
    "svc2004/ in $AUTHATURE_SIGNATURE_DATA, else ../shared/data/svc2004.",
)
@click.option("--task", type=click.Choice(["1", "2"]), default="2", show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--det", "det_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--users", default=None, help="Users to evaluate, e.g. 1-30 (default: all present).")
@click.option("--draws", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option(
    "--threshold",
    type=float,
    default=None,
    callback=lambda _ctx, _param, value: _check_threshold(value),
    help="Operating point, -20..20 (default: the server's).",
)
@click.option(
    "--references",
    type=click.IntRange(2, 10),
    default=5,
    show_default=True,
    help="References per draw (5: the SVC2004 protocol and the server's default enrollment); "
    "each fold learns the model the server scores that many enrolled references with.",
)
def eval_command(
    data_dir: Path | None,
    task: str,
    report_path: Path | None,
    det_path: Path | None,
    users: str | None,
    draws: int,
    threshold: float | None,
    references: int,
) -> None:
    """Measure EER, FAR and FRR of the verifier with the SVC2004 protocol.

    The linear model and threshold are learnt on one half of the users and measured on the
    other half, then the halves swap; both halves and their mean are printed.
    """
    if data_dir is None:
        data_dir = _default_data()
    for option, path in (("--report", report_path), ("--det", det_path)):
        if path is not None and not path.resolve().parent.is_dir():
            raise click.BadParameter(
                f"the folder {path.resolve().parent} does not exist; create it or pick another",
                param_hint=option,
            )
    folder = data_dir / f"Task{task}"
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not a folder", param_hint="--data")
    try:
        chosen = parse_users(users) if users is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--users") from None
    from .biometrics.svc2004 import list_users

    present = set(list_users(folder))
    if chosen is not None and not present & set(chosen):
        raise click.BadParameter(
            f"none of these users has files in {folder} (present: {_ranges(sorted(present))})",
            param_hint="--users",
        )
    if chosen is not None and set(chosen) - present:
        missing = _ranges(sorted(set(chosen) - present))
        click.echo(f"Users {missing} have no files in {folder}; they are left out.", err=True)
    count = len(present & set(chosen)) if chosen is not None else len(present)
    try:
        with click.progressbar(
            length=count, label=f"Task {task}", file=click.get_text_stream("stderr")
        ) as bar:
            report = evaluate(
                folder,
                int(task),
                chosen,
                draws,
                threshold,
                progress=bar.update,
                references=references,
            )
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.table())
    if report_path:
        report_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        click.echo(f"report written to {report_path}")
    if det_path:
        plot_det(report, det_path)
        click.echo(f"DET curve written to {det_path}")


def _check_threshold(value: float | None) -> float | None:
    # Same bounds as AUTHATURE_VERIFY_THRESHOLD: nan would make every comparison false and an
    # infinite one accept or refuse everyone, so the table would report nothing real.
    if value is not None and not (math.isfinite(value) and -20 <= value <= 20):
        raise click.BadParameter(f"{value} is not a number in -20..20", param_hint="--threshold")
    return value


def _default_data() -> Path:
    from .biometrics.svc2004 import signature_data_root

    folder = signature_data_root(Path("../shared/data")) / "svc2004"
    if not folder.is_dir():
        raise click.BadParameter(
            f"{folder} is not a folder; pass --data or set AUTHATURE_SIGNATURE_DATA",
            param_hint="--data",
        )
    return folder
