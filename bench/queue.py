"""The task queue under load: K workers over HTTP looping 'next task, submit', beside Label Studio.

    .venv/bin/python bench/queue.py                      # SQLite + PostgreSQL, 10k and 1M items,
                                                         # K = 8 and 64, 20 s each, Label Studio
    .venv/bin/python bench/queue.py --sizes 10000 --workers 8 --seconds 5 --no-label-studio

For each backend (a SQLite file; PostgreSQL `judgeloop_bench_queue`, dropped and created
again) and each size it builds a migrated database holding one project (one 1-5 rating
question, redundancy 1) with N items bulk-inserted (COPY on PostgreSQL, one executemany
transaction on SQLite; not measured) and max(K) member workers with API tokens. Each K
runs on a fresh copy of it (CREATE DATABASE ... TEMPLATE `judgeloop_bench_queue_tpl`, or
a file copy) against the real server (`python -m judgeloop serve`) on a free 127.0.0.1
port: K threads, each with its own httpx client and token, loop
``POST /api/v1/projects/{slug}/tasks/next`` and ``POST /api/v1/submissions`` for
`--seconds`, recording every latency. Afterwards the database is checked: no item holds
more than one submission, no (item, worker) pair repeats, every acknowledged submission
is stored. `--done 0.5` first closes half of the items as judged (a project under way).

Label Studio (unless --no-label-studio) runs from its own venv in bench/.peers/label-studio
with its default SQLite: a project with a Rating config and ``maximum_annotations`` 1, the
same first 10,000 items imported, 8 annotators signed up through the sign-up form, the
same loop over ``GET /api/projects/{id}/next`` and ``POST /api/tasks/{id}/annotations/``.
It also counts the tasks it served to more than one annotator.

Results print as a table and go to bench/.out/queue.json (queue-done50.json with
--done 0.5); the exit status is 1 when a judgeloop run had errors or failed a check.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any

# This file is called queue.py, so a script run from bench/ (which puts bench/ first on
# sys.path) would get it for `import queue`. Imported under that name, it hands over the
# standard library's queue and defines nothing else; run as a script, it takes its own
# folder off sys.path before importing anything that might import `queue`.
_HERE = Path(__file__).resolve().parent
_PATH = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if __name__ == "queue":
    _spec = importlib.machinery.PathFinder.find_spec("queue", _PATH)
    assert _spec is not None and _spec.loader is not None
    _stdlib_queue = importlib.util.module_from_spec(_spec)
    sys.modules["queue"] = _stdlib_queue
    _spec.loader.exec_module(_stdlib_queue)
else:
    sys.path[:] = _PATH

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


def _load_import_export() -> Any:
    # Loaded by path rather than by putting bench/ on sys.path (see the note above).
    spec = importlib.util.spec_from_file_location("bench_import_export", _HERE / "import_export.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ != "queue":
    import httpx
    import psutil
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import Engine, create_engine, text
    from sqlalchemy.engine import make_url

    from judgeloop.schemas.accounts import UserCreate
    from judgeloop.schemas.projects import ProjectCreate
    from judgeloop.services.accounts import create_api_token, create_user, hash_password
    from judgeloop.services.projects import add_member, create_project
    from judgeloop.store.engine import make_engine, make_sessionmaker
    from judgeloop.store.migrate import upgrade
    from judgeloop.store.models import User

    _ie = _load_import_export()
    OUT: Path = _ie.OUT
    PEERS: Path = _ie.PEERS
    _free_port = _ie._free_port
    _stop = _ie._stop
    _ls_python = _ie._ls_python
    console = Console(width=170)

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/judgeloop_bench_queue"
LS_ITEMS = 10_000
LS_WORKERS = 8
SLUG = "bench-queue"
QUESTIONS = [
    {
        "key": "quality",
        "kind": "rating",
        "title": "How good is the answer?",
        "config": {"min": 1, "max": 5},
    }
]
LS_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="answer" value="$answer"/>
  <Rating name="quality" toName="answer" maxRating="5"/>
</View>"""


# ---------------------------------------------------------------- items


