"""Import and export throughput: judgeloop on SQLite and PostgreSQL, side by side with Label Studio.

    .venv/bin/python bench/import_export.py                         # 100,000 items, all of it
    .venv/bin/python bench/import_export.py --items 20000 --no-label-studio

What it measures, on the same generated file (prompt ~300 characters, two answers ~800
characters each, model names, an id and a domain per row):

- judgeloop: `import_items` of the JSONL file (items/s), with the process's RSS sampled
  every 20 ms, and read at each progress step, to show memory stays flat however big
  the file; `export_dataset` of the items as JSONL (items/s); then `export_dataset` of
  the submissions of 50,000 judged items (rows/s; the submissions are bulk-inserted
  first and not timed).
- Label Studio (unless --no-label-studio): installed into its own venv in
  bench/.peers/label-studio, started on a free 127.0.0.1 port, the same items imported
  through ``POST /api/projects/{id}/import`` in chunks, then exported through
  ``GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true``.

Results print as a table and go to bench/.out/import_export.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from judgeloop.export.labelstudio import label_config
from judgeloop.export.mapping import ColumnMapping
from judgeloop.questions.base import check_questions
from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services.accounts import create_user
from judgeloop.services.exports import export_dataset
from judgeloop.services.imports import import_items
from judgeloop.services.projects import create_project
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import Judgment, Submission, User

ROOT = Path(__file__).resolve().parent
OUT = ROOT / ".out"
PEERS = ROOT / ".peers"
QUESTIONS = [
    {"key": "quality", "kind": "rating", "title": "How good is the answer?", "per_candidate": True}
]
MAPPING = ColumnMapping(
    prompt="prompt",
    answers=["answer_a", "answer_b"],
    model_columns=["model_a", "model_b"],
    id="id",
    metadata=["domain"],
)
console = Console(width=150)


# ---------------------------------------------------------------- data


def _texts(rng: random.Random, n: int, length: int) -> list[str]:
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)
    ]
    out = []
    for _ in range(n):
        parts: list[str] = []
        size = 0
        while size < length:
            parts.append(rng.choice(words))
            size += len(parts[-1]) + 1
        out.append(" ".join(parts)[:length])
    return out


def generate(path: Path, n: int) -> None:
    """Write `n` rows (prompt ~300 chars, two answers ~800 chars) to a JSONL file."""
    rng = random.Random(0)
    prompts, answers = _texts(rng, 2000, 300), _texts(rng, 4000, 800)
    domains = ["math", "code", "writing", "science", "history"]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = {
                "id": f"bench-{i}",
                "prompt": f"[{i}] {rng.choice(prompts)}",
                "answer_a": rng.choice(answers),
                "answer_b": rng.choice(answers),
                "model_a": "model-a-v1",
                "model_b": "model-b-v2",
                "domain": domains[i % len(domains)],
            }
            fh.write(json.dumps(row) + "\n")


# ---------------------------------------------------------------- judgeloop


class RssSampler:
    """Samples this process's resident memory every 20 ms in a thread."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.marks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, label: str) -> None:
        rss = self.proc.memory_info().rss
        self.peak = max(self.peak, rss)
        self.marks[label] = rss


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.0f} MB"


def _database_url(backend: str, pg_url: str) -> str:
    if backend == "sqlite":
        db = OUT / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "judgeloop_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "judgeloop_bench"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + "/judgeloop_bench"


