"""Chromium drives the pay pages on the real app (uvicorn, a migrated SQLite file).

1. A worker works a task of a paid project on the task page and finds the earning on
   /account/earnings.
2. An owner sets pay terms (one wrong field first), adds a bonus, creates a statement,
   downloads its CSV and marks it paid; the worker then sees the money as paid.

Saves docs/screenshots/owner-pay.png and worker-earnings.png. Needs Debian's Chromium at
/usr/bin/chromium and playwright; skips without them (CI fails on skips).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.pay import set_pay_terms
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import GoldAnswer, Project, Qualification, User
from tests.factories import join, make_item, make_project, make_user
from tests.pages.browser.live import serve
from tests.pages.browser.test_browser_owner_review import Watch

pytestmark = pytest.mark.browser

FEEDBACK = "Missed the off-by-one on line 3. <script>window.__pwned=1</script>"


def work(session: Session, project: Project, worker: User, *, score: int, n: int) -> list[int]:
    """Answer `n` tasks of `project` as `worker` through the services; return submission ids."""
    done = []
    for _ in range(n):
        lease = lease_next_assignment(session, project=project, worker=worker)
        assert lease is not None
        data = SubmissionCreate(
            item_id=lease.item_id,
            assignment_id=lease.id,
            submission_key=uuid.uuid4().hex,
            answers=[AnswerIn(question="quality", value=score)],
            seconds_spent=40,
        )
        done.append(submit_judgment(session, worker=worker, data=data)[0].id)
    return done


def _code_review(session: Session, owner: User, worker: User) -> None:
    """A per-accepted project where the worker has accepted, rejected and pending work."""
    project = make_project(
        session, owner=owner, slug="code-review", name="Code review", redundancy=1, gold_ratio=1.0
    )
    set_pay_terms(session, project=project, actor=owner, mode="per_accepted", rate=Decimal("1.2"))
    gold = make_item(session, project=project, prompt="Gold: is this loop correct?")
    gold.is_gold = True
    session.add(GoldAnswer(item_id=gold.id, question_key="quality", value=4))
    session.commit()
    for n in range(3):
        make_item(session, project=project, prompt=f"Review function {n}")
    join(session, project, worker)
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    first, second, _ = work(session, project, worker, score=4, n=3)
    review_submission(
        session, submission_id=first, reviewer=reviewer, verdict="accept", feedback="Clear."
    )
    review_submission(
        session, submission_id=second, reviewer=reviewer, verdict="reject", feedback=FEEDBACK
    )
    now = utcnow()
    session.add_all(
        [
            Qualification(worker_id=worker.id, name="coding-ok", score=0.85,
                          granted_at=now - timedelta(days=10), expires_at=now + timedelta(days=80)),
            Qualification(worker_id=worker.id, name="math-ok", score=0.6,
                          granted_at=now - timedelta(days=100), expires_at=now - timedelta(days=9)),
        ]
    )  # fmt: skip
    session.commit()


def _setup(session: Session) -> dict[str, Any]:
    owner = make_user(session, role="owner", email="owner@example.org")
    worker = make_user(session, email="worker@example.org")
    project = make_project(session, owner=owner, slug="sky-answers", name="Sky answers")
    project.redundancy = 1
    session.commit()
    set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=Decimal("0.40"))
    for n in range(6):
        make_item(session, project=project, prompt=f"Why is the sky blue? ({n})")
    join(session, project, worker)
    _code_review(session, owner, worker)
    return {"worker": "worker@example.org", "owner": "owner@example.org"}


@pytest.fixture
def pay_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app with a per-task project to work on and a per-accepted one with history."""
    url = f"sqlite:///{tmp_path / 'pay.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        data = _setup(session)
    engine.dispose()
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=url, secret_key="browser-" + "p" * 40
    )
    with serve(settings) as base:
        yield {"base": base, "url": url, **data}


def test_worker_works_a_paid_task_and_sees_the_earning(
    pay_app: dict[str, Any], browser: Any
) -> None:
    w = Watch(browser, pay_app["base"])
    w.sign_in(pay_app["worker"], "/work")
    page = w.page
    page.get_by_role("button", name="Start working on Sky answers").click()
    page.wait_for_url(f"{w.base}/work/assignments/*")
    first = page.url
    page.locator('input[name="a.quality"][value="4"]').check()
    page.get_by_role("button", name="Submit and go on").click()
    page.wait_for_function("u => location.href !== u", arg=first)
    page.get_by_role("link", name="Earnings", exact=True).click()
    page.wait_for_url(f"{w.base}/account/earnings")
    assert page.get_by_role("heading", name="Earnings & quality").is_visible()
    # 0.40 for the task just done, 1.20 for the accepted code review; 1.20 still pending.
    assert page.locator("#approved-USD").inner_text() == "1.60 USD"
    assert page.locator("#pending-USD").inner_text() == "1.20 USD"
    newest = page.locator("#ledger tbody tr").first.inner_text()
    assert "Sky answers" in newest and "0.40 USD" in newest and "approved" in newest
    assert "Sky answers\t1\t0\t0\t1" in page.locator("#quality").inner_text()
    w.fits()
    w.check_clean()
    w.context.close()