class Texts:
    """Deterministic item texts: item i has the same prompt and answer in every system."""

    def __init__(self) -> None:
        rng = random.Random(0)
        words = [
            "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
            for _ in range(3000)
        ]

        def para(length: int) -> str:
            parts: list[str] = []
            while sum(len(p) + 1 for p in parts) < length:
                parts.append(rng.choice(words))
            return " ".join(parts)[:length]

        self.prompts = [para(250) for _ in range(1000)]
        self.answers = [para(500) for _ in range(2000)]

    def prompt(self, i: int) -> str:
        return f"[{i}] {self.prompts[i % len(self.prompts)]}"

    def answer(self, i: int) -> str:
        return self.answers[(i * 7919) % len(self.answers)]


def _content_hash(i: int) -> str:
    # Unique per item, in insertion order so that the unique index grows at its end (the
    # value stands in for the sha256 of the content that imports store).
    return f"bench{i:059d}"


def _insert_items_postgres(engine: Engine, project_id: int, n: int, texts: Texts) -> None:
    now = datetime.now(UTC)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur:
            columns = (
                "project_id, external_id, prompt, metadata, content_hash, is_gold, priority, "
                "slots_taken, is_open, created_at"
            )
            with cur.copy(f"COPY items ({columns}) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row(
                        (project_id, f"q-{i}", texts.prompt(i), "{}", _content_hash(i),
                         False, 0, 0, True, now)
                    )  # fmt: skip
            cur.execute("SELECT id FROM items WHERE project_id = %s ORDER BY id", (project_id,))
            ids = [row[0] for row in cur.fetchall()]
            with cur.copy("COPY candidates (item_id, key, position, text) FROM STDIN") as copy:
                for i, item_id in enumerate(ids):
                    copy.write_row((item_id, "A", 0, texts.answer(i)))
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:  # what autovacuum would do a minute later
            cur.execute("ANALYZE items")
            cur.execute("ANALYZE candidates")
    finally:
        raw.close()


def _insert_items_sqlite(engine: Engine, project_id: int, n: int, texts: Texts) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores it
    batch = 100_000
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA cache_size = -400000")  # 400 MB for this loading connection
        cur.execute("BEGIN IMMEDIATE")  # one transaction, executemany in big batches
        for lo in range(0, n, batch):
            cur.executemany(
                "INSERT INTO items (project_id, external_id, prompt, metadata, content_hash, "
                "is_gold, priority, slots_taken, is_open, created_at) "
                "VALUES (?, ?, ?, '{}', ?, 0, 0, 0, 1, ?)",
                [
                    (project_id, f"q-{i}", texts.prompt(i), _content_hash(i), now)
                    for i in range(lo, min(n, lo + batch))
                ],
            )
        cur.execute("SELECT id FROM items WHERE project_id = ? ORDER BY id", (project_id,))
        ids = [row[0] for row in cur.fetchall()]
        for lo in range(0, n, batch):
            cur.executemany(
                "INSERT INTO candidates (item_id, key, position, text) VALUES (?, 'A', 0, ?)",
                [(item_id, texts.answer(i)) for i, item_id in enumerate(ids[lo : lo + batch], lo)],
            )
        cur.execute("COMMIT")
        cur.close()
    finally:
        raw.close()


def _pg_admin(pg_url: str) -> Engine:
    return create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _template(backend: str, pg_url: str, n: int) -> str:
    """Where the database built once per (backend, size) lives; each run gets a copy."""
    if backend == "sqlite":
        return f"sqlite:///{OUT / f'queue-template-{n}.db'}"
    return (
        make_url(pg_url)
        .set(database=f"{make_url(pg_url).database}_tpl")
        .render_as_string(hide_password=False)
    )


def _drop(backend: str, url: str) -> None:
    if backend == "sqlite":
        db = make_url(url).database
        assert db
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return
    admin = _pg_admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _copy_database(backend: str, template: str, pg_url: str) -> str:
    """A fresh copy of the template: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PG."""
    if backend == "sqlite":
        url = f"sqlite:///{OUT / 'queue.db'}"
        _drop(backend, url)
        source = make_url(template).database
        assert source
        shutil.copyfile(source, OUT / "queue.db")
        return url
    _drop(backend, pg_url)
    admin = _pg_admin(pg_url)
    with admin.connect() as conn:
        conn.execute(
            text(
                f'CREATE DATABASE "{make_url(pg_url).database}" '
                f'TEMPLATE "{make_url(template).database}"'
            )
        )
    admin.dispose()
    return pg_url


@dataclass
class Setup:
    template: str
    project_id: int
    tokens: list[str]
    seconds: float


