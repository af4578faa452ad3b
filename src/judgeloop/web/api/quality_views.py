"""Service results → quality wire models (NaN becomes null), shared by the API and pages."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from judgeloop.aggregate.agreement import Estimate
from judgeloop.schemas.quality import (
    AgreementRead,
    AuditQueueRead,
    AuditSampleRead,
    BehaviourFlagRead,
    BehaviourRead,
    EstimateRead,
    ReliabilityRead,
    ReviewerAgreementRead,
    WeekRead,
)
from judgeloop.services.audits import AuditEntry, audit_counts, reviewer_agreement
from judgeloop.services.qc import AgreementRow, BehaviourReport, ReliabilityRow
from judgeloop.store.models import AuditSample, Project, Submission


def finite(value: float | None) -> float | None:
    """The value, or None for None, NaN and infinities."""
    return value if value is not None and math.isfinite(value) else None


def estimate_read(est: Estimate) -> EstimateRead:
    """An estimate with its interval, NaN as null."""
    return EstimateRead(
        value=finite(est.value), ci_low=finite(est.ci_low), ci_high=finite(est.ci_high)
    )


def agreement_read(row: AgreementRow) -> AgreementRead:
    """The wire form of one agreement row."""
    r = row.report
    weeks = [
        WeekRead(week=w.week, alpha=finite(w.alpha), pairwise=finite(w.pairwise), n_items=w.n_items)
        for w in row.weeks
    ]
    return AgreementRead(
        key=row.key,
        title=row.title,
        kind=row.kind,
        variant=row.variant,
        level=r.level,
        alpha=estimate_read(r.alpha),
        fleiss_kappa=estimate_read(r.fleiss_kappa),
        pairwise=estimate_read(r.pairwise),
        n_items=r.n_items,
        n_judgments=r.n_judgments,
        weeks=weeks,
    )


def reliability_read(row: ReliabilityRow) -> ReliabilityRead:
    """The wire form of one row of the reliability table."""
    rel = row.reliability
    return ReliabilityRead(
        worker_id=row.worker.id,
        name=row.worker.name or row.worker.email,
        n_judgments=rel.n_judgments if rel else None,
        gold_correct=rel.gold_correct if rel else None,
        gold_total=rel.gold_total if rel else None,
        gold_accuracy=rel.gold_accuracy if rel else None,
        agreement=finite(rel.agreement) if rel else None,
        agreement_n=rel.agreement_n if rel else None,
        model_accuracy=finite(rel.model_accuracy) if rel else None,
        model=rel.model if rel else None,
        informativeness=finite(rel.informativeness) if rel else None,
        rating_bias=finite(rel.rating_bias) if rel else None,
        flagged=row.flagged,
        reasons=row.reasons,
        suspended=row.suspension is not None,
        computed_at=rel.computed_at if rel else None,
    )


def behaviour_read(report: BehaviourReport) -> BehaviourRead:
    """The wire form of the behaviour flags."""
    flags = [
        BehaviourFlagRead(
            worker_id=f.worker_id,
            kind=f.kind,
            detail=f.detail,
            figure=f.figure,
            submission_ids=f.submission_ids,
        )
        for f in report.flags
    ]
    return BehaviourRead(
        median_seconds=report.median_seconds, submissions=report.submissions, flags=flags
    )


def audit_read(session: Session, sample: AuditSample, reviews: int = 0) -> AuditSampleRead:
    """The wire form of one audit sample."""
    sub = session.get(Submission, sample.submission_id)
    assert sub is not None
    return AuditSampleRead(
        submission_id=sub.id,
        worker_id=sub.worker_id,
        item_id=sub.item_id,
        reason=sample.reason,
        reviews_wanted=sample.reviews_wanted,
        reviews=reviews,
        state=sub.state,
        review_url=f"/review/submissions/{sub.id}",
    )


def audit_queue_read(session: Session, project: Project, queue: list[AuditEntry]) -> AuditQueueRead:
    """The caller's audit queue with the project's audit counts and reviewer agreement."""
    agree = reviewer_agreement(session, project=project)
    return AuditQueueRead(
        queue=[audit_read(session, e.sample, e.reviews) for e in queue],
        counts=audit_counts(session, project=project),
        reviewer_agreement=ReviewerAgreementRead(
            submissions=agree.submissions,
            pairs=agree.pairs,
            agreement=agree.agreement,
            kappa=finite(agree.kappa),
        ),
    )
