"""Storing an item that is judged the moment it is made: a live conversation, an attack.

`store_judged_item` writes the item, its candidates and the worker's submission (through
``submit_judgment``, the single write path) in one transaction, idempotent on the
submission key: a retried post (a double-click) stores nothing and returns the first
submission; answers ``submit_judgment`` refuses roll everything back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound, RowError
from judgeloop.llm.config import canonical_hash
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.projects import member_role
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Candidate, Item, Project, Submission, User

Message = dict[str, str]
MAX_SECONDS = 7 * 24 * 3600
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class JudgedItem:
    """An item about to be stored with one worker's judgment of it.

    Attributes:
        prefix: Starts the item's external id (``chat-``, ``red-team-``).
        prompt: The item's prompt.
        messages: Its conversation (None for a single prompt).
        candidates: ``(key, text)`` of each candidate answer, in order.
        model_version_id: The model that wrote the candidates.
        meta: The item's metadata.
    """

    prefix: str
    prompt: str
    messages: list[Message] | None
    candidates: list[tuple[str, str]]
    model_version_id: int
    meta: dict[str, Any]


def store_judged_item(
    session: Session,
    *,
    project: Project,
    worker: User,
    judged: JudgedItem,
    answers: Sequence[AnswerIn],
    submission_key: str,
    explanation: str = "",
    seconds_spent: float = 0.0,
    source: str = "web",
) -> tuple[Submission, bool]:
    """Store an item, its candidates and the worker's submission in one transaction.

    The item takes one judgment (``target_redundancy`` 1), so it never enters another
    worker's queue. A second call with the same `submission_key` stores nothing and
    returns the first submission (created False). When ``submit_judgment`` refuses the
    answers, everything is rolled back and its error raised.

    Raises:
        NotFound: The worker is not a member of the project.
        Conflict: The key was used for another submission, or the project is not active.
        InvalidInput: The answers, with their field paths.
    """
    if not SUBMISSION_KEY.match(submission_key):
        raise InvalidInput(
            "invalid submission key", [RowError(0, "submission_key", "8 to 64 of A-Z a-z 0-9 _ -")]
        )
    if (found := _replayed(session, project, worker, submission_key)) is not None:
        return found, False
    if member_role(session, project=project, user=worker) is None:
        raise NotFound(f"no project {project.slug!r}")
    try:
        item = _add_item(session, project, judged, submission_key)
        data = SubmissionCreate(
            item_id=item.id,
            submission_key=submission_key,
            answers=list(answers),
            seconds_spent=min(max(seconds_spent, 0.0), float(MAX_SECONDS)),
            explanation=explanation.strip()[:20_000],
        )
        submission, created = submit_judgment(session, worker=worker, data=data, source=source)
    except IntegrityError:  # a concurrent post with the same key stored it first
        session.rollback()
        if (found := _replayed(session, project, worker, submission_key)) is not None:
            return found, False
        raise
    except BaseException:
        session.rollback()
        raise
    return submission, created


def _replayed(session: Session, project: Project, worker: User, key: str) -> Submission | None:
    existing = session.scalar(select(Submission).where(Submission.submission_key == key))
    if existing is None:
        return None
    if existing.worker_id != worker.id or existing.project_id != project.id:
        raise Conflict("this submission_key was already used for a different submission")
    session.commit()  # end the read
    return existing


def _add_item(session: Session, project: Project, judged: JudgedItem, key: str) -> Item:
    digest = canonical_hash({"key": key, "prompt": judged.prompt, "messages": judged.messages})
    item = Item(
        project_id=project.id,
        external_id=f"{judged.prefix}{key}",
        prompt=judged.prompt,
        messages=judged.messages,
        meta=judged.meta,
        content_hash=digest,
        target_redundancy=1,
    )
    session.add(item)
    session.flush()
    session.add_all(
        Candidate(
            item_id=item.id,
            key=cand_key,
            position=position,
            text=text,
            model_version_id=judged.model_version_id,
        )
        for position, (cand_key, text) in enumerate(judged.candidates)
    )
    session.flush()
    return item
