"""`judgeloop demo --loop`: past votes -> reward model -> best-of-2 -> a blind round, on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from judgeloop.cli.context import open_session
from judgeloop.cli.demo import DEMO_ACCOUNTS, load_demo
from judgeloop.cli.demo_loop import LOOP, run_loop
from judgeloop.config import Settings
from judgeloop.services import code_runs
from judgeloop.store.models import Candidate, Item, ModelVersion, Project, ProjectMember, Submission
from judgeloop.store.models.learning import RewardModel
from judgeloop.store.models.rounds import Round
from tests.services.test_code_runs import fake_result

pytest.importorskip("torch")


def test_the_loop_runs_end_to_end_and_twice_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox is faked here; its own tests and the coding demo test run it for real.
    monkeypatch.setattr(code_runs, "execute", lambda job, **_: fake_result(True))
    settings = Settings(env="test", data_dir=tmp_path, secret_key="loop-" + "k" * 40)
    load_demo(settings)
    workers = [e for e, role, _, _ in DEMO_ACCOUNTS if role == "worker"]
    summary = run_loop(settings, pairs=80, workers=workers)
    assert summary.history_judgments == 1200 and summary.reward_model == "hh-rm@v1"
    assert summary.accuracy is not None and 0 <= summary.accuracy <= 1
    assert sum(summary.picked_from.values()) == 60 and summary.round_items == 60
    assert (tmp_path / "reward_models" / "hh-rm" / "v1" / "manifest.json").exists()
    with open_session(settings) as session:
        loop = session.scalar(select(Project).where(Project.slug == LOOP))
        assert loop is not None and loop.hide_model_identity
        round_ = session.scalar(select(Round).where(Round.project_id == loop.id))
        assert round_ is not None and round_.number == 1
        bon = session.get(ModelVersion, round_.model_version_id)
        assert bon is not None and bon.provider == "best_of_n"
        # Each round item holds the best-of-2 answer and alpaca-7b's, on random sides.
        firsts = session.scalars(
            select(Candidate.model_version_id)
            .join(Item, Item.id == Candidate.item_id)
            .where(Item.project_id == loop.id, Candidate.key == "A")
        ).all()
        assert 10 < sum(v == bon.id for v in firsts) < 50
        members = session.scalar(select(func.count()).where(ProjectMember.project_id == loop.id))
        assert members is not None and members >= len(workers)
    again = run_loop(settings, pairs=80, workers=workers)
    assert again.reward_model == "hh-rm@v1" and again.round_items == 60
    with open_session(settings) as session:
        assert session.scalar(select(func.count()).select_from(RewardModel)) == 1
        history = session.scalar(select(Project.id).where(Project.slug == "hh-history"))
        judged = session.scalar(select(func.count()).where(Submission.project_id == history))
        assert judged == 1200
