"""The lean HTTP client and OpenAIBackend's use of it, against scripted raw servers."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import Awaitable, Callable

import pytest

from judgeloop.llm.backends import OpenAIBackend
from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.lean_http import HTTPConnectionError, LeanHTTP, proxy_for
from judgeloop.llm.retry import RetryPolicy
from tests.llm.fake_openai import FakeOpenAI

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK_BODY = json.dumps(
    {
        "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
).encode()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """Read one request: its head and its body (Content-Length framed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


async def serve(handler: Handler, test: Callable[[str], Awaitable[None]]) -> None:
    """Run `test(base_url)` against a raw server on a free port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()  # also when the loop ends first and cancels the handler

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await test(f"http://127.0.0.1:{port}/v1")
    finally:
        server.close()


def _response(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    head = [b"HTTP/1.1 " + status, b"Content-Type: application/json", *extra]
    if not any(h.lower().startswith(b"transfer-encoding") for h in extra):
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def test_chunked_gzip_and_close_delimited_bodies_are_read() -> None:
    gz = gzip.compress(OK_BODY)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (gz[:10], gz[10:])) + b"0\r\n\r\n"
    answers = [
        _response(chunked, b"Transfer-Encoding: chunked", b"Content-Encoding: gzip"),
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK_BODY,
    ]
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while answers:
            await read_request(reader)
            answer = answers.pop(0)
            writer.write(answer)
            if answer.startswith(b"HTTP/1.0"):
                break  # the end of the connection ends the body
        writer.close()

    async def test(url: str) -> None:
        client = LeanHTTP(url)
        first = await client.post("/chat/completions", b"{}")
        second = await client.post("/chat/completions", b"{}")
        assert first.status == second.status == 200
        assert first.body == second.body == OK_BODY
        await client.aclose()

    asyncio.run(serve(handler, test))
    assert connections == 1  # the chunked answer kept the connection alive


def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        heads.append(head)
        writer.write(_response(OK_BODY))
        await writer.drain()
        writer.close()  # keep-alive announced, then dropped: the client finds out later

    async def test(url: str) -> None:
        client = LeanHTTP(url, headers={"Authorization": "Bearer k"})
        for _ in range(3):
            assert (await client.post("/chat/completions", b"{}")).status == 200
            await asyncio.sleep(0.05)
        await client.aclose()

    asyncio.run(serve(handler, test))
    assert len(heads) == 3
    assert heads[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer k\r\n" in heads[0]


def test_a_request_dropped_unanswered_on_a_pooled_connection_is_sent_again() -> None:
    served: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await read_request(reader)
            writer.write(_response(OK_BODY))
            await read_request(reader)
            served.append(1)
        writer.close()  # the keep-alive race: the second request is dropped unanswered

    async def test(url: str) -> None:
        client = LeanHTTP(url)
        for _ in range(2):
            assert (await client.post("/chat/completions", b"{}")).body == OK_BODY
        await client.aclose()

    asyncio.run(serve(handler, test))
    assert served == [1]  # the retry went to a second connection, which answered


def test_garbage_and_refused_connections_raise_connection_errors() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        writer.close()

    async def test(url: str) -> None:
        with pytest.raises(HTTPConnectionError, match="not an HTTP answer"):
            await LeanHTTP(url).post("/x", b"{}")
        with pytest.raises(HTTPConnectionError, match="cannot connect"):
            await LeanHTTP("http://127.0.0.1:9/v1").post("/x", b"{}")

    asyncio.run(serve(handler, test))


def test_backend_sends_the_key_reads_errors_and_retries_broken_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BENCH_KEY", "sekret")
    answers = [
        _response(b'{"error": {"message": "slow down"}}', b"Retry-After: 0.01", status=b"429 X"),
        _response(b'{"choices": ['),
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",  # breaks off mid-body
        _response(OK_BODY),
    ]
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head, _ = await read_request(reader)
            heads.append(head)
            answer = answers.pop(0)
            writer.write(answer)
            if b"short" in answer:
                break
        writer.close()

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def test(url: str) -> None:
        config = EndpointConfig(kind="openai", model="m", base_url=url, api_key_env="BENCH_KEY")
        backend = OpenAIBackend(config, retry=RetryPolicy(max_attempts=5, jitter=0), sleep=sleep)
        assert backend.client_kind == "lean"
        reply = await backend.complete([{"role": "user", "content": "hi"}])
        await backend.aclose()
        assert reply.ok and reply.text == "hi" and reply.attempts == 4
        assert (reply.prompt_tokens, reply.completion_tokens) == (3, 1)

    asyncio.run(serve(handler, test))
    assert waits == [0.01, 1.0, 2.0]
    assert all(b"\r\nAuthorization: Bearer sekret\r\n" in head for head in heads)


def test_error_statuses_carry_the_servers_message(fake_server: FakeOpenAI) -> None:
    config = EndpointConfig(kind="openai", model="m", base_url=fake_server.base_url)

    async def ask() -> tuple[str | None, int]:
        backend = OpenAIBackend(config)
        reply = await backend.complete([{"role": "user", "content": "[[400]] hi"}])
        await backend.aclose()
        return reply.error, reply.attempts

    assert asyncio.run(ask()) == ("HTTP 400: fake 400", 1)


def test_one_backend_serves_one_event_loop_after_another(fake_server: FakeOpenAI) -> None:
    config = EndpointConfig(kind="openai", model="m", base_url=fake_server.base_url)
    backend = OpenAIBackend(config)

    async def ask() -> bool:
        try:
            return (await backend.complete([{"role": "user", "content": "hi"}])).ok
        finally:
            await backend.aclose()  # on the loop that made the calls, as ChatBackend asks

    assert asyncio.run(ask()) and asyncio.run(ask())
    assert fake_server.state.requests == 2


def test_the_openai_sdk_client_stays_available(fake_server: FakeOpenAI) -> None:
    config = EndpointConfig(kind="openai", model="m", base_url=fake_server.base_url)

    async def ask(text: str) -> tuple[bool, str | None]:
        backend = OpenAIBackend(config, client="openai", retry=RetryPolicy(base_delay=0.01))
        try:
            reply = await backend.complete([{"role": "user", "content": text}])
        finally:
            await backend.aclose()
        return reply.ok, reply.error

    assert asyncio.run(ask("[[badjsonx1]] hi")) == (True, None)
    ok, error = asyncio.run(ask("[[400]] hi"))
    assert not ok and error is not None and error.startswith("HTTP 400")


def test_a_proxy_in_the_environment_selects_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "localhost")
    assert proxy_for("https://api.example.com/v1") == "http://proxy.example:3128"
    assert proxy_for("https://localhost/v1") is None
    config = EndpointConfig(kind="openai", model="m", base_url="https://api.example.com/v1")
    assert OpenAIBackend(config).client_kind == "openai"
    assert OpenAIBackend(config, client="lean").client_kind == "lean"


def test_a_key_that_cannot_go_in_a_header_fails_the_call_not_the_run() -> None:
    config = EndpointConfig(kind="openai", model="m", base_url="http://127.0.0.1:9/v1")
    reply = asyncio.run(OpenAIBackend(config, api_key="clé").complete([]))
    assert not reply.ok and reply.error is not None and "ASCII" in reply.error
    assert reply.attempts == 0
