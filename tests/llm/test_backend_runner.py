"""OpenAIBackend against the fake server, and the bounded-concurrency runner."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from judgeloop.llm.backends import ChatReply, OpenAIBackend
from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.retry import RetryPolicy
from judgeloop.llm.runner import BackgroundRun, run_bounded
from tests.llm.fake_openai import FakeOpenAI


def _backend(server: FakeOpenAI, waits: list[float], **params: object) -> OpenAIBackend:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    config = EndpointConfig(
        kind="openai", model="fake", base_url=server.base_url, params=dict(params), timeout_s=2
    )
    policy = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=5.0, jitter=0.0)
    return OpenAIBackend(config, retry=policy, sleep=record)


async def _ask(backend: OpenAIBackend, text: str, seed: int | None = None) -> ChatReply:
    try:
        return await backend.complete([{"role": "user", "content": text}], seed=seed)
    finally:
        await backend.aclose()


def test_a_429_waits_as_long_as_the_server_asks(fake_server: FakeOpenAI) -> None:
    waits: list[float] = []
    reply = asyncio.run(_ask(_backend(fake_server, waits), "[[429x2:1.5]] hello"))
    assert reply.ok and reply.attempts == 3
    assert waits == [1.5, 1.5]


def test_server_errors_back_off_exponentially_then_give_up(fake_server: FakeOpenAI) -> None:
    waits: list[float] = []
    reply = asyncio.run(_ask(_backend(fake_server, waits), "[[always500]] hello"))
    assert not reply.ok and reply.attempts == 3
    assert reply.error is not None
    assert "HTTP 500" in reply.error and "after 3 attempts" in reply.error
    assert waits == [0.1, 0.2]


def test_client_errors_are_not_retried(fake_server: FakeOpenAI) -> None:
    waits: list[float] = []
    reply = asyncio.run(_ask(_backend(fake_server, waits), "[[400]] hello"))
    assert not reply.ok and reply.attempts == 1 and waits == []


def test_parameters_reach_the_server_unknown_ones_in_the_body(fake_server: FakeOpenAI) -> None:
    backend = _backend(
        fake_server, [], temperature=0.3, max_tokens=7, top_k=5, price_per_1k=2.0, seed=1
    )
    reply = asyncio.run(_ask(backend, "hi", seed=11))
    assert reply.ok and reply.prompt_tokens == 1 and reply.finish_reason == "stop"
    body = fake_server.state.bodies[-1]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 7 and body["top_k"] == 5
    assert body["seed"] == 11 and "price_per_1k" not in body


def test_run_bounded_keeps_to_its_concurrency() -> None:
    running = peak = 0
    done: list[int] = []

    async def work(job: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (job % 3))
        running -= 1
        return job * 2

    asyncio.run(
        run_bounded(range(50), work, concurrency=4, emit=lambda job, r: done.append(r - job))
    )
    assert peak == 4 and sorted(done) == list(range(50))


def test_background_results_come_in_batches_and_cancel_stops_the_rest() -> None:
    started: list[int] = []

    async def work(job: int) -> int:
        started.append(job)
        await asyncio.sleep(0.01)
        return job

    with BackgroundRun(list(range(10)), work, concurrency=5) as run:
        got = [job for batch in run.batches() for job, _ in batch]
    assert sorted(got) == list(range(10))

    started.clear()
    closed = threading.Event()

    async def close() -> None:
        closed.set()

    with (
        pytest.raises(KeyboardInterrupt),
        BackgroundRun(list(range(1000)), work, concurrency=2, closers=[close]) as run,
    ):
        for _batch in run.batches():
            raise KeyboardInterrupt
    time.sleep(0.05)
    assert len(started) < 50 and closed.is_set()


def test_an_exception_in_the_work_reaches_the_caller() -> None:
    async def work(job: int) -> int:
        if job == 3:
            raise ValueError("boom")
        return job

    with (
        pytest.raises(ValueError, match="boom"),
        BackgroundRun(list(range(6)), work, concurrency=1) as run,
    ):
        for _ in run.batches():
            pass
