"""Preferences per item: rankings turned into pairs, and consensus on A/B votes with confidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.dawid_skene import posteriors_from_accuracy
from judgeloop.aggregate.encoding import FloatArray, LabelData, encode_labels
from judgeloop.aggregate.labels import default_label_model

#: Outcome classes of an A/B vote, in posterior column order.
PREFERENCE_CLASSES = np.array([1.0, 0.5, 0.0])  # first better, tie, second better


@dataclass(frozen=True, eq=False)
class RankingPairs:
    """Pairs from rankings: in group ``group[p]``, ``first[p]`` vs ``second[p]``.

    ``outcome`` is 1 when ``first`` was ranked better, 0.5 when ranked equal; the
    better-ranked candidate is always put first, so 0 never occurs.
    """

    group: npt.NDArray[Any]
    first: npt.NDArray[Any]
    second: npt.NDArray[Any]
    outcome: FloatArray


def ranking_pairs(
    groups: npt.ArrayLike, candidates: npt.ArrayLike, ranks: npt.ArrayLike
) -> RankingPairs:
    """Turn rankings into every pairwise comparison they imply.

    Args:
        groups: the ranking (one judgment of one item) each entry belongs to.
        candidates: the ranked candidate (e.g. the model version of an answer).
        ranks: its rank in that ranking, lower is better; equal ranks are a tie.

    Returns:
        All ``n (n - 1) / 2`` pairs of each ranking of ``n`` candidates.
    """
    g, c = np.asarray(groups), np.asarray(candidates)
    r = np.asarray(ranks, dtype=np.float64)
    if not len(g) == len(c) == len(r):
        raise ValueError("groups, candidates and ranks must have the same length")
    _, gcode = np.unique(g, return_inverse=True)
    order = np.lexsort((r, gcode.reshape(-1)))  # by group, then best rank first
    g, c, r, gcode = g[order], c[order], r[order], gcode.reshape(-1)[order]
    n = len(g)
    starts = np.flatnonzero(np.r_[True, gcode[1:] != gcode[:-1]]) if n else np.array([], int)
    ends = np.r_[starts[1:], n]
    end_of = np.repeat(ends, ends - starts)
    partners = end_of - np.arange(n) - 1  # later entries of the same ranking
    left = np.repeat(np.arange(n), partners)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + offset
    outcome = np.where(r[left] == r[right], 0.5, 1.0)
    return RankingPairs(g[left], c[left], c[right], outcome)


@dataclass(frozen=True, eq=False)
class PreferenceConsensus:
    """Consensus on each item's A/B question.

    ``posteriors[i]`` gives P(first better), P(tie), P(second better) for
    ``item_ids[i]``; ``preferred`` is 1, 0.5 or 0 (first, tie, second) and
    ``confidence`` its probability; ``margin`` = P(first) - P(second).
    """

    item_ids: npt.NDArray[Any]
    posteriors: FloatArray
    method: str

    @property
    def preferred(self) -> FloatArray:
        """The consensus outcome per item: 1 (first), 0.5 (tie) or 0 (second)."""
        return np.asarray(PREFERENCE_CLASSES[np.argmax(self.posteriors, axis=1)])

    @property
    def confidence(self) -> FloatArray:
        """The posterior probability of the consensus outcome."""
        return np.asarray(self.posteriors.max(axis=1), dtype=np.float64)

    @property
    def margin(self) -> FloatArray:
        """P(first better) minus P(second better), in [-1, 1]."""
        return np.asarray(self.posteriors[:, 0] - self.posteriors[:, 2], dtype=np.float64)


def encode_preferences(
    items: npt.ArrayLike, workers: npt.ArrayLike, outcome: npt.ArrayLike
) -> LabelData:
    """Encode A/B votes (1 first, 0.5 tie, 0 second) as three-class label data."""
    return encode_labels(
        items, workers, np.asarray(outcome, np.float64), classes=PREFERENCE_CLASSES
    )


def preference_consensus(
    items: npt.ArrayLike,
    workers: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    worker_accuracy: dict[Any, float] | None = None,
    default_accuracy: float = 0.6,
) -> PreferenceConsensus:
    """Consensus preference per item, weighted by worker reliability, with confidence.

    Args:
        items: the item (one A/B question) of each vote.
        workers: the worker of each vote.
        outcome: 1 when the first answer was preferred, 0.5 for a tie, 0 for the second.
        worker_accuracy: known accuracies (e.g. on gold), by worker id. When given,
            the posterior is a one-coin Bayes update with them (workers missing get
            ``default_accuracy``); when omitted, the default Dawid-Skene model is
            fitted on the votes themselves.
        default_accuracy: the accuracy assumed for workers without a known one.

    Returns:
        Per item: posteriors over (first, tie, second), the preferred outcome and
        its confidence.
    """
    data = encode_preferences(items, workers, outcome)
    if worker_accuracy is None:
        post = default_label_model(data).consensus.posteriors
        return PreferenceConsensus(data.item_ids, post, "judgeloop.preference_ds.v1")
    acc = np.array([worker_accuracy.get(w, default_accuracy) for w in data.worker_ids.tolist()])
    post = posteriors_from_accuracy(data, acc)
    return PreferenceConsensus(data.item_ids, post, "judgeloop.preference_one_coin.v1")