def setup_judgeloop(
    backend: str,
    pg_url: str,
    n: int,
    k: int,
    texts: Texts,
    done: float = 0.0,
) -> Setup:
    """Build a migrated database with one project, `n` open items and `k` member workers."""
    start = time.perf_counter()
    url = _template(backend, pg_url, n)
    _drop(backend, url)
    if backend == "postgresql":
        admin = _pg_admin(pg_url)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        owner = create_user(
            session, data=UserCreate(email="owner@bench.invalid", role="owner", password="x" * 12)
        )
        project = create_project(
            session,
            owner=owner,
            data=ProjectCreate(slug=SLUG, name="Queue bench", questions=QUESTIONS, redundancy=1),
        )
        # Worker accounts as create_user makes them, but with one argon2 hash shared by
        # all (hashing 64 passwords costs seconds and measures nothing here).
        password_hash = hash_password("x" * 12)
        tokens = []
        for w in range(k):
            user = User(
                email=f"worker{w}@bench.invalid", role="worker", password_hash=password_hash
            )
            session.add(user)
            session.flush()
            add_member(session, project=project, user=user, role="worker")
            tokens.append(create_api_token(session, user=user, name="bench")[1])
        project_id = project.id
    if backend == "postgresql":
        _insert_items_postgres(engine, project_id, n, texts)
    else:
        _insert_items_sqlite(engine, project_id, n, texts)
    if done:
        _mark_done(engine, project_id, int(n * done), k)
    engine.dispose()
    return Setup(url, project_id, tokens, time.perf_counter() - start)


def _mark_done(engine: Engine, project_id: int, m: int, k: int) -> None:
    """Close the project's first `m` items as judged, each by one of the `k` workers.

    The queue sees done work through `items.is_open` and `assignments`, so that is what
    is written (no submissions): 'next' then runs against a project well under way.
    """
    now: Any = datetime.now(UTC)
    if engine.dialect.name == "sqlite":
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    params = {"p": project_id, "m": m, "k": k, "now": now}
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE items SET is_open = false, slots_taken = 1 WHERE project_id = :p "
                "AND id < (SELECT min(id) FROM items WHERE project_id = :p) + :m"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO assignments (project_id, item_id, worker_id, state, leased_at, "
                "expires_at, active_seconds, skip_reason, created_at) "
                "SELECT :p, items.id, w.first + items.id % :k, 'submitted', :now, :now, 0, '', "
                ":now FROM items, (SELECT min(user_id) AS first FROM project_members "
                "WHERE project_id = :p AND role = 'worker') AS w "
                "WHERE items.project_id = :p AND NOT items.is_open"
            ),
            params,
        )
    if engine.dialect.name == "postgresql":
        admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # what autovacuum would have done by then
            conn.execute(text("VACUUM ANALYZE items"))
            conn.execute(text("VACUUM ANALYZE assignments"))
        admin.dispose()


# ---------------------------------------------------------------- load


@dataclass
class WorkerStats:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    done: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    ran_out: bool = False
    served: list[tuple[int, int]] = field(default_factory=list)  # (task, worker)
    accepted: list[int] = field(default_factory=list)  # tasks whose submit succeeded

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _summary(stats: list[WorkerStats], seconds: float) -> dict[str, Any]:
    next_ms = [v for s in stats for v in s.next_ms]
    submit_ms = [v for s in stats for v in s.submit_ms]
    done = sum(s.done for s in stats)
    return {
        "judgments": done,
        "seconds": seconds,
        "judgments_per_s": done / seconds,
        "next_requests": len(next_ms),
        **{f"next_p{q}_ms": _pct(next_ms, q / 100) for q in (50, 95, 99)},
        **{f"submit_p{q}_ms": _pct(submit_ms, q / 100) for q in (50, 95, 99)},
        "next_max_ms": max(next_ms, default=None),
        "errors": sum(s.errors for s in stats),
        "error_samples": [e for s in stats for e in s.error_samples][:10],
        "ran_out": any(s.ran_out for s in stats),
    }


def _drive(workers: list[Any], seconds: float) -> tuple[list[WorkerStats], float]:
    """Run each worker function (stats, deadline) in its own thread, all starting at once."""
    stats = [WorkerStats() for _ in workers]
    barrier = threading.Barrier(len(workers) + 1)
    box: dict[str, float] = {}

    def run(fn: Any, st: WorkerStats) -> None:
        barrier.wait()
        fn(st, box["deadline"])

    threads = [
        threading.Thread(target=run, args=(fn, st), daemon=True)
        for fn, st in zip(workers, stats, strict=True)
    ]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    box["deadline"] = start + seconds
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join(seconds + 180)
    return stats, time.perf_counter() - start


