"""Fine-tune a local policy model on preferences with TRL's `DPOTrainer`.

Meant for a GPU; the tests run a few steps on the CPU with a tiny random model, so the
code path is real. The result is a model folder (a new model version: generation can
load it like any local transformers model) with judgeloop's manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.learn.trl_common import (
    Progress,
    TrlTrainResult,
    common_args,
    load_local,
    preference_dataset,
    progress_callback,
    run_and_save,
)

KIND = "judgeloop.dpo.v1"


@dataclass(frozen=True)
class DpoConfig:
    """How to fine-tune a policy with DPO.

    Attributes:
        output_dir: The folder the fine-tuned policy is saved to.
        beta: DPO's β: how far the policy may move from the reference model.
        loss_type: TRL's DPO loss (``sigmoid`` is the DPO paper's).
        epochs: Training epochs.
        max_steps: Stop after this many steps (-1: run the epochs).
        batch_size: Pairs per device and step.
        gradient_accumulation_steps: Steps to accumulate before an update.
        learning_rate: AdamW learning rate.
        max_length: Longest prompt + answer in tokens (longer ones are truncated).
        bf16: Train in bfloat16 (None: when the GPU supports it).
        gradient_checkpointing: Trade compute for memory.
        seed: Random seed.
        logging_steps: Log every this many steps.
        name: The model's name in its manifest.
    """

    output_dir: str
    beta: float = 0.1
    loss_type: str = "sigmoid"
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    learning_rate: float = 5e-7
    max_length: int | None = 1024
    bf16: bool | None = None
    gradient_checkpointing: bool = False
    seed: int = 0
    logging_steps: int = 10
    name: str = "dpo"


def train_dpo(
    rows: Sequence[Mapping[str, Any]] | Any,
    *,
    config: DpoConfig,
    model: str | Path | Any,
    tokenizer: Any = None,
    ref_model: str | Path | Any = None,
    eval_rows: Sequence[Mapping[str, Any]] | Any = None,
    on_progress: Progress | None = None,
    source: str = "",
) -> TrlTrainResult:
    """Fine-tune a causal LM with DPO on preference rows and save it with a manifest.

    Args:
        rows: Preference rows (`export.training`, plain or conversational) or a
            `datasets.Dataset`; conversational rows need a tokenizer with a chat template.
        config: Training settings, including where to save.
        model: A local causal LM folder (nothing is downloaded) or a model instance.
        tokenizer: The tokenizer (default: the one in the model folder).
        ref_model: The frozen reference model (default: a copy of the starting policy).
        eval_rows: Held-out rows; TRL's reward accuracy and margins on them go into
            the manifest's metrics.
        on_progress: Called as ``("train", step, max_steps)``.
        source: Where the rows come from, for the manifest.
    """
    from transformers import AutoModelForCausalLM
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    model, tokenizer = load_local(model, tokenizer, AutoModelForCausalLM)
    if ref_model is not None and isinstance(ref_model, str | Path):
        ref_model, _ = load_local(ref_model, tokenizer, AutoModelForCausalLM)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args = DPOConfig(
        **common_args(config),
        beta=config.beta,
        loss_type=[config.loss_type],
        max_length=config.max_length,
    )
    eval_ds = preference_dataset(eval_rows) if eval_rows is not None else None
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=preference_dataset(rows),
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        callbacks=progress_callback(on_progress, "train"),
    )

    def held_out(trained: Any) -> dict[str, Any]:
        evaluated = trained.evaluate()
        return {k: float(v) for k, v in evaluated.items() if _is_number(v)}

    return run_and_save(
        trainer,
        tokenizer,
        kind=KIND,
        config=config,
        rows=rows,
        held_out=held_out if eval_ds is not None else None,
        source=source,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
