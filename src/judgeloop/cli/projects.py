"""`judgeloop project create|list|show|presets|guidelines|member|items|item|submissions`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from judgeloop.cli.context import acting_user, console, open_session, reports_errors, state
from judgeloop.errors import InvalidInput
from judgeloop.questions.base import pydantic_errors
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services import items as item_service
from judgeloop.services import projects as project_service
from judgeloop.services.submissions import judgments_of, list_submissions

app = typer.Typer(help="Projects: create, inspect, guidelines, members.", no_args_is_help=True)
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this user (default: first admin).")
]


def _read_json(path: Path | None, what: str) -> list[Any]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {what} from {path}: {exc}") from None
    if not isinstance(data, list):
        raise InvalidInput(f"{what} in {path} must be a JSON list")
    return data


@app.command("create")
@reports_errors
def create_cli(
    ctx: typer.Context,
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    preset: Annotated[
        str | None, typer.Option(help="Task template (see `project presets`).")
    ] = None,
    questions: Annotated[
        Path | None, typer.Option(help="JSON file: a custom question list.")
    ] = None,
    rubric: Annotated[Path | None, typer.Option(help="JSON file: rubric dimensions.")] = None,
    guidelines: Annotated[Path | None, typer.Option(help="Markdown file of guidelines.")] = None,
    redundancy: Annotated[int, typer.Option(help="Judgments wanted per item.")] = 1,
    description: str = "",
    as_user: AsOption = None,
) -> None:
    """Create a project from a task template and/or a custom composition of questions."""
    try:
        data = ProjectCreate(
            slug=slug,
            name=name or slug,
            description=description,
            preset=preset,
            questions=_read_json(questions, "questions"),
            rubric=_read_json(rubric, "rubric"),
            guidelines=guidelines.read_text(encoding="utf-8") if guidelines else None,
            redundancy=redundancy,
        )
    except ValidationError as exc:
        raise InvalidInput("invalid project", pydantic_errors(exc)) from None
    with open_session(state(ctx).settings()) as session:
        owner = acting_user(session, as_user)
        project = project_service.create_project(session, owner=owner, data=data)
    console.print(
        f"created project {project.slug} (id {project.id}, {len(project.questions)} questions)"
    )


@app.command("list")
def list_cli(ctx: typer.Context, as_user: AsOption = None) -> None:
    """List projects with their progress."""
    table = Table("id", "slug", "name", "template", "items", "complete", "submissions", "state")
    with open_session(state(ctx).settings()) as session:
        for project in project_service.list_projects(session, user=acting_user(session, as_user)):
            p = project_service.project_progress(session, project=project)
            table.add_row(
                str(project.id),
                project.slug,
                project.name,
                project.preset or "custom",
                str(p.items),
                str(p.items_complete),
                str(p.submissions),
                project.state,
            )
    console.print(table)


@app.command("show")
@reports_errors
def show_cli(ctx: typer.Context, project: str) -> None:
    """Show a project's questions, rubric and progress."""
    with open_session(state(ctx).settings()) as session:
        proj = project_service.get_project(session, project)
        progress = project_service.project_progress(session, project=proj)
    console.print(f"[bold]{proj.name}[/bold] ({proj.slug}) template={proj.preset or 'custom'}")
    console.print(
        f"guidelines v{proj.guideline_version}, redundancy {proj.redundancy}, {proj.state}"
    )
    for q in proj.questions:
        per = " (per candidate)" if q.get("per_candidate") else ""
        console.print(f"  - {q['key']}: {q['kind']}{per} — {q['title']}", highlight=False)
    console.print_json(progress.model_dump_json())


@app.command("presets")
def presets_cli() -> None:
    """List the task templates a project can start from."""
    from judgeloop.presets import list_presets

    table = Table("name", "task type", "questions", "title")
    for preset in list_presets():
        table.add_row(preset.name, preset.task_type, str(len(preset.questions)), preset.title)
    console.print(table)


