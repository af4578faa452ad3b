"""The task queue on SQLite and PostgreSQL: leases, slots, skips, expiry, concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.errors import Conflict, InvalidInput, LeaseExpired
from judgeloop.schemas.projects import ProjectUpdate
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services.projects import update_project
from judgeloop.services.queue import end_assignment, heartbeat, lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import Assignment, Item, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user


def _answer(assignment: Assignment, score: int = 3) -> SubmissionCreate:
    return SubmissionCreate(
        item_id=assignment.item_id,
        assignment_id=assignment.id,
        submission_key=uuid.uuid4().hex,
        answers=[{"question": "quality", "value": score}],  # type: ignore[list-item]
    )


def _setup(session: Session, items: int = 3, redundancy: int = 2) -> tuple[Project, list[Item]]:
    project = make_project(session, redundancy=redundancy)
    return project, [make_item(session, project=project, prompt=f"q{i}") for i in range(items)]


def test_lease_submit_and_never_the_same_item_twice(session: Session) -> None:
    project, items = _setup(session, items=2)
    worker = join(session, project, make_user(session))
    seen = []
    while (
        assignment := lease_next_assignment(session, project=project, worker=worker)
    ) is not None:
        assert lease_next_assignment(session, project=project, worker=worker).id == assignment.id  # type: ignore[union-attr]
        submit_judgment(session, worker=worker, data=_answer(assignment))
        seen.append(assignment.item_id)
    assert sorted(seen) == sorted(i.id for i in items)


def test_items_collect_exactly_k_judgments(session: Session) -> None:
    project, _items = _setup(session, items=2, redundancy=2)
    workers = [join(session, project, make_user(session)) for _ in range(5)]
    done = 0
    for worker in workers:
        while (a := lease_next_assignment(session, project=project, worker=worker)) is not None:
            submit_judgment(session, worker=worker, data=_answer(a))
            done += 1
    assert done == 4
    counts = session.execute(
        select(Submission.item_id, func.count())
        .where(Submission.project_id == project.id)
        .group_by(Submission.item_id)
    )
    assert {n for _, n in counts} == {2}


def test_skip_needs_a_reason_and_is_never_served_again(session: Session) -> None:
    project, _ = _setup(session, items=1, redundancy=1)
    worker = join(session, project, make_user(session))
    other = join(session, project, make_user(session))
    a = lease_next_assignment(session, project=project, worker=worker)
    assert a is not None
    assert lease_next_assignment(session, project=project, worker=other) is None
    with pytest.raises(InvalidInput):
        end_assignment(session, assignment_id=a.id, worker=worker, state="skipped")
    end_assignment(session, assignment_id=a.id, worker=worker, state="skipped", reason="unclear")
    assert lease_next_assignment(session, project=project, worker=worker) is None
    assert lease_next_assignment(session, project=project, worker=other) is not None


def test_expired_lease_returns_the_slot(session: Session) -> None:
    project, _ = _setup(session, items=1, redundancy=1)
    slow = join(session, project, make_user(session))
    fast = join(session, project, make_user(session))
    a = lease_next_assignment(session, project=project, worker=slow)
    assert a is not None
    a.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    with pytest.raises(LeaseExpired):
        heartbeat(session, assignment_id=a.id, worker=slow, active_seconds=5)
    b = lease_next_assignment(session, project=project, worker=fast)
    assert b is not None and b.item_id == a.item_id
    submit_judgment(session, worker=fast, data=_answer(b))
    with pytest.raises(LeaseExpired):
        submit_judgment(session, worker=slow, data=_answer(a))


def test_pausing_a_project_ends_its_leases(session: Session) -> None:
    project, items = _setup(session, items=1, redundancy=1)
    worker = join(session, project, make_user(session))
    a = lease_next_assignment(session, project=project, worker=worker)
    assert a is not None
    update_project(session, project=project, data=ProjectUpdate(state="paused"))
    session.refresh(a)
    session.refresh(items[0])
    assert a.state == "released"
    assert (items[0].slots_taken, items[0].is_open) == (0, True)
    with pytest.raises(Conflict):
        lease_next_assignment(session, project=project, worker=worker)


def test_gold_items_are_served(session: Session) -> None:
    project = make_project(session, redundancy=1, gold_ratio=1.0)
    gold = make_item(session, project=project, is_gold=True)
    make_item(session, project=project)
    worker = join(session, project, make_user(session))
    a = lease_next_assignment(session, project=project, worker=worker)
    assert a is not None and a.item_id == gold.id


def test_concurrent_workers_never_overfill(committed_db_url: str) -> None:
    """Eight threads, each with its own connection, race for 10 items x 2 slots.

    The threads commit for real, so the test has a database of its own.
    """
    engine = make_engine(committed_db_url)
    try:
        _race(make_sessionmaker(engine))
    finally:
        engine.dispose()


def _race(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        project, _ = _setup(session, items=10, redundancy=2)
        workers = [join(session, project, make_user(session)) for _ in range(8)]
        project_id, worker_ids = project.id, [w.id for w in workers]
    errors: list[BaseException] = []

    def work(worker_id: int) -> None:
        try:
            with factory() as s:
                proj, worker = s.get(Project, project_id), s.get(User, worker_id)
                assert proj is not None and worker is not None
                while (a := lease_next_assignment(s, project=proj, worker=worker)) is not None:
                    submit_judgment(s, worker=worker, data=_answer(a))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in worker_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with factory() as s:
        counts = dict(
            s.execute(
                select(Submission.item_id, func.count())
                .where(Submission.project_id == project_id)
                .group_by(Submission.item_id)
            ).all()
        )
        assert len(counts) == 10 and set(counts.values()) == {2}
        pairs = s.execute(
            select(Submission.item_id, Submission.worker_id).where(
                Submission.project_id == project_id
            )
        ).all()
        assert len(pairs) == len(set(pairs)) == 20
