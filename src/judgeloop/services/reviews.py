"""Reviewing work: verdicts on submissions, the feedback workers read, and flags raised.

A reviewer (or an owner or admin of the project) accepts or rejects a submission with
written feedback. Rejection gives the item's slot back, so the item goes back into the
queue for another worker; the rejected worker's own assignment stays ``submitted``, so
they are never served the same item again. A submission may be reviewed again (the
latest review wins); a slot is freed only on a change *to* ``rejected`` and taken back
on a change *from* it, so a rejected submission is never freed twice. The worker's pay
follows the verdict in the same transaction (``services.pay.on_submission_reviewed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, RowError
from judgeloop.services.pay import on_submission_reviewed
from judgeloop.services.projects import member_role
from judgeloop.services.queue import free_slot
from judgeloop.services.submissions import get_submission
from judgeloop.store.models import Event, Flag, Item, Project, Review, Submission, User
from judgeloop.store.models.work import FLAG_REASONS, SUBMISSION_STATES

VERDICTS = {"accept": "accepted", "reject": "rejected"}
"""Verdict -> the submission state it leads to."""
REVIEWER_ROLES = frozenset({"reviewer", "owner", "admin"})
MAX_FEEDBACK = 20_000


@dataclass(frozen=True)
class WorkerFeedback:
    """One review of one of a worker's submissions, with what it was about."""

    review: Review
    submission: Submission
    project: Project
    item: Item


@dataclass(frozen=True)
class SubmissionRow:
    """One line of a project's submission list: the submission, its worker, latest review."""

    submission: Submission
    worker: User
    review: Review | None


