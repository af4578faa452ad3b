"""The task queue: lease the next item to a worker, heartbeats, skips, releases, expiry.

Every item has `slots_taken` (leases plus submissions that are not rejected) and
`is_open` (slots_taken < the project's redundancy, or the item's `target_redundancy`
when adaptive redundancy set one). Taking a slot is one guarded UPDATE
(`... WHERE slots_taken < k`), so no item is ever over-filled, whatever the concurrency;
picking a candidate uses the partial index `ix_items_queue` over open items only, so its
cost does not grow with the number of items already done.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, exists, func, literal, select, text, true, update
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, LeaseExpired, NotFound
from judgeloop.services.projects import member_role
from judgeloop.services.workforce import lease_block_reason
from judgeloop.store.base import utcnow
from judgeloop.store.dialect import lock_skip_locked
from judgeloop.store.models import Assignment, Event, Flag, Item, Project, User
from judgeloop.store.models.work import FLAG_REASONS

DEFAULT_LEASE_MINUTES = 30
CANDIDATES_PER_TRY = 8
MAX_PRIORITY_LEVELS = 32


def lease_minutes(project: Project) -> int:
    """How long a lease lasts in this project, in minutes."""
    return int(project.settings.get("lease_minutes", DEFAULT_LEASE_MINUTES))


def take_slot(session: Session, *, item_id: int, redundancy: int, use_target: bool = True) -> bool:
    """Take one slot of an item if it has one free; return whether it did.

    An item's own ``target_redundancy`` (adaptive redundancy), when set, replaces the
    project's `redundancy` unless `use_target` is False (imports of past judgments).
    """
    wanted = func.coalesce(Item.target_redundancy, redundancy) if use_target else redundancy
    result = session.execute(
        update(Item)
        .where(Item.id == item_id, Item.slots_taken < wanted)
        .values(slots_taken=Item.slots_taken + 1, is_open=Item.slots_taken + 1 < wanted)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def free_slot(session: Session, *, item_id: int, redundancy: int) -> None:
    """Give one slot of an item back (expired or released lease, skip, rejection)."""
    wanted = func.coalesce(Item.target_redundancy, redundancy)
    session.execute(
        update(Item)
        .where(Item.id == item_id, Item.slots_taken > 0)
        .values(slots_taken=Item.slots_taken - 1, is_open=Item.slots_taken - 1 < wanted)
        .execution_options(synchronize_session=False)
    )


def release_expired_leases(session: Session, *, project: Project) -> int:
    """Expire the project's leases whose time is up and return their slots; no commit."""
    now = utcnow()
    expired = list(
        session.scalars(
            select(Assignment).where(
                Assignment.project_id == project.id,
                Assignment.state == "leased",
                Assignment.expires_at < now,
            )
        )
    )
    for assignment in expired:
        assignment.state = "expired"
        free_slot(session, item_id=assignment.item_id, redundancy=project.redundancy)
    return len(expired)


def _candidate_ids(session: Session, project: Project, worker: User, gold: bool) -> list[int]:
    """Return a few open items this worker has not had, highest priority first, then oldest.

    Priority levels are walked from the top one at a time (MAX over the index, then an
    ascending range scan of that level), so both steps are index seeks: no sort, and no
    cost that grows with the number of items.
    """
    # The bare `items.is_open` (not `= 1`) is what lets SQLite use the partial index.
    open_items = (Item.project_id == project.id, text("items.is_open"), Item.is_gold == gold)
    not_done = _not_done_by(session, worker)
    ceiling: int | None = None
    for _ in range(MAX_PRIORITY_LEVELS):
        top = select(func.max(Item.priority)).where(*open_items)
        if ceiling is not None:
            top = top.where(Item.priority < ceiling)
        level = session.scalar(top)
        if level is None:
            return []
        query = not_done(select(Item.id).where(*open_items, Item.priority == level))
        query = query.order_by(Item.id).limit(CANDIDATES_PER_TRY)
        ids = _lock_candidates(session, query)
        if ids:
            return ids
        ceiling = level
    return []


def _not_done_by(session: Session, worker: User) -> Callable[[Select[Any]], Select[Any]]:
    """Return a filter keeping the items this worker has not leased, submitted or skipped.

    On PostgreSQL the check is a LATERAL subquery with LIMIT 1: as a plain NOT EXISTS the
    planner turns it into a merge anti-join over all of the worker's assignments once a
    project is half done (19-61 ms at 1M items, growing with progress); the LATERAL form
    stays a per-row index probe (0.18 ms). SQLite's planner probes the index either way.
    """
    states = ("leased", "submitted", "skipped")
    if session.get_bind().dialect.name != "postgresql":
        done = exists().where(
            Assignment.item_id == Item.id,
            Assignment.worker_id == worker.id,
            Assignment.state.in_(states),
        )
        return lambda query: query.where(~done)
    probe = (
        select(literal(1).label("done"))
        .where(
            Assignment.item_id == Item.id,
            Assignment.worker_id == worker.id,
            Assignment.state.in_(states),
        )
        .limit(1)
        .lateral("done_by_worker")
    )
    return lambda query: query.outerjoin(probe, true()).where(probe.c.done.is_(None))