def _judgeloop_worker(base: str, token: str, slug: str) -> Any:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def loop(st: WorkerStats, deadline: float) -> None:
        rng = random.Random(token)
        with client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    r = client.post(f"/api/v1/projects/{slug}/tasks/next")
                except httpx.HTTPError as exc:
                    st.error(f"next: {exc!r}")
                    continue
                st.next_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 204:
                    st.ran_out = True
                    return
                if r.status_code != 200:
                    st.error(f"next {r.status_code}: {r.text}")
                    continue
                task = r.json()
                body = {
                    "item_id": task["item"]["id"],
                    "assignment_id": task["assignment_id"],
                    "submission_key": uuid.uuid4().hex,
                    "answers": [{"question": "quality", "value": rng.randint(1, 5)}],
                    "seconds_spent": 1.0,
                }
                t0 = time.perf_counter()
                try:
                    r = client.post("/api/v1/submissions", json=body)
                except httpx.HTTPError as exc:
                    st.error(f"submit: {exc!r}")
                    continue
                st.submit_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 201:
                    st.done += 1
                else:
                    st.error(f"submit {r.status_code}: {r.text}")

    return loop


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, limit: float) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited; see {log}")
        time.sleep(0.3)
    _stop(proc)
    raise RuntimeError(f"{url} did not answer within {limit:.0f} s; see {log}")


def _rss(proc: subprocess.Popen[bytes]) -> int:
    try:
        parent = psutil.Process(proc.pid)
        return int(
            parent.memory_info().rss
            + sum(c.memory_info().rss for c in parent.children(recursive=True))
        )
    except psutil.Error:
        return 0


def _start_judgeloop(url: str, server_workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    data_dir = OUT / "queue-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUDGELOOP_DATABASE_URL": url, "JUDGELOOP_DATA_DIR": str(data_dir)}
    log_path = OUT / "queue-server.log"
    cmd = [sys.executable, "-m", "judgeloop", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(server_workers)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    _wait_http(f"{base}/healthz", proc, log_path, 120)
    return proc, base


def verify(url: str, project_id: int, acknowledged: int) -> dict[str, Any]:
    """Check the database after a run: never over-filled, never twice to one worker, no loss."""
    engine = make_engine(url)
    with engine.connect() as conn:
        p = {"p": project_id}
        over = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT item_id FROM submissions WHERE project_id = :p "
                "AND state <> 'rejected' GROUP BY item_id HAVING count(*) > 1) t"
            ),
            p,
        )
        pairs = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT item_id, worker_id FROM submissions "
                "WHERE project_id = :p GROUP BY item_id, worker_id HAVING count(*) > 1) t"
            ),
            p,
        )
        slots = conn.scalar(
            text("SELECT count(*) FROM items WHERE project_id = :p AND slots_taken > 1"), p
        )
        stored = conn.scalar(text("SELECT count(*) FROM submissions WHERE project_id = :p"), p)
        judged = conn.scalar(
            text("SELECT count(DISTINCT item_id) FROM submissions WHERE project_id = :p"), p
        )
    engine.dispose()
    ok = over == 0 and pairs == 0 and slots == 0 and stored == acknowledged
    return {
        "items_over_filled": over,
        "item_worker_pairs_repeated": pairs,
        "items_slots_over_redundancy": slots,
        "submissions_stored": stored,
        "submissions_acknowledged": acknowledged,
        "items_judged": judged,
        "checks_ok": ok,
    }


def run_judgeloop(
    backend: str, pg_url: str, setup: Setup, n: int, k: int, seconds: float, server_workers: int = 1
) -> dict[str, Any]:
    """One measured run on a fresh copy of the (backend, size) database, with K workers."""
    url = _copy_database(backend, setup.template, pg_url)
    console.print(f"\\[{backend}] {n:,} items, K={k}: running {seconds:g} s...")
    proc, base = _start_judgeloop(url, server_workers)
    try:
        workers = [_judgeloop_worker(base, token, SLUG) for token in setup.tokens[:k]]
        stats, elapsed = _drive(workers, seconds)
        rss, load = _rss(proc), os.getloadavg()[0]
    finally:
        _stop(proc)
    result = {
        "system": "judgeloop",
        "backend": backend,
        "items": n,
        "workers": k,
        "server_processes": server_workers,
        "setup_s": setup.seconds,
        "server_rss": rss,
        "load_avg_1m": load,
        **_summary(stats, elapsed),
    }
    result.update(verify(url, setup.project_id, result["judgments"]))
    _progress(result)
    return result


