"""What a generation run is made of: its jobs, its report, and the seed of each sample.

Pure data for `services.generation`, which plans the jobs from the database and stores
their outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from judgeloop.llm.backends import ChatReply
from judgeloop.llm.config import Message


@dataclass(frozen=True)
class GenerationJob:
    """One call to make: a model version, an item and a sample index."""

    item_id: int
    project_id: int
    model_version_id: int
    model: int
    """Index of the model in the run (its backend and prices)."""
    params_hash: str
    prompt_hash: str
    sample_index: int
    messages: tuple[Message, ...]
    seed: int | None = None
    existing_id: int | None = None
    """The failed Generation this call retries, if any."""


@dataclass
class GenerationReport:
    """Progress, then the outcome, of a generation run (this run's calls only).

    Attributes:
        total: Calls this run had to make.
        skipped: Keys already done before the run started (resumed).
        done: Calls finished and stored so far.
        ok: Calls that produced an answer (a new candidate each).
        failed: Calls that failed after their retries (stored with their error).
        requests: HTTP requests made, retries included.
        prompt_tokens: Prompt tokens of this run's calls.
        completion_tokens: Completion tokens of this run's calls.
        cost: Cost of this run's calls, from the prices in the models' params.
        wall_s: Seconds the run took.
    """

    total: int = 0
    skipped: int = 0
    done: int = 0
    ok: int = 0
    failed: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    wall_s: float = 0.0

    def count(self, reply: ChatReply, cost: float, *, stored: bool) -> None:
        """Add one finished call; `stored` is False when another run had stored its key."""
        self.done += 1
        self.requests += reply.attempts
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.cost += cost
        if not stored:
            self.skipped += 1
        elif reply.ok:
            self.ok += 1
        else:
            self.failed += 1


def sample_seed(params: dict[str, Any], sample_index: int) -> int | None:
    """The seed of sample `sample_index`: the params' seed plus the index (None: no seed)."""
    seed = params.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed + sample_index
    return None
