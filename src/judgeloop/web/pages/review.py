"""Reviewer pages, and the worker's feedback page.

- ``GET /projects/{slug}/submissions``: the project's submissions, newest first,
  filtered by state (reviewers, owners and admins).
- ``GET /review/submissions/{id}``: the item as the worker saw it (candidates in the
  order shown, model names hidden when the project hides them), the answers given with
  what each score level means, the explanations, the time spent and the guideline
  version; earlier reviews; the review form.
- ``POST /review/submissions/{id}``: accept, or reject with written feedback.
- ``GET /work/feedback``: a worker's reviewed submissions with the reviewers' feedback.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.items import candidates_for, get_item
from judgeloop.services.reviews import (
    list_reviews_for_worker,
    list_submissions_for_review,
    review_submission,
    reviews_of,
    submission_state_counts,
)
from judgeloop.services.submissions import get_submission, judgments_of
from judgeloop.store.models import Project, Submission, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.code_run_views import NOTICES as CODE_RUN_NOTICES
from judgeloop.web.pages.code_run_views import code_run_context
from judgeloop.web.pages.review_views import answered_questions
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work_views import ItemView, build_item_view
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()

PAGE_SIZE = 50
STATE_FILTERS = [
    ("", "All"),
    ("submitted", "Awaiting review"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
]


class ReviewForm(BaseModel):
    """The fields of the review form."""

    verdict: str = ""
    feedback: str = ""


@router.get("/projects/{slug}/submissions")
def submissions_page(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    state: str = "",
    before: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """List the project's submissions, newest first, filtered by state."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_ALL_SUBMISSIONS)
    context = _list_context(session, access.project, state, before)
    return render_page(request, "pages/review_list.html", context, user=user)


def _list_context(session: Session, project: Project, state: str, before: int) -> dict[str, Any]:
    rows = list_submissions_for_review(
        session, project=project, state=state or None, before=before, limit=PAGE_SIZE
    )
    return {
        "project": project,
        "rows": rows,
        "state": state,
        "filters": STATE_FILTERS,
        "counts": submission_state_counts(session, project=project),
        "older": rows[-1].submission.id if len(rows) == PAGE_SIZE else None,
    }


def _review_access(
    session: Session, user: User, submission_id: int
) -> tuple[Submission, ProjectAccess]:
    """The submission and the caller's access, when the caller may review it."""
    submission = get_submission(session, submission_id)
    try:
        access = project_access(session, user=user, ref=submission.project_id)
    except NotFound:
        raise NotFound(f"no submission {submission_id}") from None
    return submission, access.require(Perm.READ_ALL_SUBMISSIONS)


def worker_view(session: Session, project: Project, submission: Submission) -> ItemView:
    """The item of a submission as its worker saw it: same candidate order, same labels.

    Args:
        session: Database session.
        project: The submission's project.
        submission: The submission.

    Returns:
        The item view (model names only where the project shows them to workers).
    """
    item = get_item(session, submission.item_id)
    candidates = candidates_for(session, [item.id]).get(item.id, [])
    shuffled = bool(project.settings.get("shuffle_candidates"))
    seed = submission.assignment_id if shuffled else None
    return build_item_view(
        item, candidates, show_models=not project.hide_model_identity, shuffle_seed=seed
    )


def _next_pending(session: Session, project: Project, user: User, current: int) -> int | None:
    rows = list_submissions_for_review(session, project=project, state="submitted", limit=20)
    found = (r.submission.id for r in rows if r.submission.id != current)
    return next((sid for sid in found if session.get(Submission, sid).worker_id != user.id), None)  # type: ignore[union-attr]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


def _review_context(
    session: Session, access: ProjectAccess, submission: Submission, user: User
) -> dict[str, Any]:
    project = access.project
    item = worker_view(session, project, submission)
    specs = [QuestionSpec.model_validate(q) for q in project.questions]
    judgments = judgments_of(session, [submission.id])[submission.id]
    reviews = reviews_of(session, submission_id=submission.id)
    return {
        "project": project,
        "submission": submission,
        "item": item,
        "show_models": not project.hide_model_identity,
        "questions": answered_questions(specs, judgments, item),
        "reviews": reviews,
        "names": _names(session, {submission.worker_id} | {r.reviewer_id for r in reviews}),
        "own": submission.worker_id == user.id,
        "next_id": _next_pending(session, project, user, submission.id),
        "form": ReviewForm(),
        "errors": {},
        "notice": "",
    } | code_run_context(
        session,
        project=project,
        item=get_item(session, submission.item_id),
        questions=specs,
        action=f"/review/submissions/{submission.id}/code-runs",
    )


@router.get("/review/submissions/{submission_id:int}")
def review_page(
    request: Request, submission_id: int, session: DbSession, user: CurrentUser
) -> Response:
    """Show a submission as its worker saw it, with the answers and the review form."""
    submission, access = _review_access(session, user, submission_id)
    context = _review_context(session, access, submission, user)
    if request.query_params.get("reviewed"):
        context["notice"] = f"Saved: the submission is {submission.state}."
    if "code_runs" in context:
        ran = request.query_params.get("code_run", "")
        context["code_run_notice"] = CODE_RUN_NOTICES.get(ran, "")
    return render_page(request, "pages/review_submission.html", context, user=user)


@router.post("/review/submissions/{submission_id:int}")
def review_submission_(
    request: Request,
    submission_id: int,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[ReviewForm, Form()],
) -> Response:
    """Accept or reject the submission; a rejection needs feedback (shown by its field)."""
    submission, access = _review_access(session, user, submission_id)
    errors = _save_review(session, submission, user, form)
    if not errors:
        return RedirectResponse(f"/review/submissions/{submission.id}?reviewed=1", 303)
    context = {**_review_context(session, access, submission, user), "form": form}
    context["errors"] = errors
    return render_page(request, "pages/review_submission.html", context, user=user, status_code=422)


def _save_review(
    session: Session, submission: Submission, user: User, form: ReviewForm
) -> dict[str, str]:
    """Store the review; return field -> message instead when the input is wrong."""
    try:
        review_submission(
            session,
            submission_id=submission.id,
            reviewer=user,
            verdict=form.verdict,
            feedback=form.feedback,
        )
    except InvalidInput as exc:
        session.rollback()
        return {row.field: row.reason for row in exc.rows} or {"feedback": exc.message}
    return {}


@router.get("/work/feedback")
def my_feedback(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Show the signed-in worker the reviews of their submissions, newest first."""
    rows = list_reviews_for_worker(session, worker=user)
    return render_page(request, "pages/my_feedback.html", {"rows": rows}, user=user)
