"""Screening assessments: ``/assessments`` for owners, ``/attempts`` for workers taking them.

An attempt in progress returns its items as a task shows them: never a gold answer, nor
that the items are gold. The expected answers come only with ``/attempts/{id}/result``,
once the attempt is finished.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict
from judgeloop.schemas.assessments import (
    AssessmentCreate,
    AssessmentRead,
    AssessmentUpdate,
    AttemptCandidateRead,
    AttemptItemRead,
    AttemptRead,
    AttemptResultRead,
    AttemptStatusRead,
    AttemptSubmit,
    QuestionResultRead,
)
from judgeloop.services.assessments import (
    can_manage,
    create_assessment,
    list_assessments,
    update_assessment,
    visible_assessment,
)
from judgeloop.services.attempts import (
    AttemptStatus,
    answered_items,
    attempt_item_ids,
    attempt_status,
    finish_attempt,
    finish_if_late,
    get_attempt,
    save_answers,
    seconds_left,
    start_attempt,
)
from judgeloop.services.items import candidates_for
from judgeloop.store.models import Assessment, AssessmentAttempt, Item, Project, User
from judgeloop.web.api.workforce import qualification_read
from judgeloop.web.deps import CurrentUser, DbSession

router = APIRouter(tags=["assessments"])


def assessment_read(assessment: Assessment, user: User) -> AssessmentRead:
    """The wire form of an assessment; its item ids only for those who manage it."""
    ids = [int(i) for i in assessment.item_ids]
    fields = {name: getattr(assessment, name, None) for name in AssessmentRead.model_fields}
    fields.update(items=len(ids), item_ids=ids if can_manage(user, assessment) else None)
    return AssessmentRead.model_validate(fields)


def status_read(status: AttemptStatus) -> AttemptStatusRead:
    """The wire form of a worker's standing with an assessment."""
    q = status.qualification
    return AttemptStatusRead(
        attempts_used=status.attempts_used,
        attempts_left=status.attempts_left,
        can_start=status.can_start,
        reason=status.reason,
        retry_at=status.retry_at,
        open_attempt_id=status.open_attempt.id if status.open_attempt else None,
        qualification=qualification_read(q) if q is not None else None,
    )


def attempt_read(session: Session, attempt: AssessmentAttempt, slug: str) -> AttemptRead:
    """The wire form of an attempt: its items (no gold) while it runs, none once finished."""
    items: list[AttemptItemRead] = []
    if attempt.finished_at is None:
        ids = attempt_item_ids(attempt)
        cands = candidates_for(session, ids)
        done = answered_items(attempt)
        for item_id in ids:
            item = session.get(Item, item_id)
            project = session.get(Project, item.project_id) if item else None
            if item is None or project is None:
                continue
            items.append(
                AttemptItemRead(
                    item_id=item.id,
                    prompt=item.prompt,
                    messages=item.messages,
                    candidates=[
                        AttemptCandidateRead(key=c.key, text=c.text) for c, _ in cands[item.id]
                    ],
                    questions=list(project.questions),
                    answered=item.id in done,
                )
            )
    return AttemptRead(
        id=attempt.id,
        assessment=slug,
        attempt_no=attempt.attempt_no,
        started_at=attempt.started_at,
        deadline=attempt.deadline,
        finished_at=attempt.finished_at,
        seconds_left=seconds_left(attempt),
        items=items,
    )


def result_read(session: Session, attempt: AssessmentAttempt, worker: User) -> AttemptResultRead:
    """The wire form of a finished attempt's result."""
    assessment = session.get(Assessment, attempt.assessment_id)
    if attempt.finished_at is None or assessment is None:
        raise Conflict("this attempt is not finished yet")
    status = attempt_status(session, assessment=assessment, worker=worker)
    q = status.qualification
    return AttemptResultRead(
        id=attempt.id,
        assessment=assessment.slug,
        attempt_no=attempt.attempt_no,
        finished_at=attempt.finished_at,
        timed_out=attempt.timed_out,
        score=attempt.score or 0.0,
        pass_mark=assessment.pass_mark,
        passed=bool(attempt.passed),
        results=[QuestionResultRead.model_validate(r) for r in attempt.results],
        qualification=qualification_read(q) if q is not None and attempt.passed else None,
        attempts_left=status.attempts_left,
        retry_at=status.retry_at,
    )


