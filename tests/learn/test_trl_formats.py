"""Exported training datasets are accepted by TRL's trainers (a step on a tiny random model).

Also the TRL reward-model and DPO paths of `learn`, end to end on the CPU.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest

from judgeloop.export.training import KTORecord, PreferenceRecord, SFTRecord
from judgeloop.export.training_writers import write_training_dataset
from judgeloop.learn.data import load_preference_pairs
from judgeloop.learn.dpo import DpoConfig, train_dpo
from judgeloop.learn.manifest import read_manifest
from judgeloop.learn.rerank import load_reward_model
from judgeloop.learn.reward_trl import RewardTrlConfig, TrlRewardModel, train_reward_trl

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


def preference_records(n: int = 16) -> list[PreferenceRecord]:
    return [
        PreferenceRecord(
            item_id=i,
            prompt=f"what is the capital of country {i} ?",
            chosen=f"the capital is city {i} .",
            rejected="i do not know .",
            margin=0.5,
            agreement=0.8,
            confidence=0.9,
        )
        for i in range(n)
    ]


def export(tmp_path: Path, name: str, records: list, kind: str, **kw: object) -> Path:
    out = tmp_path / name
    write_training_dataset(out, records, kind=kind, test_fraction=0.25, **kw)  # type: ignore[arg-type]
    return out


def test_reward_trainer_accepts_the_export_and_round_trips(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    folder = export(tmp_path, "prefs", preference_records(), "preference", format="hf")
    ds = datasets.load_from_disk(str(folder))
    steps: list[int] = []
    result = train_reward_trl(
        ds["train"],
        config=RewardTrlConfig(
            output_dir=str(tmp_path / "rm"), max_steps=1, batch_size=4, use_margin=True
        ),
        model=tiny_model_dir,
        eval_rows=ds["test"],
        on_progress=lambda stage, done, total: steps.append(done),
    )
    assert steps == [1]
    assert result.metrics["held_out"]["n"] == len(ds["test"])
    manifest = read_manifest(result.path)
    assert manifest.kind == "judgeloop.reward_trl.v1" and manifest.data["train_pairs"] == len(
        ds["train"]
    )
    loaded = load_reward_model(result.path)
    assert isinstance(loaded, TrlRewardModel)
    prompts, answers = ["what is it ?"] * 2, ["a city .", "no idea ."]
    again = TrlRewardModel.load(result.path).score(prompts, answers)
    np.testing.assert_allclose(loaded.score(prompts, answers), again, atol=1e-5)


def test_dpo_trainer_runs_on_conversational_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = export(
        tmp_path, "chat", preference_records(), "preference", format="jsonl", conversational=True
    )
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    result = train_dpo(
        ds["train"],
        config=DpoConfig(output_dir=str(tmp_path / "dpo"), max_steps=2, batch_size=4),
        model=tiny_model_dir,
        eval_rows=ds["test"],
    )
    assert (result.path / "config.json").exists()
    assert read_manifest(result.path).kind == "judgeloop.dpo.v1"
    assert "eval_loss" in result.metrics["held_out"]


def test_sft_and_kto_trainers_accept_the_exports(tmp_path: Path, tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import KTOConfig, KTOTrainer, SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    common = {"max_steps": 1, "per_device_train_batch_size": 2, "report_to": "none", "bf16": False}
    sft = [SFTRecord(item_id=i, prompt=f"say {i}", completion=f"{i} !") for i in range(8)]
    folder = export(tmp_path, "sft", sft, "sft", format="parquet")
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
        args=SFTConfig(output_dir=str(tmp_path / "sft-out"), **common),
        train_dataset=ds["train"].select_columns(["prompt", "completion"]),
        processing_class=tokenizer,
    ).train()
    kto = [
        KTORecord(item_id=i, prompt=f"say {i}", completion=f"{i} !", label=i % 2 == 0)
        for i in range(8)
    ]
    folder = export(tmp_path, "kto", kto, "kto", format="jsonl")
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    KTOTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
        args=KTOConfig(output_dir=str(tmp_path / "kto-out"), **common),
        train_dataset=ds["train"].select_columns(["prompt", "completion", "label"]),
        processing_class=tokenizer,
    ).train()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
def test_learn_reads_every_export_format(tmp_path: Path, fmt: str) -> None:
    records = preference_records(12)
    folder = export(tmp_path, fmt, records, "preference", format=fmt)
    train = load_preference_pairs(folder, "train")
    test = load_preference_pairs(folder, "test")
    assert len(train) + len(test) == 12
    assert {p.prompt for p in train}.isdisjoint({p.prompt for p in test})
    assert all(p.margin == 0.5 and p.chosen.startswith("the capital") for p in train)
    chat = export(tmp_path, f"chat-{fmt}", records, "preference", format=fmt, conversational=True)
    chat_pairs = load_preference_pairs(chat, "train")
    assert [p.chosen for p in chat_pairs] == [p.chosen for p in train]
    assert chat_pairs[0].prompt.startswith("\n\nHuman: what is the capital")
