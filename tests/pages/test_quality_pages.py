"""The quality dashboard, its SVG leaderboard, the Suspend form and the audit queue."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.services.consensus import aggregate_project
from tests.factories import join, make_user
from tests.pages.helpers import csrf_of, sign_in, soup
from tests.quality_world import make_world


def test_owner_sees_agreement_reliability_flags_and_the_leaderboard(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, n_items=12, n_honest=3, hide_model_identity=False)
    aggregate_project(session, project=world.project)
    sign_in(client, world.owner.email)
    page = client.get(f"/projects/{world.project.slug}/quality")
    assert page.status_code == 200
    html = soup(page)
    assert html.select_one("#agreement table") is not None
    flagged = html.select("#reliability-table tr.flagged")
    assert [row["id"] for row in flagged] == [f"worker-{world.spammer.id}"]
    assert "Too fast" in html.select_one("#behaviour").get_text()
    img = html.select_one("#leaderboard-plot")
    assert img is not None and img["src"].endswith("/quality/leaderboard.svg")
    svg = client.get(str(img["src"]))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<script" not in svg.text and "model-good" in svg.text
    assert "script-src" not in svg.headers["content-security-policy"]
    assert "<script" not in page.text and " style=" not in page.text


def test_suspend_form_needs_a_reason_then_blocks_the_worker(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, n_items=3, n_honest=2)
    aggregate_project(session, project=world.project)
    sign_in(client, world.owner.email)
    url = f"/projects/{world.project.slug}/quality"
    token = csrf_of(client.get(url))
    empty = client.post(
        url + "/suspend", data={"worker_id": world.spammer.id, "reason": "", "csrf_token": token}
    )
    assert empty.status_code == 422
    error = soup(empty).select_one(f"#reason-error-{world.spammer.id}")
    assert error is not None and "write why" in error.get_text()
    reason = "Your answers look random; please reread the guidelines."
    done = client.post(
        url + "/suspend",
        data={"worker_id": world.spammer.id, "reason": reason, "csrf_token": token},
    )
    assert done.status_code == 303
    row = soup(client.get(url)).select_one(f"#worker-{world.spammer.id}")
    assert row is not None and "suspended" in row.get_text() and reason in row.get_text()

    worker_client = TestClient(client.app, follow_redirects=False)
    sign_in(worker_client, world.spammer.email)
    blocked = worker_client.get(f"/work/{world.project.slug}/next")
    assert blocked.status_code == 200 and reason in blocked.text


def test_workers_get_no_quality_page_reviewers_read_only(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, n_items=2, n_honest=2)
    sign_in(client, world.workers[0].email)
    assert client.get(f"/projects/{world.project.slug}/quality").status_code == 403
    assert client.get(f"/projects/{world.project.slug}/audits").status_code == 403
    reviewer = join(session, world.project, make_user(session, role="reviewer"), "reviewer")
    other = TestClient(client.app, follow_redirects=False)
    sign_in(other, reviewer.email)
    page = other.get(f"/projects/{world.project.slug}/quality")
    assert page.status_code == 200
    assert soup(page).select("form.suspend") == []
    assert soup(page).select_one("#leaderboard") is None  # model names are hidden


def test_audit_page_samples_and_links_to_the_review_page(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, n_items=2, n_honest=2)
    world.project.settings = {"audit": {"rate": 1.0, "double_review": 0.0}}
    session.commit()
    reviewer = join(session, world.project, make_user(session, role="reviewer"), "reviewer")
    sign_in(client, reviewer.email)
    url = f"/projects/{world.project.slug}/audits"
    token = csrf_of(client.get(url))
    sampled = client.post(url + "/sample", data={"csrf_token": token})
    assert sampled.status_code == 303
    page = soup(client.get(sampled.headers["location"]))
    links = [a["href"] for a in page.select("table a")]
    assert len(links) == 6 and all(str(h).startswith("/review/submissions/") for h in links)
    assert "6 submissions were added" in page.get_text()
