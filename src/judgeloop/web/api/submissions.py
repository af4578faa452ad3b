"""Submissions: ``POST /submissions`` (the API's door to ``submit_judgment``) and reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import (
    JudgmentRead,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
)
from judgeloop.services.submissions import judgments_of, list_submissions, submit_judgment
from judgeloop.store.models import Submission
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, item_access, project_access, submission_access

router = APIRouter(tags=["submissions"])


@router.post(
    "/submissions",
    response_model=SubmissionRead,
    status_code=201,
    responses={200: {"model": SubmissionRead, "description": "Replayed: same submission_key"}},
)
def submit_judgment_(
    data: SubmissionCreate, user: CurrentUser, session: DbSession, response: Response
) -> SubmissionRead:
    """Store a worker's answers to one item.

    Answers 201 when stored now, and 200 with the stored submission (``created`` false)
    when a post with the same ``submission_key`` was stored before: retrying is safe.
    """
    item_access(session, user=user, item_id=data.item_id, perm=Perm.SUBMIT)
    submission, created = submit_judgment(session, worker=user, data=data, source="api")
    response.status_code = 201 if created else 200
    return submission_reads(session, [submission], created=created)[0]


@router.get("/projects/{ref}/submissions", response_model=SubmissionPage)
def list_submissions_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    worker_id: Annotated[int | None, Query(description="Only this worker's.")] = None,
    item_id: Annotated[int | None, Query(description="Only about this item.")] = None,
) -> SubmissionPage:
    """Return a page of a project's submissions (a worker sees only their own)."""
    access = project_access(session, user=user, ref=ref)
    if not access.can(Perm.READ_ALL_SUBMISSIONS):
        worker_id = user.id
    rows = list_submissions(
        session,
        project_id=access.project.id,
        worker_id=worker_id,
        item_id=item_id,
        after=after,
        limit=limit,
    )
    next_after = rows[-1].id if len(rows) == limit else None
    return SubmissionPage(submissions=submission_reads(session, rows), next_after=next_after)


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission_(submission_id: int, user: CurrentUser, session: DbSession) -> SubmissionRead:
    """Return one submission with its answers (a worker: only their own)."""
    submission, _access = submission_access(session, user=user, submission_id=submission_id)
    return submission_reads(session, [submission])[0]


def submission_reads(
    session: Session, submissions: Sequence[Submission], *, created: bool = True
) -> list[SubmissionRead]:
    """Build the wire form of `submissions`, each with its judgments.

    Args:
        session: Database session.
        submissions: The submissions.
        created: The value of the ``created`` flag (False for a replayed post).

    Returns:
        One SubmissionRead per submission, in the same order.
    """
    judgments = judgments_of(session, [s.id for s in submissions])
    return [
        SubmissionRead.model_validate(s).model_copy(
            update={
                "judgments": [JudgmentRead.model_validate(j) for j in judgments[s.id]],
                "created": created,
            }
        )
        for s in submissions
    ]
