"""Reliability-weighted, bias-corrected rating consensus."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgeloop.aggregate.ratings import rating_consensus
from tests.unit.aggregate.crowds import load_truth_inference


def _biased_crowd(seed: int = 0):
    rng = np.random.default_rng(seed)
    n, n_workers = 400, 20
    truth = rng.uniform(1, 5, n)
    items = np.repeat(np.arange(n), 5)
    workers = np.concatenate([rng.choice(n_workers, 5, replace=False) for _ in range(n)])
    bias = np.zeros(n_workers)
    bias[:3] = 1.5  # three lenient raters
    sd = np.full(n_workers, 0.3)
    sd[3:6] = 2.0  # three careless raters
    values = truth[items] + bias[workers] + rng.normal(0, 1, len(items)) * sd[workers]
    return items, workers, values, truth


def test_bias_and_noise_are_found_and_the_consensus_beats_the_plain_mean() -> None:
    items, workers, values, truth = _biased_crowd()
    r = rating_consensus(items, workers, values)
    assert np.abs(r.means - truth).mean() < 0.8 * np.abs(r.plain_means - truth).mean()
    assert (r.worker_bias[:3] - np.median(r.worker_bias) > 0.8).all()
    assert (r.worker_sd[3:6] > 3 * np.median(r.worker_sd)).all()
    assert (r.worker_weight[3:6] < 0.2).all()
    assert (r.standard_errors > 0).all()


def test_on_n_emotion_it_is_no_worse_than_the_mean() -> None:
    answers, truth = load_truth_inference("N_Emotion")
    r = rating_consensus(answers.task, answers.worker, answers.label)
    t = truth.reindex(r.item_ids).to_numpy()
    weighted, plain = np.abs(r.means - t).mean(), np.abs(r.plain_means - t).mean()
    assert plain == pytest.approx(12.022, abs=1e-3)
    assert weighted <= plain + 0.05


@settings(max_examples=25, deadline=None)
@given(st.floats(-50, 50), st.floats(0.5, 3), st.integers(0, 5))
def test_shifting_and_scaling_all_ratings_moves_the_consensus_alike(shift, scale, seed) -> None:
    items, workers, values, _ = _biased_crowd(seed)
    base = rating_consensus(items, workers, values, tol=1e-12, max_iter=2000)
    # the shrinkage priors are in rating units only through the pooled variance
    moved = rating_consensus(items, workers, values * scale + shift, tol=1e-12, max_iter=2000)
    assert np.allclose(moved.means, base.means * scale + shift, atol=1e-6 * scale + 1e-6)


def test_identical_raters_give_the_plain_mean() -> None:
    items = np.repeat(np.arange(3), 2)
    r = rating_consensus(items, [0, 1] * 3, [1.0, 1.0, 4.0, 4.0, 2.0, 2.0])
    assert np.allclose(r.means, [1.0, 4.0, 2.0])
    assert np.allclose(r.plain_means, r.means)
