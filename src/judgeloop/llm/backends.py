"""Chat backends: one call in, one `ChatReply` out, never an exception.

`OpenAIBackend` talks to any OpenAI-compatible chat-completions server with judgeloop's
retry loop (see `retry.py`), a per-request timeout, and token counts from the
response's ``usage``. Every parameter of the model (``temperature``, ``max_tokens``,
``top_k`` for vLLM, ...) goes into the request body, as does an ``extra_body`` dict.

By default it posts through `lean_http.LeanHTTP`, a small keep-alive HTTP/1.1 client,
and reads the JSON itself: on the 2-core benchmark machine (bench/generate.py, 1,000
calls at concurrency 32) that costs ~0.07 ms of CPU per call, against ~0.9 to 1.2 ms
through the `openai` package's `AsyncOpenAI` (httpx, httpcore, h11, anyio and the SDK's
request handling) and ~3 ms through a plain shared `httpx.AsyncClient` (httpcore 1.0's
pool scans every connection on each request). The `openai` client is still used when a
proxy applies to the endpoint (``HTTPS_PROXY``, ...: the lean client does not do
proxies) or when asked for (``client="openai"``). `make_backend` picks the backend for a
config; the local transformers one lives in `local.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from judgeloop.llm.config import (
    EndpointConfig,
    Message,
    request_params,
    resolve_api_key,
    with_system,
)
from judgeloop.llm.lean_http import HTTPConnectionError, LeanHTTP, proxy_for
from judgeloop.llm.retry import RetryPolicy, is_retryable_status, parse_retry_after

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_IN_FLIGHT = 1024
"""The lean client's cap on requests in flight per backend. The runner's concurrency is
the real bound; the pool keeps as many keep-alive connections as calls run at once."""


@dataclass
class ChatReply:
    """What one model call (with its retries) came to.

    Attributes:
        text: The answer's text; None when the call failed.
        error: Why the call failed after its retries; None when it succeeded.
        prompt_tokens: Tokens of the prompt, from the response's usage.
        completion_tokens: Tokens of the answer, from the response's usage.
        finish_reason: Why the model stopped (``stop``, ``length``, ...).
        attempts: Requests made, retries included.
        latency_s: Seconds from the first request to the outcome, waits included.
    """

    text: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    attempts: int = 0
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the call produced an answer."""
        return self.error is None


class ChatBackend(Protocol):
    """A model that answers chat messages."""

    async def complete(self, messages: Sequence[Message], *, seed: int | None = None) -> ChatReply:
        """Answer `messages` (the system prompt is added by the backend); never raise."""
        ...

    async def aclose(self) -> None:
        """Release connections or memory; called once, on the loop that made the calls."""
        ...


@dataclass(frozen=True)
class _Failure:
    retryable: bool
    reason: str
    retry_after: float | None = None


class StatusError(Exception):
    """The server answered with an error status (the lean client's counterpart of the SDK's)."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.headers = status, message, headers


def classify_error(exc: Exception) -> _Failure:
    """Say whether a failed request is worth retrying, why it failed, and any Retry-After."""
    if isinstance(exc, StatusError):
        return _Failure(
            is_retryable_status(exc.status),
            str(exc)[:2000],
            parse_retry_after(exc.headers),
        )
    if isinstance(exc, TimeoutError):
        return _Failure(True, "the request timed out")
    if isinstance(exc, HTTPConnectionError):
        return _Failure(True, f"connection error: {exc}"[:2000])
    if isinstance(exc, ValueError):  # json.JSONDecodeError, UnicodeDecodeError
        return _Failure(True, f"malformed response: {exc}"[:2000])
    import openai

    if isinstance(exc, openai.APIStatusError):
        headers = dict(exc.response.headers) if exc.response is not None else {}
        return _Failure(
            is_retryable_status(exc.status_code),
            f"HTTP {exc.status_code}: {exc.message}"[:2000],
            parse_retry_after(headers),
        )
    if isinstance(exc, openai.APITimeoutError):
        return _Failure(True, "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return _Failure(True, f"connection error: {exc.__cause__ or exc}"[:2000])
    if isinstance(exc, openai.APIResponseValidationError):
        return _Failure(True, f"malformed response: {exc}"[:2000])
    return _Failure(False, f"{type(exc).__name__}: {exc}"[:2000])


def _error_message(body: bytes) -> str:
    """The ``error.message`` of an error response, else the start of its body."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str) and message:
            return message
        if isinstance(data.get("detail"), str):
            return str(data["detail"])
    return body[:500].decode("utf-8", "replace") or "(empty body)"


