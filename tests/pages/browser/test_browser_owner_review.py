"""Chromium drives the owner's and the reviewer's pages on the real app (uvicorn).

1. An owner signs in, creates a project from a template, uploads a JSONL file with one
   bad row and reads the error with its line number; uploads it again with "Skip invalid
   rows" and reads the counts; edits the guidelines and reads the diff.
2. A reviewer rejects a submission with feedback; the worker signs in and reads it at
   /work/feedback.

Screenshots go to docs/screenshots/owner-*.png and review-*.png. Needs Debian's
Chromium at /usr/bin/chromium and playwright; skips without them (CI fails on skips).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.queue import flag_item, lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from tests.factories import PASSWORD, join, make_item, make_project, make_user
from tests.pages.browser.live import serve

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

pytestmark = pytest.mark.browser

Setup = Callable[[Session], dict[str, Any]]


def _serve(tmp_path: Path, setup: Setup) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        data = setup(session)
    engine.dispose()
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "k" * 40
    )
    with serve(settings) as base:
        yield {"base": base, **data}


class Watch:
    """A page with its dialogs, script errors and requests recorded."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base = base
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def sign_in(self, email: str, then: str) -> None:
        self.page.goto(f"{self.base}{then}")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.base}{then}")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / name), full_page=True)

    def fits(self, width: int = 390) -> None:
        self.page.set_viewport_size({"width": width, "height": 844})
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{self.page.url} is {overflow}px wider than a {width}px screen"
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def check_clean(self) -> None:
        assert self.dialogs == [] and self.errors == []
        local = all(u.startswith((self.base, "data:")) for u in self.requests)
        assert local, [u for u in self.requests if not u.startswith(self.base)]
        assert self.page.evaluate("typeof window.__pwned") == "undefined"


def _owner_setup(session: Session) -> dict[str, Any]:
    make_user(session, role="owner", email="owner@example.org")
    return {"email": "owner@example.org"}


@pytest.fixture
def owner_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app with one owner and no project yet."""
    yield from _serve(tmp_path, _owner_setup)


ROWS = [
    {"prompt": "Capital of Australia? One word.", "candidates": ["Canberra", "Sydney"]},
    {"prompt": "Largest planet?", "candidates": [{"text": "Jupiter"}]},
    {"prompt": "Boiling point of water at sea level, in °C?", "candidates": ["100", "90"]},
    {"prompt": 42, "candidates": ["Broken row: the prompt is a number"]},
    {"prompt": "Speed of light, roughly?", "candidates": ["300,000 km/s", "3,000 km/s"]},
]


def _create_project(w: Watch) -> None:
    page = w.page
    page.goto(f"{w.base}/projects")
    page.get_by_role("link", name="New project").click()
    page.wait_for_url(f"{w.base}/projects/new")
    assert page.locator("input[name=preset]").count() == 14
    page.get_by_label("A/B comparison").check()
    page.get_by_label("Name").fill("Chat answers A/B")
    page.get_by_label("Slug").fill("Chat AB")  # wrong on purpose: shown next to the field
    page.get_by_label("Judgments per item").fill("2")
    page.get_by_role("button", name="Create project").click()
    assert page.locator("#slug-error").is_visible()
    assert page.get_by_label("A/B comparison").is_checked()
    w.shot("owner-new-project.png")
    w.fits()
    page.get_by_label("Slug").fill("chat-ab")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(f"{w.base}/projects/chat-ab")
    assert page.get_by_text("Template: A/B comparison").is_visible()


def _import_with_a_bad_row(w: Watch, tmp_path: Path) -> None:
    page = w.page
    data = tmp_path / "prompts.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    page.get_by_role("link", name="Upload a data file").click()
    page.wait_for_url(f"{w.base}/projects/chat-ab/import")
    page.get_by_label("Data file").set_input_files(str(data))
    page.get_by_role("button", name="Import").click()
    errors = page.locator("#import-errors")
    errors.wait_for()
    assert "Nothing was imported" in errors.inner_text()
    first_row = errors.locator("tbody tr").first.locator("td")
    assert first_row.nth(0).inner_text() == "4"
    assert "prompt" in first_row.nth(1).inner_text()
    w.shot("owner-import-error.png")
    page.get_by_label("Data file").set_input_files(str(data))
    page.get_by_label("Skip invalid rows").check()
    page.get_by_role("button", name="Import").click()
    page.locator("#import-report").wait_for()
    assert page.locator("#rows-read").inner_text() == "5"
    assert page.locator("#items-added").inner_text() == "4"
    assert page.locator("#rejected").inner_text() == "1"
    assert page.locator("#import-report tbody td").first.inner_text() == "4"
    w.shot("owner-import-report.png")
    w.fits()


def _edit_guidelines(w: Watch) -> None:
    page = w.page
    page.goto(f"{w.base}/projects/chat-ab/guidelines/edit")
    editor = page.get_by_label("Guidelines (Markdown)")
    text = editor.input_value()
    editor.fill(
        text.replace("Read the prompt", "Read the prompt <script>window.__pwned=1</script>")
    )
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_url(f"{w.base}/projects/chat-ab/guidelines/diff?a=1&b=2")
    assert page.locator("tr.diff-add").count() >= 1
    assert "<script>" in page.locator("tr.diff-add").first.inner_text()
    w.shot("owner-guidelines-diff.png")
    w.fits()


def test_owner_creates_project_imports_and_edits_guidelines(
    owner_app: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    w = Watch(browser, owner_app["base"])
    w.sign_in(owner_app["email"], "/projects")
    _create_project(w)
    _import_with_a_bad_row(w, tmp_path)
    _edit_guidelines(w)
    w.page.goto(f"{w.base}/projects/chat-ab")
    assert w.page.locator("#progress-title").is_visible()
    items = w.page.locator("#progress-title ~ dl.stats div").first.locator("dd").inner_text()
    assert items == "4"
    w.fits()
    w.check_clean()
    w.context.close()


def _review_setup(session: Session) -> dict[str, Any]:
    owner = make_user(session, role="owner", email="owner@example.org")
    project = make_project(
        session, owner=owner, slug="chat-ab", name="Chat answers A/B", preset="ab_comparison",
        questions=[], redundancy=1,
    )  # fmt: skip
    worker = join(session, project, make_user(session, email="worker@example.org"))
    join(
        session,
        project,
        make_user(session, role="reviewer", email="reviewer@example.org"),
        "reviewer",
    )
    item = make_item(
        session,
        project=project,
        prompt="What is the capital of Australia? One word.",
        answers=("Sydney", "Canberra <img src=x onerror=window.__pwned=1>"),
    )
    make_item(session, project=project, prompt="Largest planet?", answers=("Jupiter", "Saturn"))
    lease = lease_next_assignment(session, project=project, worker=worker)
    assert lease is not None and lease.item_id == item.id
    answers = [
        AnswerIn(
            question="preference", value={"winner": "A", "strength": 2}, explanation="A is short."
        ),
        AnswerIn(question="accuracy", candidate="A", value=4),
    ]
    data = SubmissionCreate(
        item_id=item.id, assignment_id=lease.id, submission_key=uuid.uuid4().hex,
        answers=answers, seconds_spent=48,
    )  # fmt: skip
    submission, _ = submit_judgment(session, worker=worker, data=data)
    flag_item(session, item=item, worker=worker, reason="other", note="Two answers look alike.")
    return {"submission": submission.id}


@pytest.fixture
def review_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app with an A/B project and one submission awaiting review."""
    yield from _serve(tmp_path, _review_setup)


