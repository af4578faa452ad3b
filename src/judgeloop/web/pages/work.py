"""The worker's workbench: the projects open to me, the queue, the task page and its form.

``GET /work`` lists the projects; ``/work/{slug}/next`` leases the next task and
redirects to ``/work/assignments/{id}``, the task page; posting that page stores the
judgment (``submit_judgment``, source ``web``) and goes straight on to the next task.
Skips, pauses, flags and heartbeats are in ``work_actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from judgeloop.services.projects import list_projects, member_role
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.workforce import lease_block_reason
from judgeloop.store.models import Item, Project, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.forms import FormValues
from judgeloop.web.pages.projects import template_title
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work_task import current_guidelines, load_task, show_task, submit_task
from judgeloop.web.policies import Perm, project_access

router = page_router()


async def read_form(request: Request) -> FormData:
    """The posted form (already read, and cached, by the CSRF check)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(read_form)]


@dataclass(frozen=True)
class WorkRow:
    """One project on the workbench: what it is and how many items still wait."""

    project: Project
    template: str
    waiting: int


def open_item_counts(session: Session, project_ids: list[int]) -> dict[int, int]:
    """How many items of each project still need judgments (counted on the queue index)."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Item.project_id, func.count())
        .where(Item.project_id.in_(project_ids), Item.is_open)
        .group_by(Item.project_id)
    )
    return dict(rows.all())


def work_rows(session: Session, user: User) -> list[WorkRow]:
    """The active projects `user` is a member of, with their waiting items."""
    projects = [
        p
        for p in list_projects(session, user=user)
        if p.state == "active" and member_role(session, project=p, user=user) is not None
    ]
    counts = open_item_counts(session, [p.id for p in projects])
    return [WorkRow(p, template_title(p), counts.get(p.id, 0)) for p in projects]


@router.get("/work")
def work_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """List the projects open to the worker, each with a button to start working."""
    rows = work_rows(session, user)
    return render_page(request, "pages/work.html", {"rows": rows}, user=user)


@router.api_route("/work/{slug}/next", methods=["GET", "POST"])
def next_task(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Lease the next task and open it; when none is left, say that all is done."""
    access = project_access(session, user=user, ref=slug, perm=Perm.SUBMIT)
    assignment = lease_next_assignment(session, project=access.project, worker=user)
    if assignment is None:  # none left, or the worker may take none now (and why)
        reason = lease_block_reason(session, project=access.project, worker=user)
        context = {"project": access.project, "reason": reason}
        return render_page(request, "pages/work_done.html", context, user=user)
    return RedirectResponse(f"/work/assignments/{assignment.id}", status_code=303)


@router.get("/work/{slug}/guidelines")
def guidelines_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Show the project's current guidelines on a page of their own."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_GUIDELINES)
    context = {"project": access.project, "guidelines": current_guidelines(session, access.project)}
    return render_page(request, "pages/guidelines.html", context, user=user)


@router.get("/work/assignments/{assignment_id:int}")
def task_page(
    request: Request, assignment_id: int, session: DbSession, user: CurrentUser
) -> Response:
    """Show the task: the prompt, the answers and the project's questions."""
    task = load_task(session, assignment_id=assignment_id, worker=user)
    return show_task(request, session, task, user=user)


@router.post("/work/assignments/{assignment_id:int}")
def submit_assignment(
    request: Request, assignment_id: int, session: DbSession, user: CurrentUser, form: PostedForm
) -> Response:
    """Store the answers, then open the next task (or show the form again with messages)."""
    task = load_task(session, assignment_id=assignment_id, worker=user)
    values = FormValues(form.multi_items())
    return submit_task(request, session, task, user=user, values=values)
