"""Many more workers than the server has threads: everyone is served, nobody waits 30 s.

A real `judgeloop serve` on SQLite and on PostgreSQL, 64 API clients looping 'next
task, submit' at once. Before the admission gate (web/gate.py) this stalled: the 40
handler threads all waited for SQLite's write lock (or a pooled connection) held by a
request that was itself waiting for a thread, until the 30 s timeouts failed them.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
from sqlalchemy import func, select

from judgeloop.services.accounts import create_api_token
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import Submission
from tests.factories import join, make_item, make_project, make_user
from tests.system.live_server import Server

WORKERS = 64
ITEMS = 96
REDUNDANCY = 2
SLOWEST_ALLOWED_S = 15.0  # a stalled request waits 30 s for the lock, then fails


def _work(base: str, token: str, slug: str, slowest: list[float], acked: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=60) as client:
        while True:
            began = time.monotonic()
            nxt = client.post(f"/projects/{slug}/tasks/next")
            slowest.append(time.monotonic() - began)
            if nxt.status_code == 204:
                return
            assert nxt.status_code == 200, nxt.text
            task = nxt.json()
            key = uuid.uuid4().hex
            body = {
                "item_id": task["item"]["id"],
                "assignment_id": task["assignment_id"],
                "submission_key": key,
                "answers": [{"question": "quality", "value": 3}],
            }
            began = time.monotonic()
            sent = client.post("/submissions", json=body)
            slowest.append(time.monotonic() - began)
            assert sent.status_code == 201, sent.text
            acked.append(key)


def test_sixty_four_workers_at_once_all_get_served(committed_db_url: str, server: Server) -> None:
    engine = make_engine(committed_db_url)
    factory = make_sessionmaker(engine)
    with factory() as session:
        owner = make_user(session, role="owner")
        project = make_project(session, owner=owner, redundancy=REDUNDANCY)
        for i in range(ITEMS):
            make_item(session, project=project, prompt=f"rush {i}")
        tokens = [
            create_api_token(session, user=join(session, project, make_user(session)))[1]
            for _ in range(WORKERS)
        ]
        project_id, slug = project.id, project.slug

    server.start()
    latencies: list[float] = []
    acked: list[str] = []
    errors: list[BaseException] = []

    def run(token: str) -> None:
        try:
            _work(server.url, token, slug, latencies, acked)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors[:3]
    assert max(latencies) < SLOWEST_ALLOWED_S, f"a request took {max(latencies):.1f} s"

    with factory() as session:
        per_item = dict(
            session.execute(
                select(Submission.item_id, func.count())
                .where(Submission.project_id == project_id)
                .group_by(Submission.item_id)
            ).all()
        )
        keys = session.scalars(
            select(Submission.submission_key).where(Submission.project_id == project_id)
        ).all()
    engine.dispose()
    assert len(per_item) == ITEMS and set(per_item.values()) == {REDUNDANCY}
    assert sorted(keys) == sorted(acked)
