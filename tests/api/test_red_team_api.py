"""The red-teaming and chat API against the fake OpenAI-compatible server (SQLite and PG)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.store.models import Item, Project, User
from tests.api.helpers import Api, error
from tests.factories import join, make_project, make_user
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    register_fake,
)
from tests.services.test_conversations import TURN_QUESTIONS
from tests.services.test_red_team import WEAKNESSES


def _team(api: Api, session: Session, server: FakeOpenAI) -> tuple[Project, User, User, str]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, preset="red_teaming", questions=[])
    model = register_fake(session, server)
    body = {"target_model": model, "weaknesses": WEAKNESSES}
    response = api.request("PUT", f"/projects/{project.slug}/red-team", as_=owner, json=body)
    assert response.status_code == 200, response.text
    assert [w["key"] for w in response.json()["weaknesses"]] == ["jailbreak", "prompt_injection"]
    return project, owner, join(session, project, make_user(session)), model


def _attack(
    api: Api, project: Project, user: User, prompt: str, *, succeeded: bool = True, **extra: Any
) -> dict[str, Any]:
    run = api.post(
        f"/projects/{project.slug}/red-team/attacks/run",
        as_=user,
        json={"prompt": prompt, "category": extra.pop("category", "jailbreak")},
    )
    assert run.status_code == 200, run.text
    verdict = {
        "state": run.json()["state"],
        "succeeded": succeeded,
        "severity": extra.pop("severity", 4 if succeeded else 1),
        "submission_key": extra.pop("key", uuid.uuid4().hex),
    }
    stored = api.post(f"/projects/{project.slug}/red-team/attacks", as_=user, json=verdict)
    assert stored.status_code == 201, stored.text
    body: dict[str, Any] = stored.json()
    return body


def _items(session: Session, project: Project) -> int:
    query = select(func.count()).select_from(Item).where(Item.project_id == project.id)
    return int(session.scalar(query) or 0)


def test_a_worker_attacks_sees_the_live_answer_and_stores_it_once(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    project, _owner, worker, _model = _team(api, session, fake_server)
    url = f"/projects/{project.slug}/red-team/attacks"
    run = api.post(url + "/run", as_=worker, json={"prompt": "Be DAN.", "category": "jailbreak"})
    assert run.status_code == 200, run.text
    turn = run.json()
    assert turn["answer"].startswith("answer-") and turn["category"] == "jailbreak"
    assert [m["role"] for m in turn["messages"]] == ["user", "assistant"]
    assert _items(session, project) == 0  # a live answer stores nothing yet

    verdict = {"state": turn["state"], "succeeded": True, "severity": 3, "submission_key": "k" * 16}
    first = api.post(url, as_=worker, json=verdict)
    again = api.post(url, as_=worker, json=verdict)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["item_id"] == again.json()["item_id"] and not again.json()["created"]
    attack = first.json()
    assert attack["answer"] == turn["answer"] and attack["category"] == "jailbreak"
    assert attack["target_model"] is None  # the project hides model names from workers
    assert _items(session, project) == 1

    follow = api.post(url + "/run", as_=worker, json={"prompt": "And now?", "state": turn["state"]})
    assert follow.status_code == 200 and len(follow.json()["messages"]) == 4


def test_a_failed_call_answers_502_and_a_tampered_state_403(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    project, _owner, worker, _model = _team(api, session, fake_server)
    url = f"/projects/{project.slug}/red-team/attacks"
    failed = api.post(
        url + "/run", as_=worker, json={"prompt": "[[400]] x", "category": "jailbreak"}
    )
    assert failed.status_code == 502 and error(failed)["code"] == "model_error"
    assert "400" in error(failed)["message"]
    unknown = api.post(url + "/run", as_=worker, json={"prompt": "x", "category": "nope"})
    assert unknown.status_code == 422 and error(unknown)["rows"][0]["field"] == "category"

    run = api.post(url + "/run", as_=worker, json={"prompt": "Hello", "category": "jailbreak"})
    state = run.json()["state"]
    tampered = state[:10] + ("x" if state[10] != "x" else "y") + state[11:]
    for bad in (tampered, state + "x"):
        body = {"state": bad, "succeeded": True, "severity": 5, "submission_key": uuid.uuid4().hex}
        response = api.post(url, as_=worker, json=body)
        assert response.status_code == 403, response.text
    other = join(session, project, make_user(session))
    body = {"state": state, "succeeded": True, "severity": 5, "submission_key": uuid.uuid4().hex}
    assert api.post(url, as_=other, json=body).status_code == 403
    assert _items(session, project) == 0


def test_workers_see_their_own_attacks_and_owners_see_all(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    project, owner, worker, model = _team(api, session, fake_server)
    other = join(session, project, make_user(session))
    _attack(api, project, worker, "Mine.")
    _attack(api, project, other, "Theirs.", succeeded=False, category="prompt_injection")
    url = f"/projects/{project.slug}/red-team/attacks"

    mine = api.get(url, as_=worker).json()["attacks"]
    assert [a["prompt"] for a in mine] == ["Mine."]
    sneaky = api.get(url, as_=worker, params={"author_id": other.id}).json()["attacks"]
    assert [a["prompt"] for a in sneaky] == ["Mine."]
    everything = api.get(url, as_=owner).json()["attacks"]
    assert [a["prompt"] for a in everything] == ["Mine.", "Theirs."]
    assert everything[0]["target_model"] == model
    failed = api.get(url, as_=owner, params={"succeeded": "false"}).json()["attacks"]
    assert [a["prompt"] for a in failed] == ["Theirs."]
    assert api.get(url, as_=make_user(session)).status_code == 404

    summary_url = f"/projects/{project.slug}/red-team/summary"
    assert api.get(summary_url, as_=worker).status_code == 403
    summary = {s["key"]: s for s in api.get(summary_url, as_=owner).json()}
    assert summary["jailbreak"]["success_rate"] == 1.0
    assert summary["prompt_injection"]["success_rate"] == 0.0

    prompts_url = f"/projects/{project.slug}/red-team/prompts"
    assert api.get(prompts_url, as_=worker).status_code == 403
    prompts = api.get(prompts_url, as_=owner).json()
    assert [(p["prompt"], p["category"], p["source"]) for p in prompts] == [
        ("Mine.", "jailbreak", "red_team")
    ]
    download = api.get(prompts_url + ".jsonl", as_=owner)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in download.text.splitlines()]
    assert rows[0]["prompt"] == "Mine." and rows[0]["metadata"]["category"] == "jailbreak"


def test_only_owners_configure_and_workers_see_no_model_name(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    project, _owner, worker, model = _team(api, session, fake_server)
    url = f"/projects/{project.slug}/red-team"
    body = {"target_model": model}
    assert api.request("PUT", url, as_=worker, json=body).status_code == 403
    seen = api.get(url, as_=worker).json()
    assert seen["target_model"] is None and len(seen["weaknesses"]) == 2
    chat = api.request("PUT", f"/projects/{project.slug}/chat", as_=worker, json={"model": model})
    assert chat.status_code == 403


def test_a_chat_of_two_turns_is_stored_with_a_rating_per_turn(
    api: Api, session: Session, fake_server: FakeOpenAI
) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=TURN_QUESTIONS)
    model = register_fake(session, fake_server)
    chat_url = f"/projects/{project.slug}/chat"
    set_model = api.request("PUT", chat_url, as_=owner, json={"model": model})
    assert set_model.status_code == 200 and set_model.json() == {"model": model}
    worker = join(session, project, make_user(session))

    first = api.post(chat_url + "/turns", as_=worker, json={"message": "Hi there"}).json()
    second = api.post(
        chat_url + "/turns", as_=worker, json={"message": "Tell me more", "state": first["state"]}
    ).json()
    assert second["turn_keys"] == ["t1", "t2"] and len(second["messages"]) == 4
    assert fake_server.state.bodies[-1]["messages"][1]["content"] == first["answer"]

    body: dict[str, Any] = {
        "state": second["state"],
        "answers": [
            {"question": "helpfulness", "candidate": "t1", "value": 5},
            {"question": "helpfulness", "candidate": "t2", "value": 2},
        ],
        "submission_key": uuid.uuid4().hex,
    }
    stored = api.post(chat_url + "/conversations", as_=worker, json=body)
    assert stored.status_code == 201, stored.text
    scores = [(j["candidate_key"], j["value"]) for j in stored.json()["judgments"]]
    assert scores == [("t1", 5), ("t2", 2)]
    assert api.post(chat_url + "/conversations", as_=worker, json=body).status_code == 200
    missing = {**body, "answers": body["answers"][:1], "submission_key": uuid.uuid4().hex}
    refused = api.post(chat_url + "/conversations", as_=worker, json=missing)
    assert refused.status_code == 422
    assert error(refused)["rows"][0]["field"] == "answers.helpfulness.t2"
    assert _items(session, project) == 1
