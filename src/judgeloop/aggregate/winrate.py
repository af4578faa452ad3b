"""AlpacaEval-style win rate of a model against a baseline from pairwise judgments.

Encoding as in AlpacaEval: ``preference`` is 1 when the baseline's answer (``output_1``)
was preferred, 2 when the model's (``output_2``) was, 1.5 for a draw; 0 is an older
spelling of a draw, and values in between (a judge's probability) count as they are.
The win rate is the mean of ``preference - 1`` in percent and its standard error is
the sample standard deviation over the square root of the count (pandas ``sem``),
which reproduces the published AlpacaEval leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class WinRate:
    """A model's win rate against the baseline, in percent, with its standard error."""

    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int

    @property
    def discrete_win_rate(self) -> float:
        """Win rate counting each judgment as a win, loss or draw (half), in percent."""
        if not self.n_total:
            return float("nan")
        return 100.0 * (self.n_wins + 0.5 * self.n_draws) / self.n_total


def win_rate(preferences: npt.ArrayLike) -> WinRate:
    """Win rate of the model (preference 2) over the baseline (preference 1).

    Args:
        preferences: one value per judged instruction: 1 (baseline better), 2 (model
            better), 1.5 or 0 (draw), or a probability-like value in [1, 2]; NaN
            (no judgment) is left out.

    Returns:
        Win rate and standard error in percent, with counts of wins, losses, draws.
    """
    p = np.asarray(preferences, dtype=np.float64).copy()
    p[p == 0.0] = 1.5
    valid = np.isfinite(p) & (p >= 1.0) & (p <= 2.0)
    score = p[valid] - 1.0
    n = len(score)
    mean = float(score.mean()) if n else float("nan")
    sem = float(score.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return WinRate(
        win_rate=100.0 * mean,
        standard_error=100.0 * sem,
        n_wins=int((score > 0.5).sum()),
        n_wins_base=int((score < 0.5).sum()),
        n_draws=int((score == 0.5).sum()),
        n_total=n,
    )


def outcome_to_preference(outcome: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Convert judgeloop outcomes (1 first/baseline better, 0.5 tie, 0 second better).

    Returns AlpacaEval preferences (1 baseline, 1.5 draw, 2 model), for when the
    baseline was shown first.
    """
    return np.asarray(2.0 - np.asarray(outcome, dtype=np.float64), dtype=np.float64)
