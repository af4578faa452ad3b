"""`judgeloop aggregate PROJECT` on a real SQLite file, then the consensus export."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgeloop.cli import app
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.migrate import upgrade
from tests.quality_world import make_world

runner = CliRunner()


def test_aggregate_then_export_consensus(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'judgeloop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        world = make_world(session, n_items=3, n_honest=2)
        slug, owner = world.project.slug, world.owner.email
    engine.dispose()
    base = ["--database-url", url, "--data-dir", str(data)]
    bad = runner.invoke(app, [*base, "aggregate", slug, "--method", "nope", "--as", owner])
    assert bad.exit_code == 1 and "unknown aggregation method" in bad.output
    result = runner.invoke(app, [*base, "aggregate", slug, "--as", owner])
    assert result.exit_code == 0, result.output
    assert "stored 9 consensus results from 27 judgments" in result.output
    out = tmp_path / "consensus.jsonl"
    args = ["export", slug, "--what", "consensus", "--out", str(out), "--as", owner]
    exported = runner.invoke(app, [*base, *args])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(
        set(r["consensus"]) == {"topic", "quality", "better"} for r in rows
    )
