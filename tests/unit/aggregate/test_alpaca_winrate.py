"""AlpacaEval win rates from the published judge annotations reproduce the leaderboard."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from judgeloop.aggregate.winrate import outcome_to_preference, win_rate
from tests.paths import SHARED_DATA

ALPACA = SHARED_DATA / "alpaca_eval"


@pytest.mark.parametrize("model", ["gpt4", "alpaca-7b", "llama-2-7b-chat-hf"])
def test_matches_the_published_leaderboard(model: str) -> None:
    path = ALPACA / "judge_annotations" / f"{model}.alpaca_eval_gpt4.json.gz"
    if not path.exists():
        pytest.skip("shared alpaca_eval data not found")
    with gzip.open(path) as fh:
        rows = json.loads(fh.read())
    board = pd.read_csv(ALPACA / "alpaca_eval_gpt4_leaderboard.csv", index_col=0).loc[model]
    got = win_rate([r["preference"] for r in rows])
    assert got.win_rate == pytest.approx(board["win_rate"], abs=1e-9)
    assert got.standard_error == pytest.approx(board["standard_error"], abs=1e-9)
    assert (got.n_wins, got.n_wins_base, got.n_draws, got.n_total) == (
        board["n_wins"],
        board["n_wins_base"],
        board["n_draws"],
        board["n_total"],
    )
    assert got.discrete_win_rate == pytest.approx(board["discrete_win_rate"], abs=1e-9)


def test_draws_missing_values_and_conversion() -> None:
    got = win_rate([2, 1, 1.5, 0, np.nan])
    assert got.n_total == 4 and got.n_draws == 2
    assert got.win_rate == pytest.approx(50.0)
    assert outcome_to_preference([1.0, 0.5, 0.0]).tolist() == [1.0, 1.5, 2.0]
    assert np.isnan(win_rate([]).win_rate)
