"""Screening assessments in the browser: the list, one assessment, taking it, its result.

An attempt is taken like real work: one item at a time, on the task page's item view and
question widgets (``_item.html``, ``questions/<kind>.html``, ``web.forms``), under a
countdown (``static/assessment.js``); nothing on the page hints at the gold answers.
When the last item is answered, or the time is up, the attempt is scored and the
result page shows each question's expected answer and explanation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, NotFound, RowError
from judgeloop.services.assessments import list_assessments, visible_assessment
from judgeloop.services.attempts import (
    GRACE_S,
    answered_items,
    attempt_item_ids,
    attempt_status,
    attempts_of,
    finish_attempt,
    finish_if_late,
    get_attempt,
    item_questions,
    save_item_answers,
    seconds_left,
    start_attempt,
)
from judgeloop.services.items import candidates_for
from judgeloop.store.models import Assessment, AssessmentAttempt, Item, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.forms import FormValues, parse_submission
from judgeloop.web.pages.account import PostedForm
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work_views import (
    build_item_view,
    build_question_views,
    problem_summary,
    text_sources,
    widget_scripts,
)

router = page_router()


def attempt_url(assessment: Assessment, attempt: AssessmentAttempt) -> str:
    """Where the worker takes (or took) an attempt."""
    return f"/assessments/{assessment.slug}/attempts/{attempt.id}"


def _attempt(
    session: Session, user: User, slug: str, attempt_id: int
) -> tuple[Assessment, AssessmentAttempt]:
    assessment = visible_assessment(session, user=user, ref=slug)
    attempt = get_attempt(session, attempt_id=attempt_id, worker=user)
    if attempt.assessment_id != assessment.id:
        raise NotFound(f"no attempt {attempt_id}")
    return assessment, attempt


@router.get("/assessments")
def assessments_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """List the open assessments with where the worker stands in each."""
    rows = [
        (a, attempt_status(session, assessment=a, worker=user))
        for a in list_assessments(session, user=user)
    ]
    return render_page(request, "pages/assessments.html", {"rows": rows}, user=user)


def _detail(
    request: Request, session: Session, user: User, assessment: Assessment, **extra: Any
) -> Response:
    status_code = extra.pop("status_code", 200)
    context = {
        "assessment": assessment,
        "status": attempt_status(session, assessment=assessment, worker=user),
        "attempts": attempts_of(session, assessment=assessment, worker=user),
        "error": "",
        **extra,
    }
    return render_page(
        request, "pages/assessment.html", context, user=user, status_code=status_code
    )


@router.get("/assessments/{slug}")
def assessment_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """One assessment: what it asks, its rules, the worker's attempts, and a start button."""
    assessment = visible_assessment(session, user=user, ref=slug)
    return _detail(request, session, user, assessment)


