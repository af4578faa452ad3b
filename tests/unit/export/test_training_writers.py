"""Training dataset folders: JSONL, Parquet and `datasets` layouts load back with a card."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import datasets
import pytest

from judgeloop.errors import InvalidInput
from judgeloop.export.training import (
    KTORecord,
    LabelRecord,
    PreferenceRecord,
    RubricRecord,
    SFTRecord,
    TrainingFilters,
    TrainingRecord,
    normalize_prompt,
)
from judgeloop.export.training_writers import CardInfo, write_training_dataset

WHEN = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def prefs(n: int = 40) -> list[PreferenceRecord]:
    return [
        PreferenceRecord(
            item_id=i,
            prompt=f"Question number {i % 30}?",
            chosen=f"A careful answer {i}.",
            rejected=f"A sloppy answer {i}.",
            margin=(i % 3) / 2,
            agreement=0.6 + (i % 5) / 10,
            confidence=0.9,
            n_votes=3,
            round=1,
            guideline_versions=(1, 2) if i % 2 else (2,),
            flagged=i == 7,
        )
        for i in range(n)
    ]


def load(path: Path, fmt: str) -> datasets.DatasetDict:
    if fmt == "hf":
        return datasets.load_from_disk(str(path))
    # a cache of its own: datasets' cache would mix up folders of the same name
    return datasets.load_dataset(str(path), cache_dir=str(path.parent / f".cache-{path.name}"))


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
@pytest.mark.parametrize("conversational", [False, True])
def test_preference_dataset_loads_in_datasets(
    tmp_path: Path, fmt: str, conversational: bool
) -> None:
    out = tmp_path / "prefs"
    result = write_training_dataset(
        out,
        prefs(),
        kind="preference",
        format=fmt,  # type: ignore[arg-type]
        test_fraction=0.3,
        conversational=conversational,
        card=CardInfo(title="Demo prefs", source="project demo", method="bt.v1"),
        created=WHEN,
    )
    assert result.filtered.kept == 39 and result.filtered.excluded == {"flagged": 1}
    assert result.counts["train"] + result.counts["test"] == 39
    assert result.counts["test"] > 0
    ds = load(out, fmt)
    assert {s: len(ds[s]) for s in ("train", "test")} == result.counts
    row = ds["train"][0]
    assert {"prompt", "chosen", "rejected", "margin", "confidence", "agreement"} <= set(row)
    if conversational:
        assert row["chosen"][0]["role"] == "assistant"
        assert row["prompt"][-1] == {"role": "user", "content": row["prompt"][-1]["content"]}
    else:
        assert isinstance(row["prompt"], str)

    def prompts(split: str) -> set[str]:
        values = ds[split]["prompt"]
        texts = [v if isinstance(v, str) else v[-1]["content"] for v in values]
        return {normalize_prompt(t) for t in texts}

    assert not prompts("train") & prompts("test")
    card = (out / "README.md").read_text()
    assert "# Demo prefs" in card and "2025-03-04" in card
    assert "guideline versions: 1, 2" in card and "flagged: 1" in card
    assert f"| train | {result.counts['train']} |" in card
    assert "mean agreement" in card and "bt.v1" in card
    assert result.sha256 and len(result.sha256) == 64


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_other_kinds_load(tmp_path: Path, fmt: str) -> None:
    kinds: dict[str, list[TrainingRecord]] = {
        "sft": [SFTRecord(item_id=i, prompt=f"p{i}", completion="c") for i in range(10)],
        "kto": [
            KTORecord(item_id=i, prompt=f"p{i}", completion="c", label=i % 2 == 0)
            for i in range(10)
        ],
        "rubric": [
            RubricRecord(
                item_id=i, prompt=f"p{i}", completion="c", scores={"clarity": i, "safety": 5}
            )
            for i in range(10)
        ],
        "label": [
            LabelRecord(item_id=i, prompt=f"p{i}", question="topic", labels=("a",))
            for i in range(10)
        ],
    }
    for kind, records in kinds.items():
        out = tmp_path / kind
        result = write_training_dataset(
            out,
            records,
            kind=kind,
            format=fmt,
            test_fraction=0.2,  # type: ignore[arg-type]
        )
        ds = load(out, fmt)
        assert len(ds["train"]) + len(ds["test"]) == 10 == sum(result.counts.values())
        if kind == "rubric":
            assert set(ds["train"][0]["scores"]) == {"clarity", "safety"}
        if kind == "kto":
            assert isinstance(ds["train"][0]["label"], bool)


def test_filters_and_round_appear_on_the_card(tmp_path: Path) -> None:
    result = write_training_dataset(
        tmp_path / "d",
        prefs(),
        kind="preference",
        filters=TrainingFilters(min_agreement=0.8, round=1),
        test_fraction=0.0,
    )
    assert result.counts["test"] == 0
    assert '"min_agreement": 0.8' in result.card and "agreement below 0.8" in result.card


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput):
        write_training_dataset(tmp_path, prefs(4), kind="preference")
    assert (tmp_path / "keep.txt").exists()
    out = tmp_path / "again"
    write_training_dataset(out, prefs(4), kind="preference")
    write_training_dataset(out, prefs(6), kind="preference", test_fraction=0.0)
    assert len((out / "train.jsonl").read_text().splitlines()) == 6
