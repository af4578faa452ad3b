"""Per-worker reliability: gold, consensus, model, and who gets flagged."""

from __future__ import annotations

import numpy as np

from judgeloop.aggregate.dawid_skene import Gold
from judgeloop.aggregate.encoding import encode_labels
from judgeloop.aggregate.reliability import (
    Thresholds,
    consensus_agreement,
    gold_accuracy,
    informativeness,
    worker_reliability,
)
from tests.unit.aggregate.crowds import make_crowd


def test_a_spammer_is_flagged_with_reasons_and_good_workers_are_not() -> None:
    acc = np.full(10, 0.85)
    acc[7] = 1 / 3
    crowd = make_crowd(n_items=400, n_workers=10, k=3, per_item=4, accuracy=acc, seed=11)
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    gold = Gold(np.arange(40), crowd.truth[:40])
    rel = worker_reliability(data, gold=gold)
    assert rel.flagged.tolist() == [w == 7 for w in range(10)]
    assert len(rel.reasons[7]) >= 2
    assert any("gold accuracy" in r for r in rel.reasons[7])
    assert rel.informativeness[7] < 0.15 < rel.informativeness[0]
    assert rel.model_accuracy[7] < 0.45
    assert rel.gold_total.sum() == (data.items < 40).sum()


def test_thresholds_need_enough_evidence() -> None:
    data = encode_labels([1, 1, 2, 2], ["a", "b", "a", "b"], [0, 1, 0, 1])
    gold = Gold(np.array([0]), np.array([0]))
    rel = worker_reliability(data, gold=gold, thresholds=Thresholds(min_gold_items=1))
    b = int(np.flatnonzero(data.worker_ids == "b")[0])
    assert rel.gold_accuracy[b] == 0.0 and rel.flagged[b]
    rel = worker_reliability(data, gold=gold)  # default: 5 gold items before judging
    assert not rel.flagged.any()


def test_gold_accuracy_counts() -> None:
    data = encode_labels([0, 0, 1, 1, 2], ["a", "b", "a", "b", "a"], [1, 0, 1, 1, 0])
    correct, total = gold_accuracy(data, Gold(np.array([0, 1]), np.array([1, 1])))
    assert correct.tolist() == [2.0, 1.0] and total.tolist() == [2.0, 2.0]


def test_consensus_agreement_leaves_the_worker_out() -> None:
    # item 0: a, b, c say x and d says y -> a, b, c match the others' majority, d does not
    # item 1: a=x, b=y -> the other single vote disagrees either way
    data = encode_labels([0, 0, 0, 0, 1, 1], list("abcdab"), ["x", "x", "x", "y", "x", "y"])
    rate, n = consensus_agreement(data)
    assert rate.tolist() == [0.5, 0.5, 1.0, 0.0]
    assert n.tolist() == [2.0, 2.0, 1.0, 1.0]
    # with others tied between the worker's label and another, the match counts half
    tie = encode_labels([0, 0, 0], ["a", "b", "c"], ["x", "x", "y"])
    assert consensus_agreement(tie)[0].tolist() == [0.5, 0.5, 0.0]


def test_informativeness_of_perfect_and_random_workers() -> None:
    perfect = np.eye(3)[None]
    random = np.full((1, 3, 3), 1 / 3)
    assert informativeness(perfect)[0] == 1.0
    assert informativeness(random)[0] == 0.0
    assert 0 < informativeness(np.array([[[0.7, 0.3], [0.3, 0.7]]]))[0] < 1
