"""Adaptive redundancy: unanimous items stop at the minimum, disputed ones get more first."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict
from judgeloop.schemas.quality import AdaptiveSettings, QualitySettings
from judgeloop.services.qc import quality_settings, update_quality_settings
from judgeloop.services.queue import lease_next_assignment
from judgeloop.store.models import Event, Item, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user
from tests.quality_world import QUESTIONS, submit

TOPIC = [QUESTIONS[0]]


def _project(session: Session, *, adaptive: bool = True) -> tuple[Project, User, list[User]]:
    project = make_project(session, questions=TOPIC, redundancy=3)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    if adaptive:
        settings = QualitySettings(
            adaptive=AdaptiveSettings(enabled=True, max_redundancy=5, confidence=0.9)
        )
        update_quality_settings(session, project=project, actor=owner, data=settings)
    workers = [join(session, project, make_user(session)) for _ in range(7)]
    return project, owner, workers


def _label(session: Session, worker: User, item: Item, topic: str) -> None:
    submit(session, worker, item, [{"question": "topic", "value": topic}])


def _judged(session: Session, item: Item) -> int:
    return session.scalar(select(func.count()).where(Submission.item_id == item.id)) or 0


def test_unanimous_item_stops_at_the_minimum(session: Session) -> None:
    project, _, workers = _project(session)
    item = make_item(session, project=project)
    for worker in workers[:3]:
        _label(session, worker, item, "math")
    session.refresh(item)
    assert (item.is_open, item.target_redundancy, item.slots_taken) == (False, 3, 3)
    with pytest.raises(Conflict):
        _label(session, workers[3], item, "math")
    assert lease_next_assignment(session, project=project, worker=workers[3]) is None
    decision = session.scalars(select(Event).where(Event.kind == "item.adaptive")).one()
    assert decision.payload["action"] == "closed"
    assert decision.payload["confidence"] >= 0.9


def test_disputed_item_gets_more_up_to_the_maximum_and_goes_first(session: Session) -> None:
    project, _, workers = _project(session)
    older = make_item(session, project=project, prompt="waiting since before")
    disputed = make_item(session, project=project, prompt="hard one")
    for worker, topic in zip(workers[:3], ("math", "code", "chat"), strict=True):
        _label(session, worker, disputed, topic)
    session.refresh(disputed)
    assert disputed.is_open and disputed.target_redundancy == 4
    assert disputed.priority == 100
    # Served before the older item, which sits at the default priority.
    lease = lease_next_assignment(session, project=project, worker=workers[3])
    assert lease is not None and lease.item_id == disputed.id
    _label(session, workers[3], disputed, "math")
    session.refresh(disputed)
    assert disputed.is_open and disputed.target_redundancy == 5
    _label(session, workers[4], disputed, "code")
    session.refresh(disputed)
    assert not disputed.is_open and _judged(session, disputed) == 5  # the maximum
    lease = lease_next_assignment(session, project=project, worker=workers[5])
    assert lease is not None and lease.item_id == older.id


def test_agreement_after_a_dispute_closes_the_item_early(session: Session) -> None:
    project, _, workers = _project(session)
    item = make_item(session, project=project)
    for worker, topic in zip(workers[:3], ("math", "math", "code"), strict=True):
        _label(session, worker, item, topic)
    session.refresh(item)
    assert item.is_open and item.target_redundancy == 4
    _label(session, workers[3], item, "math")  # three of four agree: confident enough
    session.refresh(item)
    assert not item.is_open and _judged(session, item) == 4  # under the maximum of 5


def test_projects_without_adaptive_are_unchanged(session: Session) -> None:
    project, _, workers = _project(session, adaptive=False)
    assert not quality_settings(project).adaptive.enabled
    item = make_item(session, project=project)
    for worker, topic in zip(workers[:3], ("math", "code", "chat"), strict=True):
        _label(session, worker, item, topic)
    session.refresh(item)
    assert (item.is_open, item.target_redundancy, item.priority) == (False, None, 0)
    assert session.scalar(select(func.count()).where(Event.kind == "item.adaptive")) == 0
