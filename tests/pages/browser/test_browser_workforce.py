"""A real Chromium signs up, fills a profile, takes an assessment and joins a matched project.

Same set-up as test_browser_login.py: the real app under uvicorn on a migrated SQLite
file, Debian's Chromium driven by Playwright (skips without them; CI fails the skip).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from judgeloop.config import Settings
from judgeloop.schemas.assessments import AssessmentCreate
from judgeloop.schemas.workforce import Requirements
from judgeloop.services.assessments import create_assessment
from judgeloop.services.workforce import set_requirements
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import AssessmentAttempt
from tests.factories import PASSWORD, make_item, make_project, make_user
from tests.pages.browser.live import serve
from tests.services.test_assessments import gold_item, gold_project

pytestmark = pytest.mark.browser
SECRET = "browser-gold-" + uuid.uuid4().hex[:8]


def _seed(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        owner = make_user(session, role="owner", email="owner@example.org")
        items = [gold_item(session, gold_project(session, owner), secret=SECRET) for _ in range(2)]
        for slug, name, limit in (("math-screen", "Math screening", 1800), ("quick", "Quick", 60)):
            data = AssessmentCreate(
                slug=slug,
                name=name,
                item_ids=[i.id for i in items],
                qualification=f"{slug}-ok",
                pass_mark=0.5,
                time_limit_s=limit,
                cooldown_s=3600,
            )
            create_assessment(session, owner=owner, data=data)
        project = make_project(
            session, owner=owner, slug="coding-review", name="Coding review", redundancy=1
        )
        for i in range(3):
            make_item(session, project=project, prompt=f"Review this code {i}")
        req = Requirements(open=True, lanes=["coding"], qualifications=["math-screen-ok"])
        set_requirements(session, project=project, actor=owner, data=req)
    engine.dispose()


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The real app under uvicorn on a free port, with assessments and an open project."""
    url = f"sqlite:///{tmp_path / 'workforce.db'}"
    _seed(url)
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "w" * 40
    )
    with serve(settings) as base:
        yield {"base": base, "url": url}


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    return errors


def _sign_up(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Your name").fill("Grace")
    page.get_by_label("Email address").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(f"{base}/account/profile?welcome=1")


def _answer(page: Any, quality: str, topic: str, winner: str) -> None:
    page.locator(f'input[name="a.quality"][value="{quality}"]').check()
    page.locator(f'input[name="a.topic"][value="{topic}"]').check()
    page.locator(f'input[name="a.better.winner"][value="{winner}"]').check()
    strength = page.locator('input[name="a.better.strength"][value="2"]')
    if strength.count():
        strength.check()


def test_sign_up_profile_assessment_result_and_matches(
    live_app: dict[str, Any],
    browser: Any,
) -> None:
    base = live_app["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = _watch(page)
    _sign_up(page, base, "grace@example.org")
    assert page.get_by_text("Welcome!").is_visible()

    page.get_by_label("Coding: reading, running and judging code").check()
    page.get_by_label("Engineering").check()
    page.get_by_label("Language 1: code").fill("en")
    page.get_by_label("Language 1: level").select_option("native")
    page.get_by_label("Programming languages").fill("Python, Go")
    page.get_by_label("Your experience, in your own words").fill("Ten years of backend work.")
    page.get_by_role("button", name="Save my profile").click()
    page.wait_for_url(f"{base}/account/profile?saved=1")
    assert page.get_by_text("Your profile is saved.").is_visible()
    assert page.get_by_label("Coding: reading, running and judging code").is_checked()

    page.goto(f"{base}/matches")
    card = page.locator("#match-coding-review")
    assert "not eligible yet" in card.inner_text()
    card.get_by_role("link", name="Take").click()
    page.wait_for_url(f"{base}/assessments/math-screen")
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_url(f"{base}/assessments/math-screen/attempts/*")
    countdown = page.locator("#countdown")
    first = countdown.inner_text()
    page.wait_for_function(
        "t => (document.getElementById('countdown')?.textContent ?? t) !== t", arg=first
    )
    assert SECRET not in page.content() and "Because" not in page.content()
    _answer(page, "4", "math", "A")
    page.get_by_role("button", name="Submit and go on").click()
    page.wait_for_function(
        "(document.querySelector('[aria-current=step]')?.textContent ?? '').startsWith('2')"
    )
    assert SECRET not in page.content()
    _answer(page, "1", "poetry", "B")
    page.get_by_role("button", name="Submit and see my result").click()
    page.wait_for_url(f"{base}/assessments/math-screen/attempts/*/result")
    assert page.locator("#score").inner_text() == "50%"
    assert page.get_by_role("heading", name="Passed").is_visible()
    assert "math-screen-ok" in page.locator("#granted").inner_text()
    assert page.locator(".result.correct").count() == 3
    assert page.locator(".result.wrong").count() == 3
    assert page.get_by_text(f"Because quality {SECRET}").first.is_visible()

    page.get_by_role("link", name="See the projects it opens").click()
    page.wait_for_url(f"{base}/matches")
    card = page.locator("#match-coding-review")
    assert "eligible" in card.inner_text() and "3 items need judgments" in card.inner_text()
    card.get_by_role("button", name="Join").click()
    page.wait_for_url(f"{base}/matches?joined=coding-review")
    assert page.get_by_text("You joined the project.").is_visible()
    assert "member" in page.locator("#match-coding-review").inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px screen"
    assert errors == []
    context.close()


def test_countdown_posts_the_attempt_when_time_is_up(
    live_app: dict[str, Any],
    browser: Any,
) -> None:
    base = live_app["base"]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = _watch(page)
    _sign_up(page, base, "late@example.org")
    page.goto(f"{base}/assessments/quick")
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_url(f"{base}/assessments/quick/attempts/*")
    engine = make_engine(live_app["url"])
    with engine.begin() as conn:
        conn.execute(update(AssessmentAttempt).values(deadline=utcnow() + timedelta(seconds=3)))
    engine.dispose()
    page.reload()
    _answer(page, "4", "math", "A")  # answered, but never submitted by hand
    page.wait_for_url(f"{base}/assessments/quick/attempts/*/result", timeout=20_000)
    assert page.get_by_text("The time ran out").is_visible()
    # The page posted the first task's answers at zero; the second task counts as wrong.
    assert page.locator("#score").inner_text() == "50%"
    assert errors == []
    context.close()
