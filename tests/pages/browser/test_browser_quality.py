"""Chromium on the quality dashboard: the server-drawn leaderboard loads, and a suspension.

The owner opens /projects/{slug}/quality after an aggregation: the leaderboard SVG
loads as an image (from the app itself, no CDN, no script), the spammer is the flagged
row, and the owner suspends them with a reason; the suspended worker then reads that
reason instead of a task. Screenshot: docs/screenshots/quality.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.services.consensus import aggregate_project
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from tests.factories import PASSWORD
from tests.pages.browser.live import serve
from tests.quality_world import make_world

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
NAMES = ("Ada Lovelace", "Ben Okafor", "Chen Wei", "Dana Silva")
REASON = "Your topic labels disagree with everyone else's; please reread section 2 first."

pytestmark = pytest.mark.browser


def _setup(session: Session) -> dict[str, Any]:
    world = make_world(
        session, n_items=15, n_honest=len(NAMES), hide_model_identity=False,
        slug="support-answers", name="Support answers: topic, quality, A/B",
    )  # fmt: skip
    for user, name in zip(world.workers, NAMES, strict=True):
        user.name = name
    world.spammer.name = "Sam Rapid"
    session.commit()
    aggregate_project(session, project=world.project)
    return {
        "slug": world.project.slug,
        "owner": world.owner.email,
        "spammer": world.spammer.email,
        "spammer_id": world.spammer.id,
    }


@pytest.fixture
def quality_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app on a file database holding one aggregated project."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        data = _setup(session)
    engine.dispose()
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "q" * 40
    )
    with serve(settings) as base:
        yield {"base": base, **data}


def _sign_in(page: Any, base: str, email: str, then: str) -> None:
    page.goto(f"{base}{then}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{then}")


def test_quality_dashboard_leaderboard_and_suspension(
    quality_app: dict[str, Any], browser: Any
) -> None:
    base, slug = quality_app["base"], quality_app["slug"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))

    _sign_in(page, base, quality_app["owner"], f"/projects/{slug}/quality")
    plot = page.locator("#leaderboard-plot")
    plot.scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('#leaderboard-plot').complete"
        " && document.querySelector('#leaderboard-plot').naturalWidth > 0"
    )
    assert plot.bounding_box()["height"] > 100  # type: ignore[index]
    flagged = page.locator("#reliability-table tr.flagged")
    assert flagged.count() == 1 and "Sam Rapid" in flagged.inner_text()

    row = page.locator(f"#worker-{quality_app['spammer_id']}")
    row.get_by_label("Reason the worker will read").fill(REASON)
    row.get_by_role("button", name="Suspend").click()
    page.wait_for_url(f"{base}/projects/{slug}/quality?done=suspended")
    row = page.locator(f"#worker-{quality_app['spammer_id']}")
    assert "suspended" in row.inner_text() and REASON in row.inner_text()
    page.wait_for_function("document.querySelector('#leaderboard-plot').naturalWidth > 0")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quality.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the quality page is {overflow}px wider than a phone"
    assert errors == [], errors
    assert all(u.startswith((base, "data:")) for u in requests), requests
    context.close()

    worker = browser.new_context().new_page()
    _sign_in(worker, base, quality_app["spammer"], "/work")
    worker.goto(f"{base}/work/{slug}/next")
    assert REASON in worker.get_by_role("status").inner_text()
    worker.context.close()
