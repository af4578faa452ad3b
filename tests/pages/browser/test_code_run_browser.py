"""Chromium: a worker runs a HumanEval task's tests in the sandbox, reads them, and judges.

Saves docs/screenshots/code-run.png. Needs Debian's Chromium (CI fails on skips).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from judgeloop.cli.demo import sample_path
from judgeloop.config import Settings
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import Judgment
from tests.factories import join, make_project, make_user
from tests.pages.browser.live import serve
from tests.pages.browser.test_browser_owner_review import SHOTS, Watch
from tests.services.test_code_runs import humaneval_item

pytestmark = pytest.mark.browser

PROBLEM = "HumanEval/55"  # fib(n): the broken variant returns 1 for fib(0)


@pytest.fixture
def coding_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A coding-evaluation project with one HumanEval problem: A canonical, B broken."""
    url = f"sqlite:///{tmp_path / 'code.db'}"
    engine = make_engine(url)
    upgrade(engine)
    rows = [json.loads(line) for line in sample_path("humaneval/problems.jsonl").open()]
    problem = next(r for r in rows if r["id"] == PROBLEM)
    with make_sessionmaker(engine)() as session:
        project = make_project(session, preset="coding_evaluation", questions=[], redundancy=1)
        humaneval_item(session, project, problem)
        worker = join(session, project, make_user(session, email="coder@example.org"))
        data = {"slug": project.slug, "worker": worker.email}
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "c" * 40
    )
    with serve(settings) as base:
        yield {"base": base, "engine": engine, **data}
    engine.dispose()


def test_a_worker_runs_the_tests_and_judges_the_code_with_them(
    coding_app: dict[str, Any], browser: Any
) -> None:
    w = Watch(browser, coding_app["base"])
    w.sign_in(coding_app["worker"], "/work")
    page = w.page
    page.locator("form button").filter(has_text="Start working").first.click()
    page.wait_for_url(f"{w.base}/work/assignments/*")
    box_a, box_b = page.locator("#a-execution-A-run"), page.locator("#a-execution-B-run")
    assert "not run yet" in box_a.inner_text() and "not run yet" in box_b.inner_text()

    box_a.get_by_role("button", name="Run tests").click()
    page.wait_for_url("**?code_run=ran")
    assert "The tests ran" in page.locator("p.notice").first.inner_text()
    assert box_a.locator(".run-status").inner_text().startswith("Passed: ")
    assert box_b.locator(".run-status").inner_text().startswith("Failed: ")
    failing = box_b.locator("li.case-failed").first
    assert "candidate(" in failing.locator(".case-name").inner_text()
    assert "left:" in failing.locator("pre.run-message").inner_text()
    assert box_a.locator(".run-meta .tag").inner_text() in ("bwrap", "unshare", "rlimits-only")

    page.locator('input[name="a.execution.A.verdict"][value="correct"]').check()
    page.locator('input[name="a.execution.B.verdict"][value="incorrect"]').check()
    for key, scores in {"correctness": (5, 2), "efficiency": (4, 4), "readability": (4, 3)}.items():
        for cand, score in zip("AB", scores, strict=True):
            page.locator(f'input[name="a.{key}.{cand}"][value="{score}"]').check()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 4000})  # the sticky submit bar out of it
    page.locator("#q-execution").screenshot(path=str(SHOTS / "code-run.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    w.fits()
    page.get_by_role("button", name="Submit and go on").click()
    page.wait_for_url(f"{w.base}/work/{coding_app['slug']}/next")
    assert "All done" in page.content()
    w.check_clean()
    w.context.close()

    with make_sessionmaker(coding_app["engine"])() as session:
        rows = session.scalars(select(Judgment).where(Judgment.question_key == "execution"))
        verdicts = {j.candidate_key: j.value for j in rows}
    assert verdicts["A"]["verdict"] == "correct" and verdicts["B"]["verdict"] == "incorrect"
    assert isinstance(verdicts["A"]["run_id"], int) and verdicts["A"]["run_id"] > 0
    assert verdicts["B"]["run_id"] != verdicts["A"]["run_id"]