def test_reviewer_rejects_and_worker_reads_the_feedback(
    review_app: dict[str, Any], browser: Any
) -> None:
    sid = review_app["submission"]
    reviewer = Watch(browser, review_app["base"])
    reviewer.sign_in("reviewer@example.org", "/projects/chat-ab/submissions")
    reviewer.shot("review-list.png")
    reviewer.fits()
    reviewer.page.get_by_role("link", name=f"#{sid}").click()
    page = reviewer.page
    page.wait_for_url(f"{reviewer.base}/review/submissions/{sid}")
    assert page.locator("article.candidate").count() == 2
    assert "is better" in page.locator("#answer-preference").inner_text()
    page.get_by_label("Reject: the item goes back to the queue for another worker").check()
    page.get_by_role("button", name="Save review").click()
    assert page.locator("#feedback-error").is_visible()  # a rejection needs feedback
    page.get_by_label("Feedback for the worker").fill(
        "Canberra is the capital; **Sydney** is the largest city. Check facts before style."
    )
    page.get_by_role("button", name="Save review").click()
    page.wait_for_url(f"{reviewer.base}/review/submissions/{sid}?reviewed=1")
    assert page.locator("#submission-state").inner_text() == "rejected"
    reviewer.shot("review-submission.png")
    reviewer.fits()
    reviewer.check_clean()
    reviewer.context.close()

    worker = Watch(browser, review_app["base"])
    worker.sign_in("worker@example.org", "/work/feedback")
    entry = worker.page.locator(".feedback-entry").first
    assert "rejected" in entry.inner_text()
    assert entry.locator(".feedback strong").inner_text() == "Sydney"
    assert "this judgment does not count" in entry.inner_text()
    worker.shot("review-feedback.png")
    worker.fits()
    worker.check_clean()
    worker.context.close()

    owner = Watch(browser, review_app["base"])
    owner.sign_in("owner@example.org", "/projects/chat-ab")
    stats = owner.page.locator("#review-stats").inner_text()
    assert "Rejected\n1" in stats
    flags = owner.page.locator("#flags")
    assert "Two answers look alike." in flags.inner_text()
    owner.page.screenshot(path=str(SHOTS / "owner-dashboard.png"))
    owner.fits()
    owner.check_clean()
    owner.context.close()
