"""Adaptive redundancy: stop collecting judgments on an item once its consensus is confident.

The stopping rule is a pure function of the labels an item has so far and the
reliability of the workers who gave them:

1. each worker's accuracy is shrunk toward ``prior_accuracy`` by ``prior_strength``
   pseudo-labels (a worker seen on 3 items is not trusted like one seen on 300) and
   capped at ``max_accuracy`` (no single worker settles an item alone);
2. the item's posterior is the one-coin Bayes update with those accuracies;
3. the item is done when it has ``min_labels`` and its top posterior reaches
   ``confidence``, or when it reaches ``max_labels``. An item past ``min_labels``
   and still unsure is *disputed*: it gets the highest queue priority.

:func:`replay_adaptive` replays a finished project as if its labels had arrived one
at a time, to measure how many judgments the rule saves and what it costs in accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.dawid_skene import posteriors_from_accuracy
from judgeloop.aggregate.encoding import FloatArray, IntArray, LabelData
from judgeloop.aggregate.labels import default_label_model

#: Queue priority levels returned by :func:`redundancy_decision`.
PRIORITY_DONE, PRIORITY_NEEDS_MINIMUM, PRIORITY_DISPUTED = 0, 1, 2


@dataclass(frozen=True)
class StoppingRule:
    """When an item has enough judgments. ``max_labels=None`` means no upper limit."""

    confidence: float = 0.995
    min_labels: int = 3
    max_labels: int | None = 10
    prior_accuracy: float = 0.7
    prior_strength: float = 20.0
    max_accuracy: float = 0.95


@dataclass(frozen=True, eq=False)
class RedundancyDecision:
    """Per item: labels so far, posterior confidence, and what the queue should do.

    ``done`` items get no more judgments; the others get one more, disputed ones
    first (``priority`` 2, then 1 for items still below the minimum, 0 when done).
    ``uncertainty`` (1 - confidence) orders items within a priority level.
    """

    item_ids: npt.NDArray[Any]
    n_labels: FloatArray
    posteriors: FloatArray
    done: npt.NDArray[np.bool_]
    disputed: npt.NDArray[np.bool_]
    priority: IntArray

    @property
    def confidence(self) -> FloatArray:
        """Top posterior per item."""
        return np.asarray(self.posteriors.max(axis=1), dtype=np.float64)

    @property
    def uncertainty(self) -> FloatArray:
        """1 - confidence: the higher, the more a further judgment is worth."""
        return 1.0 - self.confidence


def effective_accuracy(
    accuracy: FloatArray, evidence: FloatArray, rule: StoppingRule
) -> FloatArray:
    """Worker accuracies shrunk toward the prior by their evidence and capped."""
    acc = np.nan_to_num(np.asarray(accuracy, np.float64), nan=rule.prior_accuracy)
    n = np.asarray(evidence, np.float64)
    shrunk = (n * acc + rule.prior_strength * rule.prior_accuracy) / (n + rule.prior_strength)
    return np.asarray(np.minimum(shrunk, rule.max_accuracy), dtype=np.float64)


def redundancy_decision(
    data: LabelData,
    accuracy: FloatArray,
    *,
    rule: StoppingRule | None = None,
    evidence: FloatArray | None = None,
    priors: FloatArray | None = None,
) -> RedundancyDecision:
    """Decide, per item, whether to collect another judgment and with what priority.

    Args:
        data: the labels each item has so far.
        accuracy: per worker code, the estimated accuracy (gold or model; NaN for
            unknown workers, who get the prior).
        rule: the project's stopping rule.
        evidence: how many labels each accuracy rests on (default: the worker's
            labels in ``data``).
        priors: class prior (default uniform).

    Returns:
        Posterior, confidence, done/disputed flags and queue priority per item.
    """
    rule = rule or StoppingRule()
    ev = data.worker_counts if evidence is None else evidence
    post = posteriors_from_accuracy(data, effective_accuracy(accuracy, ev, rule), priors)
    n = data.item_counts
    confident = post.max(axis=1) >= rule.confidence
    enough = n >= rule.min_labels
    done = enough & confident
    if rule.max_labels is not None:
        done |= n >= rule.max_labels
    disputed = enough & ~done
    priority = np.where(done, PRIORITY_DONE, np.where(disputed, PRIORITY_DISPUTED, 1))
    return RedundancyDecision(data.item_ids, n, post, done, disputed, priority.astype(np.intp))


@dataclass(frozen=True, eq=False)
class ReplayResult:
    """Which labels an adaptive run would have collected (``taken``) and in how many rounds."""

    taken: npt.NDArray[np.bool_]
    rounds: int

    @property
    def spent(self) -> int:
        """Judgments collected."""
        return int(self.taken.sum())


def arrival_rank(data: LabelData, seed: int) -> IntArray:
    """Position of each label in its item's (seeded, shuffled) arrival order."""
    key = np.random.default_rng(seed).random(len(data))
    order = np.lexsort((key, data.items))
    starts = np.r_[0, np.cumsum(np.bincount(data.items, minlength=data.n_items))[:-1]]
    rank = np.empty(len(data), dtype=np.intp)
    rank[order] = np.arange(len(data)) - starts[data.items[order]]
    return rank


def replay_adaptive(
    data: LabelData, *, rule: StoppingRule | None = None, seed: int = 0
) -> ReplayResult:
    """Replay a finished project with adaptive redundancy.

    Every item first gets ``min_labels`` of its labels (in a seeded random order);
    then, round by round, the default model is fitted on the labels collected so
    far, its worker accuracies feed :func:`redundancy_decision`, and every item not
    done receives its next label, until all items are done or out of labels.

    Returns:
        The mask of labels collected and the number of rounds.
    """
    rule = rule or StoppingRule()
    rank = arrival_rank(data, seed)
    available = np.bincount(data.items, minlength=data.n_items)
    taken = rank < rule.min_labels
    rounds = 0
    while True:
        rounds += 1
        sub = data.subset(taken)
        model = default_label_model(sub).workers
        decision = redundancy_decision(sub, model.accuracy, rule=rule, priors=model.priors)
        have = np.bincount(sub.items, minlength=data.n_items)
        need = ~decision.done & (have < available)
        if not need.any():
            return ReplayResult(taken, rounds)
        taken = taken | (need[data.items] & (rank == have[data.items]))
