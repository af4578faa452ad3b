"""Assessments on SQLite and PostgreSQL: building, attempts, scoring, cooldown, expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound
from judgeloop.schemas.assessments import AssessmentCreate, AssessmentUpdate
from judgeloop.services.assessments import (
    active_qualifications,
    answer_matches,
    create_assessment,
    list_assessments,
    update_assessment,
)
from judgeloop.services.attempts import (
    attempt_status,
    finish_attempt,
    get_attempt,
    save_item_answers,
    start_attempt,
)
from judgeloop.store.base import utcnow
from judgeloop.store.models import Assessment, AssessmentAttempt, GoldAnswer, Item, Project, User
from tests.factories import make_item, make_project, make_user

QUESTIONS: list[dict[str, Any]] = [
    {"key": "quality", "kind": "rating", "title": "How good is A?", "config": {"min": 1, "max": 5}},
    {
        "key": "topic",
        "kind": "choice",
        "title": "What is it about?",
        "config": {
            "options": [
                {"value": "math", "label": "Math"},
                {"value": "poetry", "label": "Poetry"},
            ]
        },
    },
    {
        "key": "better",
        "kind": "preference",
        "title": "Which answer is better?",
        "config": {"allow_tie": True},
    },
    {"key": "note", "kind": "text", "title": "Any note?", "required": False},
]
GOLD = {"quality": 4, "topic": "math", "better": {"winner": "A", "strength": 2}}
RIGHT: list[dict[str, Any]] = [
    {"question": "quality", "value": 4},
    {"question": "topic", "value": "math"},
    {"question": "better", "value": {"winner": "A", "strength": 1}},
]
WRONG: list[dict[str, Any]] = [
    {"question": "quality", "value": 1},
    {"question": "topic", "value": "poetry"},
    {"question": "better", "value": {"winner": "B", "strength": 3}},
]


def gold_project(session: Session, owner: User | None = None) -> Project:
    """A project whose questions assessments can score."""
    return make_project(session, owner=owner, questions=QUESTIONS, redundancy=1)


def gold_item(session: Session, project: Project, secret: str = "", **gold: Any) -> Item:
    """A gold item of `project` with the gold answers GOLD (updated by `gold`)."""
    item = make_item(session, project=project, prompt=f"What is 2+2? {uuid.uuid4().hex[:6]}")
    item.is_gold = True
    for key, value in {**GOLD, **gold}.items():
        session.add(
            GoldAnswer(
                item_id=item.id,
                question_key=key,
                value=value,
                explanation=f"Because {key} {secret}".strip(),
            )
        )
    session.commit()
    return item


def make_assessment(
    session: Session, *, items: int = 2, owner: User | None = None, **fields: Any
) -> Assessment:
    """An assessment over `items` new gold items of a new project."""
    owner = owner or make_user(session, role="owner")
    project = gold_project(session, owner)
    gold = [gold_item(session, project) for _ in range(items)]
    data = {
        "slug": f"a-{uuid.uuid4().hex[:8]}",
        "name": "Math screening",
        "item_ids": [g.id for g in gold],
        "qualification": "math-basics",
        "pass_mark": 0.6,
        "max_attempts": 2,
        "cooldown_s": 3600,
        **fields,
    }
    return create_assessment(session, owner=owner, data=AssessmentCreate(**data))


def take(
    session: Session, assessment: Assessment, worker: User, answers: list[dict[str, Any]]
) -> AssessmentAttempt:
    """Start an attempt, answer every item the same way, and finish it."""
    attempt = start_attempt(session, assessment=assessment, worker=worker)
    for item_id in assessment.item_ids:
        save_item_answers(session, attempt=attempt, item_id=item_id, answers=answers)
    return finish_attempt(session, attempt=attempt)


def test_passing_grants_a_qualification_with_expiry(session: Session) -> None:
    assessment = make_assessment(session, qualification_valid_days=30)
    worker = make_user(session)
    attempt = take(session, assessment, worker, RIGHT)
    assert attempt.score == 1.0 and attempt.passed is True
    assert active_qualifications(session, worker_id=worker.id) == {"math-basics"}
    status = attempt_status(session, assessment=assessment, worker=worker)
    assert status.qualification is not None and status.qualification.expires_at is not None
    left = status.qualification.expires_at - utcnow()
    assert timedelta(days=29) < left <= timedelta(days=30)
    assert not status.can_start and "math-basics" in status.reason


def test_results_show_expected_answer_and_explanation_per_question(session: Session) -> None:
    assessment = make_assessment(session, items=1)
    worker = make_user(session)
    attempt = take(session, assessment, worker, WRONG[:1] + RIGHT[1:])
    by_question = {r["question"]: r for r in attempt.results}
    assert set(by_question) == {"quality", "topic", "better"}
    assert by_question["quality"]["correct"] is False
    assert by_question["quality"]["expected"] == 4 and by_question["quality"]["given"] == 1
    assert by_question["quality"]["explanation"] == "Because quality"
    assert by_question["better"]["correct"] is True  # only the winner counts
    assert attempt.score == pytest.approx(2 / 3)
    assert attempt.passed is True  # pass mark 0.6


def test_failing_sets_a_cooldown_with_the_retry_time(session: Session) -> None:
    assessment = make_assessment(session, cooldown_s=3600)
    worker = make_user(session)
    attempt = take(session, assessment, worker, WRONG)
    assert attempt.passed is False and attempt.score == 0
    assert active_qualifications(session, worker_id=worker.id) == set()
    with pytest.raises(Conflict, match="try again after"):
        start_attempt(session, assessment=assessment, worker=worker)
    status = attempt_status(session, assessment=assessment, worker=worker)
    assert status.retry_at is not None and attempt.finished_at is not None
    assert status.retry_at == attempt.finished_at + timedelta(seconds=3600)
    assert status.attempts_left == 1


def test_no_attempt_after_the_last_one(session: Session) -> None:
    assessment = make_assessment(session, cooldown_s=0, max_attempts=2)
    worker = make_user(session)
    take(session, assessment, worker, WRONG)
    second = take(session, assessment, worker, WRONG)
    assert second.attempt_no == 2
    with pytest.raises(Conflict, match="every attempt"):
        start_attempt(session, assessment=assessment, worker=worker)


def test_expired_qualification_may_be_earned_again(session: Session) -> None:
    assessment = make_assessment(session, cooldown_s=0, max_attempts=1)
    worker = make_user(session)
    take(session, assessment, worker, RIGHT)
    status = attempt_status(session, assessment=assessment, worker=worker)
    assert status.qualification is not None
    status.qualification.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert active_qualifications(session, worker_id=worker.id) == set()
    again = take(session, assessment, worker, RIGHT)
    assert again.attempt_no == 2 and again.passed
    assert active_qualifications(session, worker_id=worker.id) == {"math-basics"}


def test_starting_twice_resumes_the_running_attempt(session: Session) -> None:
    assessment = make_assessment(session)
    worker = make_user(session)
    first = start_attempt(session, assessment=assessment, worker=worker)
    assert start_attempt(session, assessment=assessment, worker=worker).id == first.id


def test_answers_are_validated_and_unfinished_attempts_refuse_to_finish(session: Session) -> None:
    assessment = make_assessment(session)
    worker = make_user(session)
    attempt = start_attempt(session, assessment=assessment, worker=worker)
    item_id = assessment.item_ids[0]
    with pytest.raises(InvalidInput) as info:
        save_item_answers(
            session, attempt=attempt, item_id=item_id, answers=[{"question": "quality", "value": 9}]
        )
    fields = {row.field for row in info.value.rows}
    assert "answers.quality.value" in fields and "answers.topic" in fields
    with pytest.raises(NotFound):
        save_item_answers(session, attempt=attempt, item_id=10**9, answers=RIGHT)
    save_item_answers(session, attempt=attempt, item_id=item_id, answers=RIGHT)
    with pytest.raises(Conflict, match="1 left"):
        finish_attempt(session, attempt=attempt)


def test_time_out_scores_what_was_saved_and_ignores_late_answers(session: Session) -> None:
    assessment = make_assessment(session, items=2, pass_mark=0.4)
    worker = make_user(session)
    attempt = start_attempt(session, assessment=assessment, worker=worker)
    save_item_answers(session, attempt=attempt, item_id=assessment.item_ids[0], answers=RIGHT)
    attempt.deadline = utcnow() - timedelta(minutes=5)
    session.commit()
    late = save_item_answers(
        session, attempt=attempt, item_id=assessment.item_ids[1], answers=RIGHT
    )
    assert late.finished_at is not None and late.timed_out
    assert late.score == 0.5 and late.passed is True
    assert str(assessment.item_ids[1]) not in late.answers["by_item"]


def test_other_workers_cannot_see_an_attempt(session: Session) -> None:
    assessment = make_assessment(session)
    attempt = start_attempt(session, assessment=assessment, worker=make_user(session))
    with pytest.raises(NotFound):
        get_attempt(session, attempt_id=attempt.id, worker=make_user(session))


def test_building_needs_gold_items_of_own_projects(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = gold_project(session, owner)
    plain = make_item(session, project=project)
    other = gold_item(session, gold_project(session))
    data = {"slug": "screen-x", "name": "X", "qualification": "x", "item_ids": [plain.id]}
    with pytest.raises(InvalidInput, match="invalid assessment") as info:
        create_assessment(session, owner=owner, data=AssessmentCreate(**data))
    assert "not a gold item" in info.value.rows[0].reason
    data["item_ids"] = [other.id]
    with pytest.raises(InvalidInput) as info:
        create_assessment(session, owner=owner, data=AssessmentCreate(**data))
    assert "do not run" in info.value.rows[0].reason
    with pytest.raises(Forbidden):
        create_assessment(session, owner=make_user(session), data=AssessmentCreate(**data))


def test_only_unscorable_gold_is_refused(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = gold_project(session, owner)
    item = make_item(session, project=project)
    item.is_gold = True
    session.add(GoldAnswer(item_id=item.id, question_key="note", value="anything"))
    session.commit()
    data = AssessmentCreate(slug="only-text", name="T", qualification="t", item_ids=[item.id])
    with pytest.raises(InvalidInput) as info:
        create_assessment(session, owner=owner, data=data)
    assert "can be scored" in info.value.rows[0].reason


def test_closed_assessments_are_hidden_from_workers(session: Session) -> None:
    assessment = make_assessment(session)
    owner = session.get(User, assessment.owner_id)
    assert owner is not None
    worker = make_user(session)
    assert assessment in list_assessments(session, user=worker)
    update_assessment(
        session, assessment=assessment, actor=owner, data=AssessmentUpdate(is_active=False)
    )
    assert assessment not in list_assessments(session, user=worker)
    assert assessment in list_assessments(session, user=owner)
    with pytest.raises(Forbidden):
        update_assessment(
            session, assessment=assessment, actor=worker, data=AssessmentUpdate(name="Mine")
        )
    with pytest.raises(Conflict, match="closed"):
        start_attempt(session, assessment=assessment, worker=worker)


@pytest.mark.parametrize(
    ("kind", "expected", "given", "verdict"),
    [
        ("rating", 4, 4, True),
        ("rating", "4", 4, True),
        ("rating", 4, 5, False),
        ("choice", ["a", "b"], ["b", "a"], True),
        ("choice", "a", "b", False),
        ("preference", {"winner": "A", "strength": 3}, {"winner": "A", "strength": 1}, True),
        ("preference", "A", {"winner": "B", "strength": None}, False),
        ("ranking", ["A", "B"], ["A", "B"], True),
        ("ranking", ["A", "B"], ["B", "A"], False),
        ("code_run", {"verdict": "correct"}, {"verdict": "correct", "run_id": 3}, True),
        ("text", "x", "x", None),
        ("rating", 4, None, False),
    ],
)
def test_answer_matching_rules(kind: str, expected: Any, given: Any, verdict: bool | None) -> None:
    assert answer_matches(kind, expected, given) is verdict
