"""Pay: terms, earnings from submissions and reviews, bonuses, adjustments and balances.

Every amount is an append-only `LedgerEntry`: a signed delta, in exact micro-units, to
one bucket of a worker's earnings (``pending``, ``approved``, ``paid``), so each balance
is a sum. Nothing is ever edited: an acceptance, a rejection or a payout appends lines.
Each line has a unique `idempotency_key` derived from its cause, so a retried submit, a
replayed review or a repeated payout finds the line it already wrote and pays nothing
twice. Statements live in `services.pay_statements`, the audit in `services.pay_reconcile`;
both are re-exported here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.services.pay_ledger import (
    VERDICT_STATES,
    check_currency,
    earn_entry,
    earned_micros,
    entry_by_key,
    lock_worker,
    paid_seconds,
    plan_moves,
    require_owner,
    same_or_conflict,
    stated_micros,
    submission_sums,
    target_micros,
    terms_at,
    unstated_micros,
)
from judgeloop.services.pay_reconcile import Difference, ReconcileReport, reconcile
from judgeloop.services.pay_statements import (
    create_statement,
    list_statements,
    mark_statement_paid,
    statement_csv,
)
from judgeloop.services.projects import member_role
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    Assignment,
    Event,
    LedgerEntry,
    PayTerms,
    Project,
    Submission,
    User,
)
from judgeloop.store.models.ledger import BUCKETS, PAY_MODES, from_micros, to_micros

__all__ = [
    "Difference",
    "ReconcileReport",
    "add_adjustment",
    "add_bonus",
    "balances",
    "create_statement",
    "current_pay_terms",
    "list_entries",
    "list_statements",
    "mark_statement_paid",
    "on_submission_reviewed",
    "reconcile",
    "record_submission_pay",
    "set_pay_terms",
    "statement_csv",
]


def _checked_rate(mode: str, rate: Decimal, hourly_cap_seconds: int | None) -> int:
    """Return the rate in micro-units once mode, rate and cap are known to be valid."""
    if mode not in PAY_MODES:
        raise InvalidInput(f"pay mode must be one of {', '.join(PAY_MODES)}, not {mode!r}")
    rate_micros = to_micros(rate)
    if rate_micros < 0:
        raise InvalidInput("the rate may not be negative")
    if hourly_cap_seconds is not None and hourly_cap_seconds <= 0:
        raise InvalidInput("the hourly cap must be a positive number of seconds")
    return rate_micros


def set_pay_terms(
    session: Session,
    *,
    project: Project,
    actor: User,
    mode: str,
    rate: Decimal,
    currency: str = "USD",
    hourly_cap_seconds: int | None = None,
    effective_from: datetime | None = None,
) -> PayTerms:
    """Set what a project pays from now on (or from `effective_from`); commits.

    Terms are never edited: a change is a new row; entries record the terms they used.

    Args:
        session: Database session.
        project: The project.
        actor: An owner of the project or an admin.
        mode: ``per_task``, ``per_accepted`` (pending until accepted) or ``hourly``.
        rate: Per task, per accepted submission, or per hour of active time.
        currency: ISO 4217 code.
        hourly_cap_seconds: Hourly mode: the most active seconds paid for one task.
        effective_from: When the terms apply (default: now).

    Returns:
        The stored terms.

    Raises:
        Forbidden: The actor does not own the project.
        InvalidInput: An unknown mode, a negative rate, a bad currency or cap.
    """
    require_owner(session, project=project, actor=actor)
    terms = PayTerms(
        project_id=project.id,
        mode=mode,
        rate_micros=_checked_rate(mode, rate, hourly_cap_seconds),
        currency=check_currency(currency),
        hourly_cap_seconds_per_task=hourly_cap_seconds,
        effective_from=effective_from or utcnow(),
        actor_id=actor.id,
    )
    session.add(terms)
    session.flush()
    event = Event(kind="pay.terms_set", actor_id=actor.id, project_id=project.id)
    event.payload = {"terms_id": terms.id, "mode": mode, "rate": str(terms.rate)}
    session.add(event)
    session.commit()
    return terms


def current_pay_terms(session: Session, *, project: Project) -> PayTerms | None:
    """Return the terms that apply to a submission made now, or None if the work is unpaid."""
    return terms_at(session, project.id, utcnow())


def record_submission_pay(
    session: Session, *, submission: Submission, assignment: Assignment | None
) -> LedgerEntry | None:
    """Credit a new submission's earnings, inside the caller's transaction (no commit).

    Called by `submit_judgment` once per new submission. Per task and hourly work is
    approved at once; per accepted work is pending until a review accepts it. Imported
    history and unpaid projects earn nothing.

    Args:
        session: Database session (the submission is flushed).
        submission: The new submission.
        assignment: The assignment it fills (its heartbeats give hourly active time).

    Returns:
        The ledger entry, or None when nothing is earned.
    """
    if submission.source == "import":
        return None
    terms = terms_at(session, submission.project_id, submission.created_at)
    if terms is None:
        return None
    active = assignment.active_seconds if assignment is not None else None
    micros = earned_micros(terms, paid_seconds(active, submission.seconds_spent))
    if micros <= 0:
        return None
    entry = LedgerEntry(
        idempotency_key=f"submission:{submission.id}:earn",
        worker_id=submission.worker_id,
        project_id=submission.project_id,
        submission_id=submission.id,
        terms_id=terms.id,
        kind="hourly" if terms.mode == "hourly" else "task",
        status="pending" if terms.mode == "per_accepted" else "approved",
        amount_micros=micros,
        currency=terms.currency,
        reason=f"{terms.mode.replace('_', ' ')} at {terms.rate} {terms.currency}",
        source="submission",
    )
    session.add(entry)
    session.flush()
    return entry


def on_submission_reviewed(
    session: Session, *, submission: Submission, verdict: str
) -> list[LedgerEntry]:
    """Bring a reviewed submission's pay in line with the verdict (no commit).

    Accept: pending earnings become approved. Reject: the earnings are reversed, unless
    they were already put on a payout statement (then they are kept and an event says
    so; an owner may add an adjustment). A replayed review finds nothing left to do and
    appends nothing; two concurrent replays collide on the entries' unique keys.

    Args:
        session: Database session, inside the reviews service's transaction.
        submission: The reviewed submission.
        verdict: ``accept``/``accepted`` or ``reject``/``rejected``; others change nothing.

    Returns:
        The entries appended (empty when nothing changed).
    """
    state = VERDICT_STATES.get(verdict)
    earn = earn_entry(session, submission.id)
    if state is None or earn is None:
        return []
    terms = session.get(PayTerms, earn.terms_id) if earn.terms_id is not None else None
    mode = terms.mode if terms is not None else "per_task"
    lock_worker(session, submission.worker_id)
    pending, approved, lines = submission_sums(session, submission.id)
    locked = stated_micros(session, submission.id) > 0
    target = target_micros(mode, earn.amount_micros, state, locked)
    if state == "rejected" and locked and approved > 0:
        _journal_kept(session, submission, approved)
    entries = []
    for n, (kind, status, micros) in enumerate(plan_moves((pending, approved), target)):
        entry = LedgerEntry(
            idempotency_key=f"submission:{submission.id}:move:{lines + n}",
            worker_id=submission.worker_id,
            project_id=submission.project_id,
            submission_id=submission.id,
            terms_id=earn.terms_id,
            kind=kind,
            status=status,
            amount_micros=micros,
            currency=earn.currency,
            reason=f"submission {state}",
            source="review",
        )
        session.add(entry)
        entries.append(entry)
    session.flush()
    return entries


def _journal_kept(session: Session, submission: Submission, micros: int) -> None:
    """Say that a rejected submission keeps money already put on a payout statement."""
    kept = Event(kind="pay.kept_after_statement", project_id=submission.project_id)
    kept.payload = {"submission_id": submission.id, "amount": str(from_micros(micros))}
    session.add(kept)


def add_bonus(
    session: Session,
    *,
    worker: User,
    project: Project,
    amount: Decimal,
    reason: str,
    actor: User,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Pay a worker a bonus in a project (approved at once); commits.

    Raises:
        Forbidden: The actor does not own the project.
        InvalidInput: A non-positive amount, an empty reason, a worker not in the project.
        Conflict: `idempotency_key` was used for a different entry.
    """
    if to_micros(amount) <= 0:
        raise InvalidInput("a bonus must be a positive amount")
    return _owner_entry(session, "bonus", worker, project, amount, reason, actor, idempotency_key)


