"""Taking an assessment: attempts, answers, the deadline, scoring and the result.

An attempt shows its items as a task does, never their gold answers. Answers are checked
with the items' own questions (``validate_answers``) as they are saved, one item at a
time. Finishing scores every gold answer (``assessments.answer_matches``), stores a
per-question result with the expected answer and its explanation, and, on a pass,
grants the assessment's qualification until it expires. A worker may not start while a
cooldown runs after a failed attempt, nor after their last attempt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound, RowError
from judgeloop.questions.base import QuestionSpec, validate_answers
from judgeloop.services.assessments import answer_matches, grant_qualification, is_active
from judgeloop.services.items import gold_for, item_context
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    Assessment,
    AssessmentAttempt,
    Event,
    GoldAnswer,
    Item,
    Project,
    Qualification,
    User,
)

GRACE_S = 15
"""Answers that arrive this many seconds after the deadline still count (network delay)."""


@dataclass(frozen=True)
class AttemptStatus:
    """Where a worker stands with one assessment."""

    attempts_used: int
    attempts_left: int
    can_start: bool
    reason: str = ""
    retry_at: datetime | None = None
    open_attempt: AssessmentAttempt | None = None
    qualification: Qualification | None = None


def attempts_of(
    session: Session, *, assessment: Assessment, worker: User
) -> list[AssessmentAttempt]:
    """Return the worker's attempts at the assessment, oldest first."""
    query = select(AssessmentAttempt).where(
        AssessmentAttempt.assessment_id == assessment.id, AssessmentAttempt.worker_id == worker.id
    )
    return list(session.scalars(query.order_by(AssessmentAttempt.attempt_no)))


def attempt_status(session: Session, *, assessment: Assessment, worker: User) -> AttemptStatus:
    """Say whether the worker may start an attempt now, and if not, why and until when."""
    now = utcnow()
    attempts = attempts_of(session, assessment=assessment, worker=worker)
    qualification = session.scalar(
        select(Qualification).where(
            Qualification.worker_id == worker.id,
            Qualification.name == assessment.qualification,
        )
    )
    # A pass starts the count afresh: once its qualification expires, the worker may
    # take the assessment again with every attempt.
    last_pass = max((a.attempt_no for a in attempts if a.passed), default=0)
    used = sum(a.attempt_no > last_pass for a in attempts)
    left = max(0, assessment.max_attempts - used)
    base = AttemptStatus(used, left, can_start=True, qualification=qualification)
    running = next((a for a in attempts if a.finished_at is None), None)
    if running is not None:
        return replace(base, open_attempt=running)
    if last_pass and qualification is not None and is_active(qualification, now):
        return replace(base, can_start=False, reason=_held(qualification))
    if not assessment.is_active:
        return replace(base, can_start=False, reason="this assessment is closed")
    if left == 0:
        return replace(base, can_start=False, reason="you have used every attempt")
    last = attempts[-1] if attempts else None
    if last is not None and last.finished_at is not None:
        retry_at = last.finished_at + timedelta(seconds=assessment.cooldown_s)
        if retry_at > now:
            reason = f"you may try again after {retry_at:%Y-%m-%d %H:%M} UTC"
            return replace(base, can_start=False, reason=reason, retry_at=retry_at)
    return base


def _held(qualification: Qualification) -> str:
    until = qualification.expires_at
    when = f" until {until:%Y-%m-%d}" if until else ""
    return f"you hold the qualification {qualification.name}{when}"


