"""Workforce pages: sign-up, profile, assessments (taking one, the result), projects for you."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.schemas.assessments import AssessmentCreate
from judgeloop.schemas.workforce import Requirements
from judgeloop.services.assessments import create_assessment
from judgeloop.services.workforce import set_requirements
from judgeloop.store.base import utcnow
from judgeloop.store.models import Assessment, AssessmentAttempt, User, WorkerProfile
from tests.factories import PASSWORD, make_item, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup
from tests.services.test_assessments import gold_item, gold_project

SECRET = "gold-page-secret-" + uuid.uuid4().hex[:8]
RIGHT_FORM = {"a.quality": "4", "a.topic": "math", "a.better.winner": "A", "a.better.strength": "1"}


def _signup(client: TestClient, **fields: str) -> Any:
    token = csrf_of(client.get("/signup"))
    data = {
        "name": "Ada",
        "email": f"ada-{uuid.uuid4().hex[:6]}@example.org",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "csrf_token": token,
        **fields,
    }
    return client.post("/signup", data=data)


def _post(client: TestClient, page_url: str, url: str, data: dict[str, Any]) -> Any:
    token = csrf_of(client.get(page_url))
    return client.post(url, data={**data, "csrf_token": token})


def test_signup_creates_a_signed_in_worker(client: TestClient, session: Session) -> None:
    page = client.get("/signup")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    response = _signup(client, email="new.worker@example.org")
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/account/profile"
    )
    user = session.query(User).filter_by(email="new.worker@example.org").one()
    assert user.role == "worker"
    profile = client.get("/account/profile")
    assert profile.status_code == 200 and "Welcome" not in profile.text
    assert "Welcome" in client.get("/account/profile?welcome=1").text
    assert client.get("/signup").headers["location"] == "/account/profile"


def test_signup_errors_keep_what_was_typed(client: TestClient, session: Session) -> None:
    make_user(session, email="taken@example.org")
    taken = _signup(client, email="taken@example.org", name="Bo")
    assert taken.status_code == 422 and "sign in instead" in taken.text
    assert soup(taken).select_one("#name")["value"] == "Bo"  # type: ignore[index]
    assert "differ" in _signup(client, password_again="something else").text
    short = _signup(client, password="short", password_again="short")
    assert short.status_code == 422 and "at least 8" in short.text
    assert "like name@example.org" in _signup(client, email="not-an-email").text
    forged = client.post("/signup", data={"email": "x@example.org", "password": PASSWORD})
    assert forged.status_code == 403


def test_signup_cannot_choose_a_role(client: TestClient, session: Session) -> None:
    _signup(client, email="sneaky@example.org", role="admin")
    assert session.query(User).filter_by(email="sneaky@example.org").one().role == "worker"


def test_profile_saves_and_shows_problems(client: TestClient, session: Session) -> None:
    worker = make_user(session)
    sign_in(client, worker.email)
    data = {
        "skill_lanes": ["domain_expert", "generalist"],
        "domains": ["law"],
        "domains_other": "Tax Policy, ",
        "lang_code_0": "en",
        "lang_level_0": "native",
        "lang_code_1": "fr",
        "lang_level_1": "basic",
        "programming_languages": "Python, R",
        "experience": "Tax lawyer",
        "availability_hours_per_week": "12",
        "credentials": "LL.M.",
    }
    saved = _post(client, "/account/profile", "/account/profile", data)
    assert saved.status_code == 303 and saved.headers["location"] == "/account/profile?saved=1"
    profile = session.query(WorkerProfile).filter_by(user_id=worker.id).one()
    session.refresh(profile)
    assert profile.domains == ["law", "tax_policy"]
    assert profile.languages == [
        {"code": "en", "level": "native"},
        {"code": "fr", "level": "basic"},
    ]
    assert profile.programming_languages == ["python", "r"]
    page = soup(client.get("/account/profile?saved=1"))
    assert page.select_one("input[name=skill_lanes][value=coding]").get("checked") is None  # type: ignore[union-attr]
    assert page.select_one("input[name=domains_other]")["value"] == "tax_policy"  # type: ignore[index]
    assert "not verified yet" in page.text and "Your profile is saved" in page.text
    bad = _post(client, "/account/profile", "/account/profile", {**data, "lang_code_0": "english"})
    assert bad.status_code == 422 and "not saved" in bad.text
    assert 'value="english"' in bad.text
    assert (
        session.query(WorkerProfile).filter_by(user_id=worker.id).one().languages[0]["code"] == "en"
    )


def _assessment(session: Session, **fields: Any) -> Assessment:
    owner = make_user(session, role="owner")
    project = gold_project(session, owner)
    items = [gold_item(session, project, secret=SECRET) for _ in range(2)]
    data = {
        "slug": f"page-{uuid.uuid4().hex[:6]}",
        "name": "Page screening",
        "qualification": "page-screened",
        "item_ids": [i.id for i in items],
        "pass_mark": 0.5,
        **fields,
    }
    return create_assessment(session, owner=owner, data=AssessmentCreate(**data))


def test_taking_an_assessment_never_shows_gold_then_shows_results(
    client: TestClient, session: Session
) -> None:
    assessment = _assessment(session)
    worker = make_user(session)
    sign_in(client, worker.email)
    listing = client.get("/assessments")
    assert assessment.name in listing.text
    detail_url = f"/assessments/{assessment.slug}"
    started = _post(client, detail_url, detail_url + "/start", {})
    assert started.status_code == 303
    take_url = started.headers["location"]
    first = client.get(take_url)
    assert first.status_code == 200
    for leak in (SECRET, "Because", "is_gold", "gold"):
        assert leak not in first.text, leak
    assert soup(first).select_one("#countdown")["data-seconds-left"]  # type: ignore[index]
    assert "<script>" not in first.text and "style=" not in first.text
    form = soup(first).select_one("form[data-assessment-form]")
    assert form is not None
    bad = _post(client, take_url, str(form["action"]), {"a.quality": "4"})
    assert bad.status_code == 422 and "fixing before this can be saved" in bad.text
    assert SECRET not in bad.text
    ok = _post(client, take_url, str(form["action"]), RIGHT_FORM)
    assert ok.status_code == 303 and ok.headers["location"] == take_url
    second = client.get(take_url)
    assert SECRET not in second.text and "Submit and see my result" in second.text
    action = str(soup(second).select_one("form[data-assessment-form]")["action"])  # type: ignore[index]
    assert action != form["action"]
    wrong = {
        "a.quality": "1",
        "a.topic": "poetry",
        "a.better.winner": "B",
        "a.better.strength": "3",
    }
    done = _post(client, take_url, action, wrong)
    assert done.status_code == 303 and done.headers["location"] == take_url + "/result"
    assert client.get(take_url).headers["location"] == take_url + "/result"
    result = client.get(take_url + "/result")
    assert result.status_code == 200
    page = soup(result)
    assert page.select_one("#score").text.strip() == "50%"  # type: ignore[union-attr]
    assert "page-screened" in page.select_one("#granted").text  # type: ignore[union-attr]
    assert result.text.count(SECRET) == 6
    assert len(page.select(".result.correct")) == 3 and len(page.select(".result.wrong")) == 3
    assert "A (strength 2)" in result.text  # the expected preference


def test_failed_attempt_says_when_to_try_again(client: TestClient, session: Session) -> None:
    assessment = _assessment(session, pass_mark=1.0, max_attempts=2, cooldown_s=7200)
    worker = make_user(session)
    sign_in(client, worker.email)
    detail_url = f"/assessments/{assessment.slug}"
    take_url = _post(client, detail_url, detail_url + "/start", {}).headers["location"]
    for _ in range(2):
        action = str(soup(client.get(take_url)).select_one("form[data-assessment-form]")["action"])  # type: ignore[index]
        _post(client, take_url, action, {**RIGHT_FORM, "a.quality": "2"})
    result = client.get(take_url + "/result")
    assert "Not passed" in result.text
    assert re.search(r"try again after \d{4}-\d\d-\d\d \d\d:\d\d UTC", result.text)
    refused = _post(client, detail_url, detail_url + "/start", {})
    assert refused.status_code == 409 and "try again after" in refused.text
    other = make_user(session)
    client.cookies.clear()
    sign_in(client, other.email)
    assert client.get(take_url).status_code == 404


def test_matches_lists_open_projects_and_joins(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, name="Open law project")
    make_item(session, project=project)
    make_project(session, owner=owner, name="Secret project")
    worker = make_user(session)
    set_requirements(
        session,
        project=project,
        actor=owner,
        data=Requirements(open=True, qualifications=["page-screened"]),
    )
    _assessment(session)
    sign_in(client, worker.email)
    page = client.get("/matches")
    assert "Open law project" in page.text and "Secret project" not in page.text
    assert "not eligible yet" in page.text and "Take" in page.text
    refused = _post(client, "/matches", f"/matches/{project.slug}/join", {})
    assert refused.status_code == 409
    set_requirements(session, project=project, actor=owner, data=Requirements(open=True))
    joined = _post(client, "/matches", f"/matches/{project.slug}/join", {})
    assert joined.status_code == 303
    after = client.get(joined.headers["location"])
    assert "You joined the project" in after.text and "member" in after.text


def test_workforce_pages_need_sign_in(client: TestClient) -> None:
    for url in ("/account/profile", "/assessments", "/matches", "/assessments/x"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_late_posts_are_not_counted_and_the_result_says_time_ran_out(
    client: TestClient, session: Session
) -> None:
    assessment = _assessment(session)
    worker = make_user(session)
    sign_in(client, worker.email)
    detail_url = f"/assessments/{assessment.slug}"
    take_url = _post(client, detail_url, detail_url + "/start", {}).headers["location"]
    page = client.get(take_url)
    action = str(soup(page).select_one("form[data-assessment-form]")["action"])  # type: ignore[index]
    attempt = session.query(AssessmentAttempt).filter_by(worker_id=worker.id).one()
    attempt.deadline = utcnow() - timedelta(minutes=1)
    session.commit()
    late = _post(client, detail_url, action, RIGHT_FORM)
    assert late.status_code == 303 and late.headers["location"] == take_url + "/result"
    result = client.get(take_url + "/result")
    assert "The time ran out" in result.text and soup(result).select_one("#score").text == "0%"  # type: ignore[union-attr]
