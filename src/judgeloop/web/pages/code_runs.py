"""The "Run tests" buttons: run an item's candidates in the sandbox, then go back.

- ``POST /work/assignments/{id}/code-runs``: from the task page (the worker's live task).
- ``POST /review/submissions/{id}/code-runs``: from the reviewer's page.

Each runs the code of every candidate against the item's tests (``force=1`` runs
unchanged code again) outside any open transaction, then redirects back to the page with
``?code_run=ran`` (or why it could not run) so a reload does not run the code again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.sandbox import SandboxUnavailable
from judgeloop.services.code_runs import SandboxBusy, request_slot, run_item
from judgeloop.services.items import get_item
from judgeloop.services.submissions import get_submission
from judgeloop.store.models import Item
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.templating import page_router
from judgeloop.web.pages.work_task import load_task
from judgeloop.web.policies import Perm, project_access

router = page_router()


def run_for_page(session: Session, item: Item, *, force: bool) -> str:
    """Run the item's candidates for a page; return the ``?code_run=`` value to show.

    Args:
        session: The request's session (committed before the code runs).
        item: The item.
        force: Run unchanged code again.

    Returns:
        ``ran``, ``unavailable`` (no sandbox here), ``busy`` (no free slot) or
        ``language`` (not Python).
    """
    session.commit()  # hold no transaction while waiting for a sandbox slot
    try:
        with request_slot():
            run_item(session, item=item, force=force)
    except SandboxUnavailable:
        return "unavailable"
    except SandboxBusy:
        return "busy"
    except InvalidInput:
        return "language"
    return "ran"


@router.post("/work/assignments/{assignment_id:int}/code-runs")
def run_task_code(
    assignment_id: int,
    session: DbSession,
    user: CurrentUser,
    force: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Run the task's candidates against their tests, then show the task again."""
    task = load_task(session, assignment_id=assignment_id, worker=user)
    url = f"/work/assignments/{task.assignment.id}"
    if task.assignment.state != "leased":
        return RedirectResponse(url, status_code=303)  # the page says the task has ended
    outcome = run_for_page(session, task.item, force=force == "1")
    return RedirectResponse(f"{url}?code_run={outcome}", status_code=303)


@router.post("/review/submissions/{submission_id:int}/code-runs")
def run_review_code(
    submission_id: int,
    session: DbSession,
    user: CurrentUser,
    force: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Run the submission's item's candidates against their tests, then show the review."""
    submission = get_submission(session, submission_id)
    try:
        access = project_access(session, user=user, ref=submission.project_id)
    except NotFound:
        raise NotFound(f"no submission {submission_id}") from None
    access.require(Perm.READ_ALL_SUBMISSIONS)
    outcome = run_for_page(session, get_item(session, submission.item_id), force=force == "1")
    url = f"/review/submissions/{submission.id}?code_run={outcome}#code-runs"
    return RedirectResponse(url, status_code=303)
