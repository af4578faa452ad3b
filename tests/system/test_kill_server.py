"""Kill the server process with SIGKILL in the middle of a load, restart it, finish the work.

A real `judgeloop serve` process on SQLite and on PostgreSQL; six API clients loop
'next task, submit', retrying a request with the same idempotency key when the
connection drops, as the SDK does. Nothing acknowledged may be lost, nothing may be
stored or paid twice, and workers holding a lease when the server died get it back.
"""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from judgeloop.services.accounts import create_api_token
from judgeloop.services.pay import set_pay_terms
from judgeloop.services.pay_reconcile import reconcile
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import Assignment, LedgerEntry, Project, Submission
from tests.factories import join, make_item, make_project, make_user
from tests.system.live_server import Server

WORKERS = 6
ITEMS = 24
REDUNDANCY = 2
KILL_AFTER = 12  # acknowledged submissions before the kill
RETRY_FOR_S = 90.0


def _call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send a request, retrying the very same request while the server is down."""
    deadline = time.monotonic() + RETRY_FOR_S
    while True:
        try:
            return client.request(method, url, **kwargs)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _client_loop(base: str, token: str, slug: str, acked: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=30) as client:
        while True:
            nxt = _call(client, "POST", f"/projects/{slug}/tasks/next")
            if nxt.status_code == 204:
                return
            assert nxt.status_code == 200, nxt.text
            task = nxt.json()
            body = {
                "item_id": task["item"]["id"],
                "assignment_id": task["assignment_id"],
                "submission_key": uuid.uuid4().hex,
                "answers": [{"question": "quality", "value": 4}],
            }
            sent = _call(client, "POST", "/submissions", json=body)
            assert sent.status_code in (200, 201), sent.text
            acked.append(body["submission_key"])


def test_killing_the_server_loses_and_duplicates_nothing(
    committed_db_url: str, server: Server
) -> None:
    engine = make_engine(committed_db_url)
    factory = make_sessionmaker(engine)
    with factory() as session:
        owner = make_user(session, role="owner")
        project = make_project(session, owner=owner, redundancy=REDUNDANCY)
        for i in range(ITEMS):
            make_item(session, project=project, prompt=f"crash {i}")
        set_pay_terms(session, project=project, actor=owner, mode="per_task", rate=Decimal("0.10"))
        tokens = []
        for _ in range(WORKERS):
            worker = join(session, project, make_user(session))
            tokens.append(create_api_token(session, user=worker)[1])
        project_id, slug = project.id, project.slug

    server.start()
    acked: list[str] = []
    errors: list[BaseException] = []

    def run(token: str) -> None:
        try:
            _client_loop(server.url, token, slug, acked)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= KILL_AFTER, f"only {len(acked)} submissions before the kill"
    server.kill()
    acked_before_kill = list(acked)
    with factory() as session:  # everything acknowledged before the kill is on disk
        stored = set(session.scalars(select(Submission.submission_key)))
        assert set(acked_before_kill) <= stored
    time.sleep(0.5)
    server.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors

    with factory() as session:
        keys = list(
            session.scalars(
                select(Submission.submission_key).where(Submission.project_id == project_id)
            )
        )
        assert sorted(keys) == sorted(acked)  # every ack stored once, nothing unacknowledged
        per_item = dict(
            session.execute(
                select(Submission.item_id, func.count())
                .where(Submission.project_id == project_id)
                .group_by(Submission.item_id)
            ).all()
        )
        assert len(per_item) == ITEMS and set(per_item.values()) == {REDUNDANCY}
        paid = session.scalar(
            select(func.count()).where(
                LedgerEntry.project_id == project_id, LedgerEntry.kind == "task"
            )
        )
        assert paid == ITEMS * REDUNDANCY
        leased = session.scalar(
            select(func.count()).where(
                Assignment.project_id == project_id, Assignment.state == "leased"
            )
        )
        assert leased == 0
        report = reconcile(session, project=session.get(Project, project_id))
        assert report.ok, report.differences
    engine.dispose()
