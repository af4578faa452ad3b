"""The admission gate: never more than N requests inside the app, the rest wait their turn."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from judgeloop.config import Settings
from judgeloop.web.app import SQLITE_CONCURRENCY, create_app
from judgeloop.web.gate import ConcurrencyGate


class Recorder:
    """An ASGI app that answers after a short wait and records how many ran at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await asyncio.sleep(0.02)
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


async def _fire(
    app: ConcurrencyGate, paths: list[str], method: str = "GET"
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await asyncio.gather(*(client.request(method, p) for p in paths))


def test_at_most_limit_requests_run_at_once_and_all_are_answered() -> None:
    inner = Recorder()
    replies = asyncio.run(_fire(ConcurrencyGate(inner, limit=3), [f"/api/{i}" for i in range(20)]))
    assert [r.text for r in replies] == [f"/api/{i}" for i in range(20)]
    assert inner.most_inside == 3


def test_static_files_and_health_checks_do_not_wait_in_line() -> None:
    inner = Recorder()
    paths = ["/static/a.css"] * 5 + ["/healthz"] * 5
    asyncio.run(_fire(ConcurrencyGate(inner, limit=1), paths))
    assert inner.most_inside == 10


def test_the_gate_works_again_in_a_new_event_loop() -> None:
    inner = Recorder()
    gate = ConcurrencyGate(inner, limit=2)
    for _ in range(2):  # each asyncio.run is a new loop, as each test client's is
        asyncio.run(_fire(gate, ["/x"] * 6))
    assert inner.most_inside == 2


def test_requests_waiting_on_a_model_or_the_sandbox_have_a_lane_of_their_own() -> None:
    inner = Recorder()
    slow = ["/api/v1/projects/p/chat/turns", "/work/p/attack", "/api/v1/items/7/code-runs"]
    gate = ConcurrencyGate(inner, limit=1, slow_limit=2)
    asyncio.run(_fire(gate, slow * 4, method="POST"))
    assert inner.most_inside == 2  # the slow lane's places, not the main one's
    inner.most_inside = 0

    async def both() -> None:
        await asyncio.gather(_fire(gate, slow * 2, method="POST"), _fire(gate, ["/api/v1/me"] * 4))

    asyncio.run(both())
    assert inner.most_inside == 3  # 2 slow + 1 main: a slow model does not block the queue


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ConcurrencyGate(Recorder(), limit=0)


def _gate_limit(settings: Settings) -> int:
    app = create_app(settings)
    gates: list[Any] = [m for m in app.user_middleware if m.cls is ConcurrencyGate]  # type: ignore[comparison-overlap]
    assert len(gates) == 1
    limit: int = gates[0].kwargs["limit"]
    return limit


def test_the_app_gates_sqlite_at_its_default_and_honours_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/gate.db"
    assert _gate_limit(Settings(database_url=url, secret_key="k")) == SQLITE_CONCURRENCY
    assert _gate_limit(Settings(database_url=url, secret_key="k", max_concurrent_requests=9)) == 9
