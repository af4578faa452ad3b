"""Result types shared by the categorical aggregators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.encoding import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class LabelConsensus:
    """Consensus label per item: a posterior over classes, its argmax and its confidence.

    ``posteriors[i, k]`` is the probability that item ``item_ids[i]`` has class
    ``classes[k]``; rows sum to 1. Ties go to the first class in ``classes`` order.
    """

    item_ids: npt.NDArray[Any]
    classes: npt.NDArray[Any]
    posteriors: FloatArray
    method: str

    @property
    def codes(self) -> IntArray:
        """The index of the consensus class of each item."""
        return np.asarray(np.argmax(self.posteriors, axis=1), dtype=np.intp)

    @property
    def labels(self) -> npt.NDArray[Any]:
        """The consensus class of each item (values from ``classes``)."""
        return self.classes[self.codes]

    @property
    def confidence(self) -> FloatArray:
        """The posterior probability of the consensus class of each item."""
        return np.asarray(self.posteriors.max(axis=1), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class WorkerModel:
    """What a model-based aggregator learned about the workers.

    ``confusion[w, t, o]`` is the estimated probability that worker ``worker_ids[w]``
    answers class ``o`` when the true class is ``t`` (each ``confusion[w, t]`` sums
    to 1). ``accuracy[w]`` is the prior-weighted diagonal: the chance that the worker
    is right on a random item. ``priors`` is the estimated class distribution.
    """

    worker_ids: npt.NDArray[Any]
    confusion: FloatArray
    priors: FloatArray
    accuracy: FloatArray
    n_iter: int
    converged: bool


@dataclass(frozen=True, eq=False)
class ModelConsensus:
    """Consensus labels together with the worker model that produced them."""

    consensus: LabelConsensus
    workers: WorkerModel
