"""A linear Bradley-Terry head fitted exactly: L2-regularized logistic regression on pairs.

numpy and scipy only. With ``reward(x) = w·x``, P(chosen beats rejected) is
``sigmoid(w·(x_chosen - x_rejected) - margin)``; `fit_linear_bt` minimizes the mean
negative log-likelihood plus ``l2 * |w|²`` with L-BFGS (convex: one optimum, no epochs,
no learning rate). `choose_l2` picks the strength by cross-validation over groups of
pairs (folds by prompt), so no prompt is both fitted and scored, and returns the
out-of-fold margins for calibrating a temperature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DEFAULT_L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def fit_linear_bt(
    diff: FloatArray, l2: float, margin: FloatArray | None = None, max_iter: int = 500
) -> FloatArray:
    """Return the weights w minimizing mean(-log σ(diff·w - margin)) + l2·|w|².

    Args:
        diff: (n, d) features of the chosen answers minus those of the rejected ones.
        l2: The strength of the L2 penalty.
        margin: Per-pair margins subtracted inside the loss (TRL's margin loss), or None.
        max_iter: L-BFGS iterations at most.
    """
    d = np.asarray(diff, dtype=np.float64)
    m = np.zeros(len(d)) if margin is None else np.asarray(margin, dtype=np.float64)

    def loss(w: FloatArray) -> tuple[float, FloatArray]:
        z = d @ w - m
        value = float(np.mean(np.logaddexp(0.0, -z)) + l2 * (w @ w))
        grad = -(d.T @ np.exp(-np.logaddexp(0.0, z))) / len(d) + 2.0 * l2 * w
        return value, grad

    result = minimize(
        loss, np.zeros(d.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}
    )
    w: FloatArray = result.x
    return w


def choose_l2(
    diff: FloatArray,
    folds: IntArray,
    *,
    grid: Sequence[float] = DEFAULT_L2_GRID,
    margin: FloatArray | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[float, FloatArray]:
    """Return the L2 strength with the best cross-validated accuracy, and its margins.

    Args:
        diff: (n, d) chosen-minus-rejected features.
        folds: Per pair, the fold it is scored in (fitted on the other folds), or -1
            for pairs that are only ever fitted (e.g. everything outside a validation
            split). Pairs of one prompt must share a fold.
        grid: The strengths tried; ties go to the larger one (the simpler model).
        margin: Per-pair margins for the loss, or None.
        on_step: Called as ``(done, total)`` after each fit.

    Returns:
        The chosen strength and the out-of-fold margins ``diff·w`` at it (NaN for
        pairs with fold -1).
    """
    d = np.asarray(diff, dtype=np.float64)
    m = None if margin is None else np.asarray(margin, dtype=np.float64)
    fold_ids = sorted(int(f) for f in np.unique(folds) if f >= 0)
    scores = np.full((len(grid), len(d)), np.nan)
    total, done = len(grid) * len(fold_ids), 0
    for k in fold_ids:
        train, test = folds != k, folds == k
        for g, l2 in enumerate(grid):
            w = fit_linear_bt(d[train], l2, None if m is None else m[train])
            scores[g, test] = d[test] @ w
            done += 1
            if on_step is not None:
                on_step(done, total)
    scored = folds >= 0
    if not scored.any():
        return float(grid[len(grid) // 2]), scores[0]
    accuracy = [float(np.mean(np.where(s == 0, 0.5, s > 0))) for s in scores[:, scored]]
    best = max(range(len(grid)), key=lambda g: (round(accuracy[g], 9), grid[g]))
    return float(grid[best]), scores[best]