def start_attempt(session: Session, *, assessment: Assessment, worker: User) -> AssessmentAttempt:
    """Start an attempt (or return the one running); commits.

    Raises:
        Conflict: No attempts left, the cooldown has not passed (the message says when
            the worker may try again), the worker already holds the qualification, or
            the assessment is closed.
    """
    status = attempt_status(session, assessment=assessment, worker=worker)
    if status.open_attempt is not None:
        if not finish_if_late(session, status.open_attempt):
            return status.open_attempt
        status = attempt_status(session, assessment=assessment, worker=worker)
    if not status.can_start:
        raise Conflict(status.reason)
    now = utcnow()
    attempt = AssessmentAttempt(
        assessment_id=assessment.id,
        worker_id=worker.id,
        attempt_no=_next_attempt_no(session, assessment, worker),
        started_at=now,
        deadline=now + timedelta(seconds=assessment.time_limit_s),
        answers={"item_ids": list(assessment.item_ids), "by_item": {}},
        results=[],
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError:  # a concurrent start won: use its attempt
        session.rollback()
        running = attempt_status(session, assessment=assessment, worker=worker).open_attempt
        if running is None:
            raise
        return running
    session.add(
        Event(
            kind="assessment.started",
            actor_id=worker.id,
            payload={"assessment_id": assessment.id, "attempt_id": attempt.id},
        )
    )
    session.commit()
    return attempt


def _next_attempt_no(session: Session, assessment: Assessment, worker: User) -> int:
    attempts = attempts_of(session, assessment=assessment, worker=worker)
    return attempts[-1].attempt_no + 1 if attempts else 1


def get_attempt(session: Session, *, attempt_id: int, worker: User) -> AssessmentAttempt:
    """Return the worker's own attempt, or raise NotFound (also for other workers')."""
    attempt = session.get(AssessmentAttempt, attempt_id)
    if attempt is None or attempt.worker_id != worker.id:
        raise NotFound(f"no attempt {attempt_id}")
    return attempt


def attempt_item_ids(attempt: AssessmentAttempt) -> list[int]:
    """The items of the attempt, in the order they are asked."""
    return [int(i) for i in attempt.answers.get("item_ids", [])]


def answered_items(attempt: AssessmentAttempt) -> set[int]:
    """The ids of the items the worker has answered so far."""
    return {int(i) for i in attempt.answers.get("by_item", {})}


def item_questions(session: Session, item: Item) -> list[QuestionSpec]:
    """The questions of the item's project, as validated specs."""
    project = session.get(Project, item.project_id)
    return [QuestionSpec.model_validate(q) for q in (project.questions if project else [])]


def finish_if_late(session: Session, attempt: AssessmentAttempt, *, grace_s: int = 0) -> bool:
    """Finish (and score) an attempt whose time ran out; tell whether it is finished.

    Args:
        session: Database session.
        attempt: The attempt.
        grace_s: Seconds past the deadline still counted as in time (``GRACE_S`` when
            answers are arriving, so a post sent at the deadline still counts).
    """
    if attempt.finished_at is not None:
        return True
    if utcnow() <= attempt.deadline + timedelta(seconds=grace_s):
        return False
    _finish(session, attempt, timed_out=True)
    return True


def save_item_answers(
    session: Session,
    *,
    attempt: AssessmentAttempt,
    item_id: int,
    answers: Sequence[Mapping[str, Any]],
) -> AssessmentAttempt:
    """Check and store the answers to one item of a running attempt; commits.

    Late answers are not stored: the attempt is finished with what it had (check
    ``attempt.finished_at``). Raises InvalidInput (nothing stored) for wrong answers,
    with ``validate_answers``' field paths (``answers.<question>...``).
    """
    return save_answers(session, attempt=attempt, answers={item_id: answers}, prefix=False)


def save_answers(
    session: Session,
    *,
    attempt: AssessmentAttempt,
    answers: Mapping[int, Sequence[Mapping[str, Any]]],
    prefix: bool = True,
) -> AssessmentAttempt:
    """Check and store the answers to several items of a running attempt; commits.

    Every item is checked before anything is stored. With `prefix`, error field paths
    start with ``items.<item id>.``. Late answers are not stored (see
    ``save_item_answers``).

    Raises:
        NotFound: An item is not part of the attempt.
        InvalidInput: Some answers are wrong; nothing is stored.
    """
    if finish_if_late(session, attempt, grace_s=GRACE_S):
        return attempt
    by_item = dict(attempt.answers.get("by_item", {}))
    errors: list[RowError] = []
    for item_id, given in answers.items():
        try:
            by_item[str(item_id)] = _checked(session, attempt, item_id, given)
        except InvalidInput as exc:
            where = f"items.{item_id}." if prefix else ""
            errors += [RowError(r.line, where + r.field, r.reason) for r in exc.rows]
    if errors:
        raise InvalidInput("invalid answers", errors)
    attempt.answers = {**attempt.answers, "by_item": by_item}
    session.commit()
    finish_if_late(session, attempt)  # saved in the grace period: the time is up now
    return attempt


def _checked(
    session: Session, attempt: AssessmentAttempt, item_id: int, answers: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    item = session.get(Item, item_id) if item_id in attempt_item_ids(attempt) else None
    if item is None:
        raise NotFound(f"no item {item_id} in this attempt")
    normalized = validate_answers(
        item_questions(session, item), answers, item_context(session, item)
    )
    return [
        {
            "question": a.question_key,
            "candidate": a.candidate_key,
            "value": a.value,
            "explanation": a.explanation,
        }
        for a in normalized
    ]


def seconds_left(attempt: AssessmentAttempt) -> int:
    """Whole seconds until the deadline, rounded up (0 once it has passed or finished)."""
    if attempt.finished_at is not None:
        return 0
    return max(0, math.ceil((attempt.deadline - utcnow()).total_seconds()))


def finish_attempt(session: Session, *, attempt: AssessmentAttempt) -> AssessmentAttempt:
    """Score a running attempt and grant the qualification on a pass; commits.

    Raises:
        Conflict: Some items are not answered yet (while time remains).
    """
    if finish_if_late(session, attempt, grace_s=GRACE_S):
        return attempt
    missing = [i for i in attempt_item_ids(attempt) if i not in answered_items(attempt)]
    if missing and session.get(Item, missing[0]) is not None:
        raise Conflict(f"answer every item before finishing ({len(missing)} left)")
    _finish(session, attempt, timed_out=False)
    return attempt


def _finish(session: Session, attempt: AssessmentAttempt, *, timed_out: bool) -> None:
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None
    results = score_attempt(session, attempt)
    scored = [r for r in results if r["correct"] is not None]
    score = sum(bool(r["correct"]) for r in scored) / len(scored) if scored else 0.0
    attempt.results, attempt.score = results, round(score, 6)
    attempt.passed = score >= assessment.pass_mark
    attempt.finished_at, attempt.timed_out = utcnow(), timed_out
    if attempt.passed:
        grant_qualification(
            session, worker_id=attempt.worker_id, assessment=assessment, score=score
        )
    session.add(
        Event(
            kind="assessment.passed" if attempt.passed else "assessment.failed",
            actor_id=attempt.worker_id,
            payload={"attempt_id": attempt.id, "score": attempt.score},
        )
    )
    session.commit()


def score_attempt(session: Session, attempt: AssessmentAttempt) -> list[dict[str, Any]]:
    """Compare the attempt's answers with every gold answer of its items.

    Returns:
        One result per gold answer, in item and question order: item_id, question,
        candidate, kind, title, given, expected, correct (None: not scored) and the
        gold answer's explanation.
    """
    ids = attempt_item_ids(attempt)
    gold = gold_for(session, ids)
    given_by_item = attempt.answers.get("by_item", {})
    results: list[dict[str, Any]] = []
    for item_id in ids:
        item = session.get(Item, item_id)
        if item is None:
            continue
        specs = {q.key: q for q in item_questions(session, item)}
        order = {key: n for n, key in enumerate(specs)}
        given = {
            (a["question"], a["candidate"]): a["value"] for a in given_by_item.get(str(item_id), [])
        }
        rows: list[GoldAnswer] = sorted(
            gold.get(item_id, []), key=lambda g: (order.get(g.question_key, 999), g.candidate_key)
        )
        for row in rows:
            spec = specs.get(row.question_key)
            kind = spec.kind if spec else "unknown"
            value = given.get((row.question_key, row.candidate_key))
            results.append(
                {
                    "item_id": item_id,
                    "question": row.question_key,
                    "candidate": row.candidate_key,
                    "kind": kind,
                    "title": spec.title if spec else row.question_key,
                    "given": value,
                    "expected": row.value,
                    "correct": answer_matches(kind, row.value, value),
                    "explanation": row.explanation,
                }
            )
    return results
