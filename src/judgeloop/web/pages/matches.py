"""'Projects for you' in the browser: ``/matches``, and joining an open project."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict
from judgeloop.services.assessments import list_assessments
from judgeloop.services.matching import join_project, projects_for_you
from judgeloop.services.projects import get_project
from judgeloop.services.workforce import get_profile
from judgeloop.store.models import User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.projects import template_title
from judgeloop.web.pages.templating import page_router, render_page

router = page_router()


def _assessments_by_qualification(session: Session, user: User) -> dict[str, list[tuple[str, str]]]:
    """Qualification name -> the open assessments (slug, name) that grant it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for assessment in list_assessments(session, user=user):
        if assessment.is_active:
            out.setdefault(assessment.qualification, []).append((assessment.slug, assessment.name))
    return out


def _render(request: Request, session: Session, user: User, **extra: object) -> Response:
    status_code = int(str(extra.pop("status_code", 200)))
    matches = projects_for_you(session, worker=user)
    context = {
        "matches": matches,
        "templates": {m.project.id: template_title(m.project) for m in matches},
        "grants": _assessments_by_qualification(session, user),
        "has_profile": get_profile(session, user=user).id is not None,
        "joined": request.query_params.get("joined", ""),
        "error": "",
        **extra,
    }
    return render_page(request, "pages/matches.html", context, user=user, status_code=status_code)


@router.get("/matches")
def matches_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The projects for this worker: eligible first, then by fit and work available."""
    return _render(request, session, user)


@router.post("/matches/{slug}/join")
def join_project_page(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """Join an open project the worker is eligible for, then show the list again."""
    try:
        join_project(session, project=get_project(session, slug), worker=user)
    except Conflict as exc:
        return _render(request, session, user, error=exc.message, status_code=409)
    return RedirectResponse(f"/matches?joined={slug}", status_code=303)
