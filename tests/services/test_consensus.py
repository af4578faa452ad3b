"""aggregate_project: consensus stored per item and question, with confidence; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.services.consensus import aggregate_project, list_consensus
from judgeloop.services.exports import export_dataset
from judgeloop.store.models import ConsensusResult, WorkerReliability
from tests.factories import join, make_item, make_project, make_user
from tests.quality_world import make_world, submit


def test_consensus_is_stored_with_confidence_and_a_rerun_replaces_it(session: Session) -> None:
    world = make_world(session)
    report = aggregate_project(session, project=world.project)
    assert report.results == 3 * len(world.items)
    rows = list_consensus(session, project=world.project, limit=1000)
    for row in rows:
        truth = world.truth[row.item_id][row.question_key]
        if row.kind == "choice":
            assert row.value == truth
            assert row.confidence > 0.9
        elif row.kind == "rating":
            assert abs(row.value - truth) < 0.5
        else:
            assert row.value["winner"] == truth
        assert row.n_judgments == 6
    again = aggregate_project(session, project=world.project)
    assert again.results == report.results
    count = session.scalar(
        select(func.count()).where(ConsensusResult.project_id == world.project.id)
    )
    assert count == report.results


def test_spammer_is_down_weighted(session: Session) -> None:
    world = make_world(session)
    aggregate_project(session, project=world.project)
    rel = {
        r.worker_id: r
        for r in session.scalars(
            select(WorkerReliability).where(WorkerReliability.project_id == world.project.id)
        )
    }
    spam = rel[world.spammer.id]
    honest = [rel[w.id] for w in world.workers]
    assert all(h.agreement is not None and h.agreement > 0.95 for h in honest)
    assert spam.agreement is not None and spam.agreement < 0.7
    assert spam.model_accuracy is not None
    assert all(spam.model_accuracy < h.model_accuracy for h in honest)  # type: ignore[operator]
    assert all(spam.weight < h.weight for h in honest)  # type: ignore[operator]


def test_spammer_is_flagged_with_reasons(session: Session) -> None:
    world = make_world(session)
    aggregate_project(session, project=world.project)
    spam = session.scalar(
        select(WorkerReliability).where(
            WorkerReliability.project_id == world.project.id,
            WorkerReliability.worker_id == world.spammer.id,
        )
    )
    assert spam is not None and spam.flagged
    assert any("agreement with consensus" in r for r in spam.reasons)
    honest = session.scalars(
        select(WorkerReliability).where(
            WorkerReliability.project_id == world.project.id,
            WorkerReliability.worker_id != world.spammer.id,
        )
    )
    assert not any(h.flagged for h in honest)
    assert spam.gold_total == 3  # three gold items answered once each


def test_unknown_method_is_refused(session: Session) -> None:
    world = make_world(session, n_items=3, n_honest=2)
    with pytest.raises(InvalidInput):
        aggregate_project(session, project=world.project, method="nonsense")


def test_majority_vote_method_is_recorded(session: Session) -> None:
    world = make_world(session, n_items=4, n_honest=3)
    aggregate_project(session, project=world.project, method="mv")
    rows = list_consensus(session, project=world.project, question_key="topic")
    assert {r.method for r in rows} == {"judgeloop.majority_vote.v1"}
    ratings = list_consensus(session, project=world.project, question_key="quality")
    assert {r.method for r in ratings} == {"judgeloop.rating_mean.v1"}


def test_consensus_export_puts_consensus_beside_raw_judgments(
    session: Session, tmp_path: Path
) -> None:
    world = make_world(session, n_items=4, n_honest=3)
    aggregate_project(session, project=world.project)
    record = export_dataset(
        session,
        project=world.project,
        actor=world.owner,
        what="consensus",
        format="jsonl",
        path=tmp_path / "consensus.jsonl",
    )
    rows = [json.loads(line) for line in (tmp_path / "consensus.jsonl").read_text().splitlines()]
    assert record.row_count == len(rows) == 4
    first = rows[0]
    truth = world.truth[first["item_id"]]
    assert first["consensus"]["topic"] == truth["topic"]
    assert first["consensus"]["better"]["winner"] == "A"
    assert 0.5 < first["confidence"]["topic"] <= 1.0
    assert first["n_judgments"]["quality"] == 4
    assert len(first["judgments"]) == 4
    assert {j["worker_id"] for j in first["judgments"]} == {
        *(w.id for w in world.workers),
        world.spammer.id,
    }
    assert all("topic" in j["answers"] for j in first["judgments"])


def test_rankings_become_pairs_and_a_consensus_order(session: Session) -> None:
    questions = [{"key": "order", "kind": "ranking", "title": "Order them"}]
    project = make_project(session, questions=questions, redundancy=3)
    item = make_item(session, project=project, answers=("a", "b", "c"))
    workers = [join(session, project, make_user(session)) for _ in range(3)]
    for worker, order in zip(
        workers, (["B", "A", "C"], ["B", "A", "C"], ["A", "B", "C"]), strict=True
    ):
        submit(session, worker, item, [{"question": "order", "value": order}])
    aggregate_project(session, project=project)
    (row,) = list_consensus(session, project=project)
    assert row.value == ["B", "A", "C"]
    assert row.method == "judgeloop.davidson_per_item.v1"
    assert 0.5 < row.confidence < 1.0
    assert row.n_judgments == 3
