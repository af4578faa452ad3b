"""Property: whatever happens (submissions, reviews, bonuses, adjustments, statements,
payouts, new terms), the ledger reconciles, no balance is below zero, and the balances
add up exactly to what an independent Decimal model of the same story says is owed."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
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
)
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import (
    LedgerEntry,
    PayoutStatement,
    PayoutStatementEntry,
    Project,
    Submission,
    User,
)
from tests.factories import join, make_item, make_project

MICRO = Decimal("0.000001")
WORKERS = 3

modes = st.sampled_from(["per_task", "per_accepted", "hourly"])
rates = st.decimals(min_value=0, max_value=50, places=6, allow_nan=False, allow_infinity=False)
caps = st.one_of(st.none(), st.integers(1, 3600))
worker_ix = st.integers(0, WORKERS - 1)
positive = st.integers(1, 500).map(lambda n: Decimal(n) / 100)
signed = st.tuples(positive, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])
submit = st.tuples(st.just("submit"), worker_ix, st.floats(0, 7200, allow_nan=False))
review = st.tuples(st.just("review"), st.integers(0, 99), st.sampled_from(["accept", "reject"]))
statement = st.tuples(st.just("statement"), st.one_of(st.none(), worker_ix), st.integers(0, 99))
ops = st.one_of(  # a branch listed twice is drawn twice as often
    submit,
    submit,
    review,
    review,
    statement,
    st.tuples(st.just("pay"), st.integers(0, 99)),
    st.tuples(st.just("bonus"), worker_ix, positive),
    st.tuples(st.just("adjust"), worker_ix, signed),
    st.tuples(st.just("terms"), modes, rates, caps),
)


@pytest.fixture(scope="module")
def prop_engine(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated SQLite file for all examples; each example has its own project."""
    path = tmp_path_factory.mktemp("pay-props") / "pay.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _user(session: Session, role: str) -> User:
    """A user without a password (hashing one costs more than the whole example)."""
    user = User(email=f"{role}-{uuid.uuid4().hex[:12]}@example.org", role=role)
    session.add(user)
    session.commit()
    return user


@dataclass
class Terms:
    mode: str
    rate: Decimal
    cap: int | None


@dataclass
class Model:
    """What each worker is owed, computed with Decimal and nothing from the ledger."""

    terms: Terms
    subs: list[tuple[int, int, Decimal, str]] = field(default_factory=list)  # id, w, amt, mode
    states: dict[int, str] = field(default_factory=dict)
    extras: dict[int, Decimal] = field(default_factory=dict)  # bonuses and adjustments
    times: list[datetime] = field(default_factory=list)

    def earned(self, active: float) -> Decimal:
        t = self.terms
        if t.mode != "hourly":
            return t.rate
        seconds = Decimal(min(active, t.cap) if t.cap is not None else active)
        with localcontext() as ctx:
            ctx.prec = 80
            return (seconds * t.rate / 3600).quantize(MICRO, rounding=ROUND_HALF_EVEN)


@dataclass
class Story:
    session: Session
    project: Project
    owner: User
    workers: list[User]
    model: Model
    statements: list[int] = field(default_factory=list)


def _submit(story: Story, worker: User, active: float) -> None:
    s, project = story.session, story.project
    make_item(s, project=project, prompt=uuid.uuid4().hex)
    assignment = lease_next_assignment(s, project=project, worker=worker)
    assert assignment is not None
    assignment.active_seconds = active
    s.commit()
    data = SubmissionCreate(
        item_id=assignment.item_id,
        assignment_id=assignment.id,
        submission_key=uuid.uuid4().hex,
        answers=[AnswerIn(question="quality", value=3)],
    )
    sub, _ = submit_judgment(s, worker=worker, data=data)
    m = story.model
    m.subs.append((sub.id, worker.id, m.earned(active), m.terms.mode))
    m.states[sub.id] = "submitted"


def _review(story: Story, index: int, verdict: str) -> None:
    if not story.model.subs:
        return
    sub_id = story.model.subs[index % len(story.model.subs)][0]
    s = story.session
    review_submission(s, submission_id=sub_id, reviewer=story.owner, verdict=verdict, feedback="x")
    submission = s.get(Submission, sub_id)
    assert submission is not None
    on_submission_reviewed(s, submission=submission, verdict=verdict)
    s.commit()
    story.model.states[sub_id] = "accepted" if verdict == "accept" else "rejected"


