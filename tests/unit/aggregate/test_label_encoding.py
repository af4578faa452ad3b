"""Encoding judgments into codes: sorted ids, fixed classes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from judgeloop.aggregate.encoding import encode_ids, encode_labels, softmax_rows


def test_codes_follow_sorted_ids_whatever_the_row_order() -> None:
    data = encode_labels(["b", "a", "b"], ["w2", "w1", "w1"], ["yes", "no", "no"])
    assert data.item_ids.tolist() == ["a", "b"]
    assert data.worker_ids.tolist() == ["w1", "w2"]
    assert data.classes.tolist() == ["no", "yes"]
    assert data.items.tolist() == [1, 0, 1]
    assert data.labels.tolist() == [1, 0, 0]


def test_fixed_classes_keep_their_order_and_unused_ones() -> None:
    data = encode_labels([1, 1], [1, 2], ["bad", "good"], classes=["good", "ok", "bad"])
    assert data.n_classes == 3
    assert data.labels.tolist() == [2, 0]


def test_a_label_outside_the_classes_is_refused() -> None:
    with pytest.raises(ValueError, match="not among"):
        encode_labels([1], [1], ["maybe"], classes=["yes", "no"])


def test_lengths_and_weights_are_checked() -> None:
    with pytest.raises(ValueError):
        encode_labels([1, 2], [1], [0, 1])
    with pytest.raises(ValueError):
        encode_labels([1, 2], [1, 2], [0, 1], weights=[1.0, -1.0])


def test_integer_ids_far_apart_and_negative_get_compact_codes() -> None:
    ids, codes = encode_ids(np.array([10**12, -5, 10**12, 7]))
    assert ids.tolist() == [-5, 7, 10**12]
    assert codes.tolist() == [2, 0, 2, 1]
    ids, codes = encode_ids(np.array([3, -2, 3]))
    assert ids.tolist() == [-2, 3] and codes.tolist() == [1, 0, 1]


def test_design_matrix_holds_one_weight_per_judgment() -> None:
    data = encode_labels([0, 0, 1], [0, 1, 1], [1, 0, 1], weights=[1.0, 2.0, 3.0])
    dense = data.design.toarray()
    assert dense.shape == (2, 4)
    assert dense[0, 0 * 2 + 1] == 1.0 and dense[0, 1 * 2 + 0] == 2.0 and dense[1, 3] == 3.0
    assert data.vote_counts().tolist() == [[2.0, 1.0], [0.0, 3.0]]


def test_softmax_rows_sum_to_one_and_survive_huge_scores() -> None:
    scores = np.array([[1000.0, 0.0, -1000.0], [1.0, 1.0, 1.0]])
    out = softmax_rows(scores)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert out[0, 0] == pytest.approx(1.0)
    wide = softmax_rows(np.zeros((3, 20)))
    assert np.allclose(wide, 1 / 20)