@dataclass(frozen=True)
class FlagSummary:
    """The flags raised in a project: how many of each reason, and the latest ones."""

    counts: dict[str, int] = field(default_factory=dict)
    latest: list[Flag] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many flags were raised in all."""
        return sum(self.counts.values())


def _check_verdict(verdict: str, feedback: str) -> tuple[str, str]:
    """Return (new state, cleaned feedback), or raise InvalidInput naming the field."""
    if verdict not in VERDICTS:
        reason = f"choose accept or reject, not {verdict!r}"
        raise InvalidInput("invalid verdict", [RowError(0, "verdict", reason)])
    text = feedback.replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise InvalidInput("invalid feedback", [RowError(0, "feedback", "contains a NUL")])
    if len(text) > MAX_FEEDBACK:
        reason = f"at most {MAX_FEEDBACK} characters, got {len(text)}"
        raise InvalidInput("feedback too long", [RowError(0, "feedback", reason)])
    if verdict == "reject" and not text:
        reason = "write what was wrong, so the worker can do better next time"
        raise InvalidInput("a rejection needs feedback", [RowError(0, "feedback", reason)])
    return VERDICTS[verdict], text


def _reviewable(session: Session, submission_id: int, reviewer: User) -> tuple[Submission, Project]:
    """Return the submission and its project when `reviewer` may review it."""
    submission = get_submission(session, submission_id)
    project = session.get(Project, submission.project_id)
    role = member_role(session, project=project, user=reviewer) if project else None
    if project is None or role is None:
        raise NotFound(f"no submission {submission_id}")
    if role not in REVIEWER_ROLES:
        raise Forbidden(f"a {role} of project {project.slug} may not review submissions")
    if submission.worker_id == reviewer.id:
        raise Forbidden("you may not review your own submission")
    return submission, project


def _retake_slot(session: Session, *, item_id: int, redundancy: int) -> None:
    """Count a no-longer-rejected submission again, even when the item has filled up.

    The item's own ``target_redundancy`` (adaptive redundancy) counts, as in `take_slot`.
    """
    wanted = func.coalesce(Item.target_redundancy, redundancy)
    session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(slots_taken=Item.slots_taken + 1, is_open=Item.slots_taken + 1 < wanted)
        .execution_options(synchronize_session=False)
    )


def review_submission(
    session: Session, *, submission_id: int, reviewer: User, verdict: str, feedback: str = ""
) -> Review:
    """Accept or reject a submission with feedback for the worker; commits.

    Args:
        session: Database session.
        submission_id: The submission reviewed.
        reviewer: Who reviews: a reviewer, owner or admin of the submission's project
            (never the submission's own worker).
        verdict: ``"accept"`` or ``"reject"``.
        feedback: What the worker will read; required when rejecting.

    Returns:
        The stored review (the latest review of a submission is the one that counts).

    Raises:
        NotFound: No such submission, or the reviewer is not a member of its project.
        Forbidden: The reviewer's role may not review, or the submission is their own.
        InvalidInput: An unknown verdict, or a rejection without feedback.
        Conflict: Someone else reviewed the submission at the same moment.
    """
    state, text = _check_verdict(verdict, feedback)
    submission, project = _reviewable(session, submission_id, reviewer)
    before = submission.state
    # Guarded on the state read above: of two concurrent reviews, one finds no row.
    changed = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.state == before)
        .values(state=state)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict(f"submission {submission_id} was reviewed by someone else just now")
    if state == "rejected" and before != "rejected":
        free_slot(session, item_id=submission.item_id, redundancy=project.redundancy)
    elif before == "rejected" and state != "rejected":
        _retake_slot(session, item_id=submission.item_id, redundancy=project.redundancy)
    review = Review(
        submission_id=submission.id, reviewer_id=reviewer.id, verdict=state, feedback=text
    )
    session.add(review)
    session.flush()
    payload = {"submission_id": submission.id, "review_id": review.id, "verdict": state}
    event = Event(kind="submission.reviewed", actor_id=reviewer.id, project_id=project.id)
    event.payload = {**payload, "previous_state": before}
    session.add(event)
    on_submission_reviewed(session, submission=submission, verdict=state)
    session.commit()
    return review


def reviews_of(session: Session, *, submission_id: int) -> list[Review]:
    """Return every review of a submission, newest first."""
    query = select(Review).where(Review.submission_id == submission_id)
    return list(session.scalars(query.order_by(Review.id.desc())))


def latest_reviews(session: Session, submission_ids: list[int]) -> dict[int, Review]:
    """Return the latest review of each of these submissions that has one."""
    if not submission_ids:
        return {}
    newest = (
        select(func.max(Review.id))
        .where(Review.submission_id.in_(submission_ids))
        .group_by(Review.submission_id)
    )
    rows = session.scalars(select(Review).where(Review.id.in_(newest)))
    return {review.submission_id: review for review in rows}


def list_reviews_for_worker(
    session: Session, *, worker: User, limit: int = 100
) -> list[WorkerFeedback]:
    """Return the reviews of `worker`'s submissions, newest first, for their feedback page.

    Args:
        session: Database session.
        worker: Whose submissions.
        limit: The most reviews returned (1 to 1000).

    Returns:
        Each review with its submission, project and item.
    """
    query = (
        select(Review, Submission, Project, Item)
        .join(Submission, Submission.id == Review.submission_id)
        .join(Project, Project.id == Submission.project_id)
        .join(Item, Item.id == Submission.item_id)
        .where(Submission.worker_id == worker.id)
        .order_by(Review.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    return [WorkerFeedback(r, s, p, i) for r, s, p, i in session.execute(query)]


def list_submissions_for_review(
    session: Session,
    *,
    project: Project,
    state: str | None = None,
    before: int = 0,
    limit: int = 50,
) -> list[SubmissionRow]:
    """Return a page of a project's submissions, newest first, with worker and latest review.

    Args:
        session: Database session.
        project: The project.
        state: Only submissions in this state (``submitted``, ``accepted``, ``rejected``).
        before: Only submissions with a smaller id (keyset paging; 0: from the newest).
        limit: Page size (1 to 500).

    Returns:
        The page's rows.

    Raises:
        InvalidInput: An unknown state.
    """
    if state is not None and state not in SUBMISSION_STATES:
        reason = f"expected one of {', '.join(SUBMISSION_STATES)}"
        raise InvalidInput("invalid state", [RowError(0, "state", reason)])
    query = (
        select(Submission, User)
        .join(User, User.id == Submission.worker_id)
        .where(Submission.project_id == project.id)
    )
    if state is not None:
        query = query.where(Submission.state == state)
    if before > 0:
        query = query.where(Submission.id < before)
    query = query.order_by(Submission.id.desc()).limit(max(1, min(limit, 500)))
    pairs = list(session.execute(query))
    reviews = latest_reviews(session, [s.id for s, _ in pairs])
    return [SubmissionRow(s, u, reviews.get(s.id)) for s, u in pairs]


def submission_state_counts(session: Session, *, project: Project) -> dict[str, int]:
    """Return how many of the project's submissions are in each state (all states listed)."""
    rows = session.execute(
        select(Submission.state, func.count())
        .where(Submission.project_id == project.id)
        .group_by(Submission.state)
    )
    counts = dict.fromkeys(SUBMISSION_STATES, 0)
    counts.update(dict(rows.all()))
    return counts


def flag_summary(session: Session, *, project: Project, latest: int = 10) -> FlagSummary:
    """Count the project's flags by reason and return the latest ones.

    Args:
        session: Database session.
        project: The project.
        latest: How many of the newest flags to return.

    Returns:
        Counts for every known reason (zero included) and the newest flags first.
    """
    rows = session.execute(
        select(Flag.reason, func.count()).where(Flag.project_id == project.id).group_by(Flag.reason)
    )
    counts = dict.fromkeys(FLAG_REASONS, 0)
    counts.update(dict(rows.all()))
    newest = session.scalars(
        select(Flag).where(Flag.project_id == project.id).order_by(Flag.id.desc()).limit(latest)
    )
    return FlagSummary(counts=counts, latest=list(newest))