@router.post("/assessments", response_model=AssessmentRead, status_code=201)
def create_assessment_(
    data: AssessmentCreate, user: CurrentUser, session: DbSession
) -> AssessmentRead:
    """Build an assessment from gold items of projects the caller runs (owners, admins)."""
    return assessment_read(create_assessment(session, owner=user, data=data), user)


@router.get("/assessments", response_model=list[AssessmentRead])
def list_assessments_(user: CurrentUser, session: DbSession) -> list[AssessmentRead]:
    """List the open assessments (and the caller's own closed ones)."""
    return [assessment_read(a, user) for a in list_assessments(session, user=user)]


@router.get("/assessments/{ref}", response_model=AssessmentRead)
def get_assessment_(ref: str, user: CurrentUser, session: DbSession) -> AssessmentRead:
    """Return an assessment by id or slug."""
    return assessment_read(visible_assessment(session, user=user, ref=ref), user)


@router.patch("/assessments/{ref}", response_model=AssessmentRead)
def update_assessment_(
    ref: str, data: AssessmentUpdate, user: CurrentUser, session: DbSession
) -> AssessmentRead:
    """Change an assessment (its owner, admins); ``is_active: false`` closes it."""
    assessment = visible_assessment(session, user=user, ref=ref)
    return assessment_read(
        update_assessment(session, assessment=assessment, actor=user, data=data), user
    )


@router.get("/assessments/{ref}/status", response_model=AttemptStatusRead)
def attempt_status_(ref: str, user: CurrentUser, session: DbSession) -> AttemptStatusRead:
    """Say whether the caller may start an attempt now, and if not, why and until when."""
    assessment = visible_assessment(session, user=user, ref=ref)
    return status_read(attempt_status(session, assessment=assessment, worker=user))


@router.post("/assessments/{ref}/attempts", response_model=AttemptRead, status_code=201)
def start_attempt_(ref: str, user: CurrentUser, session: DbSession) -> AttemptRead:
    """Start an attempt (or get the one running): its items and questions, no answers.

    Refused (409) during the cooldown after a failed attempt (the message says when the
    caller may try again), after the last attempt, and while the qualification is held.
    """
    assessment = visible_assessment(session, user=user, ref=ref)
    attempt = start_attempt(session, assessment=assessment, worker=user)
    return attempt_read(session, attempt, assessment.slug)


@router.get("/attempts/{attempt_id}", response_model=AttemptRead)
def get_attempt_(attempt_id: int, user: CurrentUser, session: DbSession) -> AttemptRead:
    """Return one of the caller's attempts (finished automatically once time is up)."""
    attempt = get_attempt(session, attempt_id=attempt_id, worker=user)
    finish_if_late(session, attempt)
    return attempt_read(session, attempt, _slug(session, attempt))


@router.post("/attempts/{attempt_id}/answers", response_model=AttemptRead)
def save_answers_(
    attempt_id: int, data: AttemptSubmit, user: CurrentUser, session: DbSession
) -> AttemptRead:
    """Save answers to some items; with ``finish`` (the default) score the attempt.

    Every item is checked before anything is saved (422 with ``items.<id>.answers...``
    paths). Answers that arrive after the deadline are not saved: the attempt is
    finished with what it had. Then read ``/attempts/{id}/result``.
    """
    attempt = get_attempt(session, attempt_id=attempt_id, worker=user)
    answers = {i.item_id: [a.model_dump() for a in i.answers] for i in data.items}
    save_answers(session, attempt=attempt, answers=answers)
    if data.finish and attempt.finished_at is None:
        finish_attempt(session, attempt=attempt)
    return attempt_read(session, attempt, _slug(session, attempt))


@router.get("/attempts/{attempt_id}/result", response_model=AttemptResultRead)
def get_result(attempt_id: int, user: CurrentUser, session: DbSession) -> AttemptResultRead:
    """The result of a finished attempt: score, each question's expected answer, grant."""
    attempt = get_attempt(session, attempt_id=attempt_id, worker=user)
    finish_if_late(session, attempt)
    return result_read(session, attempt, user)


def _slug(session: Session, attempt: AssessmentAttempt) -> str:
    assessment = session.get(Assessment, attempt.assessment_id)
    return assessment.slug if assessment else ""
