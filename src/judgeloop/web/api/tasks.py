"""The task queue over HTTP: lease the next task, heartbeats, skip, release, flag."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from judgeloop.schemas.tasks import FlagCreate, HeartbeatCreate, SkipCreate, TaskRead
from judgeloop.services import queue
from judgeloop.store.models import Assignment, User
from judgeloop.web.api.items import item_reads
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, item_access, project_access

router = APIRouter(tags=["tasks"])


def task_read(session: Session, user: User, assignment: Assignment) -> TaskRead:
    """Build the wire form of a leased task as its worker may see it."""
    item, access = item_access(session, user=user, item_id=assignment.item_id)
    return TaskRead(
        assignment_id=assignment.id,
        state=assignment.state,
        expires_at=assignment.expires_at,
        item=item_reads(session, access, [item])[0],
    )


@router.post(
    "/projects/{ref}/tasks/next",
    response_model=TaskRead,
    responses={204: {"description": "No task left for you in this project"}},
)
def lease_next_assignment_(ref: str, user: CurrentUser, session: DbSession) -> TaskRead | Response:
    """Lease the next task for the caller (the same one again while its lease is live)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.SUBMIT)
    assignment = queue.lease_next_assignment(session, project=access.project, worker=user)
    if assignment is None:
        return Response(status_code=204)
    return task_read(session, user, assignment)


@router.post("/assignments/{assignment_id}/heartbeat", response_model=TaskRead)
def heartbeat_(
    assignment_id: int, data: HeartbeatCreate, user: CurrentUser, session: DbSession
) -> TaskRead:
    """Extend a live lease and record the active time spent on it."""
    assignment = queue.heartbeat(
        session, assignment_id=assignment_id, worker=user, active_seconds=data.active_seconds
    )
    return task_read(session, user, assignment)


@router.post("/assignments/{assignment_id}/skip", status_code=204)
def skip_assignment_(
    assignment_id: int, data: SkipCreate, user: CurrentUser, session: DbSession
) -> None:
    """Skip a task with a reason; its slot goes back to the queue."""
    queue.end_assignment(
        session, assignment_id=assignment_id, worker=user, state="skipped", reason=data.reason
    )


@router.post("/assignments/{assignment_id}/release", status_code=204)
def release_assignment_(assignment_id: int, user: CurrentUser, session: DbSession) -> None:
    """Give a task back without judging it (pause); it may be served again later."""
    queue.end_assignment(session, assignment_id=assignment_id, worker=user, state="released")


@router.post("/items/{item_id}/flags", status_code=201)
def flag_item_(
    item_id: int, data: FlagCreate, user: CurrentUser, session: DbSession
) -> dict[str, int]:
    """Flag an item: broken prompt, personal data, harmful content, other."""
    item, _ = item_access(session, user=user, item_id=item_id, perm=Perm.SUBMIT)
    flag = queue.flag_item(session, item=item, worker=user, reason=data.reason, note=data.note)
    return {"id": flag.id}
