"""What the worker's and the owner's dashboards show: earnings, quality, spend and pace.

Read-only: nothing here writes. Money is summed from the append-only ledger in exact
micros and returned as Decimal; the quality figures are counts a worker may see about
themselves (never which gold answer was expected, never other workers' answers).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from judgeloop.services.assessments import answer_matches
from judgeloop.services.matching import count_eligible
from judgeloop.store.base import utcnow
from judgeloop.store.models.accounts import User
from judgeloop.store.models.items import GoldAnswer, Item
from judgeloop.store.models.ledger import BUCKETS, LedgerEntry, from_micros
from judgeloop.store.models.projects import Project
from judgeloop.store.models.work import Assignment, Judgment, Review, Submission
from judgeloop.store.models.workforce import Qualification

RECENT_FEEDBACK = 10
RECENT_ENTRIES = 20
PACE_WINDOW = timedelta(days=7)


@dataclass
class Money:
    """Pending, approved and paid amounts in one currency."""

    currency: str
    pending: Decimal = Decimal(0)
    approved: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        """Everything earned (or spent) so far, whatever its state."""
        return self.pending + self.approved + self.paid


@dataclass
class ProjectQuality:
    """One worker's record in one project."""

    project_id: int
    project_name: str
    submissions: int = 0
    accepted: int = 0
    rejected: int = 0
    gold_scored: int = 0
    gold_correct: int = 0

    @property
    def gold_accuracy(self) -> float | None:
        """Share of scored gold answers that were right (None before the first)."""
        return self.gold_correct / self.gold_scored if self.gold_scored else None


@dataclass
class WorkerDashboard:
    """Everything the worker's own dashboard shows."""

    earnings: list[Money]
    by_project: list[tuple[str, Money]]
    entries: list[LedgerEntry]
    quality: list[ProjectQuality]
    feedback: list[dict[str, Any]]
    qualifications: list[dict[str, Any]]


def _money(rows: Any) -> dict[tuple[Any, str], Money]:
    out: dict[tuple[Any, str], Money] = {}
    for key, currency, status, micros in rows:
        money = out.setdefault((key, currency), Money(currency))
        if status in BUCKETS:
            setattr(money, status, getattr(money, status) + from_micros(int(micros or 0)))
    return out


def worker_dashboard(
    session: Session, *, worker: User, now: datetime | None = None
) -> WorkerDashboard:
    """Gather a worker's earnings, quality, review feedback and qualifications."""
    now = now or utcnow()
    rows = session.execute(
        select(
            LedgerEntry.project_id,
            LedgerEntry.currency,
            LedgerEntry.status,
            func.sum(LedgerEntry.amount_micros),
        )
        .where(LedgerEntry.worker_id == worker.id)
        .group_by(LedgerEntry.project_id, LedgerEntry.currency, LedgerEntry.status)
    )
    per_project = _money(rows)
    totals: dict[str, Money] = {}
    for (_, currency), money in per_project.items():
        total = totals.setdefault(currency, Money(currency))
        total.pending += money.pending
        total.approved += money.approved
        total.paid += money.paid
    names = dict(session.execute(select(Project.id, Project.name)).all())
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.worker_id == worker.id)
            .order_by(LedgerEntry.id.desc())
            .limit(RECENT_ENTRIES)
        )
    )
    return WorkerDashboard(
        earnings=sorted(totals.values(), key=lambda m: m.currency),
        by_project=sorted(
            ((names.get(pid, "?"), money) for (pid, _), money in per_project.items()),
            key=lambda pair: pair[0],
        ),
        entries=entries,
        quality=worker_quality(session, worker=worker, names=names),
        feedback=_feedback(session, worker, names),
        qualifications=_qualifications(session, worker, now),
    )


def worker_quality(
    session: Session, *, worker: User, names: dict[int, str] | None = None
) -> list[ProjectQuality]:
    """Count a worker's submissions, review verdicts and gold results per project.

    `names` (project id -> name) saves reading them again when the caller has them.
    """
    out: dict[int, ProjectQuality] = {}
    if names is None:
        names = dict(session.execute(select(Project.id, Project.name)).all())

    def of(project_id: int) -> ProjectQuality:
        return out.setdefault(project_id, ProjectQuality(project_id, names.get(project_id, "?")))

    states = session.execute(
        select(Submission.project_id, Submission.state, func.count())
        .where(Submission.worker_id == worker.id)
        .group_by(Submission.project_id, Submission.state)
    )
    for project_id, state, n in states:
        q = of(project_id)
        q.submissions += n
        q.accepted += n if state == "accepted" else 0
        q.rejected += n if state == "rejected" else 0
    gold = (
        select(Submission.project_id, Judgment.kind, Judgment.value, GoldAnswer.value)
        .join(Item, and_(Item.id == Submission.item_id, Item.is_gold.is_(True)))
        .join(Judgment, Judgment.submission_id == Submission.id)
        .join(
            GoldAnswer,
            and_(
                GoldAnswer.item_id == Submission.item_id,
                GoldAnswer.question_key == Judgment.question_key,
                GoldAnswer.candidate_key == Judgment.candidate_key,
            ),
        )
        .where(Submission.worker_id == worker.id)
    )
    for project_id, kind, given, expected in session.execute(gold):
        verdict = answer_matches(kind, expected, given)
        if verdict is not None:
            q = of(project_id)
            q.gold_scored += 1
            q.gold_correct += int(verdict)
    return sorted(out.values(), key=lambda q: q.project_name)


