"""Where one 'next task, submit' pair spends its time: each SQL statement and commit, timed.

    .venv/bin/python bench/queue_statements.py [--pairs 200] [--backend postgresql|sqlite]

Runs the queue and submission services in-process (no HTTP) on a fresh database
(PostgreSQL: the `jl_bench_statements` database at 127.0.0.1:5432 is dropped and
created again), times every statement with SQLAlchemy's cursor events and every
commit, and prints the total per pair, the count and the median of each statement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [
    p for p in sys.path if Path(p or ".").resolve() != HERE
]  # bench/queue.py shadows queue
sys.path.insert(0, str(HERE.parent))

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from tests.factories import join, make_item, make_project, make_user

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jl_bench_statements"


def _database(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/statements.db"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS jl_bench_statements"))
        conn.execute(text("CREATE DATABASE jl_bench_statements"))
    admin.dispose()
    return PG_URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    engine = make_engine(_database(args.backend))
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        project = make_project(s, redundancy=1)
        for i in range(args.pairs + 10):
            make_item(s, project=project, prompt=f"q{i}")
        worker = join(s, project, make_user(s))
    times: dict[str, list[float]] = defaultdict(list)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *_: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Connection, _c: Any, statement: str, *_: Any) -> None:
        times[" ".join(statement.split())[:80]].append(time.perf_counter() - conn.info["t0"])

    original = Connection._commit_impl

    def timed_commit(self: Connection) -> None:
        t0 = time.perf_counter()
        original(self)
        times["COMMIT"].append(time.perf_counter() - t0)

    Connection._commit_impl = timed_commit  # type: ignore[method-assign]
    started = time.perf_counter()
    with factory() as s:
        for _ in range(args.pairs):
            lease = lease_next_assignment(s, project=project, worker=worker)
            assert lease is not None
            data = SubmissionCreate(
                item_id=lease.item_id,
                assignment_id=lease.id,
                submission_key=uuid.uuid4().hex,
                answers=[AnswerIn(question="quality", value=3)],
            )
            submit_judgment(s, worker=worker, data=data)
    wall = (time.perf_counter() - started) / args.pairs
    table = Table(title=f"{args.backend}: one next+submit pair, {args.pairs} pairs")
    for col in ("ms per pair", "per pair", "median ms", "statement"):
        table.add_column(col, justify="right" if col != "statement" else "left")
    rows = sorted(times.items(), key=lambda kv: -sum(kv[1]))
    for name, spent in rows[:20]:
        per_pair = sum(spent) * 1000 / args.pairs
        table.add_row(
            f"{per_pair:.2f}",
            f"{len(spent) / args.pairs:.1f}",
            f"{statistics.median(spent) * 1000:.2f}",
            name,
        )
    console = Console(width=160)
    console.print(table)
    statements = sum(len(v) for k, v in times.items() if k != "COMMIT") / args.pairs
    console.print(f"wall per pair {wall * 1000:.1f} ms; {statements:.1f} statements per pair")


if __name__ == "__main__":
    main()
