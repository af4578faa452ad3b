"""How to reach a model version, and the hashes that identify what it was asked.

An `EndpointConfig` describes an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp
server, hosted APIs) or a local transformers directory. Its `params` are sent with every
request (``temperature``, ``max_tokens``, ``top_p``, ``seed``, ...), except the prices,
which only feed the cost accounting:

- ``price_per_1k_prompt`` and ``price_per_1k_completion``: cost per 1,000 tokens;
- ``price_per_1k``: both at once (the two above win when given).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgeloop.errors import InvalidInput

PRICE_KEYS = ("price_per_1k", "price_per_1k_prompt", "price_per_1k_completion")
LOCAL_KEYS = ("device",)
"""Parameters only the local backend reads (and no request carries)."""
NO_KEY = "not-needed"
"""What the client sends as API key when the config names no variable (local servers)."""

Message = dict[str, Any]


class EndpointConfig(BaseModel):
    """How to call one model version.

    Attributes:
        kind: ``openai`` (any OpenAI-compatible chat-completions server) or
            ``transformers`` (a local Hugging Face causal LM directory).
        model: The model name the endpoint expects (openai kind).
        base_url: The endpoint's base URL, e.g. ``http://localhost:8000/v1``; empty
            means the client's default (api.openai.com).
        api_key_env: The NAME of the environment variable holding the API key; the key
            itself is never stored.
        local_path: The model directory (transformers kind).
        system_prompt: Sent as the first message of every conversation.
        params: Sampling parameters sent with each request, plus prices (see module).
        timeout_s: Seconds one request may take before it is retried.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["openai", "transformers"]
    model: str = Field("", max_length=200)
    base_url: str | None = Field(None, max_length=500)
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
    local_path: str | None = Field(None, max_length=1000)
    system_prompt: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(60.0, gt=0, le=3600)

    @field_validator("params")
    @classmethod
    def _check_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        for key in PRICE_KEYS:
            value = params.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise ValueError(f"{key} must be a number of 0 or more, got {value!r}")
        json.dumps(params)  # must be storable as JSON
        return params

    @model_validator(mode="after")
    def _check_kind(self) -> EndpointConfig:
        if self.kind == "openai":
            if not self.model:
                raise ValueError("an openai endpoint needs the model name (--model-name)")
            if self.base_url and not self.base_url.startswith(("http://", "https://")):
                raise ValueError(f"base_url must start with http:// or https://: {self.base_url}")
        elif not self.local_path:
            raise ValueError("a transformers model needs local_path (the model directory)")
        return self


def request_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the parameters sent with a request: all but the prices and local settings."""
    return {k: v for k, v in params.items() if k not in PRICE_KEYS and k not in LOCAL_KEYS}


def canonical_hash(value: Any) -> str:
    """Return the SHA-256 hex digest of `value` as canonical JSON (sorted keys)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def params_hash(config: EndpointConfig) -> str:
    """Identify what shapes a model's output: model, system prompt and sampling parameters.

    The base URL, timeout, API key variable and prices are left out: moving a server or
    changing a price does not change what the model answers.
    """
    target = config.model if config.kind == "openai" else (config.local_path or "")
    return canonical_hash(
        {
            "kind": config.kind,
            "model": target,
            "system_prompt": config.system_prompt,
            "params": request_params(config.params),
        }
    )


def item_messages(prompt: str, messages: Sequence[Any] | None) -> list[Message]:
    """Return an item's conversation as chat messages: its messages, or its prompt."""
    if messages:
        out: list[Message] = []
        for message in messages:
            if isinstance(message, Mapping) and "content" in message:
                role = str(message.get("role", "user"))
                out.append({"role": role, "content": message["content"]})
        if out:
            return out
    return [{"role": "user", "content": prompt}]


def prompt_hash(messages: Sequence[Message]) -> str:
    """Identify what a model was asked (the item's messages, without the system prompt)."""
    return canonical_hash(list(messages))


def with_system(system_prompt: str, messages: Sequence[Message]) -> list[Message]:
    """Put the system prompt first, unless the conversation already starts with one."""
    if not system_prompt or (messages and messages[0].get("role") == "system"):
        return list(messages)
    return [{"role": "system", "content": system_prompt}, *messages]


def cost_of(prompt_tokens: int, completion_tokens: int, params: Mapping[str, Any]) -> float:
    """Return what a call cost from its token counts and the prices in `params`."""
    both = float(params.get("price_per_1k") or 0.0)
    prompt_price = params.get("price_per_1k_prompt")
    completion_price = params.get("price_per_1k_completion")
    p = both if prompt_price is None else float(prompt_price)
    c = both if completion_price is None else float(completion_price)
    return (prompt_tokens * p + completion_tokens * c) / 1000.0


def resolve_api_key(config: EndpointConfig, environ: Mapping[str, str] | None = None) -> str:
    """Read the API key from the environment variable the config names.

    Raises:
        InvalidInput: When the variable is named but not set.
    """
    if not config.api_key_env:
        return NO_KEY
    env = os.environ if environ is None else environ
    key = env.get(config.api_key_env)
    if not key:
        raise InvalidInput(
            f"the environment variable {config.api_key_env} (the model's API key) is not set"
        )
    return key
