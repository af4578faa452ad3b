"""GET /projects/{ref}/judges/{model}/calibration: who may read it, and what it returns."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.store.models import User
from tests.api.helpers import Api, error, project_url
from tests.factories import join, make_user
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    register_fake,
)
from tests.services.test_calibration import make_calibration_world, run_judge


def test_owners_and_reviewers_read_the_report_workers_and_strangers_do_not(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session, n_items=4)
    model = run_judge(session, fake_server, world, prefer="correct")
    owner = session.get(User, world.project.owner_id)
    reviewer = join(session, world.project, make_user(session, role="reviewer"), "reviewer")
    url = f"{project_url(world.project)}/judges/{model}/calibration?bootstrap=50"
    for reader in (owner, reviewer):
        response = api.get(url, as_=reader)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["judge_model"] == model and body["n_bootstrap"] == 50
        assert body["runs"] == {
            "normal_ok": 4,
            "normal_unusable": 0,
            "swapped_ok": 4,
            "swapped_unusable": 0,
            "paired_items": 4,
        }
        better = next(q for q in body["questions"] if q["key"] == "better")
        assert better["agreement"]["exact"]["value"] == 1.0
        assert better["agreement"]["mean_abs_error"] == {
            "value": None,
            "ci_low": None,
            "ci_high": None,
        }
        position = next(p for p in body["position"] if p["key"] == "better")
        assert position["flip_rate"]["value"] == 0.0 and position["first_share"]["value"] == 0.5
        assert body["length_preference"][0]["n_items"] == 4
        assert {r["key"] for r in body["length_rating"]} == {"helpful", "useful"}
    assert api.get(url, as_=world.workers[0]).status_code == 403
    assert api.get(url, as_=make_user(session)).status_code == 404
    assert api.get(url).status_code == 401
    missing = api.get(f"{project_url(world.project)}/judges/nobody/calibration", as_=owner)
    assert missing.status_code == 404 and "nobody" in error(missing)["message"]


def test_a_judge_whose_name_has_a_slash_and_has_not_judged_yet(
    api: Api, session: Session, fake_server: FakeOpenAI, http: TestClient
) -> None:
    world = make_calibration_world(session, n_items=2)
    model = register_fake(session, fake_server, name="org/judge-7b")
    owner = session.get(User, world.project.owner_id)
    response = api.get(f"{project_url(world.project)}/judges/{model}/calibration", as_=owner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["judge_model"] == "org/judge-7b" and body["questions"] == []
    assert body["runs"]["normal_ok"] == 0
    schema = http.get("/openapi.json").json()
    assert "/api/v1/projects/{ref}/judges/{model}/calibration" in schema["paths"]
