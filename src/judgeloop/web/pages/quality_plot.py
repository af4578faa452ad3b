"""The model leaderboard drawn on the server as SVG with matplotlib (no script, no CDN).

Left: each model's Bradley-Terry score on the Elo scale with its bootstrap interval.
Right: the head-to-head win-rate matrix (row beat column), each cell labelled.
matplotlib is imported inside the function (Agg backend), so importing the web app
stays light.
"""

from __future__ import annotations

import io
import math
import re
from typing import TYPE_CHECKING

from judgeloop.aggregate.bradley_terry import ELO_SCALE
from judgeloop.services.leaderboard import Leaderboard

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""The SVG's own policy: no script of any kind; matplotlib's inline styles only."""
_SIZE = re.compile(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"')


def _elo(score: float | None) -> float:
    return math.nan if score is None else 1000.0 + ELO_SCALE * score


def leaderboard_svg(board: Leaderboard, *, title: str = "") -> str:
    """Plot a leaderboard as an SVG document (a placeholder text when it is empty).

    Args:
        board: The leaderboard (models best first).
        title: A heading above the plots.

    Returns:
        The SVG text, scalable (no fixed width or height; a viewBox).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    n = len(board.models)
    height = 1.6 + 0.45 * max(n, 2)
    fig, (ax_scores, ax_rates) = plt.subplots(
        1, 2, figsize=(11, height), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    try:
        if not n:
            for ax in (ax_scores, ax_rates):
                ax.axis("off")
            ax_scores.text(0, 0.5, "No model versions compared yet.", fontsize=12)
        else:
            _scores(ax_scores, board)
            _rates(fig, ax_rates, board)
        if title:
            fig.suptitle(title, fontsize=12)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return _SIZE.sub(r"\1", out.getvalue(), count=1)


def _scores(ax: Axes, board: Leaderboard) -> None:
    """Elo-scale scores with their bootstrap intervals, best at the top."""
    names = [m.name for m in board.models][::-1]
    elo = [m.elo for m in board.models][::-1]
    low = [_elo(m.ci_low) for m in board.models][::-1]
    high = [_elo(m.ci_high) for m in board.models][::-1]
    ys = list(range(len(names)))
    left = [max(0.0, e - lo) if not math.isnan(lo) else 0.0 for e, lo in zip(elo, low, strict=True)]
    right = [max(0.0, h - e) if not math.isnan(h) else 0.0 for e, h in zip(elo, high, strict=True)]
    ax.errorbar(elo, ys, xerr=[left, right], fmt="o", color="#1f5fa8", ecolor="#7a9cc6", capsize=4)
    ax.set_yticks(ys, names)
    ax.axvline(1000, color="#999", linewidth=0.8, linestyle=":")
    ax.set_xlabel(f"Bradley-Terry score (Elo scale), {board.n_bootstrap} bootstrap resamples")
    ax.set_title("Scores with 95% intervals")
    ax.grid(axis="x", alpha=0.3)


def _rates(fig: Figure, ax: Axes, board: Leaderboard) -> None:
    """The win-rate matrix as a heat map with each cell written out."""
    names = [m.name for m in board.models]
    grid = [[math.nan if v is None else v for v in row] for row in board.win_rates]
    image = ax.imshow(grid, cmap="RdBu", vmin=0.0, vmax=1.0)
    for i, row in enumerate(board.win_rates):
        for j, value in enumerate(row):
            if value is not None and i != j:
                text = f"{value:.0%}\n({board.counts[i][j]})"
                color = "white" if abs(value - 0.5) > 0.3 else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_title("Win rate of row against column (n)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
