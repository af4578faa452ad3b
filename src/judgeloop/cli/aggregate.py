"""``judgeloop aggregate PROJECT``: compute and store consensus, with a progress line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from judgeloop.cli.context import acting_user, console, open_session, reports_errors, state
from judgeloop.services.projects import get_project


@reports_errors
def aggregate_cli(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug or id.")],
    method: Annotated[
        str,
        typer.Option(
            help="default (Dawid-Skene, weighted ratings, Davidson), or a label method: "
            "mv, wawa, ds, one-coin."
        ),
    ] = "default",
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user.")] = None,
) -> None:
    """Compute the consensus of every item and question of a project and store it.

    A run replaces the project's previous consensus and worker reliability; the
    quality page and the consensus export read what it stored.
    """
    from judgeloop.services.consensus import aggregate_project

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with open_session(state(ctx).settings()) as session, Progress(*columns, console=console) as bar:
        task = bar.add_task("aggregating", total=None)

        def progress(done: int, total: int, question: str) -> None:
            label = f"aggregating {question}" if question else "storing"
            bar.update(task, completed=done, total=total, description=label)

        report = aggregate_project(
            session,
            project=get_project(session, project),
            method=method,
            actor=acting_user(session, as_user),
            on_progress=progress,
        )
    per_question = ", ".join(f"{key}: {n}" for key, n in report.questions.items()) or "none"
    console.print(
        f"stored {report.results} consensus results from {report.judgments} judgments "
        f"({per_question}); {report.workers} workers rated; method {report.method}"
    )
