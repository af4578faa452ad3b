"""What a worker does to a task besides answering it: skip, pause, flag, heartbeat.

Each is a form post from the task page (the heartbeat is a script's JSON post with the
CSRF token in the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import RowError
from judgeloop.schemas.tasks import HeartbeatCreate
from judgeloop.services.queue import end_assignment, flag_item, heartbeat
from judgeloop.store.models import User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.forms import FormValues
from judgeloop.web.pages.templating import page_router
from judgeloop.web.pages.work_task import Task, flag_reason_ok, load_task, render_task

router = page_router()

MAX_NOTE = 2000
BASE = "/work/assignments/{assignment_id:int}"


def skip_reason(reason: str, note: str) -> str:
    """The reason stored for a skip: the picked reason, with the note when there is one."""
    reason, note = reason.strip()[:200], note.strip()[:MAX_NOTE]
    if reason and note:
        return f"{reason}: {note}"
    return reason or note


def _skip(request: Request, session: Session, task: Task, user: User, reason: str) -> Response:
    if not reason:
        rows = [RowError(0, "skip", "say why you skip this task")]
        return render_task(request, session, task, user=user, rows=rows, status_code=422)
    end_assignment(
        session, assignment_id=task.assignment.id, worker=user, state="skipped", reason=reason
    )
    return RedirectResponse(task.next_url, status_code=303)


@router.post(BASE + "/skip")
def skip_assignment(
    request: Request,
    assignment_id: int,
    session: DbSession,
    user: CurrentUser,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Skip the task with a reason (never served to this worker again); open the next one."""
    task = load_task(session, assignment_id=assignment_id, worker=user)
    return _skip(request, session, task, user, skip_reason(reason, note))


@router.post(BASE + "/pause")
def pause_assignment(assignment_id: int, session: DbSession, user: CurrentUser) -> RedirectResponse:
    """Give the task back to the queue (release the lease) and return to the workbench."""
    end_assignment(session, assignment_id=assignment_id, worker=user, state="released")
    return RedirectResponse("/work", status_code=303)


def _flag(
    request: Request, session: Session, task: Task, user: User, reason: str, note: str, then: str
) -> Response:
    if not flag_reason_ok(reason):
        rows = [RowError(0, "flag", "choose what is wrong with this item")]
        values = FormValues.from_mapping({"flag_note": note})
        return render_task(
            request, session, task, user=user, values=values, rows=rows, status_code=422
        )
    note = note.strip()[:MAX_NOTE]
    flag_item(session, item=task.item, worker=user, reason=reason, note=note)
    if then != "skip":
        url = f"/work/assignments/{task.assignment.id}?flagged=1"
        return RedirectResponse(url, status_code=303)
    return _skip(request, session, task, user, f"flagged: {reason}" + (f": {note}" if note else ""))


@router.post(BASE + "/flag")
def flag_assignment(
    request: Request,
    assignment_id: int,
    session: DbSession,
    user: CurrentUser,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = "continue",
) -> Response:
    """Flag the task's item; then continue with it, or skip it and open the next one."""
    task = load_task(session, assignment_id=assignment_id, worker=user)
    return _flag(request, session, task, user, reason, note, then)


@router.post(BASE + "/heartbeat")
def heartbeat_assignment(
    assignment_id: int, data: HeartbeatCreate, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """Extend the lease and record the active time the page measured (JSON)."""
    assignment = heartbeat(
        session, assignment_id=assignment_id, worker=user, active_seconds=data.active_seconds
    )
    return {
        "state": assignment.state,
        "expires_at": assignment.expires_at.isoformat(),
        "active_seconds": assignment.active_seconds,
    }
