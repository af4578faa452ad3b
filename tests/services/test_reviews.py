"""Reviews on SQLite and PostgreSQL: verdicts, slots given back, feedback, flags."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, InvalidInput, NotFound
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.pay import balances, set_pay_terms
from judgeloop.services.queue import flag_item, lease_next_assignment
from judgeloop.services.reviews import (
    flag_summary,
    latest_reviews,
    list_reviews_for_worker,
    list_submissions_for_review,
    review_submission,
    reviews_of,
    submission_state_counts,
)
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Event, Item, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user


def _submit(session: Session, project: Project, worker: User, item: Item) -> Submission:
    data = SubmissionCreate(
        item_id=item.id,
        submission_key=uuid.uuid4().hex,
        answers=[AnswerIn(question="quality", value=4)],
        seconds_spent=12,
    )
    submission, _ = submit_judgment(session, worker=worker, data=data)
    return submission


def _setup(session: Session, redundancy: int = 1) -> tuple[Project, Item, User, User, Submission]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=redundancy)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    return project, item, worker, reviewer, _submit(session, project, worker, item)


def _slots(session: Session, item: Item) -> tuple[int, bool]:
    session.expire_all()
    row = session.execute(select(Item.slots_taken, Item.is_open).where(Item.id == item.id)).one()
    return row[0], row[1]


def test_accept_marks_the_submission_and_journals_it(session: Session) -> None:
    project, item, _, reviewer, sub = _setup(session)
    review = review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="accept", feedback=" Good. "
    )
    assert (review.verdict, review.feedback, review.reviewer_id) == (
        "accepted",
        "Good.",
        reviewer.id,
    )
    assert session.get(Submission, sub.id).state == "accepted"  # type: ignore[union-attr]
    assert _slots(session, item) == (1, False)
    event = session.scalars(select(Event).where(Event.kind == "submission.reviewed")).one()
    assert event.project_id == project.id
    assert event.payload == {
        "submission_id": sub.id,
        "review_id": review.id,
        "verdict": "accepted",
        "previous_state": "submitted",
    }


def test_rejection_requires_feedback_and_writes_nothing_without(session: Session) -> None:
    _, item, _, reviewer, sub = _setup(session)
    with pytest.raises(InvalidInput) as info:
        review_submission(
            session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="  \n "
        )
    assert [r.field for r in info.value.rows] == ["feedback"]
    assert reviews_of(session, submission_id=sub.id) == []
    assert session.get(Submission, sub.id).state == "submitted"  # type: ignore[union-attr]
    assert _slots(session, item) == (1, False)


def test_unknown_verdict_is_refused(session: Session) -> None:
    _, _, _, reviewer, sub = _setup(session)
    with pytest.raises(InvalidInput) as info:
        review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="maybe")
    assert [r.field for r in info.value.rows] == ["verdict"]


def test_rejection_requeues_the_item_for_another_worker(session: Session) -> None:
    project, item, worker, reviewer, sub = _setup(session)
    other = join(session, project, make_user(session))
    assert lease_next_assignment(session, project=project, worker=other) is None
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="Wrong."
    )
    assert _slots(session, item) == (0, True)
    assert lease_next_assignment(session, project=project, worker=worker) is None
    lease = lease_next_assignment(session, project=project, worker=other)
    assert lease is not None and lease.item_id == item.id


def test_re_review_latest_wins_and_a_rejection_is_never_freed_twice(session: Session) -> None:
    _, item, _, reviewer, sub = _setup(session, redundancy=2)
    owner_review = make_user(session, role="admin")
    assert _slots(session, item) == (1, True)
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="No."
    )
    assert _slots(session, item) == (0, True)
    review_submission(
        session, submission_id=sub.id, reviewer=owner_review, verdict="reject", feedback="Still no."
    )
    assert _slots(session, item) == (0, True)
    last = review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="accept")
    assert _slots(session, item) == (1, True)
    assert session.get(Submission, sub.id).state == "accepted"  # type: ignore[union-attr]
    assert [r.verdict for r in reviews_of(session, submission_id=sub.id)] == [
        "accepted",
        "rejected",
        "rejected",
    ]
    assert latest_reviews(session, [sub.id]) == {sub.id: last}
    review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="accept")
    assert _slots(session, item) == (1, True)


def test_un_rejecting_counts_the_submission_even_when_the_item_filled_up(session: Session) -> None:
    project, item, _, reviewer, sub = _setup(session)
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="x"
    )
    second = join(session, project, make_user(session))
    _submit(session, project, second, item)
    assert _slots(session, item) == (1, False)
    review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="accept")
    assert _slots(session, item) == (2, False)


def test_only_reviewers_owners_and_admins_review(session: Session) -> None:
    project, _, worker, _, sub = _setup(session)
    peer = join(session, project, make_user(session))
    with pytest.raises(Forbidden):
        review_submission(session, submission_id=sub.id, reviewer=peer, verdict="accept")
    with pytest.raises(NotFound):
        review_submission(
            session,
            submission_id=sub.id,
            reviewer=make_user(session, role="reviewer"),
            verdict="accept",
        )
    with pytest.raises(NotFound):
        review_submission(session, submission_id=10**9, reviewer=worker, verdict="accept")
    owner = session.get(User, project.owner_id)
    assert owner is not None
    review_submission(session, submission_id=sub.id, reviewer=owner, verdict="accept")
    review_submission(
        session, submission_id=sub.id, reviewer=make_user(session, role="admin"), verdict="accept"
    )


def test_nobody_reviews_their_own_submission(session: Session) -> None:
    project, item, _, reviewer, _ = _setup(session, redundancy=2)
    own = _submit(session, project, reviewer, item)
    with pytest.raises(Forbidden):
        review_submission(session, submission_id=own.id, reviewer=reviewer, verdict="accept")


def test_worker_feedback_lists_their_reviews_newest_first(session: Session) -> None:
    project, item, worker, reviewer, sub = _setup(session)
    other_item = make_item(session, project=project, prompt="Second?")
    sub2 = _submit(session, project, worker, other_item)
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="A"
    )
    review_submission(session, submission_id=sub2.id, reviewer=reviewer, verdict="accept")
    stranger = make_user(session)
    assert list_reviews_for_worker(session, worker=stranger) == []
    rows = list_reviews_for_worker(session, worker=worker)
    assert [(r.submission.id, r.review.verdict, r.review.feedback) for r in rows] == [
        (sub2.id, "accepted", ""),
        (sub.id, "rejected", "A"),
    ]
    assert rows[1].project.id == project.id and rows[1].item.id == item.id
    assert len(list_reviews_for_worker(session, worker=worker, limit=1)) == 1


def test_submission_list_filters_by_state_and_pages(session: Session) -> None:
    project, _, worker, reviewer, sub = _setup(session, redundancy=1)
    subs = [sub]
    for i in range(3):
        subs.append(
            _submit(session, project, worker, make_item(session, project=project, prompt=f"q{i}"))
        )
    review_submission(
        session, submission_id=subs[1].id, reviewer=reviewer, verdict="reject", feedback="x"
    )
    rows = list_submissions_for_review(session, project=project)
    assert [r.submission.id for r in rows] == [s.id for s in reversed(subs)]
    assert rows[0].worker.id == worker.id and rows[0].review is None
    rejected = list_submissions_for_review(session, project=project, state="rejected")
    assert [(r.submission.id, r.review.verdict) for r in rejected] == [(subs[1].id, "rejected")]  # type: ignore[union-attr]
    page = list_submissions_for_review(session, project=project, before=subs[2].id, limit=1)
    assert [r.submission.id for r in page] == [subs[1].id]
    with pytest.raises(InvalidInput):
        list_submissions_for_review(session, project=project, state="lost")
    assert submission_state_counts(session, project=project) == {
        "submitted": 3,
        "accepted": 0,
        "rejected": 1,
    }


def test_flag_summary_counts_by_reason_and_lists_the_latest(session: Session) -> None:
    project, item, worker, _, _ = _setup(session)
    empty = flag_summary(session, project=project)
    assert empty.total == 0 and empty.latest == []
    assert set(empty.counts) == {"broken_prompt", "personal_data", "harmful_content", "other"}
    flag_item(session, item=item, worker=worker, reason="broken_prompt", note="cut off")
    flag_item(session, item=item, worker=worker, reason="broken_prompt")
    last = flag_item(session, item=item, worker=worker, reason="personal_data", note="a phone no.")
    summary = flag_summary(session, project=project, latest=2)
    assert summary.counts["broken_prompt"] == 2 and summary.counts["personal_data"] == 1
    assert summary.total == 3
    assert summary.latest[0].id == last.id and len(summary.latest) == 2


def test_pay_follows_the_verdict(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=1)
    set_pay_terms(session, project=project, actor=owner, mode="per_accepted", rate=Decimal("0.50"))
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    sub = _submit(session, project, worker, make_item(session, project=project))
    assert balances(session, worker=worker)["pending"] == Decimal("0.50")
    review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="accept")
    assert balances(session, worker=worker)["approved"] == Decimal("0.50")
    assert balances(session, worker=worker)["pending"] == 0
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="x"
    )
    review_submission(session, submission_id=sub.id, reviewer=owner, verdict="reject", feedback="y")
    assert balances(session, worker=worker) == {
        "pending": 0,
        "approved": 0,
        "paid": 0,
    }


def test_un_rejecting_respects_the_items_adaptive_target(session: Session) -> None:
    # Adaptive redundancy raised this disputed item's target to 3 (project k = 1): taking
    # the un-rejected submission back must leave it open for one more judgment.
    _, item, _, reviewer, sub = _setup(session)
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="x"
    )
    item.target_redundancy = 3
    session.commit()
    review_submission(session, submission_id=sub.id, reviewer=reviewer, verdict="accept")
    assert _slots(session, item) == (1, True)
