"""The workforce API: profiles, verification, requirements, matching, assessments."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from judgeloop.services.queue import lease_next_assignment
from judgeloop.store.models import Assessment, User
from tests.api.helpers import Api, error, project_url
from tests.factories import join, make_item, make_project, make_user
from tests.services.test_assessments import RIGHT, WRONG, gold_item, gold_project

SECRET = "gold-secret-" + uuid.uuid4().hex[:8]
PROFILE = {
    "skill_lanes": ["coding", "generalist"],
    "domains": ["engineering"],
    "languages": [{"code": "en", "level": "fluent"}],
    "programming_languages": ["rust"],
    "experience": "Backend work.",
    "availability_hours_per_week": 10,
    "credentials": "MSc Computer Science",
}


def _assessment(api: Api, session: Session, owner: User, **fields: Any) -> dict[str, Any]:
    project = gold_project(session, owner)
    items = [gold_item(session, project, secret=SECRET) for _ in range(2)]
    body = {
        "slug": f"screen-{uuid.uuid4().hex[:6]}",
        "name": "Screening",
        "item_ids": [i.id for i in items],
        "qualification": "screened",
        "pass_mark": 0.5,
        "cooldown_s": 600,
        **fields,
    }
    response = api.post("/assessments", as_=owner, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_profile_roundtrip_and_validation(api: Api, session: Session) -> None:
    worker = make_user(session)
    empty = api.get("/me/profile", as_=worker).json()
    assert empty["skill_lanes"] == [] and empty["verified"] is False
    saved = api.request("PUT", "/me/profile", as_=worker, json=PROFILE)
    assert saved.status_code == 200, saved.text
    assert saved.json()["programming_languages"] == ["rust"]
    bad = api.request("PUT", "/me/profile", as_=worker, json={**PROFILE, "skill_lanes": ["x"]})
    assert bad.status_code == 422
    assert error(bad)["rows"][0]["field"].startswith("skill_lanes")
    assert api.get("/me/profile").status_code == 401


def test_owner_verifies_credentials_workers_may_not(api: Api, session: Session) -> None:
    worker, owner = make_user(session), make_user(session, role="owner")
    api.request("PUT", "/me/profile", as_=worker, json=PROFILE)
    url = f"/users/{worker.id}/verification"
    assert (
        api.request("PUT", url, as_=make_user(session), json={"verified": True}).status_code == 403
    )
    done = api.request("PUT", url, as_=owner, json={"verified": True})
    assert done.status_code == 200 and done.json()["verified_by"] == owner.id
    seen = api.get(f"/users/{worker.id}/profile", as_=owner).json()
    assert seen["verified"] is True and seen["verified_at"]
    assert api.get(f"/users/{worker.id}/profile", as_=worker).status_code == 403


def test_requirements_eligible_count_invite_and_remove(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=1)
    make_item(session, project=project)
    url = project_url(project)
    req = {"lanes": ["coding"], "languages": [{"code": "en", "level": "basic"}]}
    saved = api.request("PUT", url + "/requirements", as_=owner, json=req)
    assert saved.status_code == 200 and saved.json()["lanes"] == ["coding"]
    coder, plain = make_user(session), make_user(session)
    api.request("PUT", "/me/profile", as_=coder, json=PROFILE)
    counted = api.get(url + "/eligible", as_=owner).json()
    assert counted["eligible"] >= 1 and counted["missing"]["lanes"] >= 1
    refused = api.post(url + "/invitations", as_=owner, json={"user_id": plain.id})
    assert refused.status_code == 409 and "not eligible" in error(refused)["message"]
    invited = api.post(url + "/invitations", as_=owner, json={"email": coder.email})
    assert invited.status_code == 201 and invited.json()["role"] == "worker"
    assert api.get(url + "/eligible", as_=coder).status_code == 403
    lease = lease_next_assignment(session, project=project, worker=coder)
    assert lease is not None
    removed = api.delete(f"{url}/workers/{coder.id}", as_=owner)
    assert removed.status_code == 204
    assert api.get(url, as_=coder).status_code == 404
    assert api.request("PUT", url + "/requirements", as_=coder, json=req).status_code == 404


def test_daily_cap_is_set_by_owners(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    worker = join(session, project, make_user(session))
    url = project_url(project) + "/daily-cap"
    assert api.request("PUT", url, as_=worker, json={"per_worker": 5}).status_code == 403
    set_ = api.request("PUT", url, as_=owner, json={"per_worker": 5})
    assert set_.json() == {"per_worker": 5}
    assert api.request("PUT", url, as_=owner, json={"per_worker": 0}).status_code == 422
    assert api.request("PUT", url, as_=owner, json={"per_worker": None}).json() == {
        "per_worker": None
    }


def test_projects_for_you_and_joining_an_open_project(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    open_ = make_project(session, owner=owner, name="Open to coders")
    make_item(session, project=open_)
    hidden = make_project(session, owner=owner, name="Invite only")
    api.request(
        "PUT",
        project_url(open_) + "/requirements",
        as_=owner,
        json={"open": True, "lanes": ["coding"]},
    )
    worker = make_user(session)
    matches = api.get("/me/projects-for-you", as_=worker).json()
    mine = [m for m in matches if m["slug"] == open_.slug]
    assert mine and not mine[0]["eligible"] and mine[0]["open_items"] == 1
    assert all(m["slug"] != hidden.slug for m in matches)
    refused = api.post(project_url(open_) + "/join", as_=worker)
    assert refused.status_code == 409
    api.request("PUT", "/me/profile", as_=worker, json=PROFILE)
    eligibility = api.get(project_url(open_) + "/eligibility", as_=worker).json()
    assert eligibility["eligible"] is True
    assert api.post(project_url(open_) + "/join", as_=worker).status_code == 201
    assert api.post(project_url(hidden) + "/join", as_=worker).status_code == 404
    joined = [
        m for m in api.get("/me/projects-for-you", as_=worker).json() if m["slug"] == open_.slug
    ]
    assert joined[0]["member"] is True


def test_assessment_crud_is_for_owners(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    created = _assessment(api, session, owner)
    worker = make_user(session)
    seen = api.get(f"/assessments/{created['slug']}", as_=worker).json()
    assert seen["items"] == 2 and seen["item_ids"] is None
    assert api.get(f"/assessments/{created['slug']}", as_=owner).json()["item_ids"]
    assert api.post("/assessments", as_=worker, json={**created, "slug": "x"}).status_code in (
        403,
        422,
    )
    patch = {"name": "Renamed"}
    url = f"/assessments/{created['slug']}"
    assert api.patch(url, as_=worker, json=patch).status_code == 403
    assert api.patch(url, as_=owner, json={"is_active": False}).json()["is_active"] is False
    assert api.get(url, as_=worker).status_code == 404
    assert created["slug"] not in [a["slug"] for a in api.get("/assessments", as_=worker).json()]


def test_attempt_hides_gold_until_finished_then_shows_results(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    created = _assessment(api, session, owner)
    worker = make_user(session)
    started = api.post(f"/assessments/{created['slug']}/attempts", as_=worker)
    assert started.status_code == 201, started.text
    attempt = started.json()
    assert len(attempt["items"]) == 2 and attempt["seconds_left"] > 0
    text = started.text + api.get(f"/attempts/{attempt['id']}", as_=worker).text
    for leak in (SECRET, "is_gold", "expected", '"gold"', 'explanation": "Because'):
        assert leak not in text, leak
    assert "Because" not in json.dumps(attempt["items"])
    early = api.get(f"/attempts/{attempt['id']}/result", as_=worker)
    assert early.status_code == 409
    first, second = (i["item_id"] for i in attempt["items"])
    bad = api.post(
        f"/attempts/{attempt['id']}/answers",
        as_=worker,
        json={"items": [{"item_id": first, "answers": [{"question": "quality", "value": 7}]}]},
    )
    assert bad.status_code == 422
    assert {r["field"] for r in error(bad)["rows"]} >= {f"items.{first}.answers.quality.value"}
    body = {
        "items": [
            {"item_id": first, "answers": RIGHT},
            {"item_id": second, "answers": WRONG},
        ]
    }
    assert api.get(f"/attempts/{attempt['id']}", as_=make_user(session)).status_code == 404
    done = api.post(f"/attempts/{attempt['id']}/answers", as_=worker, json=body)
    assert done.status_code == 200 and done.json()["finished_at"] and done.json()["items"] == []
    result = api.get(f"/attempts/{attempt['id']}/result", as_=worker).json()
    assert result["score"] == 0.5 and result["passed"] is True
    assert result["qualification"]["name"] == "screened"
    assert len(result["results"]) == 6
    assert all(SECRET in r["explanation"] for r in result["results"])
    quality = next(
        r for r in result["results"] if r["item_id"] == second and r["question"] == "quality"
    )
    assert quality == {**quality, "given": 1, "expected": 4, "correct": False}
    quals = api.get("/me/qualifications", as_=worker).json()
    assert [(q["name"], q["active"]) for q in quals] == [("screened", True)]


def test_failed_attempt_reports_retry_time_and_refuses_start(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    created = _assessment(api, session, owner, pass_mark=0.9, max_attempts=3)
    worker = make_user(session)
    attempt = api.post(f"/assessments/{created['slug']}/attempts", as_=worker).json()
    body = {"items": [{"item_id": i["item_id"], "answers": WRONG} for i in attempt["items"]]}
    api.post(f"/attempts/{attempt['id']}/answers", as_=worker, json=body)
    result = api.get(f"/attempts/{attempt['id']}/result", as_=worker).json()
    assert result["passed"] is False and result["retry_at"] and result["attempts_left"] == 2
    again = api.post(f"/assessments/{created['slug']}/attempts", as_=worker)
    assert again.status_code == 409 and "try again after" in error(again)["message"]
    status = api.get(f"/assessments/{created['slug']}/status", as_=worker).json()
    assert status["can_start"] is False and status["retry_at"] == result["retry_at"]
    assessment = session.query(Assessment).filter_by(slug=created["slug"]).one()
    assert assessment.max_attempts == 3
