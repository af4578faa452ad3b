"""The audit queue: a sample of submissions for reviewers, and how well reviewers agree.

``sample_audits`` picks submissions not yet reviewed: at the project's base rate, and
at a higher rate from new workers (fewer than ``new_worker_submissions`` in the
project) and from flagged workers (the last aggregation's thresholds, or an active
suspension). A share of the picks wants two reviews, so that reviewers' agreement with
each other can be measured. Reviewers work through ``audit_queue`` and give verdicts on
the usual review page (``services.reviews.review_submission``), so a rejection unpays
the worker and gives the item's slot back to the queue like any rejection.

Settings: ``Project.settings["audit"]`` with ``rate`` (0.1), ``new_worker_rate`` (0.5),
``flagged_rate`` (0.5), ``new_worker_submissions`` (20) and ``double_review`` (0.2).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from judgeloop.aggregate.agreement import fleiss_kappa
from judgeloop.errors import Forbidden, NotFound
from judgeloop.services.projects import member_role
from judgeloop.services.reviews import REVIEWER_ROLES
from judgeloop.store.models import (
    AuditSample,
    Event,
    Project,
    Review,
    Submission,
    Suspension,
    User,
    WorkerReliability,
)

DEFAULTS = {
    "rate": 0.1,
    "new_worker_rate": 0.5,
    "flagged_rate": 0.5,
    "new_worker_submissions": 20,
    "double_review": 0.2,
}
MAX_SAMPLE = 5000


@dataclass(frozen=True)
class AuditEntry:
    """One submission in a reviewer's audit queue."""

    sample: AuditSample
    submission: Submission
    worker: User
    reviews: int


@dataclass(frozen=True)
class ReviewerAgreement:
    """How often reviewers who audited the same submission gave the same verdict."""

    submissions: int
    pairs: int
    agreement: float | None
    kappa: float | None
    per_reviewer: dict[int, tuple[int, float]]
    """reviewer id -> (pairs they were in, share of those that agreed)."""


def audit_setting(project: Project, key: str) -> float:
    """An audit setting of the project (``settings["audit"][key]``) or its default."""
    return float((project.settings.get("audit") or {}).get(key, DEFAULTS[key]))


def _require_reviewer(session: Session, project: Project, user: User) -> str:
    role = member_role(session, project=project, user=user)
    if role is None:
        raise NotFound(f"no project {project.slug!r}")
    if role not in REVIEWER_ROLES:
        raise Forbidden(f"a {role} of project {project.slug} may not audit")
    return role


def _risky_workers(session: Session, project: Project) -> tuple[set[int], set[int]]:
    """(new workers, flagged workers) of the project."""
    counts = dict(
        session.execute(
            select(Submission.worker_id, func.count())
            .where(Submission.project_id == project.id)
            .group_by(Submission.worker_id)
        ).all()
    )
    threshold = audit_setting(project, "new_worker_submissions")
    new = {w for w, n in counts.items() if n < threshold}
    flagged = set(
        session.scalars(
            select(WorkerReliability.worker_id).where(
                WorkerReliability.project_id == project.id, WorkerReliability.flagged.is_(True)
            )
        )
    )
    flagged |= set(
        session.scalars(
            select(Suspension.worker_id).where(
                Suspension.project_id == project.id, Suspension.lifted_at.is_(None)
            )
        )
    )
    return new, flagged


def _draw(
    project: Project,
    actor: User,
    candidates: Iterable[tuple[int, int]],
    new: set[int],
    flagged: set[int],
    seed: int | None,
) -> list[AuditSample]:
    """Draw each (submission, worker) at its worker's rate; some want two reviews."""
    rng = random.Random(seed)
    double = audit_setting(project, "double_review")
    picks = []
    for submission_id, worker_id in candidates:
        reason, rate = "random", audit_setting(project, "rate")
        if worker_id in flagged:
            reason, rate = "flagged worker", max(rate, audit_setting(project, "flagged_rate"))
        elif worker_id in new:
            reason, rate = "new worker", max(rate, audit_setting(project, "new_worker_rate"))
        if rng.random() < rate:
            picks.append(
                AuditSample(
                    project_id=project.id,
                    submission_id=submission_id,
                    reason=reason,
                    reviews_wanted=2 if rng.random() < double else 1,
                    sampled_by=actor.id,
                )
            )
    return picks


