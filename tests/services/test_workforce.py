"""Profiles, credential verification, eligibility and daily caps on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, InvalidInput
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.schemas.workforce import ProfileUpdate, Requirements
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.services.workforce import (
    check_eligibility,
    evaluate,
    get_profile,
    lease_block_reason,
    set_daily_cap,
    set_requirements,
    submissions_today,
    update_profile,
    verify_credentials,
    worker_qualities,
)
from judgeloop.store.models import Assignment, Submission, User, WorkerProfile
from tests.factories import join, make_item, make_project, make_user
from tests.services.test_assessments import RIGHT, WRONG, gold_item, gold_project, make_assessment
from tests.services.test_assessments import take as take_assessment

LAWYER = {
    "skill_lanes": ["domain_expert"],
    "domains": ["law", "Data Science"],
    "languages": [{"code": "en", "level": "native"}, {"code": "de", "level": "basic"}],
    "programming_languages": ["Python", "python", "SQL"],
    "experience": "  Ten years of contract law.  ",
    "availability_hours_per_week": 20,
    "credentials": "Bar admission, New York, 2014",
}


def _profile(session: Session, user: User, **fields: Any) -> WorkerProfile:
    return update_profile(session, user=user, data=ProfileUpdate(**{**LAWYER, **fields}))


def test_profile_is_empty_until_written_and_then_cleaned(session: Session) -> None:
    worker = make_user(session)
    empty = get_profile(session, user=worker)
    assert empty.id is None and empty.skill_lanes == [] and not empty.verified
    profile = _profile(session, worker)
    assert profile.domains == ["law", "data_science"]
    assert profile.programming_languages == ["python", "sql"]
    assert profile.experience == "Ten years of contract law."
    assert profile.languages[0] == {"code": "en", "level": "native"}
    assert get_profile(session, user=worker).id == profile.id


@pytest.mark.parametrize(
    "bad",
    [
        {"skill_lanes": ["wizard"]},
        {"languages": [{"code": "english", "level": "native"}]},
        {"languages": [{"code": "en", "level": "expert"}]},
        {"languages": [{"code": "en"}, {"code": "en", "level": "basic"}]},
        {"domains": ["law!"]},
        {"availability_hours_per_week": 169},
    ],
)
def test_profile_rejects_wrong_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProfileUpdate(**{**LAWYER, **bad})


def test_owner_verifies_credentials_and_a_change_withdraws_it(session: Session) -> None:
    worker, owner = make_user(session), make_user(session, role="owner")
    _profile(session, worker)
    profile = verify_credentials(session, worker=worker, verifier=owner, verified=True)
    assert profile.verified and profile.verified_by == owner.id and profile.verified_at
    _profile(session, worker, experience="More years now.")
    assert get_profile(session, user=worker).verified  # credentials unchanged
    _profile(session, worker, credentials="Something else")
    assert not get_profile(session, user=worker).verified


def test_only_owners_verify_and_never_themselves(session: Session) -> None:
    worker, owner = make_user(session), make_user(session, role="owner")
    _profile(session, worker)
    with pytest.raises(Forbidden):
        verify_credentials(session, worker=worker, verifier=make_user(session), verified=True)
    with pytest.raises(Forbidden):
        verify_credentials(session, worker=owner, verifier=owner, verified=True)
    with pytest.raises(InvalidInput):
        verify_credentials(session, worker=make_user(session), verifier=owner, verified=True)


@pytest.mark.parametrize(
    ("req", "missing"),
    [
        ({}, []),
        ({"lanes": ["coding"]}, ["lanes"]),
        ({"lanes": ["coding", "domain_expert"]}, []),
        ({"domains": ["medicine"]}, ["domains"]),
        ({"domains": ["law", "medicine"]}, []),
        ({"languages": [{"code": "en", "level": "native"}]}, []),
        ({"languages": [{"code": "de", "level": "fluent"}]}, ["language:de"]),
        ({"languages": [{"code": "fr", "level": "basic"}]}, ["language:fr"]),
        ({"qualifications": ["math-basics"]}, []),
        ({"qualifications": ["math-basics", "law-101"]}, ["qualification:law-101"]),
        ({"min_quality": 0.8}, []),
        ({"min_quality": 0.95}, ["min_quality"]),
        ({"verified_only": True}, ["verified_only"]),
    ],
)
def test_eligibility_filters(req: dict[str, Any], missing: list[str]) -> None:
    profile = WorkerProfile(**{**LAWYER, "domains": ["law"], "verified": False})
    verdict = evaluate(Requirements(**req), profile, {"math-basics"}, 0.9)
    assert verdict.missing == missing
    assert verdict.eligible is (not missing)
    assert len(verdict.reasons) == len(missing)
    assert verdict.fit == (0.5 if not req else 1.0) if not missing else 0 <= verdict.fit < 1


def test_no_profile_and_no_quality_record(session: Session) -> None:
    verdict = evaluate(Requirements(min_quality=0.5, lanes=["generalist"]), None, (), None)
    assert verdict.missing == ["lanes", "min_quality"]
    assert "no record yet" in verdict.reasons[1]


def test_quality_counts_gold_judgments_and_assessment_answers(session: Session) -> None:
    worker = make_user(session)
    assert worker_qualities(session, [worker.id]) == {}
    take_assessment(session, make_assessment(session, items=1), worker, WRONG[:1] + RIGHT[1:])
    assert worker_qualities(session, [worker.id]) == {worker.id: pytest.approx(2 / 3)}
    project = gold_project(session)
    item = gold_item(session, project)
    join(session, project, worker)
    data = SubmissionCreate(
        item_id=item.id,
        submission_key=uuid.uuid4().hex,
        answers=RIGHT,
    )
    submit_judgment(session, worker=worker, data=data)
    assert worker_qualities(session, [worker.id]) == {worker.id: pytest.approx(5 / 6)}


def test_check_eligibility_reads_qualifications_and_verification(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    set_requirements(
        session,
        project=project,
        actor=owner,
        data=Requirements(qualifications=["math-basics"], verified_only=True),
    )
    worker = make_user(session)
    _profile(session, worker)
    assert check_eligibility(session, project=project, worker=worker).missing == [
        "qualification:math-basics",
        "verified_only",
    ]
    take_assessment(session, make_assessment(session), worker, RIGHT)
    verify_credentials(session, worker=worker, verifier=owner, verified=True)
    assert check_eligibility(session, project=project, worker=worker).eligible


def _answer(assignment: Assignment) -> SubmissionCreate:
    return SubmissionCreate(
        item_id=assignment.item_id,
        assignment_id=assignment.id,
        submission_key=uuid.uuid4().hex,
        answers=[{"question": "quality", "value": 3}],
    )


def test_daily_cap_stops_new_leases_until_utc_midnight(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=1)
    for i in range(4):
        make_item(session, project=project, prompt=f"cap {i}")
    worker = join(session, project, make_user(session))
    set_daily_cap(session, project=project, actor=owner, per_worker=2)
    for _ in range(2):
        assignment = lease_next_assignment(session, project=project, worker=worker)
        assert assignment is not None
        assert lease_block_reason(session, project=project, worker=worker) is None
        submit_judgment(session, worker=worker, data=_answer(assignment))
    assert submissions_today(session, project=project, worker=worker) == 2
    assert lease_next_assignment(session, project=project, worker=worker) is None
    reason = lease_block_reason(session, project=project, worker=worker)
    assert reason is not None and "daily cap of 2" in reason
    other = join(session, project, make_user(session))
    assert lease_next_assignment(session, project=project, worker=other) is not None
    for sub in session.query(Submission).filter_by(worker_id=worker.id):
        sub.created_at = sub.created_at - timedelta(days=1)
    session.commit()
    assert lease_next_assignment(session, project=project, worker=worker) is not None
    set_daily_cap(session, project=project, actor=owner, per_worker=None)
    assert "daily_cap" not in project.settings


def test_worker_no_longer_eligible_gets_no_lease(session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    make_item(session, project=project)
    worker = join(session, project, make_user(session))
    set_requirements(session, project=project, actor=owner, data=Requirements(lanes=["coding"]))
    assert lease_next_assignment(session, project=project, worker=worker) is None
    reason = lease_block_reason(session, project=project, worker=worker)
    assert reason is not None and "coding" in reason
    assert lease_next_assignment(session, project=project, worker=owner) is not None
    _profile(session, worker, skill_lanes=["coding"])
    assert lease_next_assignment(session, project=project, worker=worker) is not None