@app.command("guidelines")
@reports_errors
def guidelines_cli(
    ctx: typer.Context,
    project: str,
    file: Annotated[
        Path | None, typer.Option(help="Markdown file: becomes the new version.")
    ] = None,
    as_user: AsOption = None,
) -> None:
    """Print the current guidelines, or store a new version from a file."""
    with open_session(state(ctx).settings()) as session:
        proj = project_service.get_project(session, project)
        if file is None:
            console.print(
                project_service.list_guidelines(session, project=proj)[0].body, markup=False
            )
            return
        body = file.read_text(encoding="utf-8")
        author = acting_user(session, as_user)
        version = project_service.add_guideline_version(
            session, project=proj, author=author, body=body
        )
    console.print(f"guidelines version {version} is now current")


@app.command("member")
@reports_errors
def member_cli(
    ctx: typer.Context,
    project: str,
    email: str,
    role: Annotated[str, typer.Option(help="owner, reviewer or worker.")] = "worker",
) -> None:
    """Give a user a role in a project."""
    from judgeloop.services.accounts import get_user_by_email

    if role not in ("owner", "reviewer", "worker"):
        raise InvalidInput(f"role must be owner, reviewer or worker, not {role!r}")
    with open_session(state(ctx).settings()) as session:
        proj = project_service.get_project(session, project)
        user = get_user_by_email(session, email)
        project_service.add_member(session, project=proj, user=user, role=role)
    console.print(f"{email} is now {role} of {proj.slug}")


@app.command("items")
@reports_errors
def items_cli(
    ctx: typer.Context,
    project: str,
    after: Annotated[int, typer.Option(help="Show items with ids above this.")] = 0,
    limit: int = 20,
) -> None:
    """List a project's items with their candidates and submission counts."""
    table = Table("id", "external id", "prompt", "candidates", "submissions", "gold")
    with open_session(state(ctx).settings()) as session:
        proj = project_service.get_project(session, project)
        items = item_service.list_items(session, project_id=proj.id, after=after, limit=limit)
        ids = [i.id for i in items]
        cands = item_service.candidates_for(session, ids)
        counts = item_service.submission_counts(session, ids)
        for item in items:
            prompt = item.prompt or (item.messages or [{}])[-1].get("content", "")
            keys = ",".join(f"{c.key}:{m or '?'}" for c, m in cands.get(item.id, []))
            table.add_row(
                str(item.id),
                item.external_id or "",
                prompt[:60],
                keys,
                str(counts.get(item.id, 0)),
                "yes" if item.is_gold else "",
            )
    console.print(table)


@app.command("item")
@reports_errors
def item_cli(ctx: typer.Context, item_id: int) -> None:
    """Show one item in full, as JSON."""
    with open_session(state(ctx).settings()) as session:
        item = item_service.get_item(session, item_id)
        cands = item_service.candidates_for(session, [item.id]).get(item.id, [])
        out = {
            "id": item.id,
            "project_id": item.project_id,
            "external_id": item.external_id,
            "prompt": item.prompt,
            "messages": item.messages,
            "metadata": item.meta,
            "is_gold": item.is_gold,
            "candidates": [{"key": c.key, "text": c.text, "model": m} for c, m in cands],
        }
    console.print_json(json.dumps(out))


@app.command("submissions")
@reports_errors
def submissions_cli(ctx: typer.Context, project: str, after: int = 0, limit: int = 20) -> None:
    """List a project's submissions with their answers."""
    table = Table("id", "item", "worker", "guidelines", "seconds", "state", "answers")
    with open_session(state(ctx).settings()) as session:
        proj = project_service.get_project(session, project)
        subs = list_submissions(session, project_id=proj.id, after=after, limit=limit)
        answers = judgments_of(session, [s.id for s in subs])
        for s in subs:
            text = "; ".join(
                f"{j.question_key}{'.' + j.candidate_key if j.candidate_key else ''}="
                f"{json.dumps(j.value)}"
                for j in answers[s.id]
            )
            table.add_row(
                str(s.id),
                str(s.item_id),
                str(s.worker_id),
                f"v{s.guideline_version}",
                f"{s.seconds_spent:.0f}",
                s.state,
                text[:80],
            )
    console.print(table)
