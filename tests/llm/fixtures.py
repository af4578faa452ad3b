"""Fixtures and helpers for model tests: the fake OpenAI-compatible server, models.

tests/llm/conftest.py makes the fixtures available there; test modules elsewhere import
`fake_server_fixture` and `fake_server_session_fixture` (the fixtures are named
``fake_server`` and ``fake_server_session``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from judgeloop.llm.backends import ChatBackend, make_backend
from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.retry import RetryPolicy
from judgeloop.services.model_versions import register_model
from tests.llm.fake_openai import FakeOpenAI


@pytest.fixture(scope="session", name="fake_server_session")
def fake_server_session_fixture() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(name="fake_server")
def fake_server_fixture(fake_server_session: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake server with fresh counters, no latency and no responder."""
    server = fake_server_session
    server.state.reset()
    server.state.latency = 0.0
    server.state.responder = None
    yield server
    server.state.responder = None
    server.state.latency = 0.0


def register_fake(
    session: Session,
    server: FakeOpenAI,
    name: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    system_prompt: str = "",
    timeout_s: float = 5.0,
) -> str:
    """Register a model version on the fake server; return its name."""
    name = name or f"fake-{uuid.uuid4().hex[:8]}"
    register_model(
        session,
        name=name,
        config=EndpointConfig(
            kind="openai",
            model="fake-model",
            base_url=server.base_url,
            params=params or {},
            system_prompt=system_prompt,
            timeout_s=timeout_s,
        ),
    )
    return name


FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.5)


def fast_backends(config: EndpointConfig) -> ChatBackend:
    """Backends that retry quickly (tests need no real backoff)."""
    return make_backend(config, retry=FAST_RETRY)
