"""Matching on SQLite and PostgreSQL: projects for you, eligible counts, invite, join, remove."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.schemas.projects import ProjectUpdate
from judgeloop.schemas.workforce import ProfileUpdate, Requirements
from judgeloop.services.matching import (
    count_eligible,
    invite_worker,
    join_project,
    open_items,
    projects_for_you,
    remove_worker,
)
from judgeloop.services.projects import member_role, update_project
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.workforce import set_requirements, update_profile
from judgeloop.store.models import Assignment, Item, Project, User
from tests.factories import join, make_item, make_project, make_user
from tests.services.test_assessments import RIGHT, make_assessment
from tests.services.test_assessments import take as take_assessment


def _project(session: Session, owner: User, items: int, name: str = "P", **req: object) -> Project:
    project = make_project(session, owner=owner, name=name, redundancy=1)
    for i in range(items):
        make_item(session, project=project, prompt=f"{name} {i}")
    if req:
        set_requirements(session, project=project, actor=owner, data=Requirements(**req))
    return project


def _coder(session: Session) -> User:
    worker = make_user(session)
    update_profile(
        session,
        user=worker,
        data=ProfileUpdate(skill_lanes=["coding"], languages=[{"code": "en", "level": "fluent"}]),
    )
    return worker


def test_projects_for_you_ranks_by_eligibility_fit_and_work(session: Session) -> None:
    owner = make_user(session, role="owner")
    worker = _coder(session)
    _project(session, owner, 5, "Hidden")  # not open, not a member
    _project(session, owner, 1, "Small open", open=True)
    _project(session, owner, 3, "Big open", open=True)
    _project(session, owner, 1, "Coding", open=True, lanes=["coding"])
    _project(session, owner, 9, "Law", open=True, domains=["law"])
    _project(session, owner, 0, "Empty", open=True, lanes=["coding"])
    join(session, _project(session, owner, 2, "Member", lanes=["generalist"]), worker)
    names = [m.project.name for m in projects_for_you(session, worker=worker)]
    assert "Hidden" not in names
    assert names == ["Coding", "Big open", "Small open", "Empty", "Law", "Member"]
    matches = {m.project.name: m for m in projects_for_you(session, worker=worker)}
    assert matches["Member"].member and not matches["Law"].member
    assert matches["Law"].eligibility.reasons == ["needs experience in law"]
    assert matches["Big open"].open_items == 3 and matches["Coding"].eligibility.fit == 1.0
    assert matches["Big open"].pay is None or isinstance(matches["Big open"].pay, str)


def test_paused_projects_are_not_offered(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, 1, "Paused", open=True)
    worker = make_user(session)
    assert [m.project.id for m in projects_for_you(session, worker=worker)] == [project.id]
    update_project(session, project=project, data=ProjectUpdate(state="paused"))
    assert projects_for_you(session, worker=worker) == []


def test_open_items_shrink_as_slots_fill(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, 2)
    worker = join(session, project, make_user(session))
    assert open_items(session, project=project) == 2
    assert lease_next_assignment(session, project=project, worker=worker) is not None
    assert open_items(session, project=project) == 1


def test_count_eligible_before_launch(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, 1, lanes=["coding"], qualifications=["math-basics"])
    before = count_eligible(session, project=project)
    coders = [_coder(session) for _ in range(3)]
    make_user(session)  # a worker with no profile
    make_user(session, role="reviewer")  # not a worker account: not counted
    take_assessment(session, make_assessment(session), coders[0], RIGHT)
    join(session, project, coders[0])
    after = count_eligible(session, project=project)
    assert after.workers == before.workers + 4
    assert after.eligible == before.eligible + 1
    assert after.members == before.members + 1 and after.eligible_members == 1
    assert (
        after.missing["qualification:math-basics"]
        == before.missing.get("qualification:math-basics", 0) + 3
    )
    assert after.missing["lanes"] == before.missing.get("lanes", 0) + 1


def test_invite_checks_eligibility_unless_overridden(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, 1, lanes=["coding"])
    plain, coder = make_user(session), _coder(session)
    with pytest.raises(Conflict, match="not eligible"):
        invite_worker(session, project=project, actor=owner, worker=plain)
    invite_worker(session, project=project, actor=owner, worker=plain, override=True)
    assert member_role(session, project=project, user=plain) == "worker"
    invite_worker(session, project=project, actor=owner, worker=coder)
    assert member_role(session, project=project, user=coder) == "worker"
    with pytest.raises(InvalidInput):
        invite_worker(
            session, project=project, actor=owner, worker=make_user(session, role="owner")
        )


def test_join_needs_an_open_project_and_eligibility(session: Session) -> None:
    owner = make_user(session, role="owner")
    closed = _project(session, owner, 1)
    strict = _project(session, owner, 1, open=True, lanes=["domain_expert"])
    welcoming = _project(session, owner, 1, open=True)
    worker = make_user(session)
    with pytest.raises(NotFound):
        join_project(session, project=closed, worker=worker)
    with pytest.raises(Conflict, match="not eligible"):
        join_project(session, project=strict, worker=worker)
    member = join_project(session, project=welcoming, worker=worker)
    assert join_project(session, project=welcoming, worker=worker).id == member.id
    assert lease_next_assignment(session, project=welcoming, worker=worker) is not None


def test_remove_releases_live_leases(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, 1)
    worker = join(session, project, make_user(session))
    assignment = lease_next_assignment(session, project=project, worker=worker)
    assert assignment is not None
    assert open_items(session, project=project) == 0
    assert remove_worker(session, project=project, actor=owner, worker=worker) == 1
    assert member_role(session, project=project, user=worker) is None
    state = session.scalar(select(Assignment.state).where(Assignment.id == assignment.id))
    assert state == "released"
    item = session.get(Item, assignment.item_id)
    assert item is not None
    session.refresh(item)
    assert item.slots_taken == 0 and item.is_open
    with pytest.raises(NotFound):
        lease_next_assignment(session, project=project, worker=worker)
    with pytest.raises(NotFound):
        remove_worker(session, project=project, actor=owner, worker=worker)
    with pytest.raises(Conflict):
        remove_worker(session, project=project, actor=owner, worker=owner)


def test_pay_is_shown_when_the_pay_service_has_terms(session: Session) -> None:
    pay = pytest.importorskip("judgeloop.services.pay")
    owner = make_user(session, role="owner")
    project = _project(session, owner, 1, "Paid", open=True)
    worker = make_user(session)
    assert projects_for_you(session, worker=worker)[0].pay is None
    pay.set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=Decimal("0.5"))
    assert projects_for_you(session, worker=worker)[0].pay == "0.50 USD per task"
    pay.set_pay_terms(session, project=project, actor=owner, mode="hourly", rate=Decimal("12.125"))
    assert projects_for_you(session, worker=worker)[0].pay == "12.125 USD per hour"
