"""Chat backends: one call in, one `ChatReply` out, never an exception.

`OpenAIBackend` talks to any OpenAI-compatible chat-completions server through the
`openai` package's `AsyncOpenAI` client, with the client's own retries turned off
(``max_retries=0``) and judgeloop's retry loop instead (see `retry.py`), a per-request
timeout, and token counts from the response's ``usage``. Every parameter of the model
(``temperature``, ``max_tokens``, ``top_k`` for vLLM, ...) goes into the request body, as
does an ``extra_body`` dict. `make_backend` picks the
backend for a config; the local transformers one lives in `local.py`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from judgeloop.llm.config import (
    EndpointConfig,
    Message,
    request_params,
    resolve_api_key,
    with_system,
)
from judgeloop.llm.retry import RetryPolicy, is_retryable_status, parse_retry_after

Sleep = Callable[[float], Awaitable[None]]


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


def classify_error(exc: Exception) -> _Failure:
    """Say whether a failed request is worth retrying, why it failed, and any Retry-After."""
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
    if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError):
        return _Failure(True, f"malformed response: {exc}"[:2000])
    return _Failure(False, f"{type(exc).__name__}: {exc}"[:2000])


class OpenAIBackend:
    """An OpenAI-compatible chat-completions endpoint, with judgeloop's retry loop."""

    def __init__(
        self,
        config: EndpointConfig,
        *,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self._api_key = api_key if api_key is not None else resolve_api_key(config)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
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

    async def complete(self, messages: Sequence[Message], *, seed: int | None = None) -> ChatReply:
        """Call the endpoint, retrying what is worth retrying; never raise (but cancel).

        The body goes through `AsyncOpenAI.post` (the SDK's documented call for any
        endpoint) and the JSON answer is read as it is: the client's base URL, auth,
        timeout and error types without building pydantic models, which costs about a
        third less CPU per call.
        """
        client = self._get_client()
        body = self._body(messages, seed)
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = await client.post("/chat/completions", body=body, cast_to=bytes)
                response = json.loads(raw)
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
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None


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
