"""/work, /work/{slug}/next, the guidelines page and what the task page shows (or hides)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.presets import get_preset
from judgeloop.schemas.projects import ProjectUpdate
from judgeloop.services.projects import update_project
from judgeloop.store.base import utcnow
from judgeloop.store.models import Candidate, GoldAnswer, Item, ModelVersion
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup
from tests.pages.test_work_submit import lease

PAGE_BUDGET = 150_000


def test_work_lists_active_projects_with_waiting_items(
    client: TestClient, session: Session
) -> None:
    worker = make_user(session)
    busy = make_project(session, name="Busy project", redundancy=1)
    join(session, busy, worker)
    for _ in range(3):
        make_item(session, project=busy)
    paused = make_project(session, name="Paused project")
    join(session, paused, worker)
    update_project(session, project=paused, data=ProjectUpdate(state="paused"))
    make_project(session, name="Not mine")
    sign_in(client, worker.email)
    page = soup(client.get("/work"))
    cards = page.select("li.project-card")
    assert [c.h2.get_text(strip=True) for c in cards if c.h2] == ["Busy project"]
    assert "3 items need judgments" in cards[0].get_text()
    form = cards[0].select_one("form")
    assert form is not None and form["action"] == f"/work/{busy.slug}/next"


def test_signed_out_worker_is_sent_to_login(client: TestClient) -> None:
    for path in ("/work", "/work/x/next", "/work/assignments/1"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_next_leases_then_says_all_done(client: TestClient, session: Session) -> None:
    project = make_project(session, redundancy=1)
    worker = join(session, project, make_user(session))
    make_item(session, project=project)
    sign_in(client, worker.email)
    first = client.get(f"/work/{project.slug}/next")  # GET works too
    assert first.status_code == 303
    again = client.get(f"/work/{project.slug}/next")  # the live lease, not a second one
    assert again.headers["location"] == first.headers["location"]
    token = csrf_of(client.get("/work"))
    client.post(first.headers["location"] + "/pause", data={"csrf_token": token})
    other = join(session, project, make_user(session))
    from judgeloop.services.queue import lease_next_assignment

    assert lease_next_assignment(session, project=project, worker=other) is not None
    done = client.get(f"/work/{project.slug}/next")
    assert done.status_code == 200
    assert "All done" in done.text


def test_non_member_cannot_work_on_a_project(client: TestClient, session: Session) -> None:
    project = make_project(session)
    outsider = make_user(session)
    sign_in(client, outsider.email)
    assert client.get(f"/work/{project.slug}/next").status_code == 404
    assert client.get(f"/work/{project.slug}/guidelines").status_code == 404


def test_another_workers_assignment_is_not_found(client: TestClient, session: Session) -> None:
    project = make_project(session)
    mine = join(session, project, make_user(session))
    theirs = join(session, project, make_user(session))
    make_item(session, project=project)
    sign_in(client, theirs.email)
    assignment_id, _ = lease(client, project.slug)
    client.cookies.clear()
    sign_in(client, mine.email)
    token = csrf_of(client.get("/work"))
    assert client.get(f"/work/assignments/{assignment_id}").status_code == 404
    for action in ("", "/skip", "/pause", "/flag"):
        url = f"/work/assignments/{assignment_id}{action}"
        response = client.post(url, data={"csrf_token": token, "reason": "other"})
        assert response.status_code == 404, action


def test_guidelines_page_renders_markdown_safely(client: TestClient, session: Session) -> None:
    project = make_project(session, guidelines="# Rules\n\n<script>alert(1)</script> **Be fair.**")
    worker = join(session, project, make_user(session))
    sign_in(client, worker.email)
    page = soup(client.get(f"/work/{project.slug}/guidelines"))
    body = page.select_one(".guidelines")
    assert body is not None and body.strong is not None and body.strong.text == "Be fair."
    assert not page.select(".guidelines script")


def _gold_item_with_models(session: Session, project_id: int) -> Item:
    item = Item(
        project_id=project_id,
        prompt="Pick the better one.",
        content_hash="gold-1",
        is_gold=True,
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    for pos, name in enumerate(("secret-model-x", "secret-model-y")):
        model = ModelVersion(name=name, created_at=utcnow())
        session.add(model)
        session.flush()
        session.add(
            Candidate(item_id=item.id, key="AB"[pos], position=pos, text=f"Answer {pos}",
                      model_version_id=model.id)
        )  # fmt: skip
    session.add(
        GoldAnswer(item_id=item.id, question_key="preference", value={"winner": "B"},
                   explanation="GOLD-EXPLANATION", created_at=utcnow())
    )  # fmt: skip
    session.commit()
    return item


def test_task_page_hides_models_gold_and_stays_small(client: TestClient, session: Session) -> None:
    project = make_project(session, preset="ab_comparison", questions=[], gold_ratio=1.0)
    worker = join(session, project, make_user(session))
    _gold_item_with_models(session, project.id)
    sign_in(client, worker.email)
    _, response = lease(client, project.slug)
    html = response.text
    assert len(response.content) < PAGE_BUDGET
    for secret in ("secret-model", "GOLD-EXPLANATION", "gold", "is_gold"):
        assert secret not in html.lower(), secret
    page = soup(response)
    labels = [h.get_text(strip=True) for h in page.select(".candidate h2")]
    assert labels == ["Answer A", "Answer B"]
    rubric = get_preset("ab_comparison").rubric[0]["levels"]
    level_texts = [
        t.get_text(" ", strip=True)
        for t in page.select('[data-slot="a.helpfulness.A"] .level-text')
    ]
    assert level_texts == [f"{k}: {v}" for k, v in rubric.items()]
    assert page.select_one('input[name="submission_key"]')["value"]
    assert page.select_one("#guidelines-dialog .md") is not None
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert not page.select("script:not([src]):not([type='application/json'])")


def test_model_names_are_shown_when_the_project_does_not_hide_them(
    client: TestClient, session: Session
) -> None:
    project = make_project(session, preset="ab_comparison", questions=[], hide_model_identity=False)
    worker = join(session, project, make_user(session))
    _gold_item_with_models(session, project.id)
    sign_in(client, worker.email)
    _, response = lease(client, project.slug)
    assert "secret-model-x" in response.text
    assert "GOLD-EXPLANATION" not in response.text


def test_multi_turn_prompt_is_shown_as_turns(client: TestClient, session: Session) -> None:
    project = make_project(session, redundancy=1)
    worker = join(session, project, make_user(session))
    item = make_item(session, project=project, answers=("Sure.",))
    item.messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi <script>x</script>"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    session.commit()
    sign_in(client, worker.email)
    _, response = lease(client, project.slug)
    page = soup(response)
    roles = [p.get_text(strip=True) for p in page.select(".turn-role")]
    assert roles == ["system", "user", "assistant", "user"]
    assert page.select_one(".turns script") is None
    assert "Hi &lt;script&gt;x&lt;/script&gt;" in response.text
