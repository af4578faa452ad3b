"""What the TRL paths (reward model, DPO) share: datasets, progress, precision, results.

torch, transformers, trl and datasets are imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.learn.data import PreferencePair
from judgeloop.learn.manifest import ModelManifest

Progress = Callable[[str, int, int], None]
PREFERENCE_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class TrlTrainResult:
    """A model trained through TRL and saved with its manifest.

    Attributes:
        path: The model folder (``from_pretrained`` loads it; ``manifest.json`` beside).
        metrics: Training and held-out metrics.
        manifest: The manifest written into the folder.
    """

    path: Path
    metrics: dict[str, Any]
    manifest: ModelManifest


def pair_rows(pairs: Iterable[PreferencePair]) -> list[dict[str, Any]]:
    """Return TRL explicit-prompt rows (with ``margin``) for preference pairs."""
    return [
        {"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected, "margin": p.margin}
        for p in pairs
    ]


def preference_dataset(
    rows: Sequence[Mapping[str, Any]] | Any, *, keep_margin: bool = False
) -> Any:
    """Return a `datasets.Dataset` of TRL preference rows (prompt, chosen, rejected).

    `rows` is a list of rows as `export.training` builds them (plain or conversational)
    or a `datasets.Dataset`. Provenance columns are dropped; ``margin`` is kept only with
    `keep_margin` (TRL's RewardTrainer subtracts it inside the loss).
    """
    import datasets

    keep = (*PREFERENCE_COLUMNS, "margin") if keep_margin else PREFERENCE_COLUMNS
    if isinstance(rows, datasets.Dataset):
        missing = [c for c in PREFERENCE_COLUMNS if c not in rows.column_names]
        if missing:
            raise InvalidInput(f"preference rows need columns {missing}")
        return rows.select_columns([c for c in keep if c in rows.column_names])
    if not rows:
        raise InvalidInput("no preference rows to train on")
    missing = [c for c in PREFERENCE_COLUMNS if c not in rows[0]]
    if missing:
        raise InvalidInput(f"preference rows need columns {missing}")
    data = [{c: row[c] for c in keep if c in row} for row in rows]
    if keep_margin:
        for row in data:
            row["margin"] = float(row.get("margin") or 0.0)
    return datasets.Dataset.from_list(data)


def use_bf16(requested: bool | None) -> bool:
    """Return whether to train in bfloat16: as requested, else when a GPU supports it."""
    import torch

    if requested is not None:
        return requested
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def progress_callback(on_progress: Progress | None, stage: str) -> list[Any]:
    """Return ``[callback]`` reporting ``(stage, step, max_steps)`` to `on_progress`."""
    if on_progress is None:
        return []
    from transformers import TrainerCallback

    report: Progress = on_progress

    class ReportProgress(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:  # noqa: ARG002
            report(stage, int(state.global_step), int(state.max_steps))

    return [ReportProgress()]


def common_args(config: Any) -> dict[str, Any]:
    """Return the TrainingArguments both TRL configs take (no Hub, no checkpoints).

    Args:
        config: A judgeloop TRL config dataclass (`RewardTrlConfig`, `DpoConfig`): both
            have ``output_dir``, ``epochs``, ``max_steps``, ``batch_size``,
            ``gradient_accumulation_steps``, ``learning_rate``, ``bf16``, ``seed``,
            ``logging_steps`` and ``gradient_checkpointing``.
    """
    return {
        "output_dir": config.output_dir,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "bf16": use_bf16(config.bf16),
        "seed": config.seed,
        "logging_steps": config.logging_steps,
        "gradient_checkpointing": config.gradient_checkpointing,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "push_to_hub": False,
    }


def run_and_save(
    trainer: Any,
    tokenizer: Any,
    *,
    kind: str,
    config: Any,
    rows: Sequence[Mapping[str, Any]] | Any,
    held_out: Callable[[Any], dict[str, Any]] | None = None,
    source: str = "",
) -> TrlTrainResult:
    """Train, measure, save the model and tokenizer, and write the manifest.

    Args:
        trainer: A TRL trainer, ready to train.
        tokenizer: Its tokenizer (saved beside the model).
        kind: The manifest kind (``judgeloop.reward_trl.v1``...).
        config: The judgeloop config dataclass (has ``output_dir`` and ``name``).
        rows: The training rows (hashed and counted for the manifest).
        held_out: Returns held-out metrics from the trained trainer, if any.
        source: Where the rows come from.
    """
    from dataclasses import asdict

    from judgeloop.learn.data import data_hash, pair_from_row
    from judgeloop.learn.manifest import read_manifest, write_manifest

    started = time.perf_counter()
    output = trainer.train()
    metrics: dict[str, Any] = {
        "train_loss": float(output.training_loss),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    if held_out is not None:
        metrics["held_out"] = held_out(trainer)
    out = Path(config.output_dir)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    pairs = [pair_from_row(row) for row in rows]
    base = getattr(trainer.model.config, "_name_or_path", "")
    manifest = ModelManifest(
        kind=kind,
        name=config.name,
        config=asdict(config),
        data={"hash": data_hash(pairs), "train_pairs": len(pairs), "source": source},
        metrics=metrics,
        extra={"base_model": str(base) or None},
    )
    write_manifest(out, manifest)
    return TrlTrainResult(path=out, metrics=metrics, manifest=read_manifest(out))


def load_local(model: Any, tokenizer: Any, loader: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Return (model, tokenizer): as given, or loaded from a local folder, offline.

    Args:
        model: A model instance, or the path of a local Hugging Face model folder.
        tokenizer: A tokenizer, or None to load it from the model's folder.
        loader: The ``AutoModelFor...`` class used when `model` is a path.
        **kwargs: Passed to ``from_pretrained`` (``num_labels=1``...).
    """
    from transformers import AutoTokenizer

    if isinstance(model, str | Path):
        folder = Path(model)
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a local model folder (nothing is downloaded)")
        model = loader.from_pretrained(str(folder), local_files_only=True, **kwargs)
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if tokenizer is None:
        raise InvalidInput("pass the tokenizer along with a model instance")
    return model, tokenizer
