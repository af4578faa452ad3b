"""/items/{id}/code-runs: who may read and start test runs, and what they return."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.sandbox import SandboxUnavailable
from judgeloop.services import code_runs
from judgeloop.services.code_run_jobs import RunJob
from judgeloop.store.models import GoldAnswer, Project, User
from tests.api.helpers import Api, error
from tests.factories import join, make_user
from tests.services.test_code_runs import coding_item, coding_project, fake_result

TESTS = "def check(candidate):\n    assert candidate(3) == 9\n"
GOOD = "```python\ndef square(x):\n    return x * x\n```"
BAD = "```python\ndef square(x):\n    return x + x\n```"


def _world(session: Session) -> tuple[Project, Any, dict[str, User]]:
    project = coding_project(session)
    meta = {"test": TESTS, "entry_point": "square"}
    item = coding_item(session, project, (GOOD, BAD), meta)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    people = {
        "owner": owner,
        "reviewer": join(session, project, make_user(session, role="reviewer"), "reviewer"),
        "worker": join(session, project, make_user(session)),
        "stranger": make_user(session),
    }
    return project, item, people


def test_members_run_the_tests_and_read_the_results(api: Api, session: Session) -> None:
    _, item, people = _world(session)
    url = f"/items/{item.id}/code-runs"
    before = api.get(url, as_=people["worker"])
    assert before.status_code == 200
    assert before.json() == {"item_id": item.id, "runs": [], "not_run": ["A", "B"]}
    ran = api.post(url, as_=people["worker"])
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["not_run"] == []
    good, bad = body["runs"]
    assert (good["candidate_key"], good["status"], good["passed"]) == ("A", "ok", True)
    assert (bad["candidate_key"], bad["status"], bad["n_passed"], bad["n_cases"]) == (
        "B",
        "failed",
        0,
        1,
    )
    case = bad["result"]["cases"][0]
    assert case["status"] == "failed" and "left: 6" in case["message"]
    assert good["mode"] == good["result"]["mode"]
    for who in ("owner", "reviewer", "worker"):
        seen = api.get(url, as_=people[who]).json()
        assert [r["id"] for r in seen["runs"]] == [good["id"], bad["id"]], who
    again = api.post(url, as_=people["reviewer"], json={"candidates": ["A"]}).json()
    assert [r["id"] for r in again["runs"]] == [good["id"], bad["id"]]  # reused
    forced = api.post(url, as_=people["owner"], json={"candidates": ["B"], "force": True})
    assert forced.json()["runs"][0]["id"] == good["id"]
    assert forced.json()["runs"][1]["id"] > bad["id"]


def test_strangers_and_anonymous_callers_get_nothing(api: Api, session: Session) -> None:
    _, item, people = _world(session)
    url = f"/items/{item.id}/code-runs"
    for method in (api.get, api.post):
        assert method(url, as_=people["stranger"]).status_code == 404
        assert method(url).status_code == 401
    assert api.get("/items/999999/code-runs", as_=people["worker"]).status_code == 404


def test_a_worker_sees_runs_of_a_gold_item_but_never_its_gold(
    api: Api, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(code_runs, "execute", lambda job, **_: fake_result())
    _, item, people = _world(session)
    item.is_gold = True
    gold = {"verdict": "incorrect", "run_id": None}
    session.add(
        GoldAnswer(item_id=item.id, question_key="execution", candidate_key="B", value=gold)
    )
    session.commit()
    body = api.post(f"/items/{item.id}/code-runs", as_=people["worker"]).json()
    text = str(body)
    assert "incorrect" not in text and "gold" not in text
    assert set(body) == {"item_id", "runs", "not_run"}
    assert set(body["runs"][0]) == {
        "id",
        "item_id",
        "candidate_key",
        "status",
        "passed",
        "n_passed",
        "n_cases",
        "duration_s",
        "mode",
        "code_sha256",
        "tests_sha256",
        "created_at",
        "result",
    }


def test_unknown_candidates_and_a_missing_sandbox_are_reported(
    api: Api, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, item, people = _world(session)
    url = f"/items/{item.id}/code-runs"
    wrong = api.post(url, as_=people["owner"], json={"candidates": ["Z"]})
    assert wrong.status_code == 422
    assert error(wrong)["rows"][0]["field"] == "candidates"
    extra = api.post(url, as_=people["owner"], json={"force": True, "speed": "fast"})
    assert extra.status_code == 422

    def unavailable(job: RunJob, **_: Any) -> Any:
        raise SandboxUnavailable("no sandbox mode can run here: bubblewrap is missing")

    monkeypatch.setattr(code_runs, "execute", unavailable)
    down = api.post(url, as_=people["worker"])
    assert down.status_code == 503
    assert error(down)["code"] == "sandbox_unavailable"
    assert api.get(url, as_=people["worker"]).json()["not_run"] == ["A", "B"]
