"""A submission made without a lease is a new task: daily caps and suspensions apply to it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.qc import suspend_worker
from judgeloop.services.submissions import submit_judgment
from judgeloop.services.workforce import set_daily_cap
from judgeloop.store.models import Item, User
from tests.factories import join, make_item, make_project, make_user


def _by_item(item: Item) -> SubmissionCreate:
    return SubmissionCreate(
        item_id=item.id,
        submission_key=uuid.uuid4().hex,
        answers=[AnswerIn(question="quality", value=3)],
    )


def test_the_daily_cap_holds_for_submissions_by_item_id(session: Session) -> None:
    project = make_project(session, redundancy=1)
    items = [make_item(session, project=project, prompt=f"q{i}") for i in range(3)]
    owner = session.get(User, project.owner_id)
    assert owner is not None
    set_daily_cap(session, project=project, actor=owner, per_worker=2)
    worker = join(session, project, make_user(session))
    submit_judgment(session, worker=worker, data=_by_item(items[0]))
    submit_judgment(session, worker=worker, data=_by_item(items[1]))
    with pytest.raises(Conflict, match="daily cap"):
        submit_judgment(session, worker=worker, data=_by_item(items[2]))


def test_a_suspended_worker_cannot_submit_by_item_id(session: Session) -> None:
    project = make_project(session, redundancy=2)
    item = make_item(session, project=project)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    worker = join(session, project, make_user(session))
    suspend_worker(
        session, project=project, worker_id=worker.id, actor=owner, reason="copied answers"
    )
    with pytest.raises(Conflict, match="copied answers"):
        submit_judgment(session, worker=worker, data=_by_item(item))