ClientKind = Literal["auto", "lean", "openai"]


class OpenAIBackend:
    """An OpenAI-compatible chat-completions endpoint, with judgeloop's retry loop.

    Args:
        config: The endpoint.
        retry: How failed calls are retried.
        api_key: The key (default: read from the variable the config names).
        sleep: Waits between attempts (tests record them instead).
        rng: Draws the backoff jitter.
        client: ``lean`` (`lean_http.LeanHTTP`), ``openai`` (the SDK's `AsyncOpenAI`),
            or ``auto``: lean, unless the environment sets a proxy for the endpoint.
    """

    def __init__(
        self,
        config: EndpointConfig,
        *,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        client: ClientKind = "auto",
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self._api_key = api_key if api_key is not None else resolve_api_key(config)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if client == "auto":
            client = "openai" if proxy_for(self.base_url) else "lean"
        self.client_kind: ClientKind = client
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            if self.client_kind == "lean":
                auth = {"Authorization": f"Bearer {self._api_key}"}
                self._client = LeanHTTP(self.base_url, headers=auth, max_connections=MAX_IN_FLIGHT)
            else:
                from openai import AsyncOpenAI

                self._client = AsyncOpenAI(
                    base_url=self.config.base_url or None,
                    api_key=self._api_key,
                    max_retries=0,
                    timeout=self.config.timeout_s,
                )
        return self._client

    def _body(self, messages: Sequence[Message], seed: int | None) -> dict[str, Any]:
        """The request body: model, messages, then every request parameter."""
        params = request_params(self.config.params)
        extra = params.pop("extra_body", None) or {}
        if seed is not None:
            params["seed"] = seed
        messages = with_system(self.config.system_prompt, messages)
        return {"model": self.config.model, "messages": messages, **params, **extra}

    async def _post(self, body: dict[str, Any], encoded: bytes) -> Any:
        """One request; the parsed JSON answer, or an exception `classify_error` reads.

        Through the `openai` SDK, the body goes to `AsyncOpenAI.post` (its documented
        call for any endpoint) and comes back as bytes: no pydantic models are built.
        """
        client = self._get_client()
        if self.client_kind == "openai":
            return json.loads(await client.post("/chat/completions", body=body, cast_to=bytes))
        async with asyncio.timeout(self.config.timeout_s):
            response = await client.post("/chat/completions", encoded)
        if not 200 <= response.status < 300:
            raise StatusError(response.status, _error_message(response.body), response.headers)
        return json.loads(response.body)

    async def complete(self, messages: Sequence[Message], *, seed: int | None = None) -> ChatReply:
        """Call the endpoint, retrying what is worth retrying; never raise (but cancel)."""
        try:
            self._get_client()
        except ValueError as exc:  # a header the lean client cannot send
            return ChatReply(error=f"cannot call {self.base_url}: {exc}"[:2000])
        body = self._body(messages, seed)
        encoded = json.dumps(body).encode() if self.client_kind == "lean" else b""
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._post(body, encoded)
            except Exception as exc:
                failure = classify_error(exc)
                if not failure.retryable or attempt >= self.retry.max_attempts:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    return ChatReply(
                        error=failure.reason + tries,
                        attempts=attempt,
                        latency_s=time.monotonic() - start,
                    )
                await self._sleep(self.retry.delay(attempt, failure.retry_after, self._rng))
                continue
            return _reply(response, attempt, time.monotonic() - start)

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await (client.aclose() if self.client_kind == "lean" else client.close())


def _reply(response: Any, attempts: int, latency: float) -> ChatReply:
    """Read a chat-completions JSON answer."""
    data = response if isinstance(response, dict) else {}
    usage = data.get("usage") or {}
    reply = ChatReply(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        attempts=attempts,
        latency_s=latency,
    )
    choices = data.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        reply.error = "the response has no choices"
        return reply
    choice = choices[0]
    reply.finish_reason = choice.get("finish_reason")
    text = (choice.get("message") or {}).get("content")
    if not isinstance(text, str):
        reply.error = f"the model returned no text (finish_reason {reply.finish_reason!r})"
    else:
        reply.text = text
    return reply


def make_backend(config: EndpointConfig, *, retry: RetryPolicy | None = None) -> ChatBackend:
    """Return the backend for a config: OpenAI-compatible, or local transformers."""
    if config.kind == "transformers":
        from judgeloop.llm.local import TransformersBackend

        return TransformersBackend(config)
    return OpenAIBackend(config, retry=retry)
