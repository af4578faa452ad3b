"""Best-of-n re-ranking: score n answers to a prompt with a reward model, keep the best.

Any object with ``score(prompts, answers) -> array`` is a reward model here: the CPU
model (`learn.reward_model.CpuRewardModel`), a TRL one (`learn.reward_trl`), or a test
double. `load_reward_model` opens a saved folder of either kind by its manifest. The
picks of a best-of-n run make a new model version (``best-of-<n>(<base>, <reward>)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.learn.manifest import read_manifest


class RewardScorer(Protocol):
    """Anything that scores answers to prompts (higher is better)."""

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> Any:
        """Return one reward per (prompt, answer)."""


@dataclass(frozen=True)
class RerankChoice:
    """The pick among one prompt's answers.

    Attributes:
        index: Position of the best-scored answer (the first one on a tie).
        scores: The reward of every answer, in the given order.
        margin: Best score minus the runner-up's (0 with a single answer).
    """

    index: int
    scores: tuple[float, ...]
    margin: float


def _choice(scores: Sequence[float]) -> RerankChoice:
    values = np.asarray(scores, dtype=np.float64)
    index = int(np.argmax(values))
    others = np.delete(values, index)
    margin = float(values[index] - others.max()) if others.size else 0.0
    return RerankChoice(index=index, scores=tuple(float(v) for v in values), margin=margin)


def best_of_n(scorer: RewardScorer, prompt: str, answers: Sequence[str]) -> RerankChoice:
    """Score the answers to one prompt and return the best one's index and all scores."""
    if not answers:
        raise InvalidInput("best-of-n needs at least one answer")
    return _choice(list(scorer.score([prompt] * len(answers), list(answers))))


def rerank(
    scorer: RewardScorer,
    prompts: Sequence[str],
    candidates: Sequence[Sequence[str]],
    *,
    chunk_prompts: int = 64,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[RerankChoice]:
    """Return the best-of-n choice for each prompt, scoring many prompts per call.

    Args:
        scorer: The reward model.
        prompts: One prompt per item.
        candidates: The answers of each prompt (any number ≥ 1 each).
        chunk_prompts: Prompts scored together (bounds memory, batches the encoder).
        on_progress: Called with (prompts done, total).
    """
    if len(prompts) != len(candidates):
        raise ValueError("rerank() needs one list of answers per prompt")
    if any(not answers for answers in candidates):
        raise InvalidInput("every prompt needs at least one answer to choose from")
    choices: list[RerankChoice] = []
    for start in range(0, len(prompts), chunk_prompts):
        chunk = range(start, min(start + chunk_prompts, len(prompts)))
        flat_prompts = [prompts[i] for i in chunk for _ in candidates[i]]
        flat_answers = [a for i in chunk for a in candidates[i]]
        scores = list(scorer.score(flat_prompts, flat_answers))
        at = 0
        for i in chunk:
            n = len(candidates[i])
            choices.append(_choice(scores[at : at + n]))
            at += n
        if on_progress is not None:
            on_progress(chunk.stop, len(prompts))
    return choices


def best_of_n_name(base: str, reward: str, n: int) -> str:
    """Return the model version name of best-of-n picks (``best-of-4(base, reward)``)."""
    return f"best-of-{n}({base}, {reward})"


def load_reward_model(path: Path) -> RewardScorer:
    """Load a saved reward model folder of any kind judgeloop writes (by its manifest)."""
    from judgeloop.learn import reward_model, reward_trl

    kind = read_manifest(path).kind
    if kind == reward_model.KIND:
        return reward_model.CpuRewardModel.load(path)
    if kind == reward_trl.KIND:
        return reward_trl.TrlRewardModel.load(path)
    raise InvalidInput(f"{path} holds a {kind} model, which is not a reward model")
