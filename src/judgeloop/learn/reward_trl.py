"""Train a reward model from any local Hugging Face model with TRL's `RewardTrainer`.

Meant for a GPU (any model ``AutoModelForSequenceClassification`` can load, with one
output); it also runs on the CPU, which the tests do with a tiny random model. The
result is a model folder (``from_pretrained`` loads it) with judgeloop's manifest,
including held-out pairwise accuracy and calibration computed by `TrlRewardModel`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.errors import InvalidInput
from judgeloop.learn.data import PreferencePair
from judgeloop.learn.manifest import read_manifest
from judgeloop.learn.metrics import PairwiseMetrics, pairwise_metrics
from judgeloop.learn.trl_common import (
    Progress,
    TrlTrainResult,
    common_args,
    load_local,
    preference_dataset,
    progress_callback,
    run_and_save,
)

KIND = "judgeloop.reward_trl.v1"
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class RewardTrlConfig:
    """How to train a reward model with TRL.

    Attributes:
        output_dir: The folder the trained model is saved to.
        epochs: Training epochs.
        max_steps: Stop after this many steps (-1: run the epochs).
        batch_size: Pairs per device and step.
        gradient_accumulation_steps: Steps to accumulate before an update.
        learning_rate: AdamW learning rate.
        max_length: Pairs longer than this (tokens) are dropped by TRL; None keeps all.
        use_margin: Keep the rows' ``margin`` column (subtracted inside the loss).
        center_rewards_coefficient: TRL's incentive for rewards centred on zero.
        bf16: Train in bfloat16 (None: when the GPU supports it).
        gradient_checkpointing: Trade compute for memory.
        seed: Random seed.
        logging_steps: Log every this many steps.
        name: The model's name in its manifest.
    """

    output_dir: str
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-5
    max_length: int | None = 1024
    use_margin: bool = False
    center_rewards_coefficient: float | None = None
    bf16: bool | None = None
    gradient_checkpointing: bool = False
    seed: int = 0
    logging_steps: int = 10
    name: str = "reward-trl"


class TrlRewardModel:
    """A sequence-classification reward model: scores prompt + answer texts."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = 1024) -> None:
        """Wrap a loaded model (one output) and its tokenizer."""
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def load(cls, path: Path) -> TrlRewardModel:
        """Load a reward model folder written by `train_reward_trl` (offline)."""
        from transformers import AutoModelForSequenceClassification

        manifest = read_manifest(path)
        if manifest.kind != KIND:
            raise InvalidInput(f"{path} holds a {manifest.kind} model, not {KIND}")
        model, tokenizer = load_local(path, None, AutoModelForSequenceClassification)
        return cls(model, tokenizer, max_length=manifest.config.get("max_length"))

    def score(
        self, prompts: Sequence[str], answers: Sequence[str], *, batch_size: int = 8
    ) -> FloatArray:
        """Return the reward of each answer to its prompt (prompt + answer + EOS, as TRL)."""
        if len(prompts) != len(answers):
            raise ValueError("score() needs one prompt per answer")
        eos = self.tokenizer.eos_token or ""
        texts = [p + a + eos for p, a in zip(prompts, answers, strict=True)]
        return self.score_texts(texts, batch_size)

    def row_text(self, row: Mapping[str, Any], side: str) -> str:
        """Return the text TRL trains on for one side (chosen/rejected) of a row."""
        prompt, answer = row.get("prompt"), row[side]
        if isinstance(answer, list):
            messages = [*(prompt or []), *answer]
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False))
        return str(prompt or "") + str(answer) + (self.tokenizer.eos_token or "")

    def score_texts(self, texts: Sequence[str], batch_size: int = 8) -> FloatArray:
        """Return the reward of each full text (already prompt + answer)."""
        import torch

        out = np.zeros(len(texts), dtype=np.float32)
        self.model.eval()
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=self.max_length is not None,
                    max_length=self.max_length,
                    return_tensors="pt",
                    add_special_tokens=False,
                ).to(device)
                logits = self.model(**batch).logits[:, 0]
                out[start : start + len(logits)] = logits.float().cpu().numpy()
        return out

    def evaluate(self, pairs: Sequence[PreferencePair]) -> PairwiseMetrics:
        """Return pairwise accuracy and calibration of P(chosen wins) on plain-text pairs."""
        prompts = [p.prompt for p in pairs]
        scores = self.score(prompts * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs])
        n = len(pairs)
        return pairwise_metrics((scores[:n] - scores[n:]).astype(np.float64))

    def evaluate_rows(self, rows: Sequence[Mapping[str, Any]] | Any) -> PairwiseMetrics:
        """Return pairwise accuracy and calibration of P(chosen wins) on preference rows."""
        rows = list(rows)
        texts = [self.row_text(r, "chosen") for r in rows]
        texts += [self.row_text(r, "rejected") for r in rows]
        scores = self.score_texts(texts)
        n = len(rows)
        return pairwise_metrics((scores[:n] - scores[n:]).astype(np.float64))


def train_reward_trl(
    rows: Sequence[Mapping[str, Any]] | Any,
    *,
    config: RewardTrlConfig,
    model: str | Path | Any,
    tokenizer: Any = None,
    eval_rows: Sequence[Mapping[str, Any]] | Any = None,
    on_progress: Progress | None = None,
    source: str = "",
) -> TrlTrainResult:
    """Train a reward model with TRL's `RewardTrainer` and save it with a manifest.

    Args:
        rows: Preference rows (`export.training` preference rows, plain or
            conversational, or `trl_common.pair_rows(pairs)`), or a `datasets.Dataset`.
        config: Training settings, including where to save.
        model: A local model folder (loaded with one output, nothing downloaded) or a
            model instance with ``num_labels=1``.
        tokenizer: The tokenizer (default: the one in the model folder).
        eval_rows: Held-out rows for the manifest's accuracy and calibration.
        on_progress: Called as ``("train", step, max_steps)``.
        source: Where the rows come from, for the manifest.
    """
    from transformers import AutoModelForSequenceClassification
    from trl.trainer.reward_config import RewardConfig
    from trl.trainer.reward_trainer import RewardTrainer

    model, tokenizer = load_local(
        model, tokenizer, AutoModelForSequenceClassification, num_labels=1
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_ds = preference_dataset(rows, keep_margin=config.use_margin)
    args = RewardConfig(
        **common_args(config),
        max_length=config.max_length,
        center_rewards_coefficient=config.center_rewards_coefficient,
    )
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        processing_class=tokenizer,
        callbacks=progress_callback(on_progress, "train"),
    )

    def held_out(trained: Any) -> dict[str, Any]:
        scorer = TrlRewardModel(trained.model, tokenizer, max_length=config.max_length)
        return scorer.evaluate_rows(eval_rows).as_dict()

    return run_and_save(
        trainer,
        tokenizer,
        kind=KIND,
        config=config,
        rows=rows,
        held_out=held_out if eval_rows is not None and len(eval_rows) else None,
        source=source,
    )
