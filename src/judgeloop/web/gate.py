"""Admission control: at most N requests inside the app at once, the rest wait their turn.

Why: FastAPI runs every sync dependency and handler in a shared pool of 40 threads, and a
request hops between threads (authentication, the handler, the session's close). With
more requests in flight than threads, the threads can all be taken by requests waiting
for a database connection or for SQLite's write lock while the request that holds the
lock waits for a thread to finish in: nothing moves until the 30 s timeouts fire
(measured: 64 HTTP workers on SQLite stalled 30 s with "database is locked" and
"QueuePool limit reached"). Waiting here, on the event loop, holds no thread, no
connection and no lock, so with N below both the thread pool and the connection pool
every admitted request can always finish. Requests queue in arrival order.

Requests that spend seconds waiting on something other than the database (a model's
live answer in red teaming and chats, a sandboxed test run) take a lane of their own
(`slow_limit` places), so that a few slow models cannot hold up everyone's queue.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Receive, Scope, Send

UNGATED_PREFIXES = ("/static/", "/healthz")
# POSTs that wait on a model or the sandbox: chat and attack turns, "Run tests".
SLOW_LANE = re.compile(
    r"^(/api/v1/projects/[^/]+/(red-team/attacks/run|chat/turns)"
    r"|/api/v1/items/\d+/code-runs"
    r"|/work/[^/]+/(attack|chat)"
    r"|/work/assignments/\d+/code-runs"
    r"|/review/submissions/\d+/code-runs)$"
)
DEFAULT_SLOW_LIMIT = 8


class ConcurrencyGate:
    """ASGI middleware letting at most `limit` HTTP requests run the app at a time.

    Slow-lane requests (see `SLOW_LANE`) have `slow_limit` places of their own. Keep
    ``limit + slow_limit`` below FastAPI's 40 threads and the connection pool's size.
    """

    def __init__(self, app: ASGIApp, limit: int, slow_limit: int = DEFAULT_SLOW_LIMIT) -> None:
        if limit < 1 or slow_limit < 1:
            raise ValueError("the concurrency limits must be at least 1")
        self.app = app
        self.limit = limit
        self.slow_limit = slow_limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: tuple[asyncio.Semaphore, asyncio.Semaphore]  # made per event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request once a place is free; static files and health checks skip the line."""
        if scope["type"] != "http" or scope["path"].startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        main, slow = self._lanes_for_this_loop()
        slow_lane = scope["method"] == "POST" and SLOW_LANE.match(scope["path"]) is not None
        async with slow if slow_lane else main:
            await self.app(scope, receive, send)

    def _lanes_for_this_loop(self) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        # A semaphore belongs to the event loop it first waited on; test clients start a
        # loop of their own, so each loop gets its own (one loop serves a real server).
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._lanes = (asyncio.Semaphore(self.limit), asyncio.Semaphore(self.slow_limit))
        return self._lanes