@router.post("/assessments/{slug}/start")
def start_attempt_page(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """Start (or continue) an attempt; refused during a cooldown or after the last one."""
    assessment = visible_assessment(session, user=user, ref=slug)
    try:
        attempt = start_attempt(session, assessment=assessment, worker=user)
    except Conflict as exc:
        return _detail(request, session, user, assessment, error=exc.message, status_code=409)
    return RedirectResponse(attempt_url(assessment, attempt), status_code=303)


def _current_item(session: Session, attempt: AssessmentAttempt) -> Item | None:
    done = answered_items(attempt)
    for item_id in attempt_item_ids(attempt):
        item = session.get(Item, item_id)
        if item is not None and item_id not in done:
            return item
    return None


def _steps(attempt: AssessmentAttempt, current: int) -> list[dict[str, Any]]:
    done = answered_items(attempt)
    return [
        {"n": n, "done": item_id in done, "current": item_id == current}
        for n, item_id in enumerate(attempt_item_ids(attempt), start=1)
    ]


def render_attempt(
    request: Request,
    session: Session,
    user: User,
    assessment: Assessment,
    attempt: AssessmentAttempt,
    *,
    item: Item,
    values: FormValues | None = None,
    rows: Sequence[RowError] = (),
) -> Response:
    """Render one item of a running attempt: the item, its questions, the countdown."""
    view = build_item_view(item, candidates_for(session, [item.id])[item.id], show_models=False)
    questions = build_question_views(item_questions(session, item), view, rows)
    context = {
        "assessment": assessment,
        "attempt": attempt,
        "item_id": item.id,
        "item": view,
        "questions": questions,
        "values": values or FormValues(),
        "problems": problem_summary(questions, rows),
        "texts": text_sources(questions, view),
        "sources": {},
        "scripts": widget_scripts(questions),
        "steps": _steps(attempt, item.id),
        "seconds_left": seconds_left(attempt),
    }
    status = 422 if rows else 200
    return render_page(
        request, "pages/assessment_take.html", context, user=user, status_code=status
    )


@router.get("/assessments/{slug}/attempts/{attempt_id:int}")
def attempt_page(
    request: Request, slug: str, attempt_id: int, session: DbSession, user: CurrentUser
) -> Response:
    """The next unanswered item of a running attempt (a finished one shows its result)."""
    assessment, attempt = _attempt(session, user, slug, attempt_id)
    item = None if finish_if_late(session, attempt) else _current_item(session, attempt)
    if item is None:
        return _next(session, assessment, attempt)
    return render_attempt(request, session, user, assessment, attempt, item=item)


def _save(
    session: Session, attempt: AssessmentAttempt, item: Item, form: FormData
) -> list[RowError]:
    """Store the form's answers to `item`; return the problems (nothing stored then)."""
    questions = item_questions(session, item)
    keys = [c.key for c, _ in candidates_for(session, [item.id])[item.id]]
    values = FormValues([*form.multi_items(), ("submission_key", uuid.uuid4().hex)])
    parsed = parse_submission(values, questions=questions, candidate_keys=keys, item_id=item.id)
    if parsed.errors:
        return [r for r in parsed.errors if r.field != "submission_key"]
    answers = [a.model_dump() for a in parsed.data.answers]
    try:
        save_item_answers(session, attempt=attempt, item_id=item.id, answers=answers)
    except InvalidInput as exc:
        return list(exc.rows) or [RowError(0, "", exc.message)]
    return []


@router.post("/assessments/{slug}/attempts/{attempt_id:int}/items/{item_id:int}")
def save_attempt_item(
    request: Request,
    slug: str,
    attempt_id: int,
    item_id: int,
    session: DbSession,
    user: CurrentUser,
    form: PostedForm,
) -> Response:
    """Save the answers to one item and go on; when the time is up, show the result."""
    assessment, attempt = _attempt(session, user, slug, attempt_id)
    item = _attempt_item(session, attempt, item_id)
    late = finish_if_late(session, attempt, grace_s=GRACE_S)
    rows = [] if late else _save(session, attempt, item, form)
    if rows and not finish_if_late(session, attempt):
        values = FormValues(form.multi_items())
        return render_attempt(
            request, session, user, assessment, attempt, item=item, values=values, rows=rows
        )
    return _next(session, assessment, attempt)


def _attempt_item(session: Session, attempt: AssessmentAttempt, item_id: int) -> Item:
    item = session.get(Item, item_id) if item_id in attempt_item_ids(attempt) else None
    if item is None:
        raise NotFound(f"no item {item_id} in this attempt")
    return item


def _next(session: Session, assessment: Assessment, attempt: AssessmentAttempt) -> Response:
    """Go on to the next unanswered item; after the last one, score and show the result."""
    if attempt.finished_at is None and _current_item(session, attempt) is None:
        finish_attempt(session, attempt=attempt)
    suffix = "/result" if attempt.finished_at is not None else ""
    return RedirectResponse(attempt_url(assessment, attempt) + suffix, status_code=303)


@router.get("/assessments/{slug}/attempts/{attempt_id:int}/result")
def result_page(
    request: Request, slug: str, attempt_id: int, session: DbSession, user: CurrentUser
) -> Response:
    """The result: the score, each question's expected answer and why, what it granted."""
    assessment, attempt = _attempt(session, user, slug, attempt_id)
    if not finish_if_late(session, attempt):
        return RedirectResponse(attempt_url(assessment, attempt), status_code=303)
    context = {
        "assessment": assessment,
        "attempt": attempt,
        "status": attempt_status(session, assessment=assessment, worker=user),
        "groups": result_groups(session, attempt),
    }
    return render_page(request, "pages/assessment_result.html", context, user=user)


def result_groups(session: Session, attempt: AssessmentAttempt) -> list[dict[str, Any]]:
    """The attempt's results grouped by item, each item with its prompt, values shown."""
    groups: dict[int, dict[str, Any]] = {}
    for result in attempt.results:
        item_id = int(result["item_id"])
        if item_id not in groups:
            item = session.get(Item, item_id)
            prompt = item.prompt if item else ""
            groups[item_id] = {"n": len(groups) + 1, "prompt": prompt, "results": []}
        groups[item_id]["results"].append(
            {
                **result,
                "given_text": show_value(result["kind"], result["given"]),
                "expected_text": show_value(result["kind"], result["expected"]),
            }
        )
    return list(groups.values())


def show_value(kind: str, value: Any) -> str:
    """An answer as a short text: 'A (strength 2)', 'B > A > C', '4', 'math, law'."""
    if value is None:
        return "no answer"
    if kind == "preference" and isinstance(value, dict):
        winner = str(value.get("winner", ""))
        strength = value.get("strength")
        return (
            "tie" if winner == "tie" else winner + (f" (strength {strength})" if strength else "")
        )
    if kind == "code_run" and isinstance(value, dict):
        return str(value.get("verdict", ""))
    if kind == "ranking" and isinstance(value, list):
        return " > ".join(" = ".join(p) if isinstance(p, list) else str(p) for p in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
