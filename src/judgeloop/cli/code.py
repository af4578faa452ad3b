"""`judgeloop code run PROJECT`: run every candidate's code against its tests in the sandbox."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from judgeloop.cli.context import console, open_session, reports_errors, state

app = typer.Typer(help="Candidate code and its tests, run in the sandbox.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@app.command("run")
@reports_errors
def run_cli(
    ctx: typer.Context,
    project: str,
    concurrency: Annotated[int, typer.Option(help="Runs in the sandbox at once.", min=1)] = 2,
    force: Annotated[
        bool, typer.Option(help="Run again code whose run of the same tests is stored.")
    ] = False,
) -> None:
    """Run the code of every candidate against the tests of its item; unchanged code is reused."""
    from judgeloop.services.code_runs import CodeRunReport, run_project
    from judgeloop.services.projects import get_project

    def show(report: CodeRunReport) -> None:
        status = f"passed {report.passed} reused {report.reused}"
        bar.update(task, total=report.total, completed=report.done, status=status)

    with open_session(state(ctx).settings()) as session, _progress() as bar:
        task = bar.add_task(f"running the tests of {project}", total=None, status="")
        proj = get_project(session, project)
        report = run_project(
            session, project=proj, concurrency=concurrency, force=force, on_progress=show
        )
    table = Table("candidates", "ran", "reused", "passed", "not passed", "by status", "time")
    table.add_row(
        str(report.total),
        str(report.ran),
        str(report.reused),
        str(report.passed),
        str(report.done - report.passed),
        ", ".join(f"{k} {v}" for k, v in sorted(report.by_status.items())) or "-",
        f"{report.wall_s:.1f} s",
    )
    console.print(table)
