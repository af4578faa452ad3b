"""Reconcile: prove that the ledger matches the work, the rates, the reviews and payouts.

`reconcile` recomputes, from the stored facts alone (submissions, their latest reviews,
pay terms and the assignments' active time), what each submission should hold in the
pending and approved buckets, and compares it with the ledger. It then checks the
ledger's own invariants: known kinds, each submission paid at most once, every bonus and
adjustment matched by its journal event, every payout matched by a paid statement, every
statement equal to the entries it holds, and no balance below zero. An empty report
means the ledger reconciles.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from judgeloop.services.pay_ledger import (
    EARN_KINDS,
    OWNER_KINDS,
    SUBMISSION_KINDS,
    VERDICT_STATES,
    earned_micros,
    paid_seconds,
    target_micros,
)
from judgeloop.store.models import (
    Assignment,
    Event,
    LedgerEntry,
    PayoutStatement,
    PayoutStatementEntry,
    PayTerms,
    Project,
    Review,
    Submission,
)
from judgeloop.store.models.ledger import BUCKETS, ENTRY_KINDS, ENTRY_SOURCES, from_micros


@dataclass(frozen=True)
class Difference:
    """One way the ledger disagrees with the facts, or breaks one of its invariants."""

    check: str
    detail: str
    worker_id: int | None = None
    project_id: int | None = None
    submission_id: int | None = None
    statement_id: int | None = None
    entry_id: int | None = None
    expected: Decimal | None = None
    actual: Decimal | None = None


@dataclass
class ReconcileReport:
    """What `reconcile` checked and every difference it found (none: it reconciles)."""

    differences: list[Difference] = field(default_factory=list)
    submissions: int = 0
    entries: int = 0
    statements: int = 0

    @property
    def ok(self) -> bool:
        """True when the ledger matches the facts and keeps its invariants."""
        return not self.differences

    def add(self, check: str, detail: str, **where: Any) -> None:
        """Record one difference."""
        self.differences.append(Difference(check, detail, **where))


def reconcile(session: Session, *, project: Project | None = None) -> ReconcileReport:
    """Compare the ledger with what the facts say each worker should have been credited.

    Args:
        session: Database session (only reads).
        project: Check one project (default: every project and every statement).

    Returns:
        The report; `report.ok` is True when there is no difference.
    """
    report = ReconcileReport()
    project_id = project.id if project is not None else None
    _check_submissions(session, project_id, report)
    _check_entries(session, project_id, report)
    _check_statements(session, project_id, report)
    _check_balances(session, project_id, report)
    return report


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def _scoped(query: SelectT, column: Any, project_id: int | None) -> SelectT:
    return query if project_id is None else query.where(column == project_id)


def _terms_by_project(session: Session, project_id: int | None) -> dict[int, list[PayTerms]]:
    query = _scoped(select(PayTerms), PayTerms.project_id, project_id)
    out: dict[int, list[PayTerms]] = defaultdict(list)
    for terms in session.scalars(query.order_by(PayTerms.effective_from, PayTerms.id)):
        out[terms.project_id].append(terms)
    return out


def _terms_at(history: list[PayTerms], at: datetime) -> PayTerms | None:
    index = bisect_right([t.effective_from for t in history], at)
    return history[index - 1] if index else None


def _latest_states(session: Session, project_id: int | None) -> dict[int, str]:
    newest = _scoped(
        select(func.max(Review.id)).join(Submission, Submission.id == Review.submission_id),
        Submission.project_id,
        project_id,
    ).group_by(Review.submission_id)
    rows = session.execute(
        select(Review.submission_id, Review.verdict).where(Review.id.in_(newest))
    )
    return {sid: VERDICT_STATES[v] for sid, v in rows if v in VERDICT_STATES}


def _submission_ledger(
    session: Session, project_id: int | None
) -> tuple[dict[int, dict[str, int]], dict[int, list[int | None]], dict[int, int]]:
    """Per submission: sums by bucket, the terms of each earn line, the stated sum."""
    joined = select(LedgerEntry).join(Submission, Submission.id == LedgerEntry.submission_id)
    base = _scoped(joined, Submission.project_id, project_id).subquery()
    sums: dict[int, dict[str, int]] = defaultdict(dict)
    for sid, status, total in session.execute(
        select(base.c.submission_id, base.c.status, func.sum(base.c.amount_micros)).group_by(
            base.c.submission_id, base.c.status
        )
    ):
        sums[sid][status] = int(total or 0)
    earns: dict[int, list[int | None]] = defaultdict(list)
    for sid, terms_id in session.execute(
        select(base.c.submission_id, base.c.terms_id).where(base.c.kind.in_(EARN_KINDS))
    ):
        earns[sid].append(terms_id)
    stated_rows = session.execute(
        select(base.c.submission_id, func.sum(base.c.amount_micros))
        .join(PayoutStatementEntry, PayoutStatementEntry.entry_id == base.c.id)
        .group_by(base.c.submission_id)
    )
    return sums, earns, {sid: int(total or 0) for sid, total in stated_rows}


def _check_submissions(session: Session, project_id: int | None, report: ReconcileReport) -> None:
    terms = _terms_by_project(session, project_id)
    states = _latest_states(session, project_id)
    active: dict[int, float] = dict(
        session.execute(
            _scoped(
                select(Assignment.id, Assignment.active_seconds), Assignment.project_id, project_id
            )
        ).all()
    )
    sums, earns, stated = _submission_ledger(session, project_id)
    subs = session.scalars(_scoped(select(Submission), Submission.project_id, project_id))
    for sub in subs:
        report.submissions += 1
        applied = _terms_at(terms.get(sub.project_id, []), sub.created_at)
        amount = 0
        if applied is not None and sub.source != "import":
            seconds = paid_seconds(active.get(sub.assignment_id or 0), sub.seconds_spent)
            amount = max(0, earned_micros(applied, seconds))
        state = states.get(sub.id, sub.state)
        mode = applied.mode if applied is not None else "per_task"
        want = target_micros(mode, amount, state, stated.get(sub.id, 0) > 0)
        have = (sums[sub.id].get("pending", 0), sums[sub.id].get("approved", 0))
        where = {"worker_id": sub.worker_id, "project_id": sub.project_id, "submission_id": sub.id}
        if want != have or set(sums[sub.id]) - {"pending", "approved"}:
            detail = (
                f"{state} submission should hold pending {from_micros(want[0])}, approved "
                f"{from_micros(want[1])}; the ledger holds pending {from_micros(have[0])}, "
                f"approved {from_micros(have[1])}"
            )
            expected, actual = from_micros(sum(want)), from_micros(sum(have))
            report.add("submission", detail, expected=expected, actual=actual, **where)
        _check_earn_lines(earns.get(sub.id, []), applied, amount, where, report)


def _check_earn_lines(
    terms_ids: list[int | None],
    applied: PayTerms | None,
    amount: int,
    where: dict[str, Any],
    report: ReconcileReport,
) -> None:
    if len(terms_ids) > 1:
        report.add("submission", f"paid {len(terms_ids)} times (at most once)", **where)
    if amount > 0 and applied is not None and terms_ids and terms_ids[0] != applied.id:
        report.add("submission", f"paid under terms {terms_ids[0]}, not {applied.id}", **where)


def _owner_events(session: Session, project_id: int | None) -> dict[int, str]:
    """Entry id -> amount, from the journal events that bonuses and adjustments write."""
    query = _scoped(
        select(Event.payload).where(Event.kind.in_([f"pay.{k}" for k in OWNER_KINDS])),
        Event.project_id,
        project_id,
    )
    out: dict[int, str] = {}
    for payload in session.scalars(query):
        if isinstance(payload, dict) and isinstance(payload.get("entry_id"), int):
            out[payload["entry_id"]] = str(payload.get("amount"))
    return out


def _check_entries(session: Session, project_id: int | None, report: ReconcileReport) -> None:
    owners = {
        sid: (worker_id, pid)
        for sid, worker_id, pid in session.execute(
            _scoped(
                select(Submission.id, Submission.worker_id, Submission.project_id),
                Submission.project_id,
                project_id,
            )
        )
    }
    events = _owner_events(session, project_id)
    query = _scoped(select(LedgerEntry), LedgerEntry.project_id, project_id)
    for entry in session.scalars(query.order_by(LedgerEntry.id).execution_options(yield_per=1000)):
        report.entries += 1
        problem = _entry_problem(entry, owners, events)
        if problem:
            report.add(
                "entry",
                f"entry {entry.id} ({entry.kind}, {entry.amount}): {problem}",
                worker_id=entry.worker_id,
                project_id=entry.project_id,
                submission_id=entry.submission_id,
                entry_id=entry.id,
                actual=entry.amount,
            )


def _entry_problem(
    entry: LedgerEntry, owners: dict[int, tuple[int, int]], events: dict[int, str]
) -> str | None:
    if entry.kind not in ENTRY_KINDS or entry.status not in BUCKETS:
        return f"unknown kind or bucket {entry.kind}/{entry.status}"
    if entry.source not in ENTRY_SOURCES:
        return f"unknown source {entry.source!r}"
    if entry.kind in SUBMISSION_KINDS:
        if entry.submission_id is None:
            return "a submission's entry without a submission"
        if owners.get(entry.submission_id) != (entry.worker_id, entry.project_id):
            return "does not match its submission's worker or project"
        if entry.kind in EARN_KINDS and entry.amount_micros <= 0:
            return "earnings must be positive"
    elif entry.submission_id is not None:
        return "names a submission it does not belong to"
    if entry.kind in OWNER_KINDS:
        if entry.status != "approved":
            return "bonuses and adjustments are approved when made"
        if events.get(entry.id) != str(entry.amount):
            return "no matching journal event: not made through the pay service"
    if entry.kind == "payout" and entry.statement_id is None:
        return "a payout without a statement"
    return None


def _check_statements(session: Session, project_id: int | None, report: ReconcileReport) -> None:
    statements = {s.id: s for s in session.scalars(select(PayoutStatement))}
    held: dict[tuple[int, int], int] = defaultdict(int)
    rows = session.execute(
        select(PayoutStatementEntry.statement_id, LedgerEntry, PayoutStatement)
        .join(LedgerEntry, LedgerEntry.id == PayoutStatementEntry.entry_id)
        .join(PayoutStatement, PayoutStatement.id == PayoutStatementEntry.statement_id)
    )
    for statement_id, entry, statement in rows:
        held[(statement_id, entry.project_id)] += entry.amount_micros
        if (entry.status, entry.worker_id, entry.currency) != (
            "approved",
            statement.worker_id,
            statement.currency,
        ):
            report.add(
                "statement",
                f"statement {statement_id} holds entry {entry.id} of another bucket, "
                "worker or currency",
                statement_id=statement_id,
                entry_id=entry.id,
            )
    payouts: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for sid, pid, status, total in session.execute(
        select(
            LedgerEntry.statement_id,
            LedgerEntry.project_id,
            LedgerEntry.status,
            func.sum(LedgerEntry.amount_micros),
        )
        .where(LedgerEntry.kind == "payout", LedgerEntry.statement_id.is_not(None))
        .group_by(LedgerEntry.statement_id, LedgerEntry.project_id, LedgerEntry.status)
    ):
        if sid is not None:
            payouts[(sid, pid)][status] = int(total or 0)
    keys = [k for k in sorted(set(held) | set(payouts)) if project_id in (None, k[1])]
    for key in keys:
        _check_payout(statements.get(key[0]), key, held.get(key, 0), payouts[key], report)
    if project_id is None:
        _check_totals(statements, held, report)
    else:
        report.statements = len({statement_id for statement_id, _ in keys})


def _check_payout(
    statement: PayoutStatement | None,
    key: tuple[int, int],
    held: int,
    payout: dict[str, int],
    report: ReconcileReport,
) -> None:
    statement_id, project_id = key
    where = {"statement_id": statement_id, "project_id": project_id}
    if statement is None:
        report.add("payout", f"payout for a missing statement {statement_id}", **where)
        return
    paid = statement.state == "paid"
    want = {"approved": -held, "paid": held} if paid else {}
    have = {status: micros for status, micros in payout.items() if micros or status in want}
    if have != want:
        state = "paid" if paid else "open"
        report.add(
            "payout",
            f"{state} statement {statement_id} holds {from_micros(held)} in project "
            f"{project_id}; its payout entries are {have or 'none'}",
            worker_id=statement.worker_id,
            expected=from_micros(held if paid else 0),
            actual=from_micros(payout.get("paid", 0)),
            **where,
        )


def _check_totals(
    statements: dict[int, PayoutStatement],
    held: dict[tuple[int, int], int],
    report: ReconcileReport,
) -> None:
    totals: dict[int, int] = defaultdict(int)
    for (statement_id, _), micros in held.items():
        totals[statement_id] += micros
    for statement in statements.values():
        report.statements += 1
        if totals.get(statement.id, 0) != statement.total_micros or statement.total_micros <= 0:
            report.add(
                "statement",
                f"statement {statement.id} totals {statement.total}; its entries sum to "
                f"{from_micros(totals.get(statement.id, 0))}",
                worker_id=statement.worker_id,
                statement_id=statement.id,
                expected=statement.total,
                actual=from_micros(totals.get(statement.id, 0)),
            )


def _check_balances(session: Session, project_id: int | None, report: ReconcileReport) -> None:
    query = _scoped(
        select(
            LedgerEntry.worker_id,
            LedgerEntry.project_id,
            LedgerEntry.currency,
            LedgerEntry.status,
            func.sum(LedgerEntry.amount_micros),
        ),
        LedgerEntry.project_id,
        project_id,
    ).group_by(
        LedgerEntry.worker_id, LedgerEntry.project_id, LedgerEntry.currency, LedgerEntry.status
    )
    for worker_id, pid, currency, status, total in session.execute(query):
        if int(total or 0) < 0:
            report.add(
                "balance",
                f"{status} balance is {from_micros(int(total))} {currency}: below zero",
                worker_id=worker_id,
                project_id=pid,
                actual=from_micros(int(total)),
            )
