"""Pay on SQLite and PostgreSQL: terms, earnings, reviews, statements, append-only, reconcile."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.errors import Conflict, Forbidden, InvalidInput
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.pay import (
    add_adjustment,
    add_bonus,
    balances,
    create_statement,
    mark_statement_paid,
    on_submission_reviewed,
    reconcile,
    set_pay_terms,
    statement_csv,
)
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import (
    Event,
    LedgerEntry,
    PayoutStatement,
    Project,
    Submission,
    User,
)
from judgeloop.store.models.ledger import AppendOnlyError
from tests.factories import join, make_item, make_project, make_user

D = Decimal


def _paid_project(
    session: Session, mode: str = "per_task", rate: str = "1.25", cap: int | None = None
) -> tuple[Project, User]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=2)
    for i in range(4):
        make_item(session, project=project, prompt=f"q{i}")
    set_pay_terms(
        session, project=project, actor=owner, mode=mode, rate=D(rate), hourly_cap_seconds=cap
    )
    return project, owner


def _data(item_id: int, assignment_id: int | None, key: str, seconds: float) -> SubmissionCreate:
    return SubmissionCreate(
        item_id=item_id,
        assignment_id=assignment_id,
        submission_key=key,
        answers=[AnswerIn(question="quality", value=3)],
        seconds_spent=seconds,
    )


def _submit(
    session: Session,
    project: Project,
    worker: User,
    *,
    active: float | None = None,
    seconds: float = 0.0,
) -> Submission:
    assignment = lease_next_assignment(session, project=project, worker=worker)
    assert assignment is not None
    if active is not None:
        assignment.active_seconds = active
        session.commit()
    data = _data(assignment.item_id, assignment.id, uuid.uuid4().hex, seconds)
    submission, created = submit_judgment(session, worker=worker, data=data)
    assert created
    return submission


def _review(session: Session, reviewer: User, submission: Submission, verdict: str) -> None:
    review_submission(
        session, submission_id=submission.id, reviewer=reviewer, verdict=verdict, feedback="ok"
    )
    on_submission_reviewed(session, submission=submission, verdict=verdict)
    session.commit()


def _entries(session: Session, submission: Submission) -> list[tuple[str, str, Decimal]]:
    rows = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.submission_id == submission.id)
        .order_by(LedgerEntry.id)
    )
    return [(e.kind, e.status, e.amount) for e in rows]


def _bal(session: Session, worker: User, project: Project | None = None) -> tuple[D, D, D]:
    b = balances(session, worker=worker, project=project)
    return b["pending"], b["approved"], b["paid"]


def _assert_reconciles(session: Session, project: Project | None = None) -> None:
    report = reconcile(session, project=project)
    assert report.ok, report.differences


def test_per_task_pays_at_once(session: Session) -> None:
    project, _ = _paid_project(session, rate="1.25")
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    assert _entries(session, submission) == [("task", "approved", D("1.25"))]
    assert _bal(session, worker) == (0, D("1.25"), 0)
    _assert_reconciles(session, project)


def test_per_accepted_is_pending_until_accepted(session: Session) -> None:
    project, owner = _paid_project(session, mode="per_accepted", rate="0.40")
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    assert _bal(session, worker) == (D("0.40"), 0, 0)
    _review(session, owner, submission, "accept")
    assert _bal(session, worker) == (0, D("0.40"), 0)
    assert _entries(session, submission) == [
        ("task", "pending", D("0.40")),
        ("approval", "pending", D("-0.40")),
        ("approval", "approved", D("0.40")),
    ]
    _assert_reconciles(session, project)


@pytest.mark.parametrize("mode", ["per_task", "per_accepted", "hourly"])
def test_a_rejected_submission_is_not_paid(session: Session, mode: str) -> None:
    project, owner = _paid_project(session, mode=mode, rate="3")
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker, active=600)
    assert sum(_bal(session, worker)) > 0
    _review(session, owner, submission, "reject")
    assert _bal(session, worker) == (0, 0, 0)
    assert _entries(session, submission)[-1][0] == "reversal"
    _assert_reconciles(session, project)
    _review(session, owner, submission, "accept")  # a second opinion pays again
    assert _bal(session, worker)[1] > 0
    _assert_reconciles(session, project)


def test_hourly_pays_active_seconds_up_to_the_cap(session: Session) -> None:
    project, _ = _paid_project(session, mode="hourly", rate="36", cap=150)
    worker = join(session, project, make_user(session))
    capped = _submit(session, project, worker, active=200, seconds=999)
    assert _entries(session, capped) == [("hourly", "approved", D("1.5"))]
    reported = _submit(session, project, worker, active=0, seconds=100)  # no heartbeats
    assert _entries(session, reported) == [("hourly", "approved", D("1"))]
    thirds = _submit(session, project, worker, active=1 / 3)  # 36/3600/3 = 0.00333...
    assert _entries(session, thirds) == [("hourly", "approved", D("0.003333"))]
    _assert_reconciles(session, project)


def test_a_retried_submit_pays_once(session: Session) -> None:
    project, _ = _paid_project(session)
    worker = join(session, project, make_user(session))
    assignment = lease_next_assignment(session, project=project, worker=worker)
    assert assignment is not None
    data = _data(assignment.item_id, assignment.id, uuid.uuid4().hex, 5)
    first, created = submit_judgment(session, worker=worker, data=data)
    again, created_again = submit_judgment(session, worker=worker, data=data)
    assert (created, created_again, again.id) == (True, False, first.id)
    assert len(_entries(session, first)) == 1
    assert _bal(session, worker) == (0, D("1.25"), 0)


def test_a_replayed_review_pays_once(session: Session) -> None:
    project, owner = _paid_project(session, mode="per_accepted", rate="2")
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    _review(session, owner, submission, "accept")
    for verdict in ("accept", "accepted"):
        assert on_submission_reviewed(session, submission=submission, verdict=verdict) == []
    session.commit()
    assert len(_entries(session, submission)) == 3
    assert _bal(session, worker) == (0, D("2"), 0)
    assert on_submission_reviewed(session, submission=submission, verdict="maybe") == []
    _assert_reconciles(session, project)


def test_statements_csv_and_mark_paid(session: Session) -> None:
    project, owner = _paid_project(session, rate="1.10")
    workers = [join(session, project, make_user(session)) for _ in range(2)]
    for worker in workers:
        _submit(session, project, worker)
    _submit(session, project, workers[0])
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(seconds=1)
    with pytest.raises(Forbidden):  # an owner pays for their own project only
        create_statement(session, period_start=start, period_end=end, actor=owner)
    mine = create_statement(
        session, period_start=start, period_end=end, project=project, actor=owner
    )
    assert sorted(s.total for s in mine) == [D("1.10"), D("2.20")]
    out = io.StringIO()
    assert statement_csv(session, statements=mine, out=out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["worker_email"] for r in rows} == {w.email for w in workers}
    assert sorted(r["entries"] for r in rows) == ["1", "2"]
    assert create_statement(session, period_start=start, period_end=end, project=project) == []
    with pytest.raises(Forbidden):
        mark_statement_paid(session, statement_id=mine[0].id, reference="x", actor=workers[0])
    for statement in mine:
        mark_statement_paid(session, statement_id=statement.id, reference="batch-7", actor=owner)
    assert _bal(session, workers[0]) == (0, 0, D("2.20"))
    again = mark_statement_paid(session, statement_id=mine[0].id, reference="batch-7", actor=owner)
    assert again.state == "paid"
    with pytest.raises(Conflict):
        mark_statement_paid(session, statement_id=mine[0].id, reference="other", actor=owner)
    assert _bal(session, workers[0]) == (0, 0, D("2.20"))
    _assert_reconciles(session, project)


def test_rejection_after_a_statement_keeps_the_money(session: Session) -> None:
    project, owner = _paid_project(session, rate="5")
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    end = utcnow() + timedelta(seconds=1)
    [statement] = create_statement(
        session, period_start=end - timedelta(days=7), period_end=end, worker=worker
    )
    _review(session, owner, submission, "reject")
    assert _entries(session, submission) == [("task", "approved", D("5"))]
    kinds = session.scalars(select(Event.kind).where(Event.project_id == project.id)).all()
    assert "pay.kept_after_statement" in kinds
    admin = make_user(session, role="admin")  # the statement spans projects: an admin pays
    mark_statement_paid(session, statement_id=statement.id, reference="r1", actor=admin)
    assert _bal(session, worker) == (0, 0, D("5"))
    _assert_reconciles(session, project)


def test_bonuses_and_adjustments(session: Session) -> None:
    project, owner = _paid_project(session, rate="1")
    worker = join(session, project, make_user(session))
    _submit(session, project, worker)
    by_owner = {"worker": worker, "project": project, "actor": owner}
    with pytest.raises(Forbidden):
        add_bonus(session, **{**by_owner, "actor": worker}, amount=D(1), reason="x")
    with pytest.raises(InvalidInput):
        add_bonus(session, **by_owner, amount=D(1), reason=" ")
    with pytest.raises(InvalidInput):  # finer than a micro-unit
        add_bonus(session, **by_owner, amount=D("0.0000001"), reason="x")
    bonus = add_bonus(session, **by_owner, amount=D("0.5"), reason="great", idempotency_key="f-1")
    replay = add_bonus(session, **by_owner, amount=D("0.5"), reason="great", idempotency_key="f-1")
    assert replay.id == bonus.id
    with pytest.raises(Conflict):
        add_bonus(session, **by_owner, amount=D(7), reason="great", idempotency_key="f-1")
    with pytest.raises(InvalidInput):  # more than the unpaid approved balance
        add_adjustment(session, **by_owner, amount=D(-2), reason="typo")
    add_adjustment(session, **by_owner, amount=D("-1.5"), reason="counted twice")
    assert _bal(session, worker) == (0, 0, 0)
    _assert_reconciles(session, project)


def test_new_terms_apply_to_new_submissions(session: Session) -> None:
    project, owner = _paid_project(session, rate="1")
    worker = join(session, project, make_user(session))
    old = _submit(session, project, worker)
    set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=D(2), currency="eur")
    new = _submit(session, project, worker)
    assert [e[2] for e in _entries(session, old) + _entries(session, new)] == [D(1), D(2)]
    with pytest.raises(InvalidInput):
        balances(session, worker=worker)  # two currencies: say which
    assert balances(session, worker=worker, currency="EUR")["approved"] == D(2)
    with pytest.raises(Forbidden):
        set_pay_terms(session, project=project, actor=worker, mode="per_task", rate=D(9))
    with pytest.raises(InvalidInput):
        set_pay_terms(session, project=project, actor=owner, mode="weekly", rate=D(9))
    _assert_reconciles(session, project)


def test_ledger_rows_are_append_only(session: Session) -> None:
    project, _ = _paid_project(session)
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    entry = session.scalars(
        select(LedgerEntry).where(LedgerEntry.submission_id == submission.id)
    ).one()
    entry.amount_micros = 99_000_000
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(entry)
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    with pytest.raises(AppendOnlyError):
        session.execute(update(LedgerEntry).values(amount_micros=0))
    with pytest.raises(AppendOnlyError):
        session.execute(update(LedgerEntry.__table__).values(amount_micros=0))
    conn = session.connection()
    for sql in ("UPDATE ledger_entries SET amount_micros = 0", "DELETE FROM ledger_entries"):
        savepoint = conn.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql))
        savepoint.rollback()
    assert _bal(session, worker) == (0, D("1.25"), 0)


def _bogus(session: Session, **values: object) -> None:
    row = {
        "idempotency_key": uuid.uuid4().hex,
        "kind": "task",
        "status": "approved",
        "amount_micros": 1_250_000,
        "currency": "USD",
        "reason": "",
        "source": "submission",
        "created_at": utcnow(),
    }
    session.execute(insert(LedgerEntry.__table__).values({**row, **values}))


def test_reconcile_finds_a_double_payment(session: Session) -> None:
    project, _ = _paid_project(session)
    worker = join(session, project, make_user(session))
    submission = _submit(session, project, worker)
    _assert_reconciles(session, project)
    _bogus(session, worker_id=worker.id, project_id=project.id, submission_id=submission.id)
    report = reconcile(session, project=project)
    details = " ".join(d.detail for d in report.differences)
    assert not report.ok and "paid 2 times" in details
    assert {d.submission_id for d in report.differences} == {submission.id}


def test_reconcile_finds_a_forged_bonus_and_a_missing_entry(session: Session) -> None:
    project, _ = _paid_project(session)
    worker = join(session, project, make_user(session))
    _submit(session, project, worker)
    _bogus(session, worker_id=worker.id, project_id=project.id, kind="bonus", source="owner")
    missing = Submission(
        submission_key=uuid.uuid4().hex,
        project_id=project.id,
        item_id=_submit(session, project, worker).item_id,
        worker_id=worker.id,
        guideline_version=1,
        source="api",
    )
    session.add(missing)  # written behind submit_judgment's back: never paid
    session.flush()
    report = reconcile(session)
    checks = {(d.check, d.submission_id) for d in report.differences}
    assert ("entry", None) in checks
    assert ("submission", missing.id) in checks
    assert report.differences[-1].expected is None or report.submissions >= 3


def test_reconcile_finds_a_payout_without_a_paid_statement(session: Session) -> None:
    project, _ = _paid_project(session)
    worker = join(session, project, make_user(session))
    _submit(session, project, worker)
    end = utcnow() + timedelta(seconds=1)
    [statement] = create_statement(
        session, period_start=end - timedelta(days=1), period_end=end, worker=worker
    )
    payout = {"kind": "payout", "status": "paid", "source": "statement"}
    _bogus(session, worker_id=worker.id, project_id=project.id, statement_id=statement.id, **payout)
    report = reconcile(session, project=project)
    assert [d.check for d in report.differences] == ["payout"]


Results = list[tuple[str, int, bool]]


def _pair(
    factory: sessionmaker[Session],
    worker_id: int,
    project_id: int,
    results: Results,
    errors: list[BaseException],
) -> None:
    """Two threads of one worker post each task's answer at the same time, same key."""
    shared: dict[str, SubmissionCreate | None] = {}
    barrier = threading.Barrier(2)

    def run(role: int) -> None:
        try:
            with factory() as s:
                proj, worker = s.get(Project, project_id), s.get(User, worker_id)
                s.commit()  # on SQLite even a read holds the write lock until it ends
                while True:
                    if role == 0:
                        a = lease_next_assignment(s, project=proj, worker=worker)  # type: ignore[arg-type]
                        key = uuid.uuid4().hex
                        shared["data"] = _data(a.item_id, a.id, key, 3) if a else None
                    barrier.wait()
                    data = shared["data"]
                    if data is None:
                        return
                    for _ in range(1 + role):  # the second thread also retries once more
                        sub, created = submit_judgment(s, worker=worker, data=data)
                        results.append((data.submission_key, sub.id, created))
                    barrier.wait()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(role,)) for role in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_submits_and_retries_pay_each_submission_once(committed_db_url: str) -> None:
    """Sixteen threads (eight workers, two threads each posting the same keys).

    The threads commit for real, so the test has a database of its own (committed rows
    in the shared one broke other tests' counts).
    """
    engine = make_engine(committed_db_url, **_pool_for(committed_db_url, 18))
    try:
        _concurrent_submits(make_sessionmaker(engine))
    finally:
        engine.dispose()


