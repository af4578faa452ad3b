"""Pay pages: a worker's /account/earnings and an owner's /projects/{slug}/pay (both databases)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.pay import balances, current_pay_terms, set_pay_terms
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.models import LedgerEntry, PayoutStatement, Project, Qualification, User
from tests.api.helpers import add_gold
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup


def _paid_project(session: Session, *, name: str = "Paid project", items: int = 2) -> Project:
    project = make_project(session, name=name, redundancy=1)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=Decimal("0.25"))
    for n in range(items):
        make_item(session, project=project, prompt=f"Question {n}?")
    return project


def _work_all(session: Session, project: Project, worker: User, score: int = 5) -> list[int]:
    """Lease and answer every task left for `worker`; return the submission ids."""
    done = []
    while (lease := lease_next_assignment(session, project=project, worker=worker)) is not None:
        data = SubmissionCreate(
            item_id=lease.item_id,
            assignment_id=lease.id,
            submission_key=uuid.uuid4().hex,
            answers=[AnswerIn(question="quality", value=score)],
        )
        submission, _ = submit_judgment(session, worker=worker, data=data)
        done.append(submission.id)
    return done


def _rate(session: Session, project: Project) -> Decimal | None:
    session.expire_all()
    terms = current_pay_terms(session, project=project)
    return terms.rate if terms is not None else None


def _browser(app: FastAPI, user: User) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    sign_in(client, user.email)
    return client


def _post(client: TestClient, page: str, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf_of(client.get(page))})


def _text(page: Any, selector: str) -> str:
    found = soup(page).select_one(selector)
    assert found is not None, f"nothing matches {selector!r}"
    return " ".join(found.get_text(" ").split())


def test_worker_sees_own_earnings_quality_feedback_and_qualifications(
    app: FastAPI, session: Session
) -> None:
    project = _paid_project(session, name="Sky answers")
    gold = make_item(session, project=project, prompt="Gold question?")
    add_gold(session, gold, 5)
    worker = join(session, project, make_user(session))
    first, *_ = _work_all(session, project, worker, score=5)
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    review_submission(
        session,
        submission_id=first,
        reviewer=reviewer,
        verdict="reject",
        feedback="<b>Check</b> the facts & try again",
    )
    now = utcnow()
    session.add_all(
        [
            Qualification(worker_id=worker.id, name="math-ok", score=0.9, granted_at=now,
                          expires_at=now + timedelta(days=10, hours=1)),
            Qualification(worker_id=worker.id, name="old-ok", score=0.7,
                          granted_at=now - timedelta(days=60), expires_at=now - timedelta(days=1)),
        ]
    )  # fmt: skip
    session.commit()
    other = _paid_project(session, name="Someone else's project", items=1)
    stranger = join(session, other, make_user(session))
    _work_all(session, other, stranger)

    page = _browser(app, worker).get("/account/earnings")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    # 3 tasks at 0.25 approved, one rejected and reversed: 0.50 approved.
    assert _text(page, "#approved-USD") == "0.50 USD"
    assert _text(page, "#pending-USD") == "0.00 USD" and _text(page, "#paid-USD") == "0.00 USD"
    assert "Earned, waiting for a reviewer to accept the work." in _text(page, "#earnings")
    assert "Sky answers" in _text(page, "#by-project")
    ledger = _text(page, "#ledger")
    assert "reversal" in ledger and "-0.25 USD" in ledger and "per task at 0.25" in ledger
    quality = _text(page, "#quality")
    assert "100% (1 of 1)" in quality and "Sky answers 3 0 1 2" in quality
    feedback = soup(page).select_one("#feedback .feedback-text")
    assert feedback is not None and feedback.get_text() == "<b>Check</b> the facts & try again"
    assert "&lt;b&gt;Check&lt;/b&gt;" in page.text  # escaped text, never markup
    rows = {r.th.get_text(): r for r in soup(page).select("#qualifications tbody tr") if r.th}
    assert "expired" in rows["old-ok"].get_text() and "expired" in rows["old-ok"]["class"]
    assert rows["math-ok"].select("td")[-1].get_text() == "10"
    # Only their own money and projects.
    assert "Someone else" not in page.text
    stranger_page = _browser(app, stranger).get("/account/earnings")
    assert "Sky answers" not in stranger_page.text
    assert _text(stranger_page, "#approved-USD") == "0.25 USD"


def test_earnings_page_when_signed_out_and_when_empty(client: TestClient, session: Session) -> None:
    response = client.get("/account/earnings")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/earnings"
    sign_in(client, make_user(session).email)
    page = client.get("/account/earnings")
    assert page.status_code == 200 and "No earnings yet" in page.text
    nav = soup(page).select_one('.site-nav a[href="/account/earnings"]')
    assert nav is not None and nav.get("aria-current") == "page"
    assert soup(page).select_one('.subnav a[href="/account/earnings"]') is not None


def test_only_owners_and_admins_open_the_pay_page(app: FastAPI, session: Session) -> None:
    project = _paid_project(session)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    url = f"/projects/{project.slug}/pay"
    for user in (worker, reviewer):
        browser = _browser(app, user)
        assert browser.get(url).status_code == 403
        assert browser.get(f"/projects/{project.slug}/pay/statements/1.csv").status_code == 403
        assert "Pay and spend" not in browser.get(f"/projects/{project.slug}").text
    assert _browser(app, make_user(session)).get(url).status_code == 404
    assert _browser(app, make_user(session, role="admin")).get(url).status_code == 200
    browser = _browser(app, owner)
    link = soup(browser.get(f"/projects/{project.slug}")).select_one(f'a[href="{url}"]')
    assert link is not None and link.get_text() == "Pay and spend"
    page = browser.get(url)
    assert page.status_code == 200
    assert "0.25 USD" in _text(page, "#current-terms")
    assert len(soup(page).select("#daily tbody tr")) == 7
    # A worker may not post to the owner's forms either.
    denied = _post(_browser(app, worker), "/account/earnings", f"{url}/terms",
                   {"mode": "per_task", "rate": "9", "currency": "USD"})  # fmt: skip
    assert denied.status_code == 403
    assert _rate(session, project) == Decimal("0.25")


def test_dashboard_shows_pace_spend_and_projection(app: FastAPI, session: Session) -> None:
    project = _paid_project(session, items=4)
    worker = join(session, project, make_user(session))
    lease = lease_next_assignment(session, project=project, worker=worker)
    assert lease is not None
    data = SubmissionCreate(
        item_id=lease.item_id,
        assignment_id=lease.id,
        submission_key=uuid.uuid4().hex,
        answers=[AnswerIn(question="quality", value=3)],
    )
    submit_judgment(session, worker=worker, data=data)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    page = _browser(app, owner).get(f"/projects/{project.slug}/pay")
    assert _text(page, "#stat-workers") == "1" and _text(page, "#stat-accepted") == "1"
    assert _text(page, "#stat-remaining") == "3" and _text(page, "#stat-days") != "—"
    spend = _text(page, "#spend")
    assert "USD 0.00 0.25 0.00 0.25 0.25 0.75" in spend
    today = soup(page).select("#daily tbody tr")[-1]
    assert today.select_one("td.num").get_text() == "1"  # type: ignore[union-attr]
    assert today.select_one(".bar.bar-w20") is not None


def test_terms_form_errors_by_field_keep_what_was_typed(app: FastAPI, session: Session) -> None:
    project = _paid_project(session)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    browser = _browser(app, owner)
    url = f"/projects/{project.slug}/pay"
    typed = {"mode": "hourly", "rate": "1.2345678", "currency": "dollars",
             "hourly_cap_minutes": "-3"}  # fmt: skip
    bad = _post(browser, url, f"{url}/terms", typed)
    assert bad.status_code == 422
    page = soup(bad)
    for field in ("rate", "currency", "hourly_cap_minutes"):
        assert page.select_one(f"#terms-{field}-error") is not None, field
        assert page.select_one(f"#{field}")["value"] == typed[field]  # type: ignore[index]
        assert page.select_one(f"#{field}")["aria-invalid"] == "true"  # type: ignore[index]
    assert page.select_one("#mode-hourly").has_attr("checked")  # type: ignore[union-attr]
    assert "6 decimal places" in _text(bad, "#terms-rate-error")
    no_mode = _post(browser, url, f"{url}/terms", {"rate": "1", "currency": "USD"})
    assert no_mode.status_code == 422 and soup(no_mode).select_one("#terms-mode-error")
    assert _rate(session, project) == Decimal("0.25")
    hourly = {"mode": "hourly", "rate": "18", "currency": "eur", "hourly_cap_minutes": "10"}
    good = _post(browser, url, f"{url}/terms", hourly)
    assert good.status_code == 303
    assert good.headers["location"] == f"{url}?saved=terms#terms-title"
    session.expire_all()
    terms = current_pay_terms(session, project=project)
    assert terms is not None and (terms.mode, terms.rate, terms.currency) == (
        "hourly",
        Decimal(18),
        "EUR",
    )
    assert terms.hourly_cap_seconds_per_task == 600
    after = browser.get(f"{url}?saved=terms")
    assert "apply to work submitted from now on" in _text(after, "#notice")
    assert soup(after).select_one("#hourly_cap_minutes")["value"] == "10"  # type: ignore[index]


def test_bonus_and_adjustment_form(app: FastAPI, session: Session) -> None:
    project = _paid_project(session, items=1)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    worker = join(session, project, make_user(session))
    _work_all(session, project, worker)
    browser = _browser(app, owner)
    url = f"/projects/{project.slug}/pay"
    key = str(soup(browser.get(url)).select_one("input[name=idempotency_key]")["value"])  # type: ignore[index]
    outsider = make_user(session)
    wrong = {"kind": "bonus", "worker_email": outsider.email, "amount": "-2", "reason": " "}
    bad = _post(browser, url, f"{url}/entries", wrong)
    assert bad.status_code == 422
    page = soup(bad)
    assert "No member" in _text(bad, "#entry-worker_email-error")
    assert "more than zero" in _text(bad, "#entry-amount-error")
    assert page.select_one("#entry-reason-error") is not None
    assert page.select_one("#worker_email")["value"] == outsider.email  # type: ignore[index]
    assert worker.email in [o["value"] for o in page.select("#member-emails option")]
    bonus = {"kind": "bonus", "worker_email": worker.email.upper(), "amount": "2.50",
             "reason": "Careful work", "idempotency_key": key}  # fmt: skip
    assert _post(browser, url, f"{url}/entries", bonus).status_code == 303
    assert _post(browser, url, f"{url}/entries", bonus).status_code == 303  # a double click
    too_much = {
        **bonus,
        "kind": "adjustment",
        "amount": "-100",
        "idempotency_key": uuid.uuid4().hex,
    }
    refused = _post(browser, url, f"{url}/entries", too_much)
    assert refused.status_code == 422 and "unpaid approved pay" in _text(
        refused, "#entry-amount-error"
    )
    session.expire_all()
    kinds = session.scalars(select(LedgerEntry.kind).where(LedgerEntry.worker_id == worker.id))
    assert sorted(kinds) == ["bonus", "task"]
    assert balances(session, worker=worker)["approved"] == Decimal("2.75")
    earnings = _browser(app, worker).get("/account/earnings")
    assert "Careful work" in _text(earnings, "#ledger")


def test_statements_create_download_and_mark_paid(app: FastAPI, session: Session) -> None:
    project = _paid_project(session, items=2)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    worker = join(session, project, make_user(session))
    _work_all(session, project, worker)
    browser = _browser(app, owner)
    url = f"/projects/{project.slug}/pay"
    bad = _post(browser, url, f"{url}/statements", {"period_start": "soon", "period_end": ""})
    assert bad.status_code == 422
    assert soup(bad).select_one("#period-period_start-error") is not None
    assert soup(bad).select_one("#period_start")["value"] == "soon"  # type: ignore[index]
    today = utcnow().date()
    backwards = {"period_start": today.isoformat(), "period_end": str(today - timedelta(days=2))}
    refused = _post(browser, url, f"{url}/statements", backwards)
    assert refused.status_code == 422 and "before the first day" in refused.text
    period = {"period_start": str(today - timedelta(days=7)), "period_end": today.isoformat()}
    made = _post(browser, url, f"{url}/statements", period)
    assert made.status_code == 303 and "saved=statements" in made.headers["location"]
    again = _post(browser, url, f"{url}/statements", period)
    assert "saved=nothing" in again.headers["location"]  # nothing more is owed
    statement = session.scalars(select(PayoutStatement)).one()
    assert statement.total == Decimal("0.5") and statement.state == "open"

    page = browser.get(url)
    row = _text(page, f"#statement-{statement.id}")
    assert worker.email in row and "0.50 USD" in row and "open" in row
    assert f"{today - timedelta(days=7)} – {today}" in row
    sheet = browser.get(f"{url}/statements/{statement.id}.csv")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert "attachment" in sheet.headers["content-disposition"]
    [line] = list(csv.DictReader(io.StringIO(sheet.text)))
    assert line["worker_email"] == worker.email and line["total"] == "0.500000"

    paid_url = f"{url}/statements/{statement.id}/paid"
    empty = _post(browser, url, paid_url, {"reference": "   "})
    assert empty.status_code == 422
    assert soup(empty).select_one(f"#reference-{statement.id}-error") is not None
    assert _post(browser, url, paid_url, {"reference": "TX-42"}).status_code == 303
    clash = _post(browser, url, paid_url, {"reference": "TX-43"})
    assert clash.status_code == 409 and "already paid (TX-42)" in clash.text
    paid_row = _text(browser.get(url), f"#statement-{statement.id}")
    assert "paid" in paid_row and "TX-42" in paid_row
    earnings = _browser(app, worker).get("/account/earnings")
    assert _text(earnings, "#paid-USD") == "0.50 USD"
    assert _text(earnings, "#approved-USD") == "0.00 USD"

    # A statement of another project is not reachable through this project's page.
    other = _paid_project(session, items=0)
    other_url = f"/projects/{other.slug}/pay/statements/{statement.id}.csv"
    other_owner = session.get(User, other.owner_id)
    assert other_owner is not None
    assert _browser(app, other_owner).get(other_url).status_code == 404


def test_pay_forms_need_the_csrf_token(app: FastAPI, session: Session) -> None:
    project = _paid_project(session, items=0)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    browser = _browser(app, owner)
    url = f"/projects/{project.slug}/pay"
    forms = {
        "terms": {"mode": "per_task", "rate": "5", "currency": "USD"},
        "entries": {"kind": "bonus", "worker_email": owner.email, "amount": "1", "reason": "x"},
        "statements": {"period_start": "2020-01-01", "period_end": "2030-01-01"},
        "statements/1/paid": {"reference": "TX"},
    }
    for path, data in forms.items():
        assert browser.post(f"{url}/{path}", data=data).status_code == 403, path
        forged = {**data, "csrf_token": "forged"}
        assert browser.post(f"{url}/{path}", data=forged).status_code == 403, path
    count = session.scalar(select(func.count()).where(LedgerEntry.project_id == project.id))
    assert count == 0
    assert _rate(session, project) == Decimal("0.25")
