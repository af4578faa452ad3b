"""`judgeloop rounds start|list|report|freeze`: run the loop's rounds from the shell."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.cli.context import acting_user, console, open_session, reports_errors, state
from judgeloop.errors import InvalidInput, RowError
from judgeloop.services.best_of_n import version_answers
from judgeloop.services.model_versions import get_model
from judgeloop.services.projects import get_project
from judgeloop.services.round_report import RoundReport, round_report
from judgeloop.services.rounds import RoundPrompt, freeze_round, get_round, list_rounds, start_round
from judgeloop.store.models import ModelVersion

app = typer.Typer(
    help="Rounds: blind A/B of a new model version against the last.", no_args_is_help=True
)
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this user (default: first admin).")
]


def _jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """Read JSON lines, reporting every bad line with its number."""
    rows, errors = [], []
    with path.open(encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                errors.append(RowError(line, "", f"not JSON: {exc.msg}"))
                continue
            missing = [k for k in required if not isinstance(row, dict) or not row.get(k)]
            if missing:
                errors.append(RowError(line, missing[0], "missing or empty"))
            else:
                rows.append(row)
    if errors:
        raise InvalidInput(f"{path.name} has bad lines", rows=errors)
    return rows


@app.command("start")
@reports_errors
def start_cli(
    ctx: typer.Context,
    project: str,
    model: Annotated[str, typer.Option(help="The new model version (registered).")],
    prompts: Annotated[Path, typer.Option(help='JSONL: {"prompt", "source"?, "tag"?} per line.')],
    answers: Annotated[
        Path | None,
        typer.Option(
            help='JSONL: {"model", "prompt", "text"} per line (default: the answers both '
            "versions already gave in judgeloop: imported, generated or best-of-n picks)."
        ),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Version to beat (default: the last round's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the side each answer is shown on.")] = 0,
    as_user: AsOption = None,
) -> None:
    """Freeze the open round and start the next: one blind A/B task per prompt."""
    prompt_rows = _jsonl(prompts, ("prompt",))
    answer_rows = _jsonl(answers, ("model", "prompt", "text")) if answers else None
    with open_session(state(ctx).settings()) as session:
        proj = get_project(session, project)
        new = get_model(session, model).version
        base = get_model(session, baseline).version if baseline else None
        started = start_round(
            session,
            project=proj,
            actor=acting_user(session, as_user),
            model=new,
            baseline=base,
            prompts=[
                RoundPrompt(r["prompt"], r.get("source", "fresh"), r.get("tag", ""))
                for r in prompt_rows
            ],
            answers=_answers(session, answer_rows, [r["prompt"] for r in prompt_rows]),
            seed=seed,
        )
    frozen = f"; round {started.frozen_previous} frozen" if started.frozen_previous else ""
    console.print(
        f"round {started.round.number}: {started.created} blind A/B items "
        f"({started.duplicates} already in the project){frozen}"
    )


def _answers(
    session: Session, rows: list[dict[str, Any]] | None, prompts: list[str]
) -> Mapping[tuple[int, str], str]:
    """Answers from the file, or (without one) every answer judgeloop holds for the prompts.

    Imported and generated candidates and best-of-n picks all count; `start_round` takes
    the two versions' answers from them and names any prompt one of them lacks.
    """
    if rows is not None:
        ids = {name: get_model(session, name).version.id for name in {r["model"] for r in rows}}
        return {(ids[r["model"]], r["prompt"]): r["text"] for r in rows}
    versions = list(session.scalars(select(ModelVersion)))
    return version_answers(session, versions=versions, prompts=prompts)


@app.command("list")
@reports_errors
def list_cli(ctx: typer.Context, project: str) -> None:
    """List a project's rounds."""
    with open_session(state(ctx).settings()) as session:
        rounds = list_rounds(session, project=get_project(session, project))
    table = Table("round", "state", "created", "frozen")
    for r in rounds:
        table.add_row(
            str(r.number),
            r.state,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.frozen_at:%Y-%m-%d %H:%M}" if r.frozen_at else "",
        )
    console.print(table)


def _print_report(report: RoundReport) -> None:
    h = report.human
    versions = f"{report.model} vs {report.baseline}"
    console.print(f"round {report.round} ({report.state}): {versions}, {report.items} items")
    if h.win_rate is not None:
        record = f"{h.wins} wins, {h.losses} losses, {h.ties} ties"
        console.print(f"human win-rate {h.win_rate:.1f}% [{h.low:.1f}, {h.high:.1f}] ({record})")
    for name, w in report.judges.items():
        console.print(f"LLM judge {name}: {w.win_rate:.1f}% [{w.low:.1f}, {w.high:.1f}]")
    table = Table("dimension", str(report.model), str(report.baseline), "change")
    for d in report.dimensions:
        table.add_row(
            d.question,
            str(d.new_mean),
            str(d.baseline_mean),
            f"{d.delta:+.2f}" if d.delta is not None else "",
        )
    if report.dimensions:
        console.print(table)


@app.command("report")
@reports_errors
def report_cli(ctx: typer.Context, project: str, number: int) -> None:
    """Show a round's report: win-rates with 95% intervals and rubric changes."""
    with open_session(state(ctx).settings()) as session:
        round_ = get_round(session, project=get_project(session, project), number=number)
        _print_report(round_report(session, round_=round_))


@app.command("freeze")
@reports_errors
def freeze_cli(ctx: typer.Context, project: str, number: int, as_user: AsOption = None) -> None:
    """Freeze a round: its items take no new work; its summary is kept."""
    with open_session(state(ctx).settings()) as session:
        round_ = get_round(session, project=get_project(session, project), number=number)
        freeze_round(session, round_=round_, actor=acting_user(session, as_user))
    console.print(f"round {number} is frozen")
