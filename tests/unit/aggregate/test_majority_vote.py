"""Majority vote and Wawa against crowd-kit on the same inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import MajorityVote, Wawa

from judgeloop.aggregate.encoding import encode_labels
from judgeloop.aggregate.majority import majority_vote, wawa
from tests.unit.aggregate.crowds import load_truth_inference, make_crowd

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # crowd-kit on pandas 3


def _frame(items: np.ndarray, workers: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"task": items, "worker": workers, "label": labels})


def _aligned(probas: pd.DataFrame, item_ids: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return probas.reindex(index=item_ids, columns=classes).fillna(0.0).to_numpy()


def test_majority_vote_posteriors_equal_crowd_kit_on_real_data() -> None:
    answers, _ = load_truth_inference("s4_Dog")
    data = encode_labels(answers.task, answers.worker, answers.label)
    ours = majority_vote(data)
    theirs = MajorityVote().fit_predict_proba(answers)
    assert np.abs(ours.posteriors - _aligned(theirs, data.item_ids, data.classes)).max() < 1e-9
    clear = np.sort(ours.posteriors, axis=1)[:, -1] > np.sort(ours.posteriors, axis=1)[:, -2]
    expected = MajorityVote().fit_predict(answers).reindex(data.item_ids).to_numpy()
    assert (ours.labels[clear] == expected[clear]).all()


def test_majority_vote_ties_go_to_the_first_class() -> None:
    data = encode_labels([1, 1], ["a", "b"], ["y", "x"])
    result = majority_vote(data)
    assert result.labels.tolist() == ["x"]
    assert result.confidence.tolist() == [0.5]


def test_weighted_majority_vote_follows_the_heavier_worker() -> None:
    data = encode_labels([1, 1, 1], ["a", "b", "c"], [0, 0, 1])
    assert majority_vote(data, np.array([1.0, 1.0, 5.0])).labels.tolist() == [1]


def test_wawa_equals_crowd_kit() -> None:
    # two classes and five votes per item: no majority-vote ties, whose tie-breaking differs
    crowd = make_crowd(n_items=200, n_workers=12, k=2, per_item=5, seed=3)
    frame = _frame(crowd.items, crowd.workers, crowd.labels)
    data = encode_labels(crowd.items, crowd.workers, crowd.labels)
    theirs = Wawa().fit_predict_proba(frame)
    assert (
        np.abs(wawa(data).posteriors - _aligned(theirs, data.item_ids, data.classes)).max() < 1e-9
    )