def _feedback(session: Session, worker: User, names: dict[int, str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Review, Submission.project_id, Submission.id)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.worker_id == worker.id)
        .order_by(Review.id.desc())
        .limit(RECENT_FEEDBACK)
    )
    return [
        {
            "project": names.get(project_id, "?"),
            "submission_id": submission_id,
            "verdict": review.verdict,
            "feedback": review.feedback,
            "at": review.created_at,
        }
        for review, project_id, submission_id in rows
    ]


def _qualifications(session: Session, worker: User, now: datetime) -> list[dict[str, Any]]:
    held = session.scalars(
        select(Qualification)
        .where(Qualification.worker_id == worker.id)
        .order_by(Qualification.granted_at.desc())
    )
    out = []
    for q in held:
        expires = q.expires_at
        out.append(
            {
                "name": q.name,
                "score": q.score,
                "granted_at": q.granted_at,
                "expires_at": expires,
                "expired": expires is not None and expires <= now,
                "days_left": None if expires is None else max(0, (expires - now).days),
            }
        )
    return out


@dataclass
class OwnerDashboard:
    """Spend and pace of one project, for its owner."""

    workers: int
    active_workers: int
    eligible_workers: int
    accepted_judgments: int
    throughput_per_day: float
    daily: list[tuple[str, int]]
    spend: list[Money]
    cost_per_accepted: dict[str, Decimal]
    remaining_judgments: int
    days_to_finish: float | None
    cost_to_finish: dict[str, Decimal]
    leased_now: int = 0
    notes: list[str] = field(default_factory=list)


def owner_dashboard(
    session: Session, *, project: Project, now: datetime | None = None
) -> OwnerDashboard:
    """Workers, throughput, spend, cost per accepted judgment and a projection to finish.

    "Accepted" counts every submission not rejected (a project without review accepts what
    is submitted). The projection divides the judgments still needed by the pace of the
    last seven days (or since the first submission, when the project is younger).
    """
    now = now or utcnow()
    subs = select(Submission).where(Submission.project_id == project.id)
    accepted = (
        session.scalar(
            select(func.count()).select_from(subs.where(Submission.state != "rejected").subquery())
        )
        or 0
    )
    workers = (
        session.scalar(
            select(func.count(func.distinct(Submission.worker_id))).where(
                Submission.project_id == project.id
            )
        )
        or 0
    )
    active = (
        session.scalar(
            select(func.count(func.distinct(Submission.worker_id))).where(
                Submission.project_id == project.id,
                Submission.created_at >= now - timedelta(days=1),
            )
        )
        or 0
    )
    per_day, daily = _pace(session, project, now)
    spend = sorted(_project_spend(session, project).values(), key=lambda m: m.currency)
    remaining = _remaining_judgments(session, project)
    cost_each = {m.currency: _per(m.total, accepted) for m in spend if accepted}
    leased = (
        session.scalar(
            select(func.count()).where(
                Assignment.project_id == project.id,
                Assignment.state == "leased",
                Assignment.expires_at > now,
            )
        )
        or 0
    )
    return OwnerDashboard(
        workers=workers,
        active_workers=active,
        eligible_workers=count_eligible(session, project=project).eligible,
        accepted_judgments=accepted,
        throughput_per_day=round(per_day, 2),
        daily=sorted(daily.items()),
        spend=spend,
        cost_per_accepted=cost_each,
        remaining_judgments=remaining,
        days_to_finish=round(remaining / per_day, 2) if per_day and remaining else None,
        cost_to_finish={
            cur: (cost * remaining).quantize(Decimal("0.01")) for cur, cost in cost_each.items()
        },
        leased_now=leased,
    )


def _pace(session: Session, project: Project, now: datetime) -> tuple[float, dict[str, int]]:
    """Accepted judgments per day over the pace window, and per calendar day."""
    since = now - PACE_WINDOW
    stamps = list(
        session.scalars(
            select(Submission.created_at).where(
                Submission.project_id == project.id,
                Submission.state != "rejected",
                Submission.created_at >= since,
            )
        )
    )
    first = session.scalar(
        select(func.min(Submission.created_at)).where(Submission.project_id == project.id)
    )
    window_days = PACE_WINDOW.total_seconds() / 86400
    if first is not None and first > since:
        window_days = max((now - first).total_seconds() / 86400, 1 / 24)
    per_day = len(stamps) / window_days if stamps else 0.0
    daily: dict[str, int] = defaultdict(int)
    for stamp in stamps:
        daily[stamp.date().isoformat()] += 1
    return per_day, daily


def _per(total: Decimal, count: int) -> Decimal:
    return (total / count).quantize(Decimal("0.0001"))


def _project_spend(session: Session, project: Project) -> dict[str, Money]:
    rows = session.execute(
        select(
            LedgerEntry.project_id,
            LedgerEntry.currency,
            LedgerEntry.status,
            func.sum(LedgerEntry.amount_micros),
        )
        .where(LedgerEntry.project_id == project.id)
        .group_by(LedgerEntry.project_id, LedgerEntry.currency, LedgerEntry.status)
    )
    return {currency: money for (_, currency), money in _money(rows).items()}


def _remaining_judgments(session: Session, project: Project) -> int:
    """Judgments still needed to give every non-gold item its redundancy."""
    items = (
        session.scalar(
            select(func.count()).where(Item.project_id == project.id, Item.is_gold.is_(False))
        )
        or 0
    )
    per_item = (
        select(Submission.item_id, func.count().label("n"))
        .join(Item, and_(Item.id == Submission.item_id, Item.is_gold.is_(False)))
        .where(Submission.project_id == project.id, Submission.state != "rejected")
        .group_by(Submission.item_id)
        .subquery()
    )
    capped = case((per_item.c.n > project.redundancy, project.redundancy), else_=per_item.c.n)
    done = session.scalar(select(func.coalesce(func.sum(capped), 0))) or 0
    return max(0, items * project.redundancy - int(done))
