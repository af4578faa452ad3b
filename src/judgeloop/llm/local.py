"""A local Hugging Face causal language model as a chat backend.

`transformers` and `torch` are imported inside the functions, so judgeloop imports
without them. The model loads on first use from a local directory (never from the Hub:
``local_files_only``) and generates one answer at a time in a worker thread, so the event
loop stays free. Parameters read from the config: ``max_tokens`` (default 256),
``temperature`` (default 1.0; 0 means greedy decoding), ``top_p``, ``seed`` and
``device`` (default: ``cuda`` when available, else ``cpu``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from judgeloop.llm.backends import ChatReply
from judgeloop.llm.config import EndpointConfig, Message, with_system


def format_plain(messages: Sequence[Message]) -> str:
    """Render a conversation for a tokenizer without a chat template."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join([*lines, "assistant:"])


class TransformersBackend:
    """Generate with a local transformers causal LM directory."""

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = self.config.local_path or ""
        wanted = self.config.params.get("device")
        self._device = str(wanted or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        self._model = model.to(self._device).eval()

    def _prompt(self, messages: Sequence[Message]) -> str:
        tokenizer = self._tokenizer
        if getattr(tokenizer, "chat_template", None):
            return str(
                tokenizer.apply_chat_template(
                    list(messages), tokenize=False, add_generation_prompt=True
                )
            )
        return format_plain(messages)

    def _generation_kwargs(self, seed: int | None) -> dict[str, Any]:
        import torch

        params = self.config.params
        temperature = float(params.get("temperature", 1.0))
        kwargs: dict[str, Any] = {"max_new_tokens": int(params.get("max_tokens", 256))}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature)
            if params.get("top_p") is not None:
                kwargs["top_p"] = float(params["top_p"])
            if seed is not None:
                torch.manual_seed(seed)
        else:
            kwargs["do_sample"] = False
        tokenizer = self._tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else None
        kwargs["pad_token_id"] = pad if pad is not None else tokenizer.eos_token_id
        return kwargs

    def generate(self, messages: Sequence[Message], seed: int | None = None) -> ChatReply:
        """Generate one answer, blocking; the system prompt is added here."""
        import torch

        start = time.monotonic()
        with self._lock:
            self._load()
            text = self._prompt(with_system(self.config.system_prompt, messages))
            encoded = self._tokenizer(text, return_tensors="pt").to(self._device)
            kwargs = self._generation_kwargs(seed)
            with torch.no_grad():
                output = self._model.generate(**encoded, **kwargs)
            prompt_len = int(encoded["input_ids"].shape[1])
            new = output[0, prompt_len:]
            answer = self._tokenizer.decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= kwargs["max_new_tokens"] else "stop"
        return ChatReply(
            text=answer,
            prompt_tokens=prompt_len,
            completion_tokens=len(new),
            finish_reason=finish,
            attempts=1,
            latency_s=time.monotonic() - start,
        )

    async def complete(self, messages: Sequence[Message], *, seed: int | None = None) -> ChatReply:
        """Generate in a worker thread; a failure becomes a failed reply, not an exception."""
        try:
            return await asyncio.to_thread(self.generate, messages, seed)
        except Exception as exc:
            return ChatReply(error=f"{type(exc).__name__}: {exc}"[:2000], attempts=1)

    async def aclose(self) -> None:
        """Drop the model so its memory can be freed."""
        self._model = None
        self._tokenizer = None
