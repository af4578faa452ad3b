"""Endpoint configs, hashes, costs, and the retry policy (pure functions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import ValidationError

from judgeloop.errors import InvalidInput
from judgeloop.llm.config import (
    NO_KEY,
    EndpointConfig,
    cost_of,
    item_messages,
    params_hash,
    prompt_hash,
    request_params,
    resolve_api_key,
    with_system,
)
from judgeloop.llm.retry import RetryPolicy, is_retryable_status, parse_retry_after


def _cfg(**kw: object) -> EndpointConfig:
    fields: dict[str, object] = {"kind": "openai", "model": "m", "base_url": "http://h/v1"}
    fields.update(kw)
    return EndpointConfig.model_validate(fields)


def test_configs_are_checked() -> None:
    with pytest.raises(ValidationError, match="model name"):
        EndpointConfig(kind="openai")
    with pytest.raises(ValidationError, match="local_path"):
        EndpointConfig(kind="transformers")
    with pytest.raises(ValidationError, match="http"):
        _cfg(base_url="localhost:8000")
    with pytest.raises(ValidationError, match="price_per_1k"):
        _cfg(params={"price_per_1k": -1})
    with pytest.raises(ValidationError):
        _cfg(api_key_env="NOT A NAME")
    with pytest.raises(ValidationError):
        _cfg(kind="anthropic")


def test_the_params_hash_covers_what_shapes_the_output_only() -> None:
    base = _cfg(params={"temperature": 0.7})
    same = [
        _cfg(params={"temperature": 0.7, "price_per_1k": 3.0}),
        _cfg(params={"temperature": 0.7}, base_url="http://elsewhere/v1", timeout_s=5),
        _cfg(params={"temperature": 0.7}, api_key_env="KEY"),
    ]
    other = [
        _cfg(params={"temperature": 0.8}),
        _cfg(params={"temperature": 0.7}, system_prompt="Be brief."),
        _cfg(params={"temperature": 0.7}, model="m2"),
    ]
    assert all(params_hash(c) == params_hash(base) for c in same)
    assert len({params_hash(c) for c in [base, *other]}) == 4
    assert request_params({"temperature": 1, "price_per_1k_prompt": 2, "device": "cpu"}) == {
        "temperature": 1
    }


def test_prompts_messages_and_costs() -> None:
    assert item_messages("hi", None) == [{"role": "user", "content": "hi"}]
    convo = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert item_messages("ignored", convo) == convo
    assert prompt_hash(item_messages("hi", None)) != prompt_hash(item_messages("hi!", None))
    assert with_system("S", convo)[0] == {"role": "system", "content": "S"}
    assert with_system("", convo) == convo
    system_first = [{"role": "system", "content": "own"}, *convo]
    assert with_system("S", system_first) == system_first
    assert cost_of(1000, 500, {"price_per_1k": 2.0}) == pytest.approx(3.0)
    prices = {"price_per_1k": 9.0, "price_per_1k_prompt": 1.0, "price_per_1k_completion": 4.0}
    assert cost_of(2000, 1000, prices) == pytest.approx(6.0)
    assert cost_of(10, 10, {}) == 0.0


def test_api_keys_come_from_the_named_variable_only() -> None:
    assert resolve_api_key(_cfg(), {}) == NO_KEY
    assert resolve_api_key(_cfg(api_key_env="MY_KEY"), {"MY_KEY": "sk-1"}) == "sk-1"
    with pytest.raises(InvalidInput, match="MY_KEY"):
        resolve_api_key(_cfg(api_key_env="MY_KEY"), {})
    assert "sk-" not in _cfg(api_key_env="MY_KEY").model_dump_json()


def test_backoff_doubles_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.5)
    rng = random.Random(0)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full * 0.3  # jitter spreads the retries
    assert RetryPolicy(jitter=0.0, base_delay=0.5).delay(2, None, rng) == 1.0


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    rng = random.Random(0)
    assert policy.delay(1, 3.5, rng) == 3.5
    assert policy.delay(5, 0.0, rng) == 0.0
    assert policy.delay(1, 120.0, rng) == 10.0


def test_retry_after_headers() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30.0)
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