def _pool_for(url: str, size: int) -> dict[str, int]:
    return {"pool_size": size, "max_overflow": 4} if url.startswith("postgresql") else {}


def _concurrent_submits(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        project, _ = _paid_project(session, rate="0.75")
        for i in range(8):
            make_item(session, project=project, prompt=f"more {i}")
        workers = [join(session, project, make_user(session)) for _ in range(8)]
        project_id, worker_ids = project.id, [w.id for w in workers]
    results: list[tuple[str, int, bool]] = []
    errors: list[BaseException] = []
    pairs = [
        threading.Thread(target=_pair, args=(factory, w, project_id, results, errors))
        for w in worker_ids
    ]
    for t in pairs:
        t.start()
    for t in pairs:
        t.join()
    assert not errors, errors
    by_key = {key: {sid for k, sid, _ in results if k == key} for key, _, _ in results}
    assert all(len(ids) == 1 for ids in by_key.values())
    assert sum(created for _, _, created in results) == len(by_key) == 24  # 12 items x 2
    with factory() as s:
        per_submission = dict(
            s.execute(
                select(Submission.id, func.count(LedgerEntry.id))
                .outerjoin(LedgerEntry, LedgerEntry.submission_id == Submission.id)
                .where(Submission.project_id == project_id)
                .group_by(Submission.id)
            ).all()
        )
        assert len(per_submission) == 24 and set(per_submission.values()) == {1}
        paid = s.scalar(
            select(func.sum(LedgerEntry.amount_micros)).where(LedgerEntry.project_id == project_id)
        )
        assert paid == 24 * 750_000
        report = reconcile(s, project=s.get(Project, project_id))
        assert report.ok, report.differences
        assert s.scalar(select(func.count()).where(PayoutStatement.worker_id.in_(worker_ids))) == 0
