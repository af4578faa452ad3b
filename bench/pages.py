"""Task page weight and server time: every template's page size, and the task page's time
with 100,000 items in the project (issue 3's aims: < 150 KB per page, p95 < 30 ms).

Run: `.venv/bin/python bench/pages.py [--items 100000] [--requests 500]`. It builds a
SQLite database in bench/.out/pages/, signs a worker in through the real login form and
times requests to the in-process app (no network; this is the app's own time plus
TestClient's small overhead, so the real server time is a little lower).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's `queue` for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import re
import shutil
import statistics
import time
import uuid

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select

from judgeloop.config import Settings
from judgeloop.presets import list_presets
from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services.accounts import create_user
from judgeloop.services.projects import add_member, create_project
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import Candidate, Item
from judgeloop.web.app import create_app

OUT = Path(__file__).resolve().parent / ".out" / "pages"
STATIC = Path(__file__).resolve().parents[1] / "src" / "judgeloop" / "web" / "static"
PASSWORD = "bench password 1"
PROMPT = "Explain, with an example, why the sky looks blue at noon and red at sunset. " * 4
ANSWER = (
    "Rayleigh scattering makes short wavelengths scatter more. " * 14
    + "\n\n```python\nprint('hi')\n```"
)
console = Console()


def build(n_items: int) -> str:
    """Create the database: one project per template with one item, and a big A/B project."""
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    url = f"sqlite:///{OUT / 'pages.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        owner = create_user(
            s, data=UserCreate(email="o@bench.org", role="owner", password=PASSWORD)
        )
        worker = create_user(s, data=UserCreate(email="w@bench.org", password=PASSWORD))
        for preset in list_presets():
            slug = preset.name.replace("_", "-")
            p = create_project(
                s, owner=owner, data=ProjectCreate(slug=slug, name=slug, preset=preset.name)
            )
            add_member(s, project=p, user=worker, role="worker")
            n_answers = min(max(preset.min_candidates, 1), preset.max_candidates or 2)
            _insert(s, p.id, 1, n_answers, tag=slug)
        big = create_project(
            s, owner=owner, data=ProjectCreate(slug="big", name="big", preset="ab_comparison")
        )
        add_member(s, project=big, user=worker, role="worker")
        started = time.perf_counter()
        _insert(s, big.id, n_items, 2, tag="big")
        console.print(
            f"inserted {n_items:,} items in {time.perf_counter() - started:.1f} s (setup)"
        )
    engine.dispose()
    return url


def _insert(session, project_id: int, n: int, answers: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    for start in range(0, n, 20_000):
        rows = [
            {
                "project_id": project_id,
                "prompt": f"{i}. {PROMPT}",
                "content_hash": f"{tag}-{i}",
                "created_at": now,
                "metadata": {},
            }
            for i in range(start, min(n, start + 20_000))
        ]
        session.execute(insert(Item), rows)
        ids = list(
            session.scalars(
                select(Item.id)
                .where(Item.project_id == project_id, Item.id > 0)
                .order_by(Item.id.desc())
                .limit(len(rows))
            )
        )
        session.execute(
            insert(Candidate),
            [
                {"item_id": i, "key": "ABC"[k], "position": k, "text": f"{'ABC'[k]}: {ANSWER}"}
                for i in ids
                for k in range(answers)
            ],
        )
        session.commit()


def measure(url: str, requests: int) -> None:
    """Sign in as the worker, weigh every template's task page, and time the big one."""
    settings = Settings(env="test", data_dir=OUT, database_url=url, secret_key="b" * 48)
    with TestClient(create_app(settings), follow_redirects=False) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        login = {"email": "w@bench.org", "password": PASSWORD, "csrf_token": token.group(1)}
        assert c.post("/login", data=login).status_code == 303
        table = Table(
            "template", "HTML KB", "with CSS/JS KB", "under 150 KB", title="task page weight"
        )
        for preset in [*[p.name for p in list_presets()], "big"]:
            loc = c.get(f"/work/{preset.replace('_', '-')}/next").headers["location"]
            page = c.get(loc)
            assets = set(re.findall(r'(?:href|src)="/static/([^"?]+)', page.text))
            total = len(page.content) + sum((STATIC / a).stat().st_size for a in assets)
            table.add_row(
                preset,
                f"{len(page.content) / 1024:.1f}",
                f"{total / 1024:.1f}",
                "✓" if total < 150 * 1024 else "✗",
            )
        console.print(table)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            assert c.get(loc).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        timing = Table(
            "page",
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "aim p95 < 30 ms",
            title="task page time, big project",
        )
        timing.add_row(
            loc,
            str(requests),
            f"{statistics.median(times):.1f}",
            f"{p95:.1f}",
            f"{times[int(len(times) * 0.99) - 1]:.1f}",
            "✓" if p95 < 30 else "✗",
        )
        console.print(timing)


def main() -> None:
    """Parse arguments, build the database and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    measure(build(args.items), args.requests)
    console.print(f"run id {uuid.uuid4().hex[:8]}; database in {OUT}")


if __name__ == "__main__":
    main()
