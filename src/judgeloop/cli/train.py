"""`judgeloop train export|reward|list|best-of-n`: from judgments to data, reward models, picks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from judgeloop.cli.context import acting_user, console, open_session, reports_errors, state
from judgeloop.export.training import TrainingFilters
from judgeloop.services.projects import get_project

app = typer.Typer(
    help="Training data, reward models and best-of-n from a project's judgments.",
    no_args_is_help=True,
)
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this user (default: first admin).")
]


def _bar() -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


@app.command("export")
@reports_errors
def export_cli(
    ctx: typer.Context,
    project: str,
    out: Annotated[Path, typer.Option(help="Dataset folder to write (replaced).")],
    kind: Annotated[
        str, typer.Option(help="preference, sft, kto, rubric or label.")
    ] = "preference",
    format: Annotated[
        str, typer.Option(help="jsonl, parquet or hf (a datasets folder).")
    ] = "jsonl",
    min_agreement: Annotated[
        float | None, typer.Option(help="Keep records at least this agreed.")
    ] = None,
    min_confidence: Annotated[
        float | None, typer.Option(help="Minimum consensus confidence.")
    ] = None,
    min_reliability: Annotated[
        float | None, typer.Option(help="Minimum worker reliability.")
    ] = None,
    round_number: Annotated[int | None, typer.Option("--round", help="Only this round.")] = None,
    include_flagged: Annotated[bool, typer.Option(help="Keep flagged items too.")] = False,
    test_fraction: Annotated[float, typer.Option(help="Share of prompts held out.")] = 0.1,
    conversational: Annotated[bool, typer.Option(help="Messages instead of strings.")] = False,
    as_user: AsOption = None,
) -> None:
    """Write training data in the formats TRL reads, split by prompt, with a dataset card."""
    from judgeloop.services.learning import export_training_dataset

    filters = TrainingFilters(
        min_agreement=min_agreement,
        min_confidence=min_confidence,
        min_worker_reliability=min_reliability,
        exclude_flagged=not include_flagged,
        round=round_number,
    )
    with open_session(state(ctx).settings()) as session:
        written = export_training_dataset(
            session,
            project=get_project(session, project),
            kind=kind,
            path=out,
            format=format,
            filters=filters,
            test_fraction=test_fraction,
            conversational=conversational,
            actor=acting_user(session, as_user),
        )
    counts = ", ".join(f"{split} {n}" for split, n in written.counts.items())
    dropped = ", ".join(f"{why} {n}" for why, n in written.filtered.excluded.items()) or "none"
    console.print(f"wrote {written.kind} data to {written.path}: {counts}; left out: {dropped}")


@app.command("reward")
@reports_errors
def reward_cli(
    ctx: typer.Context,
    project: str,
    name: Annotated[str, typer.Option(help="Model name; versions are name@v1, name@v2 ...")],
    fine_tune: Annotated[
        bool, typer.Option(help="Fine-tune the encoder's top layers too.")
    ] = False,
    epochs: Annotated[
        int,
        typer.Option(help="Training epochs of the mlp head (the linear head is fitted exactly)."),
    ] = 60,
    max_pairs: Annotated[int | None, typer.Option(help="Train on at most this many pairs.")] = None,
    test_fraction: Annotated[float, typer.Option(help="Share of prompts held out.")] = 0.2,
    min_agreement: Annotated[
        float | None, typer.Option(help="Only preferences this agreed.")
    ] = None,
    as_user: AsOption = None,
) -> None:
    """Train the default CPU reward model (MiniLM + Bradley-Terry head) on a project."""
    from judgeloop.learn.reward_cpu import RewardCpuConfig
    from judgeloop.services.reward_training import train_project_reward

    settings = state(ctx).settings()
    with open_session(settings) as session, _bar() as bar:
        task = bar.add_task("preparing", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        trained = train_project_reward(
            session,
            project=get_project(session, project),
            name=name,
            root=settings.data_dir / "reward_models",
            config=RewardCpuConfig(fine_tune=fine_tune, epochs=epochs),
            filters=TrainingFilters(min_agreement=min_agreement),
            test_fraction=test_fraction,
            max_pairs=max_pairs,
            on_progress=progress,
            actor=acting_user(session, as_user),
        )
    accuracy = f"{trained.accuracy:.1%}" if trained.accuracy is not None else "n/a"
    console.print(
        f"{trained.model.name}: held-out pairwise accuracy {accuracy} on {trained.test_pairs} "
        f"pairs (trained on {trained.train_pairs}); saved in {trained.path}"
    )


@app.command("list")
@reports_errors
def list_cli(ctx: typer.Context) -> None:
    """List registered reward models with their held-out accuracy and calibration."""
    from judgeloop.services.learning import list_reward_models

    with open_session(state(ctx).settings()) as session:
        models = list_reward_models(session)
    table = Table("name", "kind", "train", "test", "accuracy", "ECE", "path")
    for m in models:
        acc = f"{m.accuracy:.3f}" if m.accuracy is not None else ""
        ece = f"{m.calibration_error:.3f}" if m.calibration_error is not None else ""
        table.add_row(m.name, m.kind, str(m.train_pairs), str(m.test_pairs), acc, ece, m.path)
    console.print(table)


@app.command("best-of-n")
@reports_errors
def best_of_n_cli(
    ctx: typer.Context,
    project: str,
    reward_model: Annotated[str, typer.Option(help="A registered reward model (name@vN).")],
    from_model: Annotated[
        list[str], typer.Option("--from", help="Versions whose answers compete.")
    ],
    name: Annotated[str | None, typer.Option(help="Name of the new version.")] = None,
    as_user: AsOption = None,
) -> None:
    """Keep each item's answer the reward model scores highest, as a new model version."""
    from judgeloop.services.best_of_n import best_of_n

    with open_session(state(ctx).settings()) as session, _bar() as bar:
        task = bar.add_task("scoring", total=None)
        picks = best_of_n(
            session,
            project=get_project(session, project),
            reward_model=reward_model,
            from_models=from_model,
            name=name,
            actor=acting_user(session, as_user),
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    shares = ", ".join(f"{m} {n}" for m, n in sorted(picks.picked_from.items()))
    console.print(
        f"{picks.version.name}: {picks.items} items ({picks.added} new picks); from {shares}"
    )