def sample_audits(
    session: Session, *, project: Project, actor: User, seed: int | None = None
) -> list[AuditSample]:
    """Put a sample of the project's unreviewed submissions into the audit queue; commits.

    Args:
        session: Database session.
        project: The project.
        actor: Who samples (a reviewer, owner or admin).
        seed: Seeds the draw (tests); None draws afresh.

    Returns:
        The new samples (submissions sampled before are never drawn again).

    Raises:
        NotFound: The actor is not a member.
        Forbidden: The actor may not review.
    """
    _require_reviewer(session, project, actor)
    sampled = exists().where(AuditSample.submission_id == Submission.id)
    reviewed = exists().where(Review.submission_id == Submission.id)
    query = (
        select(Submission.id, Submission.worker_id)
        .where(
            Submission.project_id == project.id,
            Submission.state == "submitted",
            ~sampled,
            ~reviewed,
        )
        .order_by(Submission.id.desc())
        .limit(MAX_SAMPLE)
    )
    candidates = [(int(sub), int(worker)) for sub, worker in session.execute(query)]
    picks = _draw(project, actor, reversed(candidates), *_risky_workers(session, project), seed)
    session.add_all(picks)
    session.flush()
    payload = {"sampled": len(picks), "candidates": len(candidates)}
    session.add(
        Event(kind="audit.sampled", actor_id=actor.id, project_id=project.id, payload=payload)
    )
    session.commit()
    return picks


def audit_queue(
    session: Session, *, project: Project, reviewer: User, limit: int = 50
) -> list[AuditEntry]:
    """The sampled submissions this reviewer may audit now, oldest sample first.

    A sample stays in the queue until it has the reviews it wants; a reviewer never
    sees their own submissions or one they reviewed already.
    """
    _require_reviewer(session, project, reviewer)
    n_reviews = (
        select(func.count(func.distinct(Review.reviewer_id)))
        .where(Review.submission_id == AuditSample.submission_id)
        .scalar_subquery()
    )
    mine = select(Review.submission_id).where(Review.reviewer_id == reviewer.id)
    query = (
        select(AuditSample, Submission, User, n_reviews)
        .join(Submission, Submission.id == AuditSample.submission_id)
        .join(User, User.id == Submission.worker_id)
        .where(
            AuditSample.project_id == project.id,
            n_reviews < AuditSample.reviews_wanted,
            Submission.worker_id != reviewer.id,
            AuditSample.submission_id.not_in(mine),
        )
        .order_by(AuditSample.id)
        .limit(max(1, min(limit, 500)))
    )
    return [AuditEntry(a, s, u, int(n)) for a, s, u, n in session.execute(query)]


def audit_counts(session: Session, *, project: Project) -> dict[str, int]:
    """How many submissions were sampled, and how many of them were accepted or rejected."""
    rows = session.execute(
        select(Submission.state, func.count())
        .join(AuditSample, AuditSample.submission_id == Submission.id)
        .where(AuditSample.project_id == project.id)
        .group_by(Submission.state)
    ).all()
    by_state = dict(rows)
    return {
        "sampled": sum(by_state.values()),
        "waiting": by_state.get("submitted", 0),
        "accepted": by_state.get("accepted", 0),
        "rejected": by_state.get("rejected", 0),
    }


def reviewer_agreement(session: Session, *, project: Project) -> ReviewerAgreement:
    """Agreement of reviewers on the submissions two or more of them reviewed.

    Each reviewer's first verdict on a submission counts. Plain pairwise agreement and
    Fleiss' kappa over those submissions, and per reviewer the share of their pairs
    that agreed.
    """
    query = (
        select(Review.submission_id, Review.reviewer_id, Review.verdict)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.project_id == project.id)
        .order_by(Review.id)
    )
    first: dict[int, dict[int, str]] = {}
    for submission_id, reviewer_id, verdict in session.execute(query):
        first.setdefault(submission_id, {}).setdefault(reviewer_id, verdict)
    shared = {s: v for s, v in first.items() if len(v) >= 2}
    agree, total = Counter[int](), Counter[int]()
    hits = pairs = 0
    for verdicts in shared.values():
        for (a, va), (b, vb) in combinations(sorted(verdicts.items()), 2):
            same = int(va == vb)
            hits, pairs = hits + same, pairs + 1
            for r in (a, b):
                agree[r] += same
                total[r] += 1
    kappa = None
    if shared:
        items = [s for s, v in shared.items() for _ in v]
        values = [verdict for v in shared.values() for verdict in v.values()]
        value = fleiss_kappa(items, values)
        kappa = value if value == value else None
    per = {r: (n, agree[r] / n) for r, n in total.items()}
    return ReviewerAgreement(len(shared), pairs, hits / pairs if pairs else None, kappa, per)
