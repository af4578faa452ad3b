"""`judgeloop serve --workers N`: several processes on one port, one database, one key."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import psutil
import pytest
import uvicorn.supervisors

from judgeloop.cli import serve
from judgeloop.cli.serve import settings_environment
from judgeloop.config import Settings
from judgeloop.store.engine import make_engine, make_sessionmaker
from tests.factories import PASSWORD, make_user
from tests.system.live_server import Server


def test_two_worker_processes_serve_the_same_users(committed_db_url: str, tmp_path: Path) -> None:
    engine = make_engine(committed_db_url)
    with make_sessionmaker(engine)() as session:
        email = make_user(session).email
    engine.dispose()
    server = Server(committed_db_url, tmp_path, "--workers", "2")
    server.start()
    try:
        assert server.proc is not None
        children = psutil.Process(server.proc.pid).children(recursive=True)
        assert len([c for c in children if "spawn_main" in " ".join(c.cmdline())]) == 2
        with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as client:
            login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            replies = [client.get("/me", headers=headers) for _ in range(20)]
        assert {r.status_code for r in replies} == {200}
        assert {r.json()["email"] for r in replies} == {email}
    finally:
        server.stop()


def test_worker_processes_get_the_settings_and_one_secret_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_concurrent_requests=3)
    env = settings_environment(settings)
    key = (tmp_path / "secret_key").read_text().strip()
    assert env["JUDGELOOP_SECRET_KEY"] == key
    assert env["JUDGELOOP_MAX_CONCURRENT_REQUESTS"] == "3"
    rebuilt = Settings(**{k.removeprefix("JUDGELOOP_").lower(): v for k, v in env.items()})
    assert rebuilt.resolved_database_url() == settings.resolved_database_url()
    assert rebuilt.resolved_secret_key() == key


def test_the_shared_socket_turns_nagle_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without TCP_NODELAY each response of a multi-process server waited ~40 ms for the
    # client's delayed ACK; accepted connections inherit the listening socket's option.
    seen: list[int] = []

    class Supervisor:
        def __init__(self, config: object, sockets: list[socket.socket]) -> None:
            self.sockets = sockets

        def run(self) -> None:
            for sock in self.sockets:
                seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                sock.close()

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    serve._serve_processes(2, {"host": "127.0.0.1", "port": 0, "log_level": "warning"})
    assert seen and all(seen)
