"""Helpers for the aggregation tests: real benchmark data and synthetic crowds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

from tests.paths import SHARED_DATA

TRUTH_INFERENCE = SHARED_DATA / "truth-inference"


def load_truth_inference(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """(answers with task/worker/label columns, truth indexed by task) of one dataset."""
    folder = TRUTH_INFERENCE / name
    if not folder.is_dir():
        pytest.skip(f"shared data not found: {folder}")
    if name == "spectral_rte":
        answers = pd.read_csv(folder / "rte_crowd.txt", sep="\t", header=None)
        truth = pd.read_csv(folder / "rte_truth.txt", sep="\t", header=None)
    else:
        answers = pd.read_csv(folder / "answer.csv")
        truth = pd.read_csv(folder / "truth.csv")
    answers.columns = ["task", "worker", "label"]
    truth.columns = ["task", "truth"]
    return answers, truth.set_index("task")["truth"]


@dataclass
class Crowd:
    """A synthetic crowd: labels and the truth behind them."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    accuracy: np.ndarray


def make_crowd(
    n_items: int = 300,
    n_workers: int = 20,
    k: int = 3,
    per_item: int = 5,
    accuracy: np.ndarray | None = None,
    seed: int = 0,
) -> Crowd:
    """Each item labelled by ``per_item`` distinct workers, right with their accuracy."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    acc = rng.uniform(0.6, 0.9, n_workers) if accuracy is None else np.asarray(accuracy)
    workers = np.concatenate([rng.choice(n_workers, per_item, replace=False) for _ in truth])
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(len(items)) < acc[workers]
    wrong = (truth[items] + rng.integers(1, k, len(items))) % k
    labels = np.where(right, truth[items], wrong)
    return Crowd(items, workers, labels, truth, acc)


@st.composite
def label_sets(draw: st.DrawFn, max_items: int = 8, max_workers: int = 5, max_k: int = 4):
    """Random (items, workers, labels) with at most one label per (item, worker) pair."""
    k = draw(st.integers(2, max_k))
    n_items = draw(st.integers(1, max_items))
    n_workers = draw(st.integers(1, max_workers))
    cells = draw(
        st.lists(
            st.tuples(st.integers(0, n_items - 1), st.integers(0, n_workers - 1)),
            min_size=1,
            max_size=n_items * n_workers,
            unique=True,
        )
    )
    labels = draw(st.lists(st.integers(0, k - 1), min_size=len(cells), max_size=len(cells)))
    items = np.array([c[0] for c in cells])
    workers = np.array([c[1] for c in cells])
    return items, workers, np.array(labels), k