def _lock_candidates(session: Session, query: Select[int]) -> list[int]:
    """Run the candidate query, locking rows on PostgreSQL.

    SKIP LOCKED hands concurrent workers different items; when every candidate is
    locked by someone else, wait for the first one instead of reporting "no task" (the
    lock holder may give its slot back, and the row is re-checked when the lock frees).
    """
    if not lock_skip_locked(session):
        return list(session.scalars(query))
    ids = list(session.scalars(query.with_for_update(skip_locked=True, of=Item)))
    if ids:
        return ids
    return list(session.scalars(query.limit(1).with_for_update(of=Item)))


def lease_next_assignment(session: Session, *, project: Project, worker: User) -> Assignment | None:
    """Lease the next item this worker should judge, or return None when none is left.

    Gold items are mixed in at the project's gold ratio and look like any other item.
    Also None when the worker reached the project's daily cap or no longer meets its
    requirements (``services.workforce.lease_block_reason`` says which). Commits the lease.
    """
    if member_role(session, project=project, user=worker) is None:
        raise NotFound(f"no project {project.slug!r}")
    if project.state != "active":
        raise Conflict(f"project {project.slug} is {project.state}")
    if release_expired_leases(session, project=project):
        session.commit()  # hold no item locks while waiting for other workers' locks
    current = session.scalar(
        select(Assignment).where(
            Assignment.project_id == project.id,
            Assignment.worker_id == worker.id,
            Assignment.state == "leased",
        )
    )
    if current is not None:
        session.commit()
        return current
    # Workforce rules (services.workforce): at the daily cap, or no longer eligible, the
    # worker gets no new lease; `lease_block_reason` tells the caller why.
    if lease_block_reason(session, project=project, worker=worker) is not None:
        session.commit()
        return None
    want_gold = project.gold_ratio > 0 and random.random() < project.gold_ratio
    for gold in (want_gold, not want_gold):
        for item_id in _candidate_ids(session, project, worker, gold):
            if take_slot(session, item_id=item_id, redundancy=project.redundancy):
                assignment = _lease(session, project, worker, item_id)
                session.commit()
                return assignment
    session.commit()
    return None


def _lease(session: Session, project: Project, worker: User, item_id: int) -> Assignment:
    now = utcnow()
    expires = now + timedelta(minutes=lease_minutes(project))
    assignment = session.scalar(
        select(Assignment).where(Assignment.item_id == item_id, Assignment.worker_id == worker.id)
    )
    if assignment is None:
        assignment = Assignment(project_id=project.id, item_id=item_id, worker_id=worker.id)
        session.add(assignment)
    assignment.state, assignment.leased_at, assignment.expires_at = "leased", now, expires
    session.flush()
    return assignment


def get_assignment(session: Session, *, assignment_id: int, worker: User) -> Assignment:
    """Return the worker's own assignment, or raise NotFound (also for other workers')."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.worker_id != worker.id:
        raise NotFound(f"no assignment {assignment_id}")
    return assignment


def heartbeat(
    session: Session, *, assignment_id: int, worker: User, active_seconds: float
) -> Assignment:
    """Extend a live lease and record the active time the page measured."""
    assignment = get_assignment(session, assignment_id=assignment_id, worker=worker)
    project = session.get(Project, assignment.project_id)
    if assignment.state != "leased" or project is None:
        raise Conflict(f"assignment {assignment_id} is {assignment.state}")
    if assignment.expires_at < utcnow():
        raise LeaseExpired("this task's lease expired; open the next task")
    wall = (utcnow() - assignment.leased_at).total_seconds()
    assignment.active_seconds = max(assignment.active_seconds, min(active_seconds, wall))
    assignment.expires_at = utcnow() + timedelta(minutes=lease_minutes(project))
    session.commit()
    return assignment


def end_assignment(
    session: Session, *, assignment_id: int, worker: User, state: str, reason: str = ""
) -> Assignment:
    """Skip (with a reason; never served again) or release (pause) a leased task."""
    if state not in ("skipped", "released"):
        raise InvalidInput(f"cannot end an assignment as {state!r}")
    if state == "skipped" and not reason.strip():
        raise InvalidInput("say why you skip this task")
    assignment = get_assignment(session, assignment_id=assignment_id, worker=worker)
    if assignment.state != "leased":
        raise Conflict(f"assignment {assignment_id} is {assignment.state}")
    project = session.get(Project, assignment.project_id)
    assert project is not None
    assignment.state, assignment.skip_reason = state, reason.strip()[:2000]
    free_slot(session, item_id=assignment.item_id, redundancy=project.redundancy)
    session.add(
        Event(
            kind=f"assignment.{state}",
            actor_id=worker.id,
            project_id=project.id,
            payload={"assignment_id": assignment.id, "reason": assignment.skip_reason},
        )
    )
    session.commit()
    return assignment


def flag_item(session: Session, *, item: Item, worker: User, reason: str, note: str = "") -> Flag:
    """Record a worker's flag on an item (broken prompt, personal data, harmful content)."""
    if reason not in FLAG_REASONS:
        raise InvalidInput(f"flag reason must be one of {', '.join(FLAG_REASONS)}, not {reason!r}")
    project = session.get(Project, item.project_id)
    if project is None or member_role(session, project=project, user=worker) is None:
        raise Forbidden("you are not a member of this project")
    flag = Flag(
        project_id=item.project_id,
        item_id=item.id,
        worker_id=worker.id,
        reason=reason,
        note=note.strip()[:2000],
    )
    session.add(flag)
    session.commit()
    return flag
