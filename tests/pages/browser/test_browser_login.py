"""A real Chromium signs in to the real app (uvicorn) and reads a project with hostile text.

Needs Debian's Chromium at /usr/bin/chromium and the playwright package; skips without
them (and CI turns that skip into a failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judgeloop.config import Settings
from judgeloop.presets import get_preset
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from tests.factories import PASSWORD, make_item, make_project, make_user
from tests.pages.browser.live import serve
from tests.pages.hostile import HOSTILE_MARKDOWN

SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "screenshots" / "project.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The real app under uvicorn on a free port, with a migrated SQLite file and data."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        owner = make_user(session, role="owner", email="owner@example.org")
        project = make_project(
            session,
            owner=owner,
            name="Sky questions",
            preset="response_rating",
            questions=[],
            description="Rate answers about the sky <script>window.__pwned=1</script>.",
            guidelines=get_preset("response_rating").guidelines + "\n\n" + HOSTILE_MARKDOWN,
        )
        make_item(session, project=project, answers=(HOSTILE_MARKDOWN,))
        slug = project.slug
    engine.dispose()
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "k" * 40
    )
    with serve(settings) as base:
        yield {"base": base, "slug": slug, "email": "owner@example.org"}


def test_owner_signs_in_and_reads_project_without_running_hostile_script(
    live_app: dict[str, Any], browser: Any
) -> None:
    base = live_app["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    requests: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{base}/projects/{live_app['slug']}")
    assert page.url.startswith(f"{base}/login?next=")
    page.keyboard.press("Tab")  # the skip link, then the email field: focus must show
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.get_by_label("Email address").fill(live_app["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/projects/{live_app['slug']}")

    assert page.get_by_role("heading", level=1, name="Sky questions").is_visible()
    assert page.get_by_text("Template: Response rating").is_visible()
    rubric = page.locator(".rubric-dimension")
    assert rubric.count() == 7
    accuracy = page.locator("#rubric-accuracy")
    assert accuracy.get_by_role("heading", name="Accuracy").is_visible()
    assert accuracy.locator("dt").all_inner_texts() == ["1", "2", "3", "4", "5"]
    assert "Entirely correct" in accuracy.inner_text()
    assert page.locator("#guidelines").get_by_role("link", name="real link").is_visible()

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('script, iframe, img, svg').length") == 0
    assert dialogs == []
    assert errors == []
    assert all(url.startswith(base) or url.startswith("data:") for url in requests), requests

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px screen"

    page.goto(f"{base}/projects")
    assert page.get_by_role("link", name="Sky questions").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    context.close()
