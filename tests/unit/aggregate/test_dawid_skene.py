"""Dawid-Skene and one-coin Dawid-Skene: crowd-kit as oracle, invariants, behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene
from hypothesis import given, settings
from hypothesis import strategies as st

from judgeloop.aggregate.dawid_skene import (
    Gold,
    dawid_skene,
    one_coin_dawid_skene,
    posteriors_from_accuracy,
)
from judgeloop.aggregate.encoding import encode_labels
from tests.unit.aggregate.crowds import label_sets, load_truth_inference, make_crowd

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # crowd-kit on pandas 3


def _crowd_kit(model: DawidSkene, frame: pd.DataFrame, item_ids, classes) -> np.ndarray:
    probas = model.fit_predict_proba(frame)
    return probas.reindex(index=item_ids, columns=classes).to_numpy()


def test_dawid_skene_equals_crowd_kit_with_the_same_iterations_on_real_data() -> None:
    answers, _ = load_truth_inference("s4_Face")
    data = encode_labels(answers.task, answers.worker, answers.label)
    for n_iter in (1, 5, 20):
        ours = dawid_skene(data, max_iter=n_iter, tol=0.0).consensus.posteriors
        model = DawidSkene(n_iter=n_iter, tol=-np.inf)
        assert np.abs(ours - _crowd_kit(model, answers, data.item_ids, data.classes)).max() < 1e-6


def test_dawid_skene_equals_crowd_kit_on_a_synthetic_crowd_with_sparse_workers() -> None:
    crowd = make_crowd(n_items=150, n_workers=40, k=4, per_item=3, seed=7)
    frame = pd.DataFrame({"task": crowd.items, "worker": crowd.workers, "label": crowd.labels})
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    ours = dawid_skene(data, max_iter=10, tol=0.0)
    model = DawidSkene(n_iter=10, tol=-np.inf)
    theirs = _crowd_kit(model, frame, data.item_ids, data.classes)
    assert np.abs(ours.consensus.posteriors - theirs).max() < 1e-6
    # crowd-kit's errors_[worker, observed, true] is our confusion[worker, true, observed]
    errors = model.errors_
    w = 5
    for observed in range(4):
        if (data.worker_ids[w], observed) in errors.index:
            row = errors.loc[(data.worker_ids[w], observed)].reindex(data.classes).to_numpy()
            assert np.allclose(ours.workers.confusion[w, :, observed], row, atol=1e-6)


def test_one_coin_equals_crowd_kit() -> None:
    answers, _ = load_truth_inference("spectral_rte")
    data = encode_labels(answers.task, answers.worker, answers.label)
    ours = one_coin_dawid_skene(data, max_iter=8, tol=0.0).consensus.posteriors
    model = OneCoinDawidSkene(n_iter=8, tol=-np.inf)
    assert np.abs(ours - _crowd_kit(model, answers, data.item_ids, data.classes)).max() < 1e-6


@settings(max_examples=40, deadline=None)
@given(label_sets())
def test_posteriors_are_distributions(case) -> None:
    items, workers, labels, _ = case
    data = encode_labels(items, workers, labels)
    for fit in (dawid_skene(data, max_iter=20), dawid_skene(data, smoothing=1.0)):
        post = fit.consensus.posteriors
        assert np.all(post >= 0) and np.allclose(post.sum(axis=1), 1.0)
        assert np.allclose(fit.workers.confusion.sum(axis=2)[data.worker_counts > 0], 1.0)
    post = one_coin_dawid_skene(data, max_iter=20).consensus.posteriors
    assert np.allclose(post.sum(axis=1), 1.0)


@settings(max_examples=30, deadline=None)
@given(label_sets(), st.integers(0, 2**32 - 1))
def test_renaming_and_reordering_workers_and_items_changes_nothing(case, seed) -> None:
    items, workers, labels, _ = case
    base = dawid_skene(encode_labels(items, workers, labels), smoothing=1.0, tol=0.0, max_iter=15)
    order = np.random.default_rng(seed).permutation(len(items))
    # new names whose sorted order differs from the old one
    items2 = np.array([f"item-{9 - i}" for i in items])[order]
    workers2 = np.array([f"w{(w * 7) % 11:02d}" for w in workers])[order]
    moved = dawid_skene(
        encode_labels(items2, workers2, labels[order]), smoothing=1.0, tol=0.0, max_iter=15
    )
    old = dict(
        zip(
            [f"item-{9 - i}" for i in base.consensus.item_ids],
            base.consensus.posteriors,
            strict=True,
        )
    )
    for item, post in zip(moved.consensus.item_ids, moved.consensus.posteriors, strict=True):
        assert np.allclose(old[item], post, atol=1e-9)


def test_a_perfect_worker_is_recovered() -> None:
    crowd = make_crowd(n_items=400, n_workers=15, k=3, per_item=4, seed=1)
    crowd.accuracy[0] = 1.0
    crowd = make_crowd(n_items=400, n_workers=15, k=3, per_item=4, accuracy=crowd.accuracy, seed=1)
    fit = dawid_skene(encode_labels(crowd.items, crowd.workers, crowd.labels))
    assert fit.workers.accuracy[0] > 0.99
    assert np.allclose(np.diagonal(fit.workers.confusion[0]), 1.0, atol=0.02)


def test_a_spammer_is_down_weighted() -> None:
    acc = np.full(12, 0.8)
    acc[3] = 1 / 3  # answers at random
    crowd = make_crowd(n_items=500, n_workers=12, k=3, per_item=4, accuracy=acc, seed=2)
    fit = dawid_skene(encode_labels(crowd.items, crowd.workers, crowd.labels), smoothing=1.0)
    conf = fit.workers.confusion[3]
    assert np.abs(conf - conf.mean(axis=0)).max() < 0.12  # rows alike: answers ignore truth
    assert fit.workers.accuracy[3] < 0.45 < fit.workers.accuracy[np.arange(12) != 3].min()
    assert (fit.consensus.codes == crowd.truth).mean() > 0.9


def test_gold_items_stay_fixed_and_anchor_the_model() -> None:
    data = encode_labels([0, 0, 1, 1], ["a", "b", "a", "b"], [0, 1, 0, 1])
    gold = Gold(np.array([0]), np.array([1]))
    fit = dawid_skene(data, gold=gold, smoothing=1.0)
    assert fit.consensus.posteriors[0].tolist() == [0.0, 1.0]
    assert fit.consensus.codes[1] == 1  # b was right on gold, so b is believed on item 1


def test_posteriors_from_known_accuracies() -> None:
    data = encode_labels([0, 0, 0], ["good", "bad1", "bad2"], [1, 0, 0])
    post = posteriors_from_accuracy(data, np.array([0.55, 0.55, 0.99]))
    # worker codes sort as bad1, bad2, good: the 0.99 worker outweighs two coin-flippers
    assert post[0].argmax() == 1 and post[0, 1] > 0.95