def _owner_money(story: Story, kind: str, worker: User, amount: Decimal) -> None:
    add = add_bonus if kind == "bonus" else add_adjustment
    common: dict[str, Any] = {"worker": worker, "project": story.project, "actor": story.owner}
    try:
        add(story.session, **common, amount=amount, reason=kind)
    except InvalidInput:
        assert kind == "adjust" and amount < 0  # more than the unpaid approved money
        story.session.rollback()
        return
    story.model.extras[worker.id] = story.model.extras.get(worker.id, Decimal(0)) + amount


def _statement(story: Story, worker: int | None, cut: int) -> None:
    times = [*story.model.times, utcnow() + timedelta(seconds=1)]
    end = times[cut % len(times)]
    made = create_statement(
        story.session,
        period_start=end - timedelta(days=30),
        period_end=end,
        worker=story.workers[worker] if worker is not None else None,
        project=story.project,
        actor=story.owner,
    )
    assert all(s.total > 0 for s in made)
    story.statements += [s.id for s in made]


def _apply(story: Story, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "submit":
        _submit(story, story.workers[op[1]], op[2])
    elif kind == "review":
        _review(story, op[1], op[2])
    elif kind in ("bonus", "adjust"):
        _owner_money(story, kind, story.workers[op[1]], op[2])
    elif kind == "statement":
        _statement(story, op[1], op[2])
    elif kind == "pay" and story.statements:
        sid = story.statements[op[1] % len(story.statements)]
        mark_statement_paid(story.session, statement_id=sid, reference=f"r{sid}", actor=story.owner)
    elif kind == "terms":
        story.model.terms = Terms(op[1], op[2], op[3])
        by_owner: dict[str, Any] = {"project": story.project, "actor": story.owner}
        set_pay_terms(story.session, **by_owner, mode=op[1], rate=op[2], hourly_cap_seconds=op[3])
    story.model.times.append(utcnow())


def _kept(session: Session, sub_id: int) -> bool:
    """Whether a rejected submission's money was on a statement before the rejection."""
    stated = session.scalar(
        select(func.sum(LedgerEntry.amount_micros))
        .join(PayoutStatementEntry, PayoutStatementEntry.entry_id == LedgerEntry.id)
        .where(LedgerEntry.submission_id == sub_id)
    )
    return (stated or 0) > 0


def _check(story: Story) -> None:
    s, model = story.session, story.model
    report = reconcile(s, project=story.project)
    assert report.ok, report.differences
    for worker in story.workers:
        money = balances(s, worker=worker, project=story.project)
        assert min(money.values()) >= 0, money
        owed, pending = model.extras.get(worker.id, Decimal(0)), Decimal(0)
        for sub_id, worker_id, amount, mode in model.subs:
            state = model.states[sub_id]
            if worker_id != worker.id or (state == "rejected" and not _kept(s, sub_id)):
                continue
            owed += amount
            pending += amount if (mode, state) == ("per_accepted", "submitted") else 0
        assert sum(money.values()) == owed
        assert money["pending"] == pending
        paid = s.scalar(
            select(func.sum(PayoutStatement.total_micros)).where(
                PayoutStatement.worker_id == worker.id, PayoutStatement.state == "paid"
            )
        )
        assert money["paid"] == Decimal(paid or 0) * MICRO


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mode=modes, rate=rates, cap=caps, story_ops=st.lists(ops, min_size=1, max_size=30))
def test_the_ledger_always_reconciles(
    prop_engine: Engine, mode: str, rate: Decimal, cap: int | None, story_ops: list[tuple[Any, ...]]
) -> None:
    with make_sessionmaker(prop_engine)() as session:
        owner = _user(session, "owner")
        project = make_project(session, owner=owner, redundancy=WORKERS)
        workers = [join(session, project, _user(session, "worker")) for _ in range(WORKERS)]
        set_pay_terms(
            session, project=project, actor=owner, mode=mode, rate=rate, hourly_cap_seconds=cap
        )
        story = Story(session, project, owner, workers, Model(Terms(mode, rate, cap)))
        for n, op in enumerate(story_ops):
            _apply(story, op)
            if n % 10 == 9:
                _check(story)
        _check(story)
