"""Pay over HTTP: terms, earnings, the owner's dashboard, bonuses and statements."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from judgeloop.store.base import utcnow
from judgeloop.store.models import Project, User
from tests.api.helpers import Api, add_gold, error
from tests.factories import join, make_item, make_project, make_user


def _work(api: Api, project: Project, worker: User, score: int = 4) -> int:
    """Take the next task and answer it; return how many were done."""
    done = 0
    while (resp := api.post(f"/projects/{project.slug}/tasks/next", as_=worker)).status_code == 200:
        task = resp.json()
        body = {
            "item_id": task["item"]["id"],
            "assignment_id": task["assignment_id"],
            "submission_key": uuid.uuid4().hex,
            "answers": [{"question": "quality", "value": score}],
        }
        assert api.post("/submissions", as_=worker, json=body).status_code == 201
        done += 1
    return done


def _paid_project(api: Api, session: Session) -> tuple[Project, User]:
    project = make_project(session, redundancy=2)
    owner = session.get(User, project.owner_id)
    assert owner is not None
    terms = {"mode": "per_task", "rate": "0.25", "currency": "USD"}
    resp = api.request("PUT", f"/projects/{project.slug}/pay-terms", as_=owner, json=terms)
    assert resp.status_code == 200 and resp.json()["rate"] == "0.250000"
    return project, owner


def test_worker_sees_earnings_quality_and_qualifications(api: Api, session: Session) -> None:
    project, _ = _paid_project(api, session)
    gold = make_item(session, project=project, is_gold=True)
    add_gold(session, gold, 5)
    for _ in range(3):
        make_item(session, project=project)
    worker = join(session, project, make_user(session))
    assert _work(api, project, worker, score=5) == 4
    board = api.get("/me/earnings", as_=worker).json()
    [money] = board["earnings"]
    assert money["currency"] == "USD" and Decimal(money["approved"]) == Decimal("1")
    assert Decimal(money["pending"]) == Decimal(money["paid"]) == 0
    [quality] = board["quality"]
    assert quality["submissions"] == 4 and quality["gold_scored"] == 1
    assert quality["gold_accuracy"] == 1.0
    # The worker's own view never names the gold answer.
    assert "5" not in str(board["quality"][0].get("expected", ""))
    ledger = api.get("/me/ledger", as_=worker).json()
    assert len(ledger) == 4 and {e["amount"] for e in ledger} == {"0.250000"}


def test_owner_dashboard_spend_cost_and_projection(api: Api, session: Session) -> None:
    project, owner = _paid_project(api, session)
    for _ in range(5):
        make_item(session, project=project)
    alice = join(session, project, make_user(session))
    assert _work(api, project, alice) == 5
    board = api.get(f"/projects/{project.slug}/dashboard", as_=owner).json()
    assert board["workers"] == 1 and board["active_workers"] == 1
    assert board["accepted_judgments"] == 5
    assert Decimal(board["spend"][0]["approved"]) == Decimal("1.25")
    assert board["cost_per_accepted"] == {"USD": "0.2500"}
    # 5 items x redundancy 2 = 10 judgments needed, 5 done.
    assert board["remaining_judgments"] == 5
    assert board["days_to_finish"] is not None and board["days_to_finish"] > 0
    assert board["cost_to_finish"] == {"USD": "1.25"}
    # Workers may not see what the project spends.
    assert api.get(f"/projects/{project.slug}/dashboard", as_=alice).status_code == 403


def test_bonus_statement_csv_and_paid(api: Api, session: Session) -> None:
    project, owner = _paid_project(api, session)
    make_item(session, project=project)
    worker = join(session, project, make_user(session))
    assert _work(api, project, worker) == 1
    bonus = {
        "worker_id": worker.id,
        "amount": "2.00",
        "reason": "great",
        "idempotency_key": "b" * 12,
    }
    first = api.post(f"/projects/{project.slug}/bonuses", as_=owner, json=bonus)
    again = api.post(f"/projects/{project.slug}/bonuses", as_=owner, json=bonus)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    denied = api.post(f"/projects/{project.slug}/bonuses", as_=worker, json=bonus)
    assert denied.status_code == 403
    bad = api.post(
        f"/projects/{project.slug}/bonuses",
        as_=owner,
        json={**bonus, "amount": "-1", "idempotency_key": None},
    )
    assert error(bad)["code"] == "invalid_input"
    now = utcnow()
    period = {
        "period_start": (now - timedelta(days=7)).isoformat(),
        "period_end": (now + timedelta(minutes=1)).isoformat(),
    }
    made = api.post(f"/projects/{project.slug}/statements", as_=owner, json=period)
    assert made.status_code == 201
    [statement] = made.json()
    assert Decimal(statement["total"]) == Decimal("2.25") and statement["state"] == "open"
    sheet = api.get(f"/statements/{statement['id']}.csv", as_=owner)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert len(rows) == 1 and worker.email in sheet.text
    assert api.get(f"/statements/{statement['id']}.csv", as_=worker).status_code in (403, 404)
    paid = api.post(f"/statements/{statement['id']}/paid", as_=owner, json={"reference": "TX-1"})
    assert paid.status_code == 200 and paid.json()["state"] == "paid"
    board = api.get("/me/earnings", as_=worker).json()
    money = board["earnings"][0]
    assert Decimal(money["paid"]) == Decimal("2.25") and Decimal(money["approved"]) == 0


def test_pay_terms_are_validated(api: Api, session: Session) -> None:
    project, owner = _paid_project(api, session)
    url = f"/projects/{project.slug}/pay-terms"
    bad = api.request("PUT", url, as_=owner, json={"mode": "per_smile", "rate": "1"})
    assert bad.status_code == 422
    neg = api.request("PUT", url, as_=owner, json={"mode": "per_task", "rate": "-1"})
    assert neg.status_code == 422
    assert api.get(url, as_=owner).json()["rate"] == "0.250000"
