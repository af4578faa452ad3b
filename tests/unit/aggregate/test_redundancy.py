"""Adaptive redundancy: the stopping rule and a replay of a finished project."""

from __future__ import annotations

import numpy as np

from judgeloop.aggregate.encoding import encode_labels
from judgeloop.aggregate.labels import default_label_model
from judgeloop.aggregate.redundancy import (
    PRIORITY_DISPUTED,
    PRIORITY_DONE,
    PRIORITY_NEEDS_MINIMUM,
    StoppingRule,
    effective_accuracy,
    redundancy_decision,
    replay_adaptive,
)
from tests.unit.aggregate.crowds import make_crowd


def test_agreeing_reliable_workers_stop_an_item_and_a_split_is_disputed() -> None:
    items = [1, 1, 1, 2, 2, 2, 3]
    workers = ["a", "b", "c", "a", "b", "c", "a"]
    labels = [0, 0, 0, 0, 1, 0, 1]
    data = encode_labels(items, workers, labels)
    acc = np.full(3, 0.95)
    d = redundancy_decision(
        data, acc, evidence=np.full(3, 1000.0), rule=StoppingRule(confidence=0.99, min_labels=3)
    )
    assert d.done.tolist() == [True, False, False]
    assert d.disputed.tolist() == [False, True, False]
    assert d.priority.tolist() == [PRIORITY_DONE, PRIORITY_DISPUTED, PRIORITY_NEEDS_MINIMUM]
    assert d.uncertainty[1] > d.uncertainty[0]


def test_max_labels_ends_a_dispute() -> None:
    data = encode_labels([1] * 4, list("abcd"), [0, 1, 0, 1])
    d = redundancy_decision(data, np.full(4, 0.9), rule=StoppingRule(max_labels=4))
    assert d.done.tolist() == [True] and not d.disputed.any()


def test_unknown_and_new_workers_get_the_prior_and_no_one_is_trusted_alone() -> None:
    rule = StoppingRule(prior_accuracy=0.7, prior_strength=20, max_accuracy=0.95)
    eff = effective_accuracy(np.array([np.nan, 1.0, 1.0]), np.array([0.0, 0.0, 1e6]), rule)
    assert eff.tolist()[:2] == [0.7, 0.7]
    assert eff[2] == 0.95


def test_replay_saves_judgments_without_losing_accuracy() -> None:
    acc = np.random.default_rng(6).uniform(0.8, 0.95, 25)
    crowd = make_crowd(n_items=400, n_workers=25, k=2, per_item=9, accuracy=acc, seed=6)
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    full = (default_label_model(data).consensus.codes == crowd.truth).mean()
    run = replay_adaptive(data, rule=StoppingRule(max_labels=None), seed=0)
    adaptive = (default_label_model(data.subset(run.taken)).consensus.codes == crowd.truth).mean()
    assert run.spent < 0.7 * len(data)
    assert adaptive >= full - 0.01
    per_item = np.bincount(data.items[run.taken], minlength=data.n_items)
    assert per_item.min() >= 3 and per_item.max() > 3  # hard items got more


def test_replay_is_seeded() -> None:
    crowd = make_crowd(n_items=100, n_workers=10, k=3, per_item=6, seed=2)
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    a = replay_adaptive(data, seed=4)
    b = replay_adaptive(data, seed=4)
    assert np.array_equal(a.taken, b.taken) and a.rounds == b.rounds
