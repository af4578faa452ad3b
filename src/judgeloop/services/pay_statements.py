"""Payout statements: gather a period's approved pay per worker, export CSV, mark paid.

A statement holds approved ledger entries through `PayoutStatementEntry` rows (an entry
is on at most one statement: a unique constraint). Marking it paid appends one
``payout`` pair per project on it (approved -> paid), keyed by statement and project, so
a statement is paid once however often it is marked.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound
from judgeloop.services.pay_ledger import lock_worker, unstated
from judgeloop.services.projects import member_role
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    Event,
    LedgerEntry,
    PayoutStatement,
    PayoutStatementEntry,
    Project,
    User,
)

CSV_COLUMNS = (
    "statement_id",
    "worker_email",
    "period_start",
    "period_end",
    "entries",
    "total",
    "currency",
    "state",
    "paid_at",
    "reference",
)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _require_payer(session: Session, actor: User, project: Project | None) -> None:
    if actor.role == "admin":
        return
    if project is None or member_role(session, project=project, user=actor) != "owner":
        raise Forbidden("only an admin, or an owner for their own project, handles payouts")


def create_statement(
    session: Session,
    *,
    period_start: datetime,
    period_end: datetime,
    worker: User | None = None,
    project: Project | None = None,
    actor: User | None = None,
) -> list[PayoutStatement]:
    """Gather approved, unpaid pay into statements: one per worker and currency; commits.

    A statement takes every approved entry made before `period_end` that no statement
    holds yet (earlier unpaid entries are carried into it, so nothing is left behind),
    and every unsettled deduction (a reversal or a negative adjustment), so that no
    balance is left below zero. A project whose gathered entries do not sum above zero
    waits for a later statement. Naive datetimes are taken as UTC.

    Args:
        session: Database session.
        period_start: Start of the period (recorded on the statement).
        period_end: End of the period (exclusive).
        worker: Only this worker (default: every worker with unpaid approved pay).
        project: Only this project's pay (default: all projects).
        actor: Who asks: an admin, or an owner of `project` (None: a trusted caller).

    Returns:
        The new statements (empty when nothing is owed).

    Raises:
        InvalidInput: The period ends before it starts.
        Forbidden: The actor may not handle these payouts.
    """
    start, end = _aware(period_start), _aware(period_end)
    if start >= end:
        raise InvalidInput("the period must end after it starts")
    if actor is not None:
        _require_payer(session, actor, project)
    worker_ids = [worker.id] if worker is not None else _owed_workers(session, project)
    statements: list[PayoutStatement] = []
    for worker_id in sorted(worker_ids):
        lock_worker(session, worker_id)
        statements += _statements_for(session, worker_id, project, start, end, actor)
    if statements:
        event = Event(kind="pay.statements_created", actor_id=actor.id if actor else None)
        event.project_id = project.id if project is not None else None
        event.payload = {"statement_ids": [s.id for s in statements]}
        session.add(event)
    session.commit()
    return statements


def _owed_workers(session: Session, project: Project | None) -> list[int]:
    on_statement = select(PayoutStatementEntry.entry_id)
    query = select(LedgerEntry.worker_id).where(
        LedgerEntry.status == "approved", LedgerEntry.id.not_in(on_statement)
    )
    if project is not None:
        query = query.where(LedgerEntry.project_id == project.id)
    return list(session.scalars(query.distinct()))


def _statements_for(
    session: Session,
    worker_id: int,
    project: Project | None,
    start: datetime,
    end: datetime,
    actor: User | None,
) -> list[PayoutStatement]:
    query = select(
        LedgerEntry.id, LedgerEntry.project_id, LedgerEntry.currency, LedgerEntry.amount_micros
    ).where(
        *unstated(worker_id),
        or_(LedgerEntry.created_at < end, LedgerEntry.amount_micros < 0),
    )
    if project is not None:
        query = query.where(LedgerEntry.project_id == project.id)
    groups: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for entry_id, project_id, currency, micros in session.execute(query):
        groups[(currency, project_id)].append((entry_id, micros))
    by_currency: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for (currency, _), lines in sorted(groups.items()):
        if sum(micros for _, micros in lines) > 0:
            by_currency[currency] += lines
    statements = []
    for currency, lines in sorted(by_currency.items()):
        statement = PayoutStatement(
            worker_id=worker_id,
            project_id=project.id if project is not None else None,
            period_start=start,
            period_end=end,
            total_micros=sum(micros for _, micros in lines),
            currency=currency,
            actor_id=actor.id if actor is not None else None,
        )
        session.add(statement)
        session.flush()
        session.add_all(
            PayoutStatementEntry(statement_id=statement.id, entry_id=entry_id)
            for entry_id, _ in lines
        )
        statements.append(statement)
    session.flush()
    return statements


def list_statements(
    session: Session,
    *,
    worker: User | None = None,
    project: Project | None = None,
    state: str | None = None,
) -> list[PayoutStatement]:
    """Return statements, newest first, optionally one worker's, one project's, one state's."""
    query = select(PayoutStatement)
    if worker is not None:
        query = query.where(PayoutStatement.worker_id == worker.id)
    if project is not None:
        query = query.where(PayoutStatement.project_id == project.id)
    if state is not None:
        query = query.where(PayoutStatement.state == state)
    return list(session.scalars(query.order_by(PayoutStatement.id.desc())))


