"""Generation throughput: prompts through the real generation service against a slow server.

    .venv/bin/python bench/generate.py
    .venv/bin/python bench/generate.py --prompts 1000 --concurrency 32 --latency-ms 20 --runs 3

The fake OpenAI-compatible server of the tests (tests/llm/fake_openai.py) runs in a
process of its own on a free 127.0.0.1 port and answers every request after
`--latency-ms`. A SQLite database (migrated to head, in a temporary folder) holds one
project per run with `--prompts` items and a model version registered on that server.
Each run times `services.generation.generate_answers(..., concurrency=C)` from the call
to its return: every answer stored as a Candidate with its Generation row, committed in
batches while the calls run. The bound is prompts x latency / concurrency (the time the
calls would take with no overhead at all). More rows help read the figure:

- *client only*: the same calls through the same backend (`OpenAIBackend` with its
  default lean HTTP client and judgeloop's retry loop) and the same runner, with no
  database: what the HTTP client and server cost by themselves (`--runs` runs);
- *client only, openai SDK*: the same with ``client="openai"`` (the `openai` package's
  `AsyncOpenAI`), to show what the lean client saves (`--sdk-runs` runs, 0 to skip);
- *resume*: the first project generated again: every key is stored, so no call is made.

Each row gives this process's CPU seconds (HTTP client, event loop, database writes)
and the fake server's apart: the server stands in for a remote machine, so its CPU is
an artefact of running both on one host. Results print as a table and go to
bench/.out/generate.json (with the load average, since the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from sqlalchemy.orm import Session

from judgeloop.llm.backends import ClientKind, OpenAIBackend
from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.runner import run_bounded
from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services.accounts import create_user
from judgeloop.services.generation import generate_answers
from judgeloop.services.model_versions import register_model
from judgeloop.services.projects import create_project
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import Item

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / ".out"
QUESTIONS = [{"key": "quality", "kind": "rating", "title": "How good?", "config": {}}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, str(ROOT / "tests" / "llm" / "fake_openai.py")),
            *("--port", str(port), "--latency-ms", str(latency_ms)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the fake server did not start")


def server_requests(root: str) -> int:
    return int(httpx.get(f"{root}/stats", timeout=5).json()["requests"])


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class Meter:
    """Wall time, and CPU seconds of this process and of the server, over a block."""

    def __init__(self, server: psutil.Process) -> None:
        self.me, self.server = psutil.Process(), server

    def __enter__(self) -> Meter:
        self.t0 = time.perf_counter()
        self.c0, self.s0 = cpu_seconds(self.me), cpu_seconds(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu_seconds(self.me) - self.c0
        self.server_cpu = cpu_seconds(self.server) - self.s0

    def figures(self) -> dict[str, float]:
        return {"wall_s": self.wall, "cpu_s": self.cpu, "server_cpu_s": self.server_cpu}


def make_projects(session: Session, n_projects: int, prompts: int) -> list[int]:
    owner = create_user(
        session,
        data=UserCreate(
            email="bench@example.org", name="Bench", role="owner", password="bench pass 123"
        ),
    )
    ids = []
    for run in range(n_projects):
        project = create_project(
            session,
            owner=owner,
            data=ProjectCreate(slug=f"bench-{run}", name=f"Bench {run}", questions=QUESTIONS),
        )
        rows = [
            {
                "project_id": project.id,
                "prompt": f"Run {run}, prompt {i}: say something about the number {i}.",
                "content_hash": uuid.uuid4().hex,
                "created_at": utcnow(),
            }
            for i in range(prompts)
        ]
        session.execute(insert(Item), rows)
        session.commit()
        ids.append(project.id)
    return ids


def client_only(
    config: EndpointConfig,
    prompts: int,
    concurrency: int,
    server: psutil.Process,
    client: ClientKind = "auto",
) -> dict[str, float]:
    if client == "openai":
        import openai  # noqa: F401  (imported before the clock starts: ~0.5 s)

    backend = OpenAIBackend(config, client=client)
    jobs = [[{"role": "user", "content": f"client-only prompt {i}"}] for i in range(prompts)]
    replies: list[Any] = []

    async def main() -> None:
        replies.append(await backend.complete([{"role": "user", "content": "warm up"}]))
        try:
            await run_bounded(
                jobs,
                backend.complete,
                concurrency=concurrency,
                emit=lambda _job, reply: replies.append(reply),
            )
        finally:
            await backend.aclose()

    with Meter(server) as meter:
        asyncio.run(main())
    assert all(r.ok for r in replies) and len(replies) == prompts + 1
    return meter.figures()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sdk-runs", type=int, default=1, help="runs with the openai SDK client")
    args = parser.parse_args()
    console = Console(width=120)
    server, root = start_server(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_all(args, root, Path(tmp) / "bench.db", psutil.Process(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=10)
    show(console, result)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {OUT / 'generate.json'}")
    return 0 if result["ok"] else 1


def run_all(
    args: argparse.Namespace, root: str, db: Path, server: psutil.Process
) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    config = EndpointConfig(kind="openai", model="bench", base_url=f"{root}/v1", timeout_s=30)
    clients = sorted(
        (client_only(config, args.prompts, args.concurrency, server) for _ in range(args.runs)),
        key=lambda m: m["wall_s"],
    )
    sdk = sorted(
        (
            client_only(config, args.prompts, args.concurrency, server, client="openai")
            for _ in range(args.sdk_runs)
        ),
        key=lambda m: m["wall_s"],
    )
    runs: list[dict[str, Any]] = []
    with make_sessionmaker(engine)() as session:
        projects = make_projects(session, args.runs, args.prompts)
        register_model(session, name="bench-model", config=config)
        for project_id in projects:
            before = server_requests(root)
            with Meter(server) as meter:
                report = generate_answers(
                    session,
                    project_id=project_id,
                    models=["bench-model"],
                    concurrency=args.concurrency,
                )
            runs.append(
                {
                    **meter.figures(),
                    "ok": report.ok,
                    "failed": report.failed,
                    "server_requests": server_requests(root) - before,
                }
            )
        before = server_requests(root)
        with Meter(server) as resume:
            resumed = generate_answers(session, project_id=projects[0], models=["bench-model"])
        resume_requests = server_requests(root) - before
    engine.dispose()
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    ok = all(r["ok"] == args.prompts and r["server_requests"] == args.prompts for r in runs)
    return {
        "prompts": args.prompts,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "bound_s": args.prompts * args.latency_ms / 1000 / args.concurrency,
        "client_only_runs": clients,
        "client_only_best": clients[0],
        "client_only_median": clients[len(clients) // 2],
        "http_client": OpenAIBackend(config).client_kind,
        "sdk_client_only_runs": sdk,
        "sdk_client_only_best": sdk[0] if sdk else None,
        "service_runs": runs,
        "service_best": ordered[0],
        "service_median": ordered[len(ordered) // 2],
        "resume": {**resume.figures(), "skipped": resumed.skipped, "requests": resume_requests},
        "ok": ok and resume_requests == 0,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
    }


def show(console: Console, r: dict[str, Any]) -> None:
    table = Table(
        title=f"{r['prompts']} prompts, concurrency {r['concurrency']}, "
        f"{r['latency_ms']:g} ms latency (SQLite)"
    )
    for col in ("what", "wall s", "x bound", "calls/s", "cpu s", "server cpu s", "requests"):
        table.add_column(col, justify="left" if col == "what" else "right")
    bound = r["bound_s"]
    table.add_row("bound: prompts x latency / concurrency", f"{bound:.3f}", "1.00", *[""] * 4)

    def row(what: str, m: dict[str, Any], requests: int) -> None:
        wall = m["wall_s"]
        rate = f"{requests / wall:,.0f}" if requests else "-"
        table.add_row(
            what,
            f"{wall:.3f}",
            f"{wall / bound:.2f}",
            rate,
            f"{m['cpu_s']:.2f}",
            f"{m['server_cpu_s']:.2f}",
            str(requests),
        )

    kind = r["http_client"]
    row(f"client only ({kind} client, no database), best", r["client_only_best"], r["prompts"])
    row(f"client only ({kind} client, no database), median", r["client_only_median"], r["prompts"])
    if r["sdk_client_only_best"]:
        row("client only (openai SDK client), best run", r["sdk_client_only_best"], r["prompts"])
    row("generate_answers, best run", r["service_best"], r["service_best"]["server_requests"])
    row("generate_answers, median run", r["service_median"], r["service_median"]["server_requests"])
    row(f"resume: all {r['resume']['skipped']} keys stored", r["resume"], r["resume"]["requests"])
    console.print(table)
    load = ", ".join(f"{x:.2f}" for x in r["loadavg"])
    status = "all answers stored, one request each" if r["ok"] else "CHECK FAILED"
    console.print(f"{r['cpus']} CPUs, load average {load}; {status}")
    per_call = r["service_median"]["cpu_s"] / r["prompts"] * 1000
    per_request = r["service_median"]["server_cpu_s"] / r["prompts"] * 1000
    console.print(
        f"generate_answers (median run): {per_call:.3f} ms of client CPU per call "
        f"(HTTP client, event loop, database writes), {per_request:.3f} ms of fake-server "
        "CPU per request. On a busy machine wall time exceeds both."
    )


if __name__ == "__main__":
    sys.exit(main())
