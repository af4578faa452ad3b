"""The default categorical aggregator, the registry, and GLAD."""

from __future__ import annotations

import numpy as np
import pytest

from judgeloop.aggregate.encoding import encode_labels
from judgeloop.aggregate.glad import glad
from judgeloop.aggregate.labels import (
    ALIASES,
    DEFAULT_LABEL_METHOD,
    LABEL_AGGREGATORS,
    aggregate_labels,
    default_label_model,
)
from judgeloop.aggregate.majority import majority_vote
from tests.unit.aggregate.crowds import load_truth_inference, make_crowd


def _accuracy(name: str, method) -> float:
    answers, truth = load_truth_inference(name)
    data = encode_labels(answers.task, answers.worker, answers.label)
    labels = dict(zip(data.item_ids.tolist(), method(data).labels.tolist(), strict=True))
    return float(np.mean([labels[t] == v for t, v in truth.items()]))


@pytest.mark.parametrize(
    ("name", "at_least"), [("s4_Dog", 0.84), ("spectral_rte", 0.925), ("CF_amt", 0.85)]
)
def test_default_is_at_least_as_accurate_as_crowd_kit_ds_on_real_data(name, at_least) -> None:
    # crowd-kit 1.4.2 DS: s4_Dog 0.843, spectral_rte 0.928, CF_amt 0.840 (data README)
    assert _accuracy(name, lambda d: default_label_model(d).consensus) >= at_least


def test_default_beats_majority_vote_when_some_workers_are_bad() -> None:
    acc = np.r_[np.full(6, 0.9), np.full(6, 0.4)]
    crowd = make_crowd(n_items=600, n_workers=12, k=3, per_item=5, accuracy=acc, seed=4)
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    ours = (default_label_model(data).consensus.codes == crowd.truth).mean()
    mv = (majority_vote(data).codes == crowd.truth).mean()
    assert ours > mv + 0.03


def test_every_registered_method_and_alias_runs_and_names_itself() -> None:
    data = encode_labels([1, 1, 2, 2, 2], ["a", "b", "a", "b", "c"], [0, 0, 1, 1, 0])
    for name in [*LABEL_AGGREGATORS, *ALIASES]:
        result = aggregate_labels(data, name)
        assert np.allclose(result.posteriors.sum(axis=1), 1.0)
        assert result.method.startswith("judgeloop.")
    assert aggregate_labels(data).method == DEFAULT_LABEL_METHOD
    with pytest.raises(ValueError, match="unknown label aggregator"):
        aggregate_labels(data, "nope")


def test_confidence_is_the_posterior_of_the_chosen_label() -> None:
    data = encode_labels([1] * 5 + [2] * 2, list("abcde") + list("ab"), [0] * 5 + [0, 1])
    result = default_label_model(data).consensus
    assert np.allclose(result.confidence, result.posteriors.max(axis=1))
    assert result.confidence[0] > result.confidence[1]


def test_glad_matches_crowd_kit_reference_accuracy() -> None:
    # crowd-kit 1.4.2 GLAD: spectral_rte 0.925, CF_amt 0.853 (data README)
    assert _accuracy("spectral_rte", glad) == pytest.approx(0.925, abs=0.005)
    assert _accuracy("CF_amt", glad) == pytest.approx(0.853, abs=0.005)


def test_glad_posteriors_are_distributions_and_find_the_truth() -> None:
    crowd = make_crowd(n_items=300, n_workers=10, k=4, per_item=5, seed=5)
    result = glad(encode_labels(crowd.items, crowd.workers, crowd.labels))
    assert np.allclose(result.posteriors.sum(axis=1), 1.0)
    assert (result.codes == crowd.truth).mean() > 0.9
