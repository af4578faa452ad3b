"""Chromium: a round's blind A/B task hides which model wrote what; the owner sees the verdict.

Saves docs/screenshots/rounds.png. Needs Debian's Chromium (CI fails on skips).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judgeloop.config import Settings
from judgeloop.services.rounds import start_round
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import ModelVersion
from tests.factories import join, make_user
from tests.pages.browser.live import serve
from tests.pages.browser.test_browser_owner_review import Watch
from tests.services.test_rounds import _ab_project, _judge_all, _prompts

pytestmark = pytest.mark.browser

NEW, OLD = "acme-chat-v7-secret", "acme-chat-v6-secret"


@pytest.fixture
def round_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project whose round 1 pits NEW against OLD, half judged by one worker."""
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        project, owner = _ab_project(session)
        old = ModelVersion(name=OLD)
        session.add(old)
        session.flush()
        new = ModelVersion(name=NEW, parent_id=old.id)
        session.add(new)
        session.commit()
        prompts = _prompts(8)
        answers = {
            (v.id, p.prompt): f"Answer to {p.prompt} #{v.id}" for p in prompts for v in (old, new)
        }
        start_round(
            session, project=project, actor=owner, model=new, prompts=prompts, answers=answers
        )
        judged = join(session, project, make_user(session))
        _judge_all(session, project, [judged], prefer=new)
        fresh = join(session, project, make_user(session, email="fresh@example.org"))
        data = {"slug": project.slug, "owner": owner.email, "worker": fresh.email}
    engine.dispose()
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "r" * 40
    )
    with serve(settings) as base:
        yield {"base": base, **data}


def test_workers_never_see_model_names_and_owners_see_the_round(
    round_app: dict[str, Any], browser: Any
) -> None:
    w = Watch(browser, round_app["base"])
    w.sign_in(round_app["worker"], "/work")
    page = w.page
    page.locator("form button").filter(has_text="Start working").first.click()
    page.wait_for_url(f"{w.base}/work/assignments/*")
    html = page.content()
    assert "Answer to Question" in html  # the answers are there ...
    assert NEW not in html and OLD not in html and "acme-chat" not in html  # ... their authors not
    w.context.close()

    o = Watch(browser, round_app["base"])
    o.sign_in(round_app["owner"], f"/projects/{round_app['slug']}/rounds")
    page = o.page
    assert page.locator("#round-1 .win-rate").inner_text() == "100.0%"
    assert NEW in page.locator("#leaderboard").inner_text()
    loaded = page.evaluate("document.querySelector('img.plot').naturalWidth")
    assert loaded > 0, "the leaderboard plot did not load"
    o.shot("rounds.png")
    page.get_by_role("button", name="Freeze round 1").click()
    page.wait_for_url(f"{o.base}/projects/{round_app['slug']}/rounds")
    assert "frozen" in page.locator("#round-1 h2").inner_text()
    o.fits()
    o.check_clean()
    o.context.close()
