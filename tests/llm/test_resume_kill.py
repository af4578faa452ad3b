"""Resume for real: `judgeloop generate` killed mid-run, then run again to the end.

The generation runs in a subprocess against the fake server in this process; the server
counts what it was asked. After SIGKILL, the second run must ask exactly for the keys the
first run had not stored, and never for one it had (on SQLite and PostgreSQL, each in a
database of its own, since the subprocess commits for real).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from judgeloop.store.models import Candidate, Item
from judgeloop.store.models.llm import Generation
from tests.conftest import PG_ADMIN_URL
from tests.factories import make_item, make_project
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import register_fake

N_ITEMS = 80


@pytest.fixture
def own_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated database of its own: the subprocess commits outside any test transaction."""
    if request.param == "sqlite":
        path = tmp_path / "kill.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"judgeloop_kill_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _generate(url: str, data_dir: Path, slug: str, model: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "judgeloop", "--database-url", url),
            *("--data-dir", str(data_dir), "generate", slug, "--model", model),
            *("--concurrency", "4"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stored(session: Session) -> set[str]:
    rows = session.execute(
        select(Item.prompt)
        .join(Generation, Generation.item_id == Item.id)
        .where(Generation.status == "ok")
    )
    return {prompt for (prompt,) in rows}


def _count_stored(engine: Engine) -> int:
    # A read-only transaction: on SQLite it must not take the write lock from the run.
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        query = select(func.count()).select_from(Generation).where(Generation.status == "ok")
        return int(conn.execute(query).scalar_one())


def _wait_until_stored(engine: Engine, proc: subprocess.Popen[bytes], n: int) -> None:
    """Wait until the running subprocess has committed `n` answers."""
    deadline = time.monotonic() + 60
    while _count_stored(engine) < n:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
        assert time.monotonic() < deadline, "the subprocess stored nothing"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("own_db_url", "sig"),
    [("sqlite", signal.SIGKILL), ("postgresql", signal.SIGKILL), ("sqlite", signal.SIGTERM)],
    indirect=["own_db_url"],
    ids=["sqlite-kill", "postgresql-kill", "sqlite-term"],
)
def test_a_killed_run_resumes_without_asking_twice(
    own_db_url: str, tmp_path: Path, fake_server: FakeOpenAI, sig: signal.Signals
) -> None:
    fake_server.state.latency = 0.05
    engine = make_engine(own_db_url)
    with make_sessionmaker(engine)() as session:
        project = make_project(session, redundancy=1)
        for i in range(N_ITEMS):
            make_item(session, project=project, prompt=f"kill test prompt {i}", answers=())
        model = register_fake(session, fake_server)
        slug = project.slug

    proc = _generate(own_db_url, tmp_path / "data", slug, model)
    _wait_until_stored(engine, proc, 4)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    if sig == signal.SIGTERM:
        assert proc.returncode == 130, proc.stdout.read() if proc.stdout else b""
    seen = -1
    while seen != fake_server.state.requests:  # let requests sent before the kill arrive
        seen = fake_server.state.requests
        time.sleep(0.2)
    with make_sessionmaker(engine)() as session:
        done_first = _stored(session)
    asked_first = set(fake_server.state.prompts)
    assert 0 < len(done_first) < N_ITEMS
    assert done_first <= asked_first

    fake_server.state.reset()
    again = _generate(own_db_url, tmp_path / "data", slug, model)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out.decode()
    asked_second = set(fake_server.state.prompts)
    assert fake_server.state.requests == N_ITEMS - len(done_first)
    assert not asked_second & done_first
    with make_sessionmaker(engine)() as session:
        assert len(_stored(session)) == N_ITEMS
        per_item = session.execute(
            select(Candidate.item_id, func.count()).group_by(Candidate.item_id)
        ).all()
        assert len(per_item) == N_ITEMS and {n for _, n in per_item} == {1}
    engine.dispose()
