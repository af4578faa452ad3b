"""Project pages: the list of a user's projects and one project's overview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from judgeloop.errors import JudgeloopError
from judgeloop.schemas.projects import ProgressRead
from judgeloop.services.projects import (
    list_guidelines,
    list_projects,
    member_role,
    project_progress,
)
from judgeloop.services.reviews import flag_summary, submission_state_counts
from judgeloop.store.models import Project, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import PROJECT_CREATORS, ROLE_PERMS, Perm, ProjectAccess, project_access

router = page_router()

LATEST_FLAGS = 10
FLAG_LABELS = {
    "broken_prompt": "Broken prompt",
    "personal_data": "Personal data",
    "harmful_content": "Harmful content",
    "other": "Other",
}


@dataclass(frozen=True)
class QuestionView:
    """What the project page shows of one question."""

    key: str
    kind: str
    title: str
    help: str
    required: bool
    per_candidate: bool
    explanation: str
    scale: tuple[int, int] | None = None
    dimension: str = ""
    dimension_name: str = ""
    levels: list[tuple[int, str]] = field(default_factory=list)
    options: list[dict[str, str]] = field(default_factory=list)
    multiple: bool = False


@dataclass(frozen=True)
class ProjectRow:
    """One line of the projects list."""

    project: Project
    role: str
    template: str
    progress: ProgressRead | None


def _levels(raw: dict[Any, Any]) -> list[tuple[int, str]]:
    """Score levels (JSON keys are strings) as (score, description), lowest score first."""
    return sorted((int(score), str(text)) for score, text in raw.items())


def question_view(raw: dict[str, Any], dimension_names: dict[str, str]) -> QuestionView:
    """Turn a stored question spec into what the page shows.

    Args:
        raw: The question spec as stored on the project.
        dimension_names: Rubric dimension key -> name, for rating questions that use one.

    Returns:
        The view of the question.
    """
    config: dict[str, Any] = raw.get("config") or {}
    dimension = str(config.get("dimension") or "")
    scale = None
    if raw["kind"] == "rating":
        scale = (int(config.get("min", 1)), int(config.get("max", 5)))
    options = [
        {"label": str(o.get("label", "")), "description": str(o.get("description", ""))}
        for o in config.get("options") or []
        if isinstance(o, dict)
    ]
    return QuestionView(
        key=raw["key"],
        kind=raw["kind"],
        title=raw["title"],
        help=raw.get("help", ""),
        required=bool(raw.get("required", True)),
        per_candidate=bool(raw.get("per_candidate", False)),
        explanation=raw.get("explanation", "none"),
        scale=scale,
        dimension=dimension if dimension in dimension_names else "",
        dimension_name=dimension_names.get(dimension, ""),
        levels=_levels(config.get("levels") or {}),
        options=options,
        multiple=bool(config.get("multiple", False)),
    )


def rubric_view(rubric: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rubric dimensions with their levels sorted by score."""
    return [
        {
            "key": dim["key"],
            "name": dim["name"],
            "description": dim.get("description", ""),
            "levels": _levels(dim.get("levels") or {}),
        }
        for dim in rubric
    ]


def template_title(project: Project) -> str:
    """The human name of the project's task template ('Custom' without one)."""
    if not project.preset:
        return "Custom"
    from judgeloop.presets import get_preset

    try:
        return get_preset(project.preset).title
    except JudgeloopError:
        return project.preset


def _project_rows(session: Session, user: User) -> list[ProjectRow]:
    rows = []
    for project in list_projects(session, user=user):
        role = member_role(session, project=project, user=user) or "worker"
        sees_progress = Perm.READ_PROGRESS in ROLE_PERMS.get(role, frozenset())
        progress = project_progress(session, project=project) if sees_progress else None
        rows.append(ProjectRow(project, role, template_title(project), progress))
    return rows


@router.get("/projects")
def projects_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """List the projects the user may see, with their progress where the role allows."""
    context = {"rows": _project_rows(session, user), "can_create": user.role in PROJECT_CREATORS}
    return render_page(request, "pages/projects.html", context, user=user)


def dashboard(session: Session, access: ProjectAccess) -> dict[str, Any]:
    """What the project page adds for owners, admins and reviewers: progress, reviews, flags.

    Args:
        session: Database session.
        access: The caller's access to the project.

    Returns:
        ``progress``, ``states`` (submissions per state) and ``flags`` (a FlagSummary);
        None for each when the caller's role does not see progress.
    """
    if not access.can(Perm.READ_PROGRESS):
        return {"progress": None, "states": None, "flags": None}
    project = access.project
    return {
        "progress": project_progress(session, project=project),
        "states": submission_state_counts(session, project=project),
        "flags": flag_summary(session, project=project, latest=LATEST_FLAGS),
    }


@router.get("/projects/{slug}")
def project_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Show one project: template, questions, rubric, current guidelines and progress."""
    access = project_access(session, user=user, ref=slug)
    context = _project_context(session, access)
    return render_page(request, "pages/project.html", context, user=user)


def _project_context(session: Session, access: ProjectAccess) -> dict[str, Any]:
    project = access.project
    versions = list_guidelines(session, project=project)
    current = next((g for g in versions if g.version == project.guideline_version), None)
    names = {str(d["key"]): str(d["name"]) for d in project.rubric}
    return {
        "project": project,
        "role": access.role,
        "template": template_title(project),
        "questions": [question_view(q, names) for q in project.questions],
        "rubric": rubric_view(project.rubric),
        "guidelines": current,
        **dashboard(session, access),
        "flag_labels": FLAG_LABELS,
        "can_import": access.can(Perm.IMPORT),
        "can_edit_guidelines": access.can(Perm.EDIT_GUIDELINES),
        "can_review": access.can(Perm.READ_ALL_SUBMISSIONS),
    }
