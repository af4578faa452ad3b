"""32 threads asking for work and submitting against one paid project, on both databases.

Each thread is one worker with its own connection. Workers also release some tasks
(the slot goes back) and double-submit some answers (the same key twice, as a
double-click or a retry does). Afterwards: no item over-filled, no (item, worker)
pair twice, every acknowledged submission stored once and paid once, and the ledger
reconciles.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.pay import set_pay_terms
from judgeloop.services.pay_reconcile import reconcile
from judgeloop.services.queue import end_assignment, lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import Assignment, LedgerEntry, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user

THREADS = 32
ITEMS = 30
REDUNDANCY = 3
RATE = Decimal("0.40")


@pytest.fixture
def wide_engine(committed_db_url: str) -> Iterator[Engine]:
    """An engine whose pool holds a connection for every thread (committed data)."""
    engine = (
        make_engine(committed_db_url, pool_size=THREADS + 2, max_overflow=0)
        if committed_db_url.startswith("postgresql")
        else make_engine(committed_db_url)
    )
    yield engine
    engine.dispose()


def _setup(factory: sessionmaker[Session]) -> tuple[int, list[int]]:
    with factory() as session:
        owner = make_user(session, role="owner")
        project = make_project(session, owner=owner, redundancy=REDUNDANCY)
        for i in range(ITEMS):
            make_item(session, project=project, prompt=f"load {i}")
        set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=RATE)
        workers = [join(session, project, make_user(session)) for _ in range(THREADS)]
        return project.id, [w.id for w in workers]


def _worker_loop(
    factory: sessionmaker[Session], index: int, project_id: int, worker_id: int, acked: list[str]
) -> None:
    with factory() as s:
        project, worker = s.get(Project, project_id), s.get(User, worker_id)
        assert project is not None and worker is not None
        s.commit()
        turn = 0
        while (a := lease_next_assignment(s, project=project, worker=worker)) is not None:
            turn += 1
            if (index + turn) % 5 == 0:  # give some work back: the slot must return
                end_assignment(s, assignment_id=a.id, worker=worker, state="released")
                continue
            data = SubmissionCreate(
                item_id=a.item_id,
                assignment_id=a.id,
                submission_key=uuid.uuid4().hex,
                answers=[AnswerIn(question="quality", value=1 + turn % 5)],
                seconds_spent=3.0,
            )
            first, created = submit_judgment(s, worker=worker, data=data)
            assert created
            if turn % 3 == 0:  # a double-click: the same key again adds nothing
                again, created_again = submit_judgment(s, worker=worker, data=data)
                assert again.id == first.id and not created_again
            acked.append(data.submission_key)


def test_32_threads_never_overfill_double_serve_lose_or_double_pay(wide_engine: Engine) -> None:
    factory = make_sessionmaker(wide_engine)
    project_id, worker_ids = _setup(factory)
    acked: list[str] = []
    errors: list[BaseException] = []

    def run(index: int, worker_id: int) -> None:
        try:
            _worker_loop(factory, index, project_id, worker_id, acked)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(worker_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert not errors, errors

    with factory() as s:
        subs = s.execute(
            select(
                Submission.id, Submission.item_id, Submission.worker_id, Submission.submission_key
            ).where(Submission.project_id == project_id)
        ).all()
        per_item: dict[int, int] = {}
        for _, item_id, _, _ in subs:
            per_item[item_id] = per_item.get(item_id, 0) + 1
        assert len(per_item) == ITEMS and set(per_item.values()) == {REDUNDANCY}
        pairs = [(item_id, worker_id) for _, item_id, worker_id, _ in subs]
        assert len(pairs) == len(set(pairs))
        assert sorted(acked) == sorted(key for *_, key in subs)  # nothing lost, nothing extra
        earn = s.execute(
            select(LedgerEntry.submission_id, func.count(), func.sum(LedgerEntry.amount_micros))
            .where(LedgerEntry.project_id == project_id, LedgerEntry.kind == "task")
            .group_by(LedgerEntry.submission_id)
        ).all()
        assert len(earn) == ITEMS * REDUNDANCY and {n for _, n, _ in earn} == {1}
        assert sum(int(m) for *_, m in earn) == int(RATE * 1_000_000) * ITEMS * REDUNDANCY
        leased = s.scalar(
            select(func.count()).where(
                Assignment.project_id == project_id, Assignment.state == "leased"
            )
        )
        assert leased == 0
        project = s.get(Project, project_id)
        report = reconcile(s, project=project)
        assert report.ok, report.differences
