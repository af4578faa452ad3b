"""The single write path for a judgment: from pages, the API, the SDK, the CLI and imports."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, LeaseExpired, NotFound, RowError
from judgeloop.questions.base import QuestionSpec, validate_answers
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services.adaptive import after_submission
from judgeloop.services.code_runs import check_run_ids
from judgeloop.services.items import get_item, item_context
from judgeloop.services.pay import record_submission_pay
from judgeloop.services.projects import member_role
from judgeloop.services.queue import take_slot
from judgeloop.services.rounds import assert_round_open
from judgeloop.services.workforce import lease_block_reason
from judgeloop.store.base import utcnow
from judgeloop.store.models import Assignment, Event, Item, Judgment, Project, Submission, User


def submit_judgment(
    session: Session, *, worker: User, data: SubmissionCreate, source: str = "api"
) -> tuple[Submission, bool]:
    """Validate and store one worker's answers to one item, in one transaction.

    Returns the submission and whether it was created now. A retried post with the same
    `submission_key` returns the stored submission and writes nothing.
    Raises Forbidden (not a member), NotFound (no item), Conflict (judged already, the
    key belongs to a different post, or the item's round is frozen) or InvalidInput
    (answers, with field paths; a missing explanation where the project asks for one).
    """
    if (replayed := _replay(session, worker, data)) is not None:
        return replayed, False
    item = get_item(session, data.item_id)
    project = session.get(Project, item.project_id)
    if project is None or member_role(session, project=project, user=worker) is None:
        raise NotFound(f"no item {data.item_id}")
    _check_open(session, project, item, data, source)
    questions = [QuestionSpec.model_validate(q) for q in project.questions]
    answers = validate_answers(
        questions, [a.model_dump() for a in data.answers], item_context(session, item)
    )
    if source != "import":  # a code_run answer's run_id must be a run of this item
        check_run_ids(session, item_id=item.id, answers=answers)
    try:
        assignment = _claim_slot(session, project, item, worker, data.assignment_id, source)
    except Conflict:
        # A concurrent retry of this very post may have just submitted the item: replay it.
        if (replayed := _replay(session, worker, data)) is None:
            raise
        return replayed, False
    submission = Submission(
        submission_key=data.submission_key,
        project_id=project.id,
        item_id=item.id,
        worker_id=worker.id,
        guideline_version=project.guideline_version,
        seconds_spent=data.seconds_spent,
        source=source,
        explanation=data.explanation.strip(),
        assignment_id=assignment.id,
    )
    assignment.state = "submitted"
    session.add(submission)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent retry with the same key won the race: return its row.
        session.rollback()
        if (replayed := _replay(session, worker, data)) is None:
            raise
        return replayed, False
    session.add_all(
        Judgment(
            submission_id=submission.id,
            question_key=a.question_key,
            candidate_key=a.candidate_key,
            kind=a.kind,
            value=a.value,
            explanation=a.explanation,
        )
        for a in answers
    )
    session.add(
        Event(
            kind="submission.created",
            actor_id=worker.id,
            project_id=project.id,
            payload={"submission_id": submission.id, "item_id": item.id, "source": source},
        )
    )
    record_submission_pay(session, submission=submission, assignment=assignment)
    after_submission(session, project=project, item_id=item.id)  # adaptive redundancy
    session.commit()
    return submission, True


def _check_open(
    session: Session, project: Project, item: Item, data: SubmissionCreate, source: str
) -> None:
    """Refuse a paused project, a frozen round and a missing explanation (not for imports)."""
    if project.state != "active":
        raise Conflict(f"project {project.slug} is {project.state}; it takes no submissions")
    if source == "import":
        return
    assert_round_open(session, item_id=item.id)
    explained = data.explanation.strip() or any(a.explanation.strip() for a in data.answers)
    if project.require_explanation and not explained:
        reason = "this project asks for an explanation of every judgment"
        raise InvalidInput("explanation required", [RowError(0, "explanation", reason)])


def _claim_slot(
    session: Session,
    project: Project,
    item: Item,
    worker: User,
    assignment_id: int | None,
    source: str,
) -> Assignment:
    """Find or take the slot this submission fills, as an Assignment of this worker.

    A live lease is used as it is. Without one, a free slot is taken on the spot (API
    submissions by item id); imported history may exceed the redundancy.
    """
    assignment = session.scalar(
        select(Assignment).where(Assignment.item_id == item.id, Assignment.worker_id == worker.id)
    )
    if assignment_id is not None and (assignment is None or assignment.id != assignment_id):
        raise NotFound(f"no assignment {assignment_id} for item {item.id}")
    if assignment is not None and assignment.state in ("submitted", "skipped"):
        raise Conflict(f"you have already {assignment.state} item {item.id}")
    if assignment is not None and assignment.state == "leased":
        return assignment
    if source != "import" and (
        block := lease_block_reason(session, project=project, worker=worker)
    ):
        # Without a lease, a submission is a new task: the daily cap, the requirements
        # and a suspension apply exactly as they do to 'next task'.
        raise Conflict(block)
    cap = project.redundancy if source != "import" else 1_000_000
    if not take_slot(session, item_id=item.id, redundancy=cap, use_target=source != "import"):
        if assignment_id is not None:
            raise LeaseExpired("this task's lease expired and its slot went to someone else")
        raise Conflict(f"item {item.id} already has all the judgments it needs")
    if assignment is None:
        assignment = Assignment(
            project_id=project.id, item_id=item.id, worker_id=worker.id, expires_at=utcnow()
        )
        session.add(assignment)
    assignment.state = "leased"
    session.flush()
    return assignment


def _by_key(session: Session, key: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.submission_key == key))


def _replay(session: Session, worker: User, data: SubmissionCreate) -> Submission | None:
    """Return the stored submission of a retried post (ending the read), None for a new one."""
    existing = _by_key(session, data.submission_key)
    if existing is None:
        return None
    replayed = _replayed(existing, worker, data)
    session.commit()  # end the read: on SQLite it holds the write lock (BEGIN IMMEDIATE)
    return replayed


def _replayed(existing: Submission, worker: User, data: SubmissionCreate) -> Submission:
    if existing.worker_id != worker.id or existing.item_id != data.item_id:
        raise Conflict("this submission_key was already used for a different submission")
    return existing


def judgments_of(session: Session, submission_ids: Sequence[int]) -> dict[int, list[Judgment]]:
    """Return the judgments of each submission, in question order of storage."""
    out: dict[int, list[Judgment]] = {sid: [] for sid in submission_ids}
    if submission_ids:
        query = (
            select(Judgment).where(Judgment.submission_id.in_(submission_ids)).order_by(Judgment.id)
        )
        for judgment in session.scalars(query):
            out[judgment.submission_id].append(judgment)
    return out


def list_submissions(
    session: Session,
    *,
    project_id: int,
    worker_id: int | None = None,
    item_id: int | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Submission]:
    """Return a page of a project's submissions, optionally one worker's or one item's."""
    query = select(Submission).where(Submission.project_id == project_id, Submission.id > after)
    if worker_id is not None:
        query = query.where(Submission.worker_id == worker_id)
    if item_id is not None:
        query = query.where(Submission.item_id == item_id)
    return list(session.scalars(query.order_by(Submission.id).limit(max(1, min(limit, 1000)))))


def get_submission(session: Session, submission_id: int) -> Submission:
    """Return the submission with this id, or raise NotFound."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"no submission {submission_id}")
    return submission
