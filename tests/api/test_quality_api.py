"""The quality API: who may read and act, and what each endpoint returns."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from tests.api.helpers import Api, error, project_url
from tests.factories import join, make_user
from tests.quality_world import make_world

READS = (
    "/quality/agreement?bootstrap=50",
    "/quality/reliability",
    "/quality/flags",
    "/quality/leaderboard?bootstrap=20",
    "/quality/settings",
    "/consensus",
    "/audits",
)


def test_workers_read_no_one_elses_answers_and_strangers_see_nothing(
    api: Api, session: Session
) -> None:
    world = make_world(session, n_items=4, n_honest=2)
    base = project_url(world.project)
    worker, stranger = world.workers[0], make_user(session)
    assert api.post(base + "/aggregate", as_=world.owner, json={}).status_code == 200
    for path in READS:
        assert api.get(base + path, as_=worker).status_code == 403, path
        assert api.get(base + path, as_=stranger).status_code == 404, path
    assert api.get(base + "/consensus/export", as_=worker).status_code == 403
    for path, body in (
        ("/aggregate", {}),
        ("/suspensions", {"worker_id": world.spammer.id, "reason": "x"}),
        ("/audits/sample", None),
    ):
        assert api.post(base + path, as_=worker, json=body).status_code == 403, path
    # Nothing in the worker's own reachable answers names another worker's judgment.
    mine = api.get("/me/suspensions", as_=worker)
    assert mine.status_code == 200 and mine.json() == []


def test_reviewers_read_without_gold_and_may_not_act(api: Api, session: Session) -> None:
    world = make_world(session, n_items=4, n_honest=2)
    base = project_url(world.project)
    reviewer = join(session, world.project, make_user(session, role="reviewer"), "reviewer")
    api.post(base + "/aggregate", as_=world.owner, json={"method": "default"})
    owner_view = api.get(base + "/consensus?limit=1000", as_=world.owner).json()["results"]
    reviewer_view = api.get(base + "/consensus?limit=1000", as_=reviewer).json()["results"]
    gold_ids = {i.id for i in world.items if i.is_gold}
    assert gold_ids and gold_ids <= {r["item_id"] for r in owner_view}
    assert not gold_ids & {r["item_id"] for r in reviewer_view}
    assert len(reviewer_view) == len(owner_view) - 3 * len(gold_ids)
    for path in READS:
        if "leaderboard" in path:
            continue
        assert api.get(base + path, as_=reviewer).status_code == 200, path
    # The project hides model names: reviewers get no leaderboard, owners do.
    assert api.get(base + "/quality/leaderboard", as_=reviewer).status_code == 403
    for path, body in (
        ("/aggregate", {}),
        ("/suspensions", {"worker_id": world.spammer.id, "reason": "x"}),
    ):
        assert api.post(base + path, as_=reviewer, json=body).status_code == 403, path
    assert api.request("PUT", base + "/quality/settings", as_=reviewer, json={}).status_code == 403


def test_owner_aggregates_reads_and_suspends(api: Api, session: Session) -> None:
    world = make_world(session, n_items=12, n_honest=3)
    base = project_url(world.project)
    run = api.post(base + "/aggregate", as_=world.owner, json={"method": "default"})
    assert run.status_code == 200, run.text
    assert run.json()["results"] == 36 and run.json()["workers"] == 4
    assert api.post(base + "/aggregate", as_=world.owner, json={"method": "??"}).status_code == 422

    page = api.get(base + "/consensus?limit=10&question=topic", as_=world.owner).json()
    assert len(page["results"]) == 10 and page["next_after"] is not None
    assert all(0 <= r["confidence"] <= 1 for r in page["results"])

    rel = api.get(base + "/quality/reliability", as_=world.owner).json()
    assert rel[0]["worker_id"] == world.spammer.id and rel[0]["flagged"]
    assert rel[0]["gold_total"] == 3 and rel[0]["reasons"]

    agreement = api.get(base + "/quality/agreement?bootstrap=50", as_=world.owner).json()
    topic = next(a for a in agreement if a["key"] == "topic")
    assert topic["level"] == "nominal" and topic["alpha"]["ci_low"] is not None
    flags = api.get(base + "/quality/flags", as_=world.owner).json()
    assert {(f["worker_id"], f["kind"]) for f in flags["flags"]} == {(world.spammer.id, "too_fast")}

    board = api.get(base + "/quality/leaderboard?bootstrap=20", as_=world.owner).json()
    assert [m["name"] for m in board["models"]] == ["model-good", "model-bad"]
    assert board["win_rates"][0][1] > 0.5 and board["win_rates"][0][0] is None

    body = {"worker_id": world.spammer.id, "reason": "Answers look random; reread 2.1."}
    made = api.post(base + "/suspensions", as_=world.owner, json=body)
    assert made.status_code == 201, made.text
    again = api.post(base + "/suspensions", as_=world.owner, json=body)
    assert again.status_code == 409
    blank = api.post(base + "/suspensions", as_=world.owner, json={**body, "reason": " "})
    assert blank.status_code == 422 and error(blank)["rows"][0]["field"] == "reason"
    seen = api.get("/me/suspensions", as_=world.spammer).json()
    assert seen[0]["reason"] == body["reason"] and seen[0]["lifted_at"] is None
    lifted = api.post(
        f"{base}/suspensions/{world.spammer.id}/lift", as_=world.owner, json={"note": "ok"}
    )
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None


def test_consensus_export_file_and_settings(api: Api, session: Session) -> None:
    world = make_world(session, n_items=3, n_honest=2)
    base = project_url(world.project)
    api.post(base + "/aggregate", as_=world.owner, json={})
    response = api.get(base + "/consensus/export", as_=world.owner)
    assert response.status_code == 200
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert len(rows) == 3 and {"consensus", "confidence", "judgments"} <= set(rows[0])
    settings = api.get(base + "/quality/settings", as_=world.owner).json()
    assert settings["adaptive"]["enabled"] is False
    settings["adaptive"] = {"enabled": True, "max_redundancy": 5, "confidence": 0.9}
    saved = api.request("PUT", base + "/quality/settings", as_=world.owner, json=settings)
    assert saved.status_code == 200, saved.text
    assert saved.json()["adaptive"]["max_redundancy"] == 5
    bad = {**settings, "audit": {"rate": 2}}
    assert (
        api.request("PUT", base + "/quality/settings", as_=world.owner, json=bad).status_code == 422
    )


def test_audit_sample_and_queue(api: Api, session: Session) -> None:
    world = make_world(session, n_items=2, n_honest=2)
    base = project_url(world.project)
    reviewer = join(session, world.project, make_user(session, role="reviewer"), "reviewer")
    world.project.settings = {"audit": {"rate": 1.0, "double_review": 0.0}}
    session.commit()
    sampled = api.post(base + "/audits/sample", as_=reviewer)
    assert sampled.status_code == 200 and len(sampled.json()) == 6
    queue = api.get(base + "/audits", as_=reviewer).json()
    assert len(queue["queue"]) == 6 and queue["counts"]["sampled"] == 6
    assert queue["queue"][0]["review_url"].startswith("/review/submissions/")
