"""`judgeloop import` and `judgeloop export`: data in and out, with Rich progress bars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from judgeloop.cli.context import acting_user, console, open_session, reports_errors, state
from judgeloop.errors import InvalidInput
from judgeloop.export.mapping import ColumnMapping
from judgeloop.questions.base import pydantic_errors
from judgeloop.services.projects import get_project

LIST_FIELDS = {"answers", "models", "model_columns", "candidate_keys", "metadata"}


def parse_mapping(pairs: list[str], mapping_json: str | None) -> ColumnMapping:
    """Build a ColumnMapping from `--mapping JSON` and `--map field=column[,column]` pairs."""
    raw: dict[str, Any] = {}
    if mapping_json:
        text = Path(mapping_json[1:]).read_text() if mapping_json.startswith("@") else mapping_json
        try:
            raw.update(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--mapping is not valid JSON: {exc}") from None
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--map {pair!r}: expected field=column")
        field = field.strip()
        if field in LIST_FIELDS:
            raw[field] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            raw[field] = value.strip() or None
    try:
        return ColumnMapping.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("invalid column mapping", pydantic_errors(exc, "mapping")) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@reports_errors
def import_cli(
    ctx: typer.Context,
    project: str,
    file: Annotated[
        Path, typer.Argument(help="JSONL, CSV, Parquet, HF dataset folder, or LS JSON.")
    ],
    format: Annotated[
        str | None,
        typer.Option(help="jsonl, csv, parquet, hf or label-studio (default: from the name)."),
    ] = None,
    map: Annotated[
        list[str] | None,
        typer.Option("--map", help="field=column, e.g. prompt=instruction, answers=a,b."),
    ] = None,
    mapping: Annotated[
        str | None, typer.Option(help="The whole column mapping as JSON (or @file.json).")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the good rows; write rejected ones to --rejected.")
    ] = False,
    rejected: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: FILE.rejected.jsonl).")
    ] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user.")] = None,
) -> None:
    """Import items (prompts with candidate answers) into a project; all-or-nothing by default."""
    from judgeloop.services.imports import import_items, import_label_studio

    settings = state(ctx).settings()
    column_mapping = parse_mapping(map or [], mapping)
    if skip_invalid and rejected is None:
        rejected = file.with_name(file.name + ".rejected.jsonl")
    with open_session(settings) as session, _progress() as bar:
        task = bar.add_task(f"importing {file.name}", total=None)
        proj = get_project(session, project)
        actor = acting_user(session, as_user)
        kwargs: dict[str, Any] = {
            "project": proj,
            "actor": actor,
            "path": file,
            "mapping": column_mapping,
            "skip_invalid": skip_invalid,
            "rejected_path": rejected,
            "max_line_bytes": settings.import_max_line_bytes,
            "on_progress": lambda n: bar.update(task, completed=n),
        }
        if format == "label-studio":
            report = import_label_studio(session, **kwargs)
        else:
            report = import_items(session, format=format, **kwargs)
    console.print(
        f"read {report.rows_read} rows: {report.items_added} items added, "
        f"{report.duplicates} duplicates skipped, {report.rejected} rejected"
        + (f", {report.submissions_added} submissions added" if report.submissions_added else "")
    )
    if report.rejected_path:
        console.print(f"rejected rows with reasons: {report.rejected_path}")


@reports_errors
def export_cli(
    ctx: typer.Context,
    project: str,
    out: Annotated[Path, typer.Option(help="File (or folder, for hf) to write.")],
    what: Annotated[str, typer.Option(help="items, submissions or label-studio.")] = "submissions",
    format: Annotated[str, typer.Option(help="jsonl, parquet, hf or json.")] = "jsonl",
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user.")] = None,
) -> None:
    """Export a project's items or submissions (JSONL, Parquet, HF datasets, Label Studio)."""
    from judgeloop.services.exports import export_dataset

    with open_session(state(ctx).settings()) as session, _progress() as bar:
        task = bar.add_task(f"exporting {what}", total=None)
        record = export_dataset(
            session,
            project=get_project(session, project),
            actor=acting_user(session, as_user),
            what=what,
            format=format,
            path=out,
            on_progress=lambda n: bar.update(task, completed=n),
        )
    console.print(f"wrote {record.row_count} rows to {record.path} (sha256 {record.sha256[:12]}…)")
