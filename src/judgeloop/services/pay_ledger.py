"""The rules of pay and the ledger's low-level reads and writes, shared by pay's services.

The rules are pure functions (`earned_micros`, `target_micros`, `plan_moves`) so that the
writers (`services.pay`) and the auditor (`services.pay_reconcile`) apply the same rules
to different inputs: the writers to what they are told, the auditor to the stored facts.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput
from judgeloop.services.projects import member_role
from judgeloop.store.models import (
    LedgerEntry,
    PayoutStatementEntry,
    PayTerms,
    Project,
    User,
)

EARN_KINDS = ("task", "hourly")
SUBMISSION_KINDS = ("task", "hourly", "approval", "reinstatement", "reversal")
OWNER_KINDS = ("bonus", "adjustment")
VERDICT_STATES = {
    "accept": "accepted",
    "accepted": "accepted",
    "reject": "rejected",
    "rejected": "rejected",
}

Move = tuple[str, str, int]
"""One planned ledger line: (kind, status, signed micro-units)."""


def require_owner(session: Session, *, project: Project, actor: User) -> None:
    """Raise Forbidden unless `actor` owns the project or is an admin."""
    if member_role(session, project=project, user=actor) not in ("owner", "admin"):
        raise Forbidden(f"only an owner of {project.slug} or an admin may do this")


def lock_worker(session: Session, worker_id: int) -> None:
    """Serialize a worker's balance-dependent pay writes (row lock on PostgreSQL).

    SQLite needs none: its writers hold the database lock from BEGIN IMMEDIATE on.
    """
    session.execute(select(User.id).where(User.id == worker_id).with_for_update())


def terms_at(session: Session, project_id: int, at: datetime) -> PayTerms | None:
    """Return the project's pay terms in effect at `at` (the latest effective row)."""
    query = (
        select(PayTerms)
        .where(PayTerms.project_id == project_id, PayTerms.effective_from <= at)
        .order_by(PayTerms.effective_from.desc(), PayTerms.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def paid_seconds(active_seconds: float | None, seconds_spent: float) -> float:
    """The time an hourly submission is paid for: heartbeat time, else the time reported."""
    return active_seconds if active_seconds is not None and active_seconds > 0 else seconds_spent


def earned_micros(terms: PayTerms, seconds: float) -> int:
    """What one submission earns under `terms`, in micro-units.

    Per task and per accepted submission: the rate. Hourly: min(seconds, cap) x rate /
    3600, rounded half-even to a micro-unit.
    """
    if terms.mode != "hourly":
        return terms.rate_micros
    seconds = max(0.0, seconds)
    if terms.hourly_cap_seconds_per_task is not None:
        seconds = min(seconds, float(terms.hourly_cap_seconds_per_task))
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(seconds) * terms.rate_micros / 3600
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def target_micros(mode: str, amount: int, state: str, locked: bool) -> tuple[int, int]:
    """What a submission should hold in (pending, approved) given its state.

    Per accepted: pending until accepted. Per task and hourly: approved at once. A
    rejected submission holds nothing, unless its approved money was already on a
    payout statement (`locked`): that money is kept, and an owner may adjust it.
    """
    if state == "rejected":
        return (0, amount) if locked else (0, 0)
    if state == "accepted" or mode != "per_accepted":
        return 0, amount
    return amount, 0


def plan_moves(current: tuple[int, int], target: tuple[int, int]) -> list[Move]:
    """The ledger lines that take a submission from `current` to `target` (pending, approved).

    Money moving from pending to approved is an ``approval`` pair; money removed is a
    ``reversal``; money credited again is a ``reinstatement``.
    """
    pending, approved = current
    want_pending, want_approved = target
    moves: list[Move] = []
    if pending > want_pending and approved < want_approved:
        moved = min(pending - want_pending, want_approved - approved)
        moves += [("approval", "pending", -moved), ("approval", "approved", moved)]
        pending, approved = pending - moved, approved + moved
    for status, have, want in (
        ("pending", pending, want_pending),
        ("approved", approved, want_approved),
    ):
        if want != have:
            moves.append(("reversal" if want < have else "reinstatement", status, want - have))
    return moves


def submission_sums(session: Session, submission_id: int) -> tuple[int, int, int]:
    """Return (pending, approved, number of lines) of a submission's own ledger lines."""
    rows = session.execute(
        select(LedgerEntry.status, func.sum(LedgerEntry.amount_micros), func.count())
        .where(LedgerEntry.submission_id == submission_id)
        .group_by(LedgerEntry.status)
    )
    sums = {status: (int(total or 0), int(n)) for status, total, n in rows}
    pending, n_pending = sums.get("pending", (0, 0))
    approved, n_approved = sums.get("approved", (0, 0))
    n_other = sum(n for status, (_, n) in sums.items() if status not in ("pending", "approved"))
    return pending, approved, n_pending + n_approved + n_other


def stated_micros(session: Session, submission_id: int) -> int:
    """Sum of a submission's approved lines that are on a payout statement."""
    total = session.scalar(
        select(func.sum(LedgerEntry.amount_micros))
        .join(PayoutStatementEntry, PayoutStatementEntry.entry_id == LedgerEntry.id)
        .where(LedgerEntry.submission_id == submission_id)
    )
    return int(total or 0)


def earn_entry(session: Session, submission_id: int) -> LedgerEntry | None:
    """Return the line that credited a submission's earnings, if it earned anything."""
    return session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.submission_id == submission_id, LedgerEntry.kind.in_(EARN_KINDS)
        )
    )


def unstated(worker_id: int) -> list[ColumnElement[bool]]:
    """WHERE clauses: a worker's approved lines that are on no statement yet."""
    on_statement = exists().where(PayoutStatementEntry.entry_id == LedgerEntry.id)
    return [LedgerEntry.worker_id == worker_id, LedgerEntry.status == "approved", ~on_statement]


def unstated_micros(session: Session, *, worker_id: int, project_id: int, currency: str) -> int:
    """Sum of a worker's approved, not yet stated lines in one project and currency."""
    total = session.scalar(
        select(func.sum(LedgerEntry.amount_micros)).where(
            *unstated(worker_id),
            LedgerEntry.project_id == project_id,
            LedgerEntry.currency == currency,
        )
    )
    return int(total or 0)


CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def check_currency(currency: str) -> str:
    """Return the ISO 4217 code in upper case, or raise InvalidInput."""
    code = currency.strip().upper()
    if not CURRENCY_CODE.match(code):
        raise InvalidInput(f"currency must be an ISO 4217 code such as USD, not {currency!r}")
    return code


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    """Return the ledger entry with this idempotency key, if any."""
    return session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == key))


def same_or_conflict(existing: LedgerEntry, wanted: LedgerEntry) -> LedgerEntry:
    """Return `existing` when it is the entry `wanted` again, else raise Conflict."""
    same = (existing.kind, existing.worker_id, existing.project_id, existing.amount_micros) == (
        wanted.kind,
        wanted.worker_id,
        wanted.project_id,
        wanted.amount_micros,
    )
    if not same:
        raise Conflict("this idempotency key was already used for a different entry")
    return existing