def statement_csv(
    session: Session, *, statements: Iterable[PayoutStatement], out: Path | TextIO
) -> int:
    """Write statements as CSV (worker email, period, entries, total, currency ...).

    Returns:
        The number of statements written.
    """
    rows = list(statements)
    ids = [s.id for s in rows]
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_({s.worker_id for s in rows}))
        ).all()
    )
    counts = dict(
        session.execute(
            select(PayoutStatementEntry.statement_id, func.count())
            .where(PayoutStatementEntry.statement_id.in_(ids))
            .group_by(PayoutStatementEntry.statement_id)
        ).all()
    )
    if isinstance(out, Path):
        with out.open("w", newline="", encoding="utf-8") as handle:
            return _write_csv(handle, rows, emails, counts)
    return _write_csv(out, rows, emails, counts)


def _write_csv(
    handle: TextIO,
    rows: list[PayoutStatement],
    emails: dict[int, str],
    counts: dict[int, int],
) -> int:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    for s in rows:
        writer.writerow(
            [
                s.id,
                emails.get(s.worker_id, ""),
                _aware(s.period_start).isoformat(),
                _aware(s.period_end).isoformat(),
                counts.get(s.id, 0),
                str(s.total),
                s.currency,
                s.state,
                _aware(s.paid_at).isoformat() if s.paid_at else "",
                s.reference,
            ]
        )
    return len(rows)


def mark_statement_paid(
    session: Session, *, statement_id: int, reference: str, actor: User
) -> PayoutStatement:
    """Record that a statement was paid: append its payout entries; commits.

    Marking a paid statement again with the same reference returns it unchanged.

    Args:
        session: Database session.
        statement_id: The statement.
        reference: The payment's reference (bank transfer id, payroll batch ...).
        actor: An admin, or the owner of the statement's project.

    Returns:
        The paid statement.

    Raises:
        NotFound: No such statement.
        Forbidden: The actor may not handle this payout.
        InvalidInput: An empty reference.
        Conflict: Paid already under another reference, or its entries do not add up.
    """
    statement = session.scalar(
        select(PayoutStatement)
        .where(PayoutStatement.id == statement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if statement is None:
        raise NotFound(f"no statement {statement_id}")
    project = session.get(Project, statement.project_id) if statement.project_id else None
    _require_payer(session, actor, project)
    reference = reference.strip()[:500]
    if not reference:
        raise InvalidInput("give the payment's reference")
    if statement.state == "paid":
        if statement.reference == reference:
            return statement
        raise Conflict(f"statement {statement_id} was already paid ({statement.reference})")
    lock_worker(session, statement.worker_id)
    _append_payouts(session, statement, actor)
    statement.state, statement.paid_at, statement.reference = "paid", utcnow(), reference
    event = Event(kind="pay.statement_paid", actor_id=actor.id, project_id=statement.project_id)
    event.payload = {"statement_id": statement.id, "total": str(statement.total)}
    session.add(event)
    session.commit()
    return statement


def _append_payouts(session: Session, statement: PayoutStatement, actor: User) -> None:
    per_project = session.execute(
        select(LedgerEntry.project_id, func.sum(LedgerEntry.amount_micros))
        .join(PayoutStatementEntry, PayoutStatementEntry.entry_id == LedgerEntry.id)
        .where(PayoutStatementEntry.statement_id == statement.id)
        .group_by(LedgerEntry.project_id)
        .order_by(LedgerEntry.project_id)
    )
    sums = [(project_id, int(total or 0)) for project_id, total in per_project]
    if sum(micros for _, micros in sums) != statement.total_micros:
        raise Conflict(f"statement {statement.id}'s entries do not add up to its total")
    for project_id, micros in sums:
        for status, sign in (("approved", -1), ("paid", 1)):
            session.add(
                LedgerEntry(
                    idempotency_key=f"statement:{statement.id}:project:{project_id}:{status}",
                    worker_id=statement.worker_id,
                    project_id=project_id,
                    statement_id=statement.id,
                    kind="payout",
                    status=status,
                    amount_micros=sign * micros,
                    currency=statement.currency,
                    reason=f"statement {statement.id} paid",
                    source="statement",
                    actor_id=actor.id,
                )
            )
    session.flush()
