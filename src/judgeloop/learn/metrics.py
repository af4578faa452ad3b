"""How good a reward model is on held-out pairs: accuracy and calibration of P(chosen wins).

numpy only. The model's probability that the chosen answer wins is
``p = sigmoid(reward(chosen) - reward(rejected))``; the label is always "chosen wins".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairwiseMetrics:
    """Held-out quality of a reward model.

    Attributes:
        n: Number of pairs.
        accuracy: Share of pairs where the chosen answer scores higher (ties count 1/2).
        ece: Expected calibration error of the confidence max(p, 1 - p) over 10 bins.
        brier: Mean of (1 - p)², the Brier score of P(chosen wins).
        log_loss: Mean of -log p.
        mean_confidence: Mean of max(p, 1 - p) (compare with accuracy).
        accuracy_low: Lower end of the 95% Wilson interval of the accuracy.
        accuracy_high: Upper end of that interval.
    """

    n: int
    accuracy: float
    ece: float
    brier: float
    log_loss: float
    mean_confidence: float
    accuracy_low: float = float("nan")
    accuracy_high: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Return the metrics as a plain dict (for manifests and JSON)."""
        return asdict(self)


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Return the Wilson score interval of a proportion (95% by default)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def sigmoid(x: FloatArray) -> FloatArray:
    """Return the logistic function of `x`, computed without overflow."""
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


def expected_calibration_error(p_chosen: FloatArray, bins: int = 10) -> float:
    """Return the ECE of the predicted winner's confidence over equal-width bins.

    For each pair the prediction is the answer with p > 1/2 and its confidence is
    max(p, 1 - p); ECE is the count-weighted mean of |accuracy - confidence| per bin.
    """
    p = np.asarray(p_chosen, dtype=np.float64)
    if p.size == 0:
        return 0.0
    confidence = np.maximum(p, 1.0 - p)
    correct = np.where(p == 0.5, 0.5, (p > 0.5).astype(np.float64))
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def pairwise_metrics(margins: FloatArray) -> PairwiseMetrics:
    """Return accuracy and calibration from reward(chosen) - reward(rejected) per pair."""
    d = np.asarray(margins, dtype=np.float64)
    if d.size == 0:
        return PairwiseMetrics(0, float("nan"), float("nan"), float("nan"), float("nan"), 0.0)
    p = sigmoid(d)
    accuracy = float(np.mean(np.where(d == 0, 0.5, (d > 0).astype(np.float64))))
    low, high = wilson_interval(accuracy * d.size, int(d.size))
    return PairwiseMetrics(
        n=int(d.size),
        accuracy=accuracy,
        ece=expected_calibration_error(p),
        brier=float(np.mean((1.0 - p) ** 2)),
        log_loss=float(np.mean(np.logaddexp(0.0, -d))),
        mean_confidence=float(np.mean(np.maximum(p, 1.0 - p))),
        accuracy_low=low,
        accuracy_high=high,
    )


def fit_temperature(margins: FloatArray, grid: int = 61) -> float:
    """Return the temperature T minimizing the log loss of sigmoid(margin / T).

    Searched on a log grid from 0.05 to 20; used on validation pairs so that the saved
    model's probabilities are calibrated and not just its ranking.
    """
    d = np.asarray(margins, dtype=np.float64)
    if d.size == 0:
        return 1.0
    temps = np.exp(np.linspace(np.log(0.05), np.log(20.0), grid))
    losses = [float(np.mean(np.logaddexp(0.0, -d / t))) for t in temps]
    return float(temps[int(np.argmin(losses))])
