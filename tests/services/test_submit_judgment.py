"""submit_judgment: the single write path, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services.projects import add_guideline_version, project_progress
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Judgment, Submission
from tests.factories import join, make_item, make_project, make_user


def _post(item_id: int, score: object, key: str = "key-00000001") -> SubmissionCreate:
    return SubmissionCreate(
        item_id=item_id,
        submission_key=key,
        answers=[{"question": "quality", "value": score}],  # type: ignore[list-item]
        seconds_spent=12.5,
    )


def test_stores_answers_with_guideline_version(session: Session) -> None:
    project = make_project(session, redundancy=1)
    owner = session.get(type(make_user(session)), project.owner_id)
    assert owner is not None
    add_guideline_version(session, project=project, author=owner, body="# v2")
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    sub, created = submit_judgment(session, worker=worker, data=_post(item.id, 4))
    assert created
    assert sub.guideline_version == 2
    assert sub.seconds_spent == 12.5
    values = session.scalars(select(Judgment.value).where(Judgment.submission_id == sub.id))
    assert list(values) == [4]
    assert project_progress(session, project=project).items_complete == 1


def test_retry_with_same_key_adds_nothing(session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    first, created1 = submit_judgment(session, worker=worker, data=_post(item.id, 3))
    again, created2 = submit_judgment(session, worker=worker, data=_post(item.id, 3))
    assert (created1, created2) == (True, False)
    assert first.id == again.id
    count = session.scalar(select(func.count()).where(Submission.item_id == item.id))
    assert count == 1


def test_out_of_scale_names_the_field(session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    with pytest.raises(InvalidInput) as err:
        submit_judgment(session, worker=worker, data=_post(item.id, 9))
    assert err.value.rows[0].field == "answers.quality.value"
    assert "outside the scale" in err.value.rows[0].reason
    assert session.scalar(select(func.count()).where(Submission.item_id == item.id)) == 0


def test_non_member_cannot_submit(session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    stranger = make_user(session)
    with pytest.raises(NotFound):
        submit_judgment(session, worker=stranger, data=_post(item.id, 3))


def test_second_judgment_of_same_item_conflicts(session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    submit_judgment(session, worker=worker, data=_post(item.id, 3, key="key-00000001"))
    with pytest.raises(Conflict):
        submit_judgment(session, worker=worker, data=_post(item.id, 2, key="key-00000002"))