def _import(session: Session, path: Path, n: int) -> tuple[Any, Any, dict[str, Any]]:
    owner = create_user(
        session, data=UserCreate(email="owner@bench.invalid", role="owner", password="x" * 12)
    )
    project = create_project(
        session, owner=owner, data=ProjectCreate(slug="bench", name="Bench", questions=QUESTIONS)
    )
    quarters = {n * q // 4: f"{25 * q}%" for q in (1, 2, 3, 4)}

    def progress(done: int) -> None:
        for at, label in quarters.items():
            if done >= at and label not in sampler.marks:
                sampler.mark(label)

    with RssSampler() as sampler:
        start = time.perf_counter()
        report = import_items(
            session, project=project, actor=owner, path=path, mapping=MAPPING, on_progress=progress
        )
        seconds = time.perf_counter() - start
    assert report.items_added == n, report
    memory = {
        "rss_before": sampler.base,
        "rss_peak": sampler.peak,
        **{f"rss_at_{k}": v for k, v in sampler.marks.items()},
    }
    return owner, project, {"import_s": seconds, "import_per_s": n / seconds, **memory}


def _judge(session: Session, project_id: int, judged: int) -> int:
    """Bulk-insert one submission (two judgments) for each of the first `judged` items."""
    now = utcnow()
    workers = [
        {
            "email": f"w{i}@bench.invalid",
            "name": f"w{i}",
            "role": "worker",
            "is_active": True,
            "created_at": now,
        }
        for i in range(20)
    ]
    session.execute(insert(User), workers)
    worker_ids = list(session.scalars(select(User.id).where(User.email.like("w%@bench.invalid"))))
    item_ids = list(
        session.scalars(
            text("SELECT id FROM items WHERE project_id = :p ORDER BY id LIMIT :n"),
            {"p": project_id, "n": judged},
        )
    )
    for start in range(0, len(item_ids), 5000):
        chunk = item_ids[start : start + 5000]
        subs = [
            {
                "submission_key": uuid.uuid4().hex, "project_id": project_id, "item_id": item_id,
                "worker_id": worker_ids[i % len(worker_ids)], "guideline_version": 1,
                "seconds_spent": 30.0 + i % 90, "state": "submitted", "source": "bench",
                "explanation": "", "created_at": now,
            }
            for i, item_id in enumerate(chunk, start)
        ]  # fmt: skip
        rows = session.execute(
            insert(Submission).returning(Submission.id, Submission.item_id), subs
        )
        judgments = [
            {
                "submission_id": sid,
                "question_key": "quality",
                "candidate_key": key,
                "kind": "rating",
                "value": 1 + (sid + ord(key)) % 5,
                "explanation": "",
            }
            for sid, _ in rows
            for key in ("A", "B")
        ]
        session.execute(insert(Judgment), judgments)
    session.commit()
    return len(item_ids)


def run_judgeloop(backend: str, url: str, path: Path, n: int, judged: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        owner, project, result = _import(session, path, n)
        console.print(f"\\[{backend}] imported {n:,} items in {result['import_s']:.1f} s")
        out = OUT / f"items-{backend}.jsonl"
        start = time.perf_counter()
        record = export_dataset(
            session, project=project, actor=owner, what="items", format="jsonl", path=out
        )
        result["export_items_per_s"] = record.row_count / (time.perf_counter() - start)
        result["judged"] = _judge(session, project.id, judged)
        out = OUT / f"submissions-{backend}.jsonl"
        start = time.perf_counter()
        record = export_dataset(
            session, project=project, actor=owner, what="submissions", format="jsonl", path=out
        )
        result["export_submissions_per_s"] = record.row_count / (time.perf_counter() - start)
        assert record.row_count == result["judged"]
    engine.dispose()
    return result


# ---------------------------------------------------------------- Label Studio


def _ls_python() -> Path:
    venv = PEERS / "label-studio"
    python = venv / "bin" / "python"
    if not (venv / "bin" / "label-studio").exists():
        console.print("installing Label Studio into bench/.peers/label-studio (about a minute)...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "label-studio"], check=True)
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_label_studio(port: int, token: str) -> subprocess.Popen[bytes]:
    binary = _ls_python().parent / "label-studio"
    data_dir = PEERS / "ls-data"
    shutil.rmtree(data_dir, ignore_errors=True)  # a fresh instance for every run
    log = (OUT / "label-studio.log").open("wb")
    cmd = [
        str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port),
        "--data-dir", str(data_dir), "--username", "bench@bench.invalid",
        "--password", secrets.token_hex(8), "--user-token", token, "--enable-legacy-api-token",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("Label Studio exited; see bench/.out/label-studio.log")
        time.sleep(1)
    _stop(proc)
    raise RuntimeError("Label Studio did not answer /health within 300 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the process started above
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _ls_tasks(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            data = {"prompt": row["prompt"], "external_id": row["id"]}
            data.update({"answer_A": row["answer_a"], "answer_B": row["answer_b"]})
            data.update({"model_A": row["model_a"], "model_B": row["model_b"]})
            yield {"data": data}


def run_label_studio(path: Path, n: int, chunk: int = 5000) -> dict[str, Any]:
    port, token = _free_port(), secrets.token_hex(20)
    start = time.perf_counter()
    proc = _start_label_studio(port, token)
    result: dict[str, Any] = {"start_s": time.perf_counter() - start}
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Token {token}"},
            timeout=3600,
        )
        specs, _ = check_questions(QUESTIONS)
        created = client.post(
            "/api/projects",
            json={"title": "bench", "label_config": label_config(specs, ["A", "B"])},
        )
        created.raise_for_status()
        pid = created.json()["id"]
        start = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for task in _ls_tasks(path):
            batch.append(task)
            if len(batch) == chunk:
                client.post(f"/api/projects/{pid}/import", json=batch).raise_for_status()
                batch = []
        if batch:
            client.post(f"/api/projects/{pid}/import", json=batch).raise_for_status()
        result["import_s"] = time.perf_counter() - start
        result["import_per_s"] = n / result["import_s"]
        start = time.perf_counter()
        export = client.get(
            f"/api/projects/{pid}/export",
            params={"exportType": "JSON", "download_all_tasks": "true"},
        )
        export.raise_for_status()
        result["export_s"] = time.perf_counter() - start
        result["exported"] = len(export.json())
        result["export_items_per_s"] = result["exported"] / result["export_s"]
        result["server_rss"] = (
            sum(p.memory_info().rss for p in psutil.Process(proc.pid).children(recursive=True))
            + psutil.Process(proc.pid).memory_info().rss
        )
    finally:
        _stop(proc)
    return result


# ---------------------------------------------------------------- report


def report(results: dict[str, dict[str, Any]], n: int, file_bytes: int) -> None:
    table = Table(title=f"Import / export of {n:,} items ({_mb(file_bytes)} JSONL)")
    table.add_column("system")
    for col in (
        "import items/s",
        "export items/s",
        "export submissions/s",
        "RSS before → peak",
        "RSS at 25/50/75/100%",
    ):
        table.add_column(col, justify="right")
    for name, r in results.items():
        marks = " / ".join(_mb(r[f"rss_at_{q}%"]) for q in (25, 50, 75, 100) if f"rss_at_{q}%" in r)
        table.add_row(
            name,
            f"{r['import_per_s']:,.0f}",
            f"{r['export_items_per_s']:,.0f}",
            f"{r['export_submissions_per_s']:,.0f} ({r['judged']:,})" if "judged" in r else "-",
            f"{_mb(r['rss_before'])} → {_mb(r['rss_peak'])}"
            if "rss_peak" in r
            else (_mb(r["server_rss"]) + " (server)" if "server_rss" in r else "-"),
            marks or "-",
        )
    console.print(table)
    ls = results.get("Label Studio")
    if ls:
        for name, r in results.items():
            if name != "Label Studio":
                imports = r["import_per_s"] / ls["import_per_s"]
                exports = r["export_items_per_s"] / ls["export_items_per_s"]
                console.print(
                    f"judgeloop on {name} vs Label Studio: import x{imports:.1f}, "
                    f"export x{exports:.1f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--judged", type=int, default=50_000)
    parser.add_argument("--label-studio", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"items-{args.items}.jsonl"
    if not path.exists():
        console.print(f"generating {args.items:,} items into {path}...")
        generate(path, args.items)
    judged = min(args.judged, args.items)
    results: dict[str, dict[str, Any]] = {}
    for backend in ["sqlite", *(["postgresql"] if args.postgres else [])]:
        url = _database_url(backend, args.pg_url)
        results[backend] = run_judgeloop(backend, url, path, args.items, judged)
    if args.label_studio:
        results["Label Studio"] = run_label_studio(path, args.items)
    (OUT / "import_export.json").write_text(
        json.dumps({"items": args.items, "results": results}, indent=2)
    )
    report(results, args.items, path.stat().st_size)


if __name__ == "__main__":
    main()