def add_adjustment(
    session: Session,
    *,
    worker: User,
    project: Project,
    amount: Decimal,
    reason: str,
    actor: User,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Correct a worker's approved earnings up or down, with a reason; commits.

    A negative adjustment may take back at most the approved money not yet on a
    statement, so no balance ever goes below zero.

    Raises:
        Forbidden: The actor does not own the project.
        InvalidInput: A zero amount, an empty reason, a worker not in the project, or a
            deduction larger than the unpaid approved balance.
        Conflict: `idempotency_key` was used for a different entry.
    """
    if to_micros(amount) == 0:
        raise InvalidInput("an adjustment may not be zero")
    return _owner_entry(
        session, "adjustment", worker, project, amount, reason, actor, idempotency_key
    )


def _owner_entry(
    session: Session,
    kind: str,
    worker: User,
    project: Project,
    amount: Decimal,
    reason: str,
    actor: User,
    idempotency_key: str | None,
) -> LedgerEntry:
    require_owner(session, project=project, actor=actor)
    if not reason.strip():
        raise InvalidInput(f"say why: a {kind} needs a reason")
    if member_role(session, project=project, user=worker) is None:
        raise InvalidInput(f"{worker.email} is not a member of {project.slug}")
    terms = terms_at(session, project.id, utcnow())
    currency = terms.currency if terms is not None else "USD"
    key = f"owner:{idempotency_key or uuid.uuid4().hex}"
    entry = LedgerEntry(
        idempotency_key=key,
        worker_id=worker.id,
        project_id=project.id,
        kind=kind,
        status="approved",
        amount_micros=to_micros(amount),
        currency=currency,
        reason=reason.strip()[:2000],
        source="owner",
        actor_id=actor.id,
    )
    existing = entry_by_key(session, key)
    if existing is not None:
        return same_or_conflict(existing, entry)
    lock_worker(session, worker.id)
    if entry.amount_micros < 0:
        room = unstated_micros(
            session, worker_id=worker.id, project_id=project.id, currency=currency
        )
        if room + entry.amount_micros < 0:
            raise InvalidInput(
                f"only {from_micros(room)} {currency} of unpaid approved pay to adjust"
            )
    return _append_owner_entry(session, entry)


def _append_owner_entry(session: Session, entry: LedgerEntry) -> LedgerEntry:
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = entry_by_key(session, entry.idempotency_key)
        if existing is None:
            raise
        return same_or_conflict(existing, entry)
    payload = {"entry_id": entry.id, "worker_id": entry.worker_id, "amount": str(entry.amount)}
    kind = f"pay.{entry.kind}"
    session.add(
        Event(kind=kind, actor_id=entry.actor_id, project_id=entry.project_id, payload=payload)
    )
    session.commit()
    return entry


def balances(
    session: Session, *, worker: User, project: Project | None = None, currency: str | None = None
) -> dict[str, Decimal]:
    """Return a worker's pending, approved and paid money (in one project, or in all).

    Raises:
        InvalidInput: The worker earns in several currencies and `currency` is not given.
    """
    query = (
        select(LedgerEntry.status, LedgerEntry.currency, func.sum(LedgerEntry.amount_micros))
        .where(LedgerEntry.worker_id == worker.id)
        .group_by(LedgerEntry.status, LedgerEntry.currency)
    )
    if project is not None:
        query = query.where(LedgerEntry.project_id == project.id)
    rows = list(session.execute(query))
    currencies = {row[1] for row in rows}
    if currency is None and len(currencies) > 1:
        raise InvalidInput(f"earnings in {', '.join(sorted(currencies))}: choose a currency")
    out = dict.fromkeys(BUCKETS, 0)
    for status, code, total in rows:
        if currency is None or code == check_currency(currency):
            out[status] += int(total or 0)
    return {bucket: from_micros(micros) for bucket, micros in out.items()}


def list_entries(
    session: Session, *, worker: User, project: Project | None = None, limit: int = 100
) -> list[LedgerEntry]:
    """Return a worker's newest ledger entries (in one project, or in all)."""
    query = select(LedgerEntry).where(LedgerEntry.worker_id == worker.id)
    if project is not None:
        query = query.where(LedgerEntry.project_id == project.id)
    limit = max(1, min(limit, 1000))
    return list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit)))