# ---------------------------------------------------------------- Label Studio


def _installing(venv: Path) -> bool:
    """Whether a pip process is installing into `venv` (another engineer's run, say)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "pip" in cmdline and str(venv) in cmdline:
            return True
    return False


def _wait_for_install(venv: Path, limit: float = 600) -> None:
    """Another run may be installing Label Studio right now: wait for it, don't race it."""
    binary = venv / "bin" / "label-studio"
    deadline = time.time() + limit
    if _installing(venv) or (venv.exists() and not binary.exists()):
        console.print(f"waiting for the Label Studio install in {venv} to finish...")
    while time.time() < deadline and (_installing(venv) or (venv.exists() and not binary.exists())):
        time.sleep(5)


def _start_label_studio(port: int, token: str) -> subprocess.Popen[bytes]:
    """Like bench/import_export.py, but in a data dir of its own (the two may run at once)."""
    _wait_for_install(PEERS / "label-studio")
    binary = _ls_python().parent / "label-studio"
    data_dir = PEERS / "ls-queue-data"
    shutil.rmtree(data_dir, ignore_errors=True)  # a fresh instance for every run
    log_path = OUT / "label-studio-queue.log"
    cmd = [
        str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port),
        "--data-dir", str(data_dir), "--username", "bench@bench.invalid",
        "--password", uuid.uuid4().hex[:16], "--user-token", token, "--enable-legacy-api-token",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_http(f"http://127.0.0.1:{port}/health", proc, log_path, 300)
    return proc


