"""The task page's work: load a worker's task, render it, and store what the form says.

``work.py`` and ``work_actions.py`` keep their handlers thin by calling these.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, LeaseExpired, RowError
from judgeloop.questions.base import QuestionSpec, validate_answers
from judgeloop.services.items import candidates_for, get_item, item_context
from judgeloop.services.projects import get_project, list_guidelines
from judgeloop.services.queue import get_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Assignment, GuidelineVersion, Item, Project, User
from judgeloop.store.models.work import FLAG_REASONS
from judgeloop.web.forms import FormValues, parse_submission
from judgeloop.web.pages.code_run_views import NOTICES as CODE_RUN_NOTICES
from judgeloop.web.pages.code_run_views import code_run_context
from judgeloop.web.pages.templating import render_page
from judgeloop.web.pages.work_views import (
    ItemView,
    build_item_view,
    build_question_views,
    owner_markdown,
    problem_summary,
    text_sources,
    widget_scripts,
)

FLAG_LABELS = {
    "broken_prompt": "The prompt or the answers are broken",
    "personal_data": "It contains personal data",
    "harmful_content": "It contains harmful content",
    "other": "Something else",
}
SKIP_REASONS = (
    "I lack the expertise to judge this",
    "The prompt or the answers are broken",
    "I would rather not see this content",
    "Other",
)
ACTION_FIELDS = ("skip", "flag")
"""Problems with the skip and flag forms, shown beside those forms."""
ENDED = {
    "submitted": "You have already submitted this task.",
    "skipped": "You skipped this task.",
    "released": "This task went back to the queue (you paused it, or the project was paused).",
    "expired": "Your time on this task ran out, so it went back to the queue.",
}


@dataclass(frozen=True)
class Task:
    """A worker's leased task and everything the page needs about it."""

    assignment: Assignment
    project: Project
    item: Item
    view: ItemView
    questions: list[QuestionSpec]

    @property
    def next_url(self) -> str:
        """Where the next task of this project is."""
        return f"/work/{self.project.slug}/next"


def load_task(session: Session, *, assignment_id: int, worker: User) -> Task:
    """Load the worker's own assignment with its project, item and questions.

    Raises:
        NotFound: No such assignment, or it belongs to another worker.
    """
    assignment = get_assignment(session, assignment_id=assignment_id, worker=worker)
    project = get_project(session, assignment.project_id)
    item = get_item(session, assignment.item_id)
    candidates = candidates_for(session, [item.id]).get(item.id, [])
    shuffle = bool(project.settings.get("shuffle_candidates"))
    view = build_item_view(
        item,
        candidates,
        show_models=not project.hide_model_identity,
        shuffle_seed=assignment.id if shuffle else None,
    )
    questions = [QuestionSpec.model_validate(q) for q in project.questions]
    return Task(assignment, project, item, view, questions)


def current_guidelines(session: Session, project: Project) -> GuidelineVersion | None:
    """The project's current guideline version (None when it has none)."""
    versions = list_guidelines(session, project=project)
    return next((g for g in versions if g.version == project.guideline_version), None)


def task_context(
    session: Session, task: Task, values: FormValues, rows: Sequence[RowError]
) -> dict[str, Any]:
    """Everything ``pages/task.html`` shows: the item, the questions, what was typed, problems."""
    action_errors = {r.field: r.reason for r in rows if r.field in ACTION_FIELDS}
    rows = [r for r in rows if r.field not in ACTION_FIELDS]
    questions = build_question_views(task.questions, task.view, rows)
    guidelines = current_guidelines(session, task.project)
    return {
        "project": task.project,
        "assignment": task.assignment,
        "item": task.view,
        "questions": questions,
        "values": values,
        "problems": problem_summary(questions, rows),
        "action_errors": action_errors,
        "submission_key": values.get("submission_key") or uuid.uuid4().hex,
        "seconds": values.get("seconds_spent") or f"{task.assignment.active_seconds:.0f}",
        "guidelines": guidelines,
        "guidelines_html": owner_markdown(guidelines.body) if guidelines else "",
        "texts": text_sources(questions, task.view),
        "scripts": widget_scripts(questions),
        "content_warning": bool(task.project.settings.get("content_warning")),
        "flag_labels": FLAG_LABELS,
        "skip_reasons": SKIP_REASONS,
        "next_url": task.next_url,
    } | code_run_context(
        session,
        project=task.project,
        item=task.item,
        questions=task.questions,
        action=f"/work/assignments/{task.assignment.id}/code-runs",
    )


