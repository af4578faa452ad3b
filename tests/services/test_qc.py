"""Quality control: agreement, behaviour flags, suspensions (on SQLite and PostgreSQL)."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound
from judgeloop.services.consensus import aggregate_project
from judgeloop.services.qc import (
    agreement_rows,
    behaviour_flags,
    lift_suspension,
    reliability_table,
    suspend_worker,
)
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.workforce import lease_block_reason
from judgeloop.store.models import Event
from tests.factories import join, make_item, make_project, make_user
from tests.quality_world import make_world, submit


def test_identical_raters_agree_perfectly_and_levels_follow_the_kind(session: Session) -> None:
    world = make_world(session, n_items=6, n_honest=3)
    # Without the spammer's judgments every question is unanimous: look at them apart.
    rows = {(r.key, r.variant): r for r in agreement_rows(session, project=world.project)}
    assert rows[("topic", "")].report.level == "nominal"
    assert rows[("quality", "")].report.level == "ordinal"
    assert set(rows) >= {("better", "with ties"), ("better", "without ties")}
    topic = rows[("topic", "")].report
    assert topic.n_items == 6 and topic.n_judgments == 24
    assert topic.alpha.value < 1.0  # the spammer disagrees
    assert topic.alpha.ci_low <= topic.alpha.value <= topic.alpha.ci_high
    assert rows[("topic", "")].weeks and rows[("topic", "")].weeks[0].n_items == 6

    clean = make_project(session, questions=world.project.questions, redundancy=3)
    workers = [join(session, clean, make_user(session)) for _ in range(3)]
    item = make_item(session, project=clean)
    for worker in workers:
        submit(session, worker, item, _answers("code", 4))
    (topic_row, quality_row, *_rest) = agreement_rows(session, project=clean)
    assert topic_row.report.pairwise.value == 1.0
    assert quality_row.report.pairwise.value == 1.0
    assert math.isnan(topic_row.report.alpha.value)  # one value only: alpha is undefined


def _answers(topic: str, score: int) -> list[dict[str, object]]:
    return [
        {"question": "topic", "value": topic},
        {"question": "quality", "value": score},
        {"question": "better", "value": {"winner": "A", "strength": 1}},
    ]


def test_behaviour_flags_too_fast_straight_lining_and_copies(session: Session) -> None:
    world = make_world(session, n_items=6, n_honest=3, redundancy=6)
    project = world.project
    copier = join(session, project, make_user(session))
    paster = join(session, project, make_user(session))
    extra = [make_item(session, project=project, prompt=f"more {n}") for n in range(10)]
    note = "The first answer is correct and explains each step clearly."
    for n, item in enumerate([*world.items, *extra]):
        submit(session, copier, item, _answers("math", 3), explanation=note)
        pasted = "4" if n % 2 else "The answer 4 is right because two plus two is four."
        submit(session, paster, item, _answers("code", 2 + n % 3), explanation=pasted)
    report = behaviour_flags(session, project=project)
    kinds = {(f.worker_id, f.kind) for f in report.flags}
    assert (world.spammer.id, "too_fast") in kinds
    assert (copier.id, "straight_lining") in kinds
    assert (copier.id, "repeated_explanation") in kinds
    assert not any(w in {x.id for x in world.workers} for w, _ in kinds)
    assert report.median_seconds == 30.0
    fast = next(f for f in report.flags if f.kind == "too_fast")
    assert len(fast.submission_ids) == 6


def test_pasted_from_the_model_answer_is_flagged(session: Session) -> None:
    project = make_project(session, redundancy=3)
    worker = join(session, project, make_user(session))
    answer = "Paris is the capital of France and has been for many centuries now."
    item = make_item(session, project=project, answers=(answer, "Lyon"))
    submit(
        session,
        worker,
        item,
        [{"question": "quality", "value": 4}],
        explanation="Paris is the capital of France and has been for many centuries",
    )
    report = behaviour_flags(session, project=project)
    assert [(f.worker_id, f.kind) for f in report.flags] == [(worker.id, "pasted_from_answer")]


def test_suspended_worker_gets_no_task_and_reads_the_reason(session: Session) -> None:
    world = make_world(session, n_items=12, redundancy=7)
    aggregate_project(session, project=world.project)
    table = reliability_table(session, project=world.project)
    assert table[0].worker.id == world.spammer.id and table[0].flagged
    fresh = make_item(session, project=world.project, prompt="a new one")
    lease = lease_next_assignment(session, project=world.project, worker=world.spammer)
    assert lease is not None and lease.item_id == fresh.id  # leased before the suspension

    reason = "Your labels disagree with everyone else's; please reread the guidelines."
    suspension = suspend_worker(
        session, project=world.project, worker_id=world.spammer.id, actor=world.owner, reason=reason
    )
    session.refresh(lease)
    assert lease.state == "released"  # the slot went back to the queue
    assert lease_next_assignment(session, project=world.project, worker=world.spammer) is None
    why = lease_block_reason(session, project=world.project, worker=world.spammer)
    assert why is not None and reason in why
    assert lease_next_assignment(session, project=world.project, worker=world.workers[0])
    rows = {r.worker.id: r for r in reliability_table(session, project=world.project)}
    assert rows[world.spammer.id].suspension is not None
    kinds = [
        e.kind for e in session.scalars(select(Event).where(Event.project_id == world.project.id))
    ]
    assert "worker.suspended" in kinds

    with pytest.raises(Conflict):
        suspend_worker(
            session,
            project=world.project,
            worker_id=world.spammer.id,
            actor=world.owner,
            reason="x",
        )
    lifted = lift_suspension(
        session, project=world.project, worker_id=world.spammer.id, actor=world.owner
    )
    assert lifted.id == suspension.id and lifted.lifted_at is not None
    assert lease_block_reason(session, project=world.project, worker=world.spammer) is None
    assert lease_next_assignment(session, project=world.project, worker=world.spammer) is not None


def test_suspension_needs_a_reason_and_an_owner(session: Session) -> None:
    world = make_world(session, n_items=2, n_honest=2)
    with pytest.raises(InvalidInput) as err:
        suspend_worker(
            session,
            project=world.project,
            worker_id=world.spammer.id,
            actor=world.owner,
            reason=" ",
        )
    assert err.value.rows[0].field == "reason"
    reviewer = join(session, world.project, make_user(session, role="reviewer"), role="reviewer")
    with pytest.raises(Forbidden):
        suspend_worker(
            session, project=world.project, worker_id=world.spammer.id, actor=reviewer, reason="no"
        )
    with pytest.raises(NotFound):
        suspend_worker(
            session,
            project=world.project,
            worker_id=make_user(session).id,
            actor=world.owner,
            reason="not a member",
        )
    with pytest.raises(NotFound):
        lift_suspension(
            session, project=world.project, worker_id=world.spammer.id, actor=world.owner
        )
