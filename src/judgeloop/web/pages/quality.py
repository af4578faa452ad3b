"""Quality pages: the owner's quality dashboard and the reviewers' audit queue.

- ``GET /projects/{slug}/quality``: agreement per question with confidence intervals,
  the reliability table (flagged workers first, a Suspend form with a reason for
  owners), behaviour flags and the model leaderboard (reviewers read it all; only
  owners and admins act).
- ``GET /projects/{slug}/quality/leaderboard.svg``: the leaderboard plotted on the
  server (``image/svg+xml``, its own script-free policy).
- ``POST /projects/{slug}/quality/aggregate``, ``.../suspend``, ``.../lift``.
- ``GET /projects/{slug}/audits`` and ``POST /projects/{slug}/audits/sample``: the
  audit queue; each entry opens the usual review page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, Forbidden, InvalidInput
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.audits import audit_counts, audit_queue, reviewer_agreement, sample_audits
from judgeloop.services.consensus import METHODS, aggregate_project
from judgeloop.services.judgment_data import PAIR_KINDS
from judgeloop.services.leaderboard import model_leaderboard
from judgeloop.services.qc import (
    agreement_rows,
    behaviour_flags,
    lift_suspension,
    reliability_table,
    suspend_worker,
)
from judgeloop.store.models import ConsensusResult, User, WorkerReliability
from judgeloop.web.api.quality_views import agreement_read, reliability_read
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.quality_plot import SVG_CSP, leaderboard_svg
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()

PAGE_BOOTSTRAP = 300
SVG_BOOTSTRAP = 200
FLAG_LABELS = {
    "too_fast": "Too fast",
    "straight_lining": "Straight-lining",
    "copied_explanation": "Copied explanation",
    "repeated_explanation": "Repeated explanation",
    "pasted_from_answer": "Pasted from the answer",
    "retest": "Inconsistent on repeats",
}
NOTICES = {
    "aggregated": "Consensus computed for every item and question.",
    "suspended": "The worker is suspended; they see your reason and get no new task.",
    "lifted": "The suspension is lifted.",
}


def has_leaderboard(access: ProjectAccess) -> bool:
    """Whether the project asks preferences or rankings and the caller may see models."""
    kinds = {QuestionSpec.model_validate(q).kind for q in access.project.questions}
    return bool(kinds & PAIR_KINDS) and access.sees_models


def _last_run(session: Session, project_id: int) -> Any:
    return session.scalar(
        select(func.max(ConsensusResult.computed_at)).where(
            ConsensusResult.project_id == project_id
        )
    ) or session.scalar(
        select(func.max(WorkerReliability.computed_at)).where(
            WorkerReliability.project_id == project_id
        )
    )


def _quality_context(session: Session, access: ProjectAccess) -> dict[str, Any]:
    project = access.project
    behaviour = behaviour_flags(session, project=project)
    table = reliability_table(session, project=project, behaviour=behaviour)
    names = {row.worker.id: row.worker.name or row.worker.email for row in table}
    board = None
    if has_leaderboard(access):
        board = model_leaderboard(session, project=project, n_bootstrap=PAGE_BOOTSTRAP)
    return {
        "project": project,
        "can_manage": access.can(Perm.UPDATE_PROJECT),
        "agreement": [
            agreement_read(r)
            for r in agreement_rows(session, project=project, n_bootstrap=PAGE_BOOTSTRAP)
        ],
        "reliability": [(reliability_read(r), r.suspension) for r in table],
        "behaviour": behaviour,
        "names": names,
        "flag_labels": FLAG_LABELS,
        "leaderboard": board,
        "last_run": _last_run(session, project.id),
        "methods": METHODS,
        "errors": {},
        "form": {"worker_id": "", "reason": ""},
        "notice": "",
    }


@router.get("/projects/{slug}/quality")
def quality_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """The quality dashboard: agreement, reliability, behaviour flags and the leaderboard."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_PROGRESS)
    context = _quality_context(session, access)
    context["notice"] = NOTICES.get(request.query_params.get("done", ""), "")
    return render_page(request, "pages/quality.html", context, user=user)


@router.get("/projects/{slug}/quality/leaderboard.svg")
def leaderboard_plot(slug: str, session: DbSession, user: CurrentUser) -> Response:
    """The leaderboard as an SVG image, rendered on the server."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_PROGRESS)
    if not access.sees_models:
        raise Forbidden("this project hides model names from reviewers")
    board = model_leaderboard(session, project=access.project, n_bootstrap=SVG_BOOTSTRAP)
    headers = {"Content-Security-Policy": SVG_CSP, "Cache-Control": "no-store"}
    return Response(leaderboard_svg(board), media_type="image/svg+xml", headers=headers)


@router.post("/projects/{slug}/quality/aggregate")
def aggregate_page(
    slug: str, session: DbSession, user: CurrentUser, method: Annotated[str, Form()] = "default"
) -> Response:
    """Compute the consensus (and the reliability snapshot) now; back to the dashboard."""
    access = project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)
    aggregate_project(session, project=access.project, method=method, actor=user)
    return RedirectResponse(f"/projects/{slug}/quality?done=aggregated", status_code=303)


@router.post("/projects/{slug}/quality/suspend")
def suspend_page(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    worker_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Suspend a worker with a reason they will read; a missing reason is shown by its field."""
    access = project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)
    try:
        suspend_worker(
            session, project=access.project, worker_id=worker_id, actor=user, reason=reason
        )
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        context = _quality_context(session, access)
        rows = exc.rows if isinstance(exc, InvalidInput) else []
        context["errors"] = {r.field: r.reason for r in rows} or {"reason": exc.message}
        context["form"] = {"worker_id": worker_id, "reason": reason}
        return render_page(request, "pages/quality.html", context, user=user, status_code=422)
    return RedirectResponse(f"/projects/{slug}/quality?done=suspended", status_code=303)


@router.post("/projects/{slug}/quality/lift")
def lift_page(
    slug: str,
    session: DbSession,
    user: CurrentUser,
    worker_id: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Lift a worker's suspension."""
    access = project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)
    lift_suspension(session, project=access.project, worker_id=worker_id, actor=user, note=note)
    return RedirectResponse(f"/projects/{slug}/quality?done=lifted", status_code=303)


def _audit_context(session: Session, access: ProjectAccess, user: User) -> dict[str, Any]:
    project = access.project
    return {
        "project": project,
        "queue": audit_queue(session, project=project, reviewer=user),
        "counts": audit_counts(session, project=project),
        "agreement": reviewer_agreement(session, project=project),
        "notice": "",
    }


@router.get("/projects/{slug}/audits")
def audits_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """The reviewer's audit queue: sampled submissions waiting for their review."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_ALL_SUBMISSIONS)
    context = _audit_context(session, access, user)
    sampled = request.query_params.get("sampled")
    if sampled is not None and sampled.isdigit():
        context["notice"] = f"{sampled} submissions were added to the audit queue."
    return render_page(request, "pages/audits.html", context, user=user)


@router.post("/projects/{slug}/audits/sample")
def sample_page(slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Sample unreviewed submissions into the audit queue."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_ALL_SUBMISSIONS)
    picks = sample_audits(session, project=access.project, actor=user)
    return RedirectResponse(f"/projects/{slug}/audits?sampled={len(picks)}", status_code=303)