def render_task(
    request: Request,
    session: Session,
    task: Task,
    *,
    user: User,
    values: FormValues | None = None,
    rows: Sequence[RowError] = (),
    status_code: int = 200,
    notice: str = "",
) -> Response:
    """Render the task page, with what was typed and the problems found when a post failed.

    Args:
        request: The request being answered.
        session: Database session.
        task: The task.
        user: The worker.
        values: The fields of a rejected post, to show again; None for a fresh page.
        rows: The problems of that post (``submit_judgment``'s field paths).
        status_code: 200, or 422 for a rejected post.
        notice: A short message to show above the task (e.g. after flagging).

    Returns:
        The page.
    """
    context = task_context(session, task, values or FormValues(), rows)
    context["notice"] = notice
    return render_page(request, "pages/task.html", context, user=user, status_code=status_code)


def render_ended(
    request: Request, task: Task, *, user: User, message: str, status_code: int = 200
) -> Response:
    """Render the page for a task that can no longer be worked on, with a 'next task' button."""
    context = {"project": task.project, "message": message, "next_url": task.next_url}
    return render_page(
        request, "pages/work_ended.html", context, user=user, status_code=status_code
    )


def show_task(request: Request, session: Session, task: Task, *, user: User) -> Response:
    """The task page for a live lease, or the 'this task has ended' page."""
    state = task.assignment.state
    if state != "leased":
        message = ENDED.get(state, f"This task is {state}.")
        return render_ended(request, task, user=user, message=message)
    notice = "Thank you: the item is flagged." if request.query_params.get("flagged") else ""
    notice = notice or CODE_RUN_NOTICES.get(request.query_params.get("code_run", ""), "")
    return render_task(request, session, task, user=user, notice=notice)


def _dry_run(session: Session, task: Task, answers: list[dict[str, Any]]) -> list[RowError]:
    """What ``validate_answers`` says of the answers that could be read (nothing is stored)."""
    try:
        validate_answers(task.questions, answers, item_context(session, task.item))
    except InvalidInput as exc:
        return list(exc.rows)
    return []


def submit_task(
    request: Request, session: Session, task: Task, *, user: User, values: FormValues
) -> Response:
    """Store a posted task form through ``submit_judgment`` and go on to the next task.

    A form that cannot be stored is shown again (422) with every problem by its field
    and everything typed kept; a lease that ran out gets its own page (409).
    """
    parsed = parse_submission(
        values,
        questions=task.questions,
        candidate_keys=task.view.stored_keys,
        item_id=task.item.id,
        assignment_id=task.assignment.id,
        require_explanation=task.project.require_explanation,
    )
    rows = list(parsed.errors)
    if rows:
        answers = [a.model_dump() for a in parsed.data.answers]
        rows += [r for r in _dry_run(session, task, answers) if r.field not in parsed.failed]
    else:
        try:
            submit_judgment(session, worker=user, data=parsed.data, source="web")
        except InvalidInput as exc:
            rows = list(exc.rows) or [RowError(0, "", exc.message)]
        except LeaseExpired as exc:
            return render_ended(request, task, user=user, message=exc.message, status_code=409)
        except Conflict as exc:
            return render_ended(request, task, user=user, message=exc.message, status_code=409)
    if rows:
        return render_task(
            request, session, task, user=user, values=values, rows=rows, status_code=422
        )
    return RedirectResponse(task.next_url, status_code=303)


def flag_reason_ok(reason: str) -> bool:
    """Whether `reason` is one of the flag reasons a worker may pick."""
    return reason in FLAG_REASONS
