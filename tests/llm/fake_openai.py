"""A real local HTTP server that speaks the OpenAI chat-completions protocol, for tests.

It answers deterministically from the request (the same messages, model and seed give
the same text), counts every request, and misbehaves on demand, driven by markers in
the last user message:

- ``[[429]]`` / ``[[429x3]]``: answer 429 with ``Retry-After`` (``[[429x3:0.2]]``: 3
  times, 0.2 s) before answering normally; ``[[500]]`` / ``[[500x2]]`` likewise with 500.
- ``[[always500]]``: answer 500 every time.
- ``[[400]]``: answer 400 (not worth retrying).
- ``[[slow:1.5]]``: wait 1.5 s before answering.
- ``[[badjson]]`` / ``[[badjsonx1]]``: answer 200 with a body that is not JSON.

A test may also set ``server.state.responder`` to a function of the request body that
returns the reply text (the judge tests use it to play a judge), and
``server.state.latency`` to delay every answer. `FakeOpenAI` runs the app with uvicorn
in a thread on 127.0.0.1 and a free port; ``python tests/llm/fake_openai.py --port N``
runs it in a process of its own (the benchmark does).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

MARKER = re.compile(r"\[\[(429|500|badjson)(?:x(\d+))?(?::([\d.]+))?\]\]")
SLOW = re.compile(r"\[\[slow:([\d.]+)\]\]")


@dataclass
class ServerState:
    """What the server has seen, and how it should behave."""

    latency: float = 0.0
    responder: Callable[[dict[str, Any]], str] | None = None
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    prompts: Counter[str] = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    keep_bodies: bool = True
    failures: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget every request and failure count (behaviour settings stay)."""
        with self.lock:
            self.requests = 0
            self.statuses.clear()
            self.prompts.clear()
            self.bodies.clear()
            self.failures.clear()


def last_user_text(body: dict[str, Any]) -> str:
    """The content of the last user message of a chat request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_answer(body: dict[str, Any]) -> str:
    """A deterministic answer: a digest of the request, then the start of the prompt."""
    key = json.dumps([body.get("model"), body.get("messages"), body.get("seed")], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"answer-{digest}: {last_user_text(body)[:60]}"


def _fail_now(state: ServerState, prompt: str) -> tuple[str, int, float] | None:
    """The failure this request should get, if any: (kind, times, retry-after)."""
    if "[[always500]]" in prompt:
        return ("500", 0, 0.0)
    if "[[400]]" in prompt:
        return ("400", 0, 0.0)
    for kind, times, after in MARKER.findall(prompt):
        limit = int(times or 1)
        key = f"{kind}|{prompt}"
        with state.lock:
            if state.failures[key] < limit:
                state.failures[key] += 1
                return (kind, limit, float(after or 0))
    return None


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion_tokens = len(text.split())
    return {
        "id": "chatcmpl-" + hashlib.sha256(text.encode()).hexdigest()[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
App = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]
JSON_HEADERS = [(b"content-type", b"application/json")]


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [*JSON_HEADERS, (b"content-length", b"%d" % len(body)), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _chat(state: ServerState, body: dict[str, Any], send: Send) -> None:
    prompt = last_user_text(body)
    with state.lock:
        state.requests += 1
        state.prompts[prompt] += 1
        if state.keep_bodies:
            state.bodies.append(body)
    delay = state.latency + sum(float(s) for s in SLOW.findall(prompt))
    if delay:
        await asyncio.sleep(delay)
    failure = _fail_now(state, prompt)
    if failure is None:
        text = state.responder(body) if state.responder else default_answer(body)
        status, payload, headers = 200, _json(_completion(body, text)), None
    elif failure[0] == "429":
        error = {"error": {"message": "rate limited", "type": "rate_limit"}}
        status, payload = 429, _json(error)
        headers = [(b"retry-after", f"{failure[2]:g}".encode())]
    elif failure[0] in ("500", "400"):
        status, headers = int(failure[0]), None
        payload = _json({"error": {"message": f"fake {failure[0]}", "type": "server"}})
    else:
        status, payload, headers = 200, b'{"id": "broken", "choices": [', None
    with state.lock:
        state.statuses[status] += 1
    await _respond(send, status, payload, headers)


def make_app(state: ServerState) -> App:
    """The ASGI app: POST /v1/chat/completions, GET /v1/models and GET /stats.

    A plain ASGI callable, no framework: the server stands in for a remote one, and on
    the benchmark's 2 cores its CPU per request (Starlette's routing and middleware
    cost ~20 to 40% more) is taken from the client under test.
    """

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; nothing else is served
        path, method = scope["path"], scope["method"]
        routes = {"/v1/chat/completions": "POST", "/v1/models": "GET", "/stats": "GET"}
        if path not in routes:
            await _respond(send, 404, _json({"detail": "Not Found"}))
        elif method != routes[path] and not (method == "HEAD" and routes[path] == "GET"):
            await _respond(send, 405, _json({"detail": "Method Not Allowed"}))
        elif path == "/v1/chat/completions":
            try:
                body = json.loads(await _read_body(receive))
            except ValueError:
                await _respond(send, 400, _json({"error": {"message": "not JSON"}}))
                return
            await _chat(state, body if isinstance(body, dict) else {}, send)
        elif path == "/v1/models":
            models = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
            await _respond(send, 200, _json(models))
        else:
            with state.lock:
                stats = {"requests": state.requests, "statuses": dict(state.statuses)}
            await _respond(send, 200, _json(stats))

    return app


class FakeOpenAI:
    """The fake server run by uvicorn in a daemon thread on 127.0.0.1 and a free port."""

    def __init__(self, latency: float = 0.0) -> None:
        self.state = ServerState(latency=latency)
        config = uvicorn.Config(
            make_app(self.state), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.port = 0

    def start(self) -> FakeOpenAI:
        """Start serving and wait until the port is bound."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        """The base URL an OpenAI client should use."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


def main() -> None:
    """Run the fake server in the foreground (used by bench/generate.py)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    state = ServerState(latency=args.latency_ms / 1000, keep_bodies=False)
    uvicorn.run(
        make_app(state),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


if __name__ == "__main__":
    main()
