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
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

UNGATED_PREFIXES = ("/static/", "/healthz")


class ConcurrencyGate:
    """ASGI middleware letting at most `limit` HTTP requests run the app at a time."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.app = app
        self.limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request once a slot is free; static files and health checks skip the line."""
        if scope["type"] != "http" or scope["path"].startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        async with self._semaphore_for_this_loop():
            await self.app(scope, receive, send)

    def _semaphore_for_this_loop(self) -> asyncio.Semaphore:
        # A semaphore belongs to the event loop it first waited on; test clients start a
        # loop of their own, so each loop gets its own (one loop serves a real server).
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.limit)
        return self._semaphore
