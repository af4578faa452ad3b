"""The audit queue: sampling, reviewing through the usual path, reviewers' agreement."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden
from judgeloop.services.audits import audit_counts, audit_queue, reviewer_agreement, sample_audits
from judgeloop.services.pay import balances, set_pay_terms
from judgeloop.services.qc import suspend_worker
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import review_submission
from judgeloop.store.models import AuditSample, Item, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user
from tests.quality_world import submit


def _setup(session: Session, n_items: int = 6) -> tuple[Project, User, User, User, list[Item]]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=2)
    veteran, newcomer = (join(session, project, make_user(session)) for _ in range(2))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    items = [make_item(session, project=project, prompt=f"p{n}") for n in range(n_items)]
    return project, owner, veteran, newcomer, [reviewer, *items]  # type: ignore[list-item]


def _rate(project: Project, owner: User, session: Session, **audit: float) -> None:
    project.settings = {**project.settings, "audit": audit}
    session.commit()


def test_new_and_flagged_workers_are_sampled_more(session: Session) -> None:
    project, owner, veteran, newcomer, (reviewer, *items) = _setup(session, n_items=8)
    for item in items:
        submit(session, veteran, item, [{"question": "quality", "value": 4}])
    for item in items[:2]:
        submit(session, newcomer, item, [{"question": "quality", "value": 4}])
    _rate(project, owner, session, rate=0.0, new_worker_rate=1.0, new_worker_submissions=5)
    picks = sample_audits(session, project=project, actor=reviewer, seed=1)
    by = {session.get(Submission, p.submission_id).worker_id for p in picks}  # type: ignore[union-attr]
    assert by == {newcomer.id} and len(picks) == 2
    assert {p.reason for p in picks} == {"new worker"}

    suspend_worker(session, project=project, worker_id=veteran.id, actor=owner, reason="check")
    _rate(project, owner, session, rate=0.0, new_worker_rate=0.0, flagged_rate=1.0)
    picks = sample_audits(session, project=project, actor=reviewer, seed=1)
    by = {session.get(Submission, p.submission_id).worker_id for p in picks}  # type: ignore[union-attr]
    assert by == {veteran.id} and len(picks) == 8
    assert {p.reason for p in picks} == {"flagged worker"}
    assert sample_audits(session, project=project, actor=reviewer, seed=1) == []  # never twice


def test_rejection_in_the_audit_unpays_and_requeues_the_slot(session: Session) -> None:
    project, owner, veteran, newcomer, (reviewer, *items) = _setup(session, n_items=1)
    set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=Decimal("0.25"))
    item = items[0]
    sub = submit(session, newcomer, item, [{"question": "quality", "value": 1}])
    submit(session, veteran, item, [{"question": "quality", "value": 4}])
    session.refresh(item)
    assert not item.is_open
    assert balances(session, worker=newcomer)["approved"] == Decimal("0.25")
    _rate(project, owner, session, rate=1.0, double_review=0.0)
    sample_audits(session, project=project, actor=reviewer, seed=0)
    queue = audit_queue(session, project=project, reviewer=reviewer)
    assert {e.submission.id for e in queue} == {sub.id, sub.id + 1}
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="Read 2.1"
    )
    assert balances(session, worker=newcomer)["approved"] == 0
    session.refresh(item)
    assert item.is_open and item.slots_taken == 1  # back in the queue for someone else
    third = join(session, project, make_user(session))
    lease = lease_next_assignment(session, project=project, worker=third)
    assert lease is not None and lease.item_id == item.id
    assert sub.id not in {
        e.submission.id for e in audit_queue(session, project=project, reviewer=reviewer)
    }
    assert audit_counts(session, project=project)["rejected"] == 1


def test_reviewers_agreement_on_doubly_audited_submissions(session: Session) -> None:
    project, owner, veteran, _, (reviewer, *items) = _setup(session, n_items=3)
    second = join(session, project, make_user(session, role="reviewer"), "reviewer")
    subs = [submit(session, veteran, item, [{"question": "quality", "value": 3}]) for item in items]
    _rate(project, owner, session, rate=1.0, double_review=1.0)
    picks = sample_audits(session, project=project, actor=reviewer, seed=0)
    assert len(picks) == 3 and all(p.reviews_wanted == 2 for p in picks)
    verdicts = [("accept", "accept"), ("accept", "reject"), ("reject", "reject")]
    for sub, (a, b) in zip(subs, verdicts, strict=True):
        review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict=a, feedback="f")
        assert sub.id in {
            e.submission.id for e in audit_queue(session, project=project, reviewer=second)
        }
        review_submission(session, submission_id=sub.id, reviewer=second, verdict=b, feedback="g")
    assert audit_queue(session, project=project, reviewer=second) == []
    agreement = reviewer_agreement(session, project=project)
    assert (agreement.submissions, agreement.pairs) == (3, 3)
    assert agreement.agreement == pytest.approx(2 / 3)
    assert agreement.per_reviewer[reviewer.id] == (3, pytest.approx(2 / 3))


def test_workers_may_not_sample_or_audit(session: Session) -> None:
    project, _, veteran, _, _ = _setup(session, n_items=1)
    with pytest.raises(Forbidden):
        sample_audits(session, project=project, actor=veteran)
    with pytest.raises(Forbidden):
        audit_queue(session, project=project, reviewer=veteran)
    assert session.scalars(select(AuditSample)).first() is None