def _set_terms(w: Watch) -> None:
    page = w.page
    page.get_by_label("Per task: every submission earns the rate, payable at once").check()
    page.get_by_label("Rate", exact=True).fill(
        "0,50"
    )  # a comma: shown next to the field, nothing saved
    page.get_by_role("button", name="Set pay terms").click()
    assert page.locator("#terms-rate-error").is_visible()
    assert page.get_by_label("Rate", exact=True).input_value() == "0,50"
    assert "0.40 USD" in page.locator("#current-terms").inner_text()
    page.get_by_label("Rate", exact=True).fill("0.50")
    page.get_by_role("button", name="Set pay terms").click()
    page.wait_for_url(f"{w.base}/projects/sky-answers/pay?saved=terms#terms-title")
    assert "0.50 USD per task" in page.locator("#current-terms").inner_text()


def _bonus_and_statement(w: Watch) -> str:
    page = w.page
    page.get_by_label("Bonus (added to approved pay)").check()
    page.get_by_label("Worker's email").fill("worker@example.org")
    page.locator("#amount").fill("2")
    page.locator("#reason").fill("Thorough explanations")
    page.get_by_role("button", name="Add to the ledger").click()
    page.wait_for_url(f"{w.base}/projects/sky-answers/pay?saved=entry#entry-title")
    page.get_by_role("button", name="Create statements").click()
    page.wait_for_url(f"{w.base}/projects/sky-answers/pay?saved=statements#statements-title")
    row = page.locator("#statement-list tbody tr").first
    assert "worker@example.org" in row.inner_text() and "3.00 USD" in row.inner_text()
    assert "open" in row.inner_text()
    return str(row.get_attribute("id")).removeprefix("statement-")


def test_owner_sets_terms_pays_a_statement_and_the_worker_sees_it_paid(
    pay_app: dict[str, Any], browser: Any
) -> None:
    w = Watch(browser, pay_app["base"])
    w.sign_in(pay_app["owner"], "/projects/sky-answers")
    w.page.get_by_role("link", name="Pay and spend").click()
    w.page.wait_for_url(f"{w.base}/projects/sky-answers/pay")
    _set_terms(w)
    engine = make_engine(pay_app["url"])
    with make_sessionmaker(engine)() as session:
        project = session.query(Project).filter_by(slug="sky-answers").one()
        worker = session.query(User).filter_by(email="worker@example.org").one()
        work(session, project, worker, score=5, n=2)  # 2 x 0.50 at the new rate
    engine.dispose()
    w.page.reload()
    assert w.page.locator("#stat-accepted").inner_text() == "2"
    assert w.page.locator("#stat-remaining").inner_text() == "4"
    assert w.page.locator("#daily .bar.bar-w20").count() == 1
    statement = _bonus_and_statement(w)
    with w.page.expect_download() as info:
        w.page.get_by_role("link", name=f"Download CSV of statement {statement}").click()
    sheet = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename == f"sky-answers-statement-{statement}.csv"
    assert "worker@example.org" in sheet and ",3.000000,USD,open," in sheet
    w.shot("owner-pay.png")
    w.fits()
    w.page.get_by_label(f"Payment reference for statement {statement}").fill("TX-2026-0117")
    w.page.get_by_role("button", name=f"Mark paid statement {statement}").click()
    w.page.wait_for_url(f"{w.base}/projects/sky-answers/pay?saved=paid#statement-{statement}")
    row = w.page.locator(f"#statement-{statement}").inner_text()
    assert "paid" in row and "TX-2026-0117" in row
    w.check_clean()
    w.context.close()

    worker_view = Watch(browser, pay_app["base"])
    worker_view.sign_in(pay_app["worker"], "/account/earnings")
    page = worker_view.page
    assert page.locator("#paid-USD").inner_text() == "3.00 USD"
    assert page.locator("#approved-USD").inner_text() == "1.20 USD"  # the code review
    assert page.locator("#pending-USD").inner_text() == "1.20 USD"
    assert "payout" in page.locator("#ledger").inner_text()
    feedback = page.locator("#feedback .feedback-text").first.inner_text()
    assert feedback == FEEDBACK  # shown as text, never run
    assert "expired" in page.locator("#qualifications").inner_text()
    assert "100% (1 of 1)" in page.locator("#quality").inner_text()
    worker_view.shot("worker-earnings.png")
    worker_view.fits()
    worker_view.check_clean()
    worker_view.context.close()
