"""`judgeloop models add|list`, `judgeloop generate` and `judgeloop judge`, with progress bars."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

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

from judgeloop.cli.context import console, err_console, open_session, reports_errors, state
from judgeloop.errors import InvalidInput

app = typer.Typer(help="Model versions judgeloop can call.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add `models`, `generate` and `judge` to the root command."""
    root.add_typer(app, name="models")
    root.command("generate")(generate_cli)
    root.command("judge")(judge_cli)


def parse_params(pairs: list[str], params_json: str | None) -> dict[str, Any]:
    """Build model parameters from `--params JSON` and `--param key=value` (JSON values)."""
    params: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--params is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise InvalidInput("--params must be a JSON object")
        params.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param {pair!r}: expected key=value")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


@app.command("add")
@reports_errors
def add_cli(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Unique name of the version, e.g. llama3-sft-v2.")],
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1.")
    ] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Model name the endpoint expects (default: NAME).")
    ] = None,
    local_path: Annotated[
        Path | None, typer.Option(help="A local transformers model directory instead.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="key=value (JSON value): temperature=0.7, price_per_1k=0.5."),
    ] = None,
    params: Annotated[str | None, typer.Option(help="All parameters as a JSON object.")] = None,
    system_prompt: Annotated[str, typer.Option(help="System prompt sent first.")] = "",
    api_key_env: Annotated[
        str | None, typer.Option(help="NAME of the environment variable holding the API key.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 60.0,
    parent: Annotated[str | None, typer.Option(help="Version this one was trained from.")] = None,
) -> None:
    """Register a model version: an OpenAI-compatible endpoint or a local model directory."""
    from judgeloop.services.model_versions import register_model

    config: dict[str, Any] = {
        "kind": "transformers" if local_path else "openai",
        "params": parse_params(param or [], params),
        "system_prompt": system_prompt,
        "api_key_env": api_key_env,
        "timeout_s": timeout,
    }
    if local_path:
        config["local_path"] = str(local_path.resolve())
    else:
        config.update(base_url=base_url, model=model_name or name)
    with open_session(state(ctx).settings()) as session:
        found = register_model(session, name=name, config=config, parent=parent)
    console.print(f"registered model {found.version.name} (id {found.version.id})")


@app.command("list")
def list_cli(ctx: typer.Context) -> None:
    """List model versions with their endpoints and lineage."""
    from judgeloop.services.model_versions import list_models

    table = Table("id", "name", "kind", "endpoint", "parent", "params")
    with open_session(state(ctx).settings()) as session:
        models = list_models(session)
    names = {m.version.id: m.version.name for m in models}
    for m in models:
        ep = m.endpoint
        where = "" if ep is None else (ep.local_path or f"{ep.base_url or 'openai'} {ep.model}")
        table.add_row(
            str(m.version.id),
            m.version.name,
            ep.kind if ep else m.version.provider,
            where,
            names.get(m.version.parent_id or 0, ""),
            json.dumps(m.version.params) if m.version.params else "",
        )
    console.print(table)


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


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so a stopped run leaves its batches stored."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted() -> typer.Exit:
    err_console.print("stopped: every finished call is stored; run the command again to resume")
    return typer.Exit(130)


@reports_errors
def generate_cli(
    ctx: typer.Context,
    project: str,
    model: Annotated[list[str], typer.Option(help="Registered model version (repeatable).")],
    samples: Annotated[int, typer.Option(help="Answers per item and model.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Calls in flight at once.")] = 8,
    max_attempts: Annotated[int, typer.Option(help="Tries per call, retries included.")] = 5,
    retry_failed: Annotated[bool, typer.Option(help="Try calls that failed before.")] = True,
    include_gold: Annotated[bool, typer.Option(help="Generate for gold items too.")] = False,
) -> None:
    """Generate candidate answers for a project's items; a second run resumes."""
    from judgeloop.llm.retry import RetryPolicy
    from judgeloop.services.generation import GenerationReport, generate_answers
    from judgeloop.services.projects import get_project

    def show(report: GenerationReport) -> None:
        status = f"ok {report.ok} failed {report.failed} tokens {report.completion_tokens}"
        bar.update(task, total=report.total, completed=report.done, status=status)

    with open_session(state(ctx).settings()) as session, _progress() as bar, _stop_on_sigterm():
        task = bar.add_task(f"generating for {project}", total=None, status="")
        proj = get_project(session, project)
        try:
            report = generate_answers(
                session,
                project_id=proj.id,
                models=model,
                samples=samples,
                concurrency=concurrency,
                retry=RetryPolicy(max_attempts=max_attempts),
                retry_failed=retry_failed,
                include_gold=include_gold,
                on_progress=show,
            )
        except KeyboardInterrupt:
            raise _interrupted() from None
    table = Table("calls", "ok", "failed", "resumed", "requests", "tokens in/out", "cost", "time")
    table.add_row(
        str(report.total),
        str(report.ok),
        str(report.failed),
        str(report.skipped),
        str(report.requests),
        f"{report.prompt_tokens}/{report.completion_tokens}",
        f"{report.cost:.4f}",
        f"{report.wall_s:.1f} s",
    )
    console.print(table)


@reports_errors
def judge_cli(
    ctx: typer.Context,
    project: str,
    model: Annotated[str, typer.Option(help="Registered model version that judges.")],
    swap: Annotated[bool, typer.Option(help="Show the answers in reverse order (A<->B).")] = False,
    concurrency: Annotated[int, typer.Option(help="Items judged at once.")] = 8,
    max_fixes: Annotated[int, typer.Option(help="Times a bad reply is sent back.")] = 2,
    redo: Annotated[bool, typer.Option(help="Judge again items judged before.")] = False,
    prioritize: Annotated[
        bool, typer.Option(help="Afterwards, send items where the two runs differ first.")
    ] = False,
) -> None:
    """Have an LLM judge answer a project's questions; answers are kept apart from people's."""
    from judgeloop.services.judge import JudgeReport, judge_project, prioritize_unsure_items
    from judgeloop.services.projects import get_project

    def show(report: JudgeReport) -> None:
        status = f"ok {report.ok} unparseable {report.unparseable} failed {report.failed}"
        bar.update(task, total=report.total, completed=report.done, status=status)

    with open_session(state(ctx).settings()) as session, _progress() as bar, _stop_on_sigterm():
        task = bar.add_task(f"judging {project}", total=None, status="")
        proj = get_project(session, project)
        try:
            report = judge_project(
                session,
                project_id=proj.id,
                model=model,
                swapped=swap,
                concurrency=concurrency,
                max_fixes=max_fixes,
                redo=redo,
                on_progress=show,
            )
        except KeyboardInterrupt:
            raise _interrupted() from None
        unsure = (
            prioritize_unsure_items(session, project_id=proj.id, model=model)
            if prioritize
            else None
        )
    console.print(
        f"judged {report.done} items{' (swapped)' if swap else ''}: {report.ok} ok, "
        f"{report.unparseable} unparseable, {report.failed} failed, {report.skipped} resumed, "
        f"{report.not_ready} with too few answers; "
        f"tokens {report.prompt_tokens}/{report.completion_tokens}, cost {report.cost:.4f}"
    )
    if unsure is not None:
        console.print(f"{len(unsure)} items where the judge disagrees with itself now go first")
