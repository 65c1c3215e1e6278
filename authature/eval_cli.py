"""``authature eval``: measure the signature verifier on SVC2004 (issue 3, SPEC 7).

The CLI owner registers :data:`eval_command` as ``authature eval``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .biometrics.evaluation import evaluate, parse_users, plot_det

__all__ = ["eval_command"]


@click.command("eval")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("../shared/data/svc2004"),
    show_default=True,
    help="Folder in the SVC2004 layout (Task1/, Task2/, files U<u>S<n>.TXT).",
)
@click.option("--task", type=click.Choice(["1", "2"]), default="2", show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--det", "det_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--users", default=None, help="Users to evaluate, e.g. 1-30 (default: all present).")
@click.option("--draws", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--threshold", type=float, default=None, help="Operating point (default: server's).")
@click.option(
    "--references",
    type=click.IntRange(2, 10),
    default=5,
    show_default=True,
    help="References per draw (5: SVC2004 protocol; 3: what the server enrolls by default).",
)
def eval_command(
    data_dir: Path,
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
    folder = data_dir / f"Task{task}"
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not a folder", param_hint="--data")
    chosen = parse_users(users) if users else None
    from .biometrics.svc2004 import list_users

    count = len(chosen) if chosen else len(list_users(folder))
    with click.progressbar(
        length=count, label=f"Task {task}", file=click.get_text_stream("stderr")
    ) as bar:
        report = evaluate(
            folder, int(task), chosen, draws, threshold, progress=bar.update, references=references
        )
    click.echo(report.table())
    if report_path:
        report_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        click.echo(f"report written to {report_path}")
    if det_path:
        plot_det(report, det_path)
        click.echo(f"DET curve written to {det_path}")
