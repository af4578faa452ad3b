"""Rankings turned into pairs, and per-item consensus on A/B votes."""

from __future__ import annotations

import numpy as np
import pytest

from judgeloop.aggregate.preferences import preference_consensus, ranking_pairs


def test_a_ranking_of_three_gives_three_pairs_best_first() -> None:
    pairs = ranking_pairs([7, 7, 7], ["b", "a", "c"], [2, 1, 3])
    got = sorted(
        zip(pairs.first.tolist(), pairs.second.tolist(), pairs.outcome.tolist(), strict=True)
    )
    assert got == [("a", "b", 1.0), ("a", "c", 1.0), ("b", "c", 1.0)]
    assert set(pairs.group.tolist()) == {7}


def test_equal_ranks_are_ties_and_rankings_stay_apart() -> None:
    pairs = ranking_pairs(
        ["r1", "r1", "r2", "r2", "r2", "r2"], ["x", "y", "x", "y", "z", "w"], [1, 1, 1, 2, 2, 3]
    )
    assert len(pairs.outcome) == 1 + 6
    r1 = pairs.group == "r1"
    assert pairs.outcome[r1].tolist() == [0.5]
    yz = (
        (pairs.group == "r2") & np.isin(pairs.first, ["y", "z"]) & np.isin(pairs.second, ["y", "z"])
    )
    assert pairs.outcome[yz].tolist() == [0.5]


def test_consensus_uses_known_accuracies() -> None:
    items = [1, 1, 1, 2, 2]
    workers = ["expert", "novice1", "novice2", "expert", "novice1"]
    outcome = [0.0, 1.0, 1.0, 1.0, 1.0]
    res = preference_consensus(
        items, workers, outcome, worker_accuracy={"expert": 0.97, "novice1": 0.55, "novice2": 0.55}
    )
    assert res.preferred.tolist() == [0.0, 1.0]
    assert res.confidence[1] > 0.9
    assert np.allclose(res.posteriors.sum(axis=1), 1.0)
    assert res.margin[0] < 0 < res.margin[1]


def test_consensus_without_accuracies_fits_the_model() -> None:
    rng = np.random.default_rng(0)
    items = np.repeat(np.arange(100), 3)
    truth = rng.choice([0.0, 1.0], 100)
    votes = np.where(rng.random(300) < 0.85, truth[items], 1.0 - truth[items])
    res = preference_consensus(items, np.tile(["a", "b", "c"], 100), votes)
    assert (res.preferred == truth).mean() > 0.85
    assert res.method == "judgeloop.preference_ds.v1"


def test_an_unknown_worker_gets_the_default_accuracy() -> None:
    res = preference_consensus([1], ["stranger"], [0.5], worker_accuracy={}, default_accuracy=0.8)
    assert res.preferred.tolist() == [0.5]
    assert res.confidence[0] == pytest.approx(0.8)