def _ls_annotator(base: str, i: int) -> str:
    """Sign an annotator up through the form and return their API token."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as web:
        web.get("/user/signup/").raise_for_status()
        csrf = web.cookies.get("csrftoken")
        if not csrf:
            raise RuntimeError("Label Studio's sign-up page set no csrftoken cookie")
        r = web.post(
            "/user/signup/",
            data={
                "email": f"annotator{i}@bench.invalid",
                "password": f"bench-{uuid.uuid4().hex[:12]}",
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": f"{base}/user/signup/"},
        )
        r.raise_for_status()
        token = web.get("/api/current-user/token")
        token.raise_for_status()
        return str(token.json()["token"])


def _ls_worker(base: str, token: str, project_id: int, who: int) -> Any:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=300)

    def loop(st: WorkerStats, deadline: float) -> None:
        rng = random.Random(who)
        with client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    r = client.get(f"/api/projects/{project_id}/next")
                except httpx.HTTPError as exc:
                    st.error(f"next: {exc!r}")
                    continue
                st.next_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 404:
                    st.ran_out = True
                    return
                if r.status_code != 200:
                    st.error(f"next {r.status_code}: {r.text}")
                    continue
                task_id = int(r.json()["id"])
                st.served.append((task_id, who))
                body = {
                    "result": [
                        {"from_name": "quality", "to_name": "answer", "type": "rating",
                         "value": {"rating": rng.randint(1, 5)}}
                    ],
                    "lead_time": 1.0,
                    "project": project_id,
                    "started_at": datetime.now(UTC).isoformat(),
                }  # fmt: skip
                t0 = time.perf_counter()
                try:
                    r = client.post(
                        f"/api/tasks/{task_id}/annotations/", params={"project": project_id},
                        json=body,
                    )  # fmt: skip
                except httpx.HTTPError as exc:
                    st.error(f"submit: {exc!r}")
                    continue
                st.submit_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 201:
                    st.done += 1
                    st.accepted.append(task_id)
                else:
                    st.error(f"submit {r.status_code}: {r.text}")

    return loop


def run_label_studio(seconds: float, texts: Texts) -> dict[str, Any]:
    port, token = _free_port(), uuid.uuid4().hex + uuid.uuid4().hex[:8]
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = _start_label_studio(port, token)
    console.print(f"\\[Label Studio] up in {time.perf_counter() - start:.1f} s; importing...")
    try:
        admin = httpx.Client(
            base_url=base, headers={"Authorization": f"Token {token}"}, timeout=600
        )
        created = admin.post(
            "/api/projects",
            json={"title": "queue bench", "label_config": LS_CONFIG, "maximum_annotations": 1},
        )
        created.raise_for_status()
        project_id = int(created.json()["id"])
        t0 = time.perf_counter()
        for lo in range(0, LS_ITEMS, 5000):
            tasks = [
                {"data": {"prompt": texts.prompt(i), "answer": texts.answer(i), "ref": f"q-{i}"}}
                for i in range(lo, min(LS_ITEMS, lo + 5000))
            ]
            admin.post(f"/api/projects/{project_id}/import", json=tasks).raise_for_status()
        import_s = time.perf_counter() - t0
        tokens = [_ls_annotator(base, i) for i in range(LS_WORKERS)]
        setup_s = time.perf_counter() - start
        console.print(
            f"\\[Label Studio] {LS_ITEMS:,} tasks, {LS_WORKERS} annotators ready in "
            f"{setup_s:.1f} s; running {seconds:g} s..."
        )
        workers = [_ls_worker(base, t, project_id, i) for i, t in enumerate(tokens)]
        stats, elapsed = _drive(workers, seconds)
        rss, load = _rss(proc), os.getloadavg()[0]
        admin.close()
    finally:
        _stop(proc)
    annotators: dict[int, set[int]] = {}
    for st in stats:
        for task_id, who in st.served:
            annotators.setdefault(task_id, set()).add(who)
    accepted: dict[int, int] = {}
    for st in stats:
        for task_id in st.accepted:
            accepted[task_id] = accepted.get(task_id, 0) + 1
    multi = sum(1 for who in annotators.values() if len(who) > 1)
    over = sum(1 for count in accepted.values() if count > 1)
    result = {
        "system": "Label Studio",
        "backend": "sqlite",
        "items": LS_ITEMS,
        "workers": LS_WORKERS,
        "setup_s": setup_s,
        "import_s": import_s,
        "server_rss": rss,
        "load_avg_1m": load,
        **_summary(stats, elapsed),
        "tasks_served": len(annotators),
        "tasks_served_to_several": multi,
        "tasks_served_to_several_pct": 100 * multi / max(1, len(annotators)),
        "tasks_over_filled": over,
    }
    result["checks_ok"] = multi == 0 and over == 0
    _progress(result)
    return result


# ---------------------------------------------------------------- report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _progress(r: dict[str, Any]) -> None:
    console.print(
        f"  -> {r['judgments_per_s']:,.1f} judgments/s, next p50/p95/p99 "
        f"{_ms(r['next_p50_ms'])}/{_ms(r['next_p95_ms'])}/{_ms(r['next_p99_ms'])} ms, submit "
        f"p99 {_ms(r['submit_p99_ms'])} ms, errors {r['errors']}, checks "
        f"{'ok' if r['checks_ok'] else 'FAILED'}"
    )
    for sample in r.get("error_samples", []):
        console.print(f"     error: {sample}")


def _checks(r: dict[str, Any]) -> str:
    if r["system"] == "Label Studio":
        return (
            f"✗ {r['tasks_served_to_several']} of {r['tasks_served']:,} tasks "
            f"({r['tasks_served_to_several_pct']:.1f}%) served to >1"
            if r["tasks_served_to_several"]
            else "✓ none served to >1"
        ) + (f", {r['tasks_over_filled']} over-filled" if r["tasks_over_filled"] else "")
    mark = "✓" if r["checks_ok"] else "✗"
    return (
        f"{mark} max 1/item, no pair twice, {r['submissions_stored']:,} stored"
        if r["checks_ok"]
        else f"{mark} over-filled {r['items_over_filled']}, pairs twice "
        f"{r['item_worker_pairs_repeated']}, stored {r['submissions_stored']:,} of "
        f"{r['submissions_acknowledged']:,}"
    )


def report(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    ls = next((r for r in results if r["system"] == "Label Studio"), None)
    title = f"Task queue: K workers over HTTP looping 'next, submit' for {seconds:g} s"
    table = Table(title=title)
    table.add_column("system")
    table.add_column("db")
    for col in ("items", "K", "judgments", "judgments/s", "vs LS"):
        table.add_column(col, justify="right")
    for col in ("next p50/p95/p99 ms", "submit p50/p95/p99 ms", "errors"):
        table.add_column(col, justify="right")
    table.add_column("checks")
    table.add_column("load", justify="right")
    for r in sorted(results, key=lambda r: r["system"] == "Label Studio"):
        vs = "-"
        if ls and r is not ls and ls["judgments_per_s"]:
            ratio = r["judgments_per_s"] / ls["judgments_per_s"]
            vs = f"x{ratio:,.1f}" if ratio < 10 else f"x{ratio:,.0f}"
        table.add_row(
            r["system"],
            {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[r["backend"]],
            f"{r['items']:,}"
            + (f" ({r['done_before'] / r['items']:.0%} done)" if r.get("done_before") else ""),
            str(r["workers"]),
            f"{r['judgments']:,}",
            f"{r['judgments_per_s']:,.1f}",
            vs,
            " / ".join(_ms(r[f"next_p{q}_ms"]) for q in (50, 95, 99)),
            " / ".join(_ms(r[f"submit_p{q}_ms"]) for q in (50, 95, 99)),
            str(r["errors"]) + (" (ran out)" if r["ran_out"] else ""),
            _checks(r),
            f"{r['load_avg_1m']:.1f}",
        )
    console.print(table)
    console.print("load: the machine's 1-minute load average at the end of the run")
    summary: dict[str, Any] = {}
    base = next(
        (
            r
            for r in results
            if r["system"] == "judgeloop"
            and r["backend"] == "sqlite"
            and r["items"] == LS_ITEMS
            and r["workers"] == LS_WORKERS
        ),
        None,
    )
    if ls and base and ls["judgments_per_s"]:
        ratio = base["judgments_per_s"] / ls["judgments_per_s"]
        summary["ratio_sqlite_10k_k8_vs_label_studio"] = ratio
        console.print(
            f"judgeloop (SQLite, {LS_ITEMS:,} items, K={LS_WORKERS}) vs Label Studio: "
            f"x{ratio:,.1f} judgments/s ({base['judgments_per_s']:,.1f} vs "
            f"{ls['judgments_per_s']:,.2f}); Label Studio served "
            f"{ls['tasks_served_to_several_pct']:.1f}% of its tasks to more than one annotator"
        )
    pg_1m = [
        r
        for r in results
        if r["system"] == "judgeloop" and r["backend"] == "postgresql" and r["items"] >= 1_000_000
    ]
    for r in pg_1m:
        verdict = "under" if (r["next_p99_ms"] or 0) < 50 else "OVER"
        console.print(
            f"PostgreSQL, {r['items']:,} items, K={r['workers']}: p99 of next "
            f"{_ms(r['next_p99_ms'])} ms ({verdict} the 50 ms aim)"
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="Items per project."
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[8, 64], help="Concurrent workers (K)."
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="Duration of each run.")
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="Processes of `judgeloop serve --workers N` (default 1).",
    )
    parser.add_argument("--pg-url", default=PG_URL, help="Database to drop and create again.")
    parser.add_argument("--label-studio", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--done",
        type=float,
        default=0.0,
        help="Fraction of the items already judged before the run (closed, with an "
        "assignment each spread over the workers), to measure 'next' in a project well "
        "under way. Default 0.",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "queue-server.log").unlink(missing_ok=True)
    texts = Texts()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[dict[str, Any]] = []
    if args.label_studio:  # first, so that it runs next to judgeloop's SQLite 10k K=8 run
        results.append(run_label_studio(args.seconds, texts))
    for backend in args.backends:
        for n in args.sizes:
            setup = setup_judgeloop(backend, args.pg_url, n, max(args.workers), texts, args.done)
            console.print(
                f"\\[{backend}] {n:,} items, {max(args.workers)} workers: built in "
                f"{setup.seconds:.1f} s (not measured)"
            )
            for k in args.workers:
                result = run_judgeloop(
                    backend, args.pg_url, setup, n, k, args.seconds, args.server_workers
                )
                results.append({**result, "done_before": int(n * args.done)})
            _drop(backend, setup.template)
    summary = report(results, args.seconds)
    out = {
        "started": started,
        "command": " ".join([".venv/bin/python", "bench/queue.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "memory": psutil.virtual_memory().total},
        "seconds": args.seconds,
        "results": results,
        **summary,
    }
    name = "queue" + (f"-done{round(args.done * 100)}" if args.done else "")
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    console.print(f"written to {path}")
    if not all(r["checks_ok"] for r in results if r["system"] == "judgeloop"):
        raise SystemExit("a judgeloop run failed its checks")
    if any(r["errors"] for r in results if r["system"] == "judgeloop"):
        raise SystemExit("a judgeloop run had errors")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run `finally` blocks: stop servers
    main()
