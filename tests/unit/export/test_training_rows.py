"""Training records: filters, the split by prompt and rows in TRL's formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgeloop.export.training import (
    FilterStats,
    KTORecord,
    LabelRecord,
    PreferenceRecord,
    RubricRecord,
    SFTRecord,
    TrainingFilters,
    filter_records,
    normalize_prompt,
    split_of,
    split_rows,
    training_row,
)


def pref(item_id: int = 1, prompt: str = "Why?", **kw: object) -> PreferenceRecord:
    return PreferenceRecord(
        item_id=item_id,
        prompt=prompt,
        chosen="Because.",
        rejected="No.",
        **kw,  # type: ignore[arg-type]
    )


def test_filters_keep_and_count_reasons() -> None:
    records = [
        pref(1, agreement=0.9, confidence=0.95, worker_reliability=0.8, round=2),
        pref(2, agreement=0.5, confidence=0.95, worker_reliability=0.8, round=2),
        pref(3, agreement=0.9, confidence=0.6, worker_reliability=0.8, round=2),
        pref(4, agreement=0.9, confidence=0.95, worker_reliability=0.3, round=2),
        pref(5, agreement=0.9, confidence=0.95, worker_reliability=0.8, round=1),
        pref(6, agreement=0.9, confidence=0.95, worker_reliability=0.8, round=2, flagged=True),
        pref(7, agreement=None, confidence=0.95, worker_reliability=0.8, round=2),
    ]
    filters = TrainingFilters(
        min_agreement=0.7, min_confidence=0.9, min_worker_reliability=0.5, round=2
    )
    stats = FilterStats()
    kept = list(filter_records(records, filters, stats))
    assert [r.item_id for r in kept] == [1]
    assert stats.kept == 1
    assert stats.excluded == {
        "agreement below 0.7": 1,
        "confidence below 0.9": 1,
        "worker reliability below 0.5": 1,
        "other round": 1,
        "flagged": 1,
        "agreement unknown": 1,
    }
    assert filters.describe()["min_agreement"] == 0.7


def test_default_filters_only_drop_flagged() -> None:
    records = [pref(1), pref(2, flagged=True)]
    assert [r.item_id for r in filter_records(records, TrainingFilters())] == [1]
    keep_all = TrainingFilters(exclude_flagged=False)
    assert len(list(filter_records(records, keep_all))) == 2


def test_preference_rows_plain_and_conversational() -> None:
    record = pref(
        messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Why?"}],
        margin=0.5,
        confidence=0.9,
        n_votes=3,
        chosen_model="m2",
    )
    plain = training_row("preference", record)
    assert plain["prompt"] == "Why?" and plain["chosen"] == "Because." and plain["margin"] == 0.5
    assert plain["n_votes"] == 3 and plain["chosen_model"] == "m2" and plain["confidence"] == 0.9
    chat = training_row("preference", record, conversational=True)
    assert chat["prompt"][0] == {"role": "system", "content": "Be kind."}
    assert chat["chosen"] == [{"role": "assistant", "content": "Because."}]
    assert chat["rejected"] == [{"role": "assistant", "content": "No."}]


def test_other_kinds_rows() -> None:
    sft = training_row("sft", SFTRecord(item_id=1, prompt="p", completion="c", source="ideal"))
    assert (sft["prompt"], sft["completion"], sft["source"]) == ("p", "c", "ideal")
    kto = training_row("kto", KTORecord(item_id=1, prompt="p", completion="c", label=False))
    assert kto["label"] is False
    rubric = RubricRecord(item_id=1, prompt="p", completion="c", scores={"b": 2, "a": 4.5})
    assert training_row("rubric", rubric)["scores"] == {"a": 4.5, "b": 2.0}
    one = training_row("label", LabelRecord(item_id=1, prompt="p", question="q", labels=("x",)))
    assert one["label"] == "x" and one["labels"] == ["x"] and one["completion"] is None
    two = training_row("label", LabelRecord(item_id=1, prompt="p", question="q", labels=("x", "y")))
    assert two["label"] is None and two["labels"] == ["x", "y"]
    chat = training_row(
        "sft", SFTRecord(item_id=1, prompt="p", completion="c"), conversational=True
    )
    assert chat["completion"] == [{"role": "assistant", "content": "c"}]


def test_kind_and_record_must_match() -> None:
    with pytest.raises(TypeError):
        training_row("sft", pref())
    with pytest.raises(ValueError):
        training_row("nope", pref())  # type: ignore[arg-type]


def test_split_is_deterministic_and_normalized() -> None:
    assert normalize_prompt("  Hello\n  WORLD ") == "hello world"
    a = split_of("What is 2+2?", 0.5)
    assert all(split_of("what  is 2+2?", 0.5) == a for _ in range(3))
    assert split_of("x", 0.0) == "train"
    with pytest.raises(ValueError):
        split_of("x", 1.0)


def test_split_share_is_about_the_fraction() -> None:
    splits = [split_of(f"prompt {i}", 0.2) for i in range(4000)]
    share = splits.count("test") / len(splits)
    assert 0.17 < share < 0.23


_variants = st.sampled_from([str.upper, str.lower, lambda s: f"  {s} ", lambda s: s + "\n"])


@settings(max_examples=60, deadline=None)
@given(
    prompts=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30),
    picks=st.lists(st.tuples(st.integers(0, 29), _variants), max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.text(max_size=5),
)
def test_no_prompt_is_in_both_splits(
    prompts: list[str], picks: list[tuple[int, object]], fraction: float, seed: str
) -> None:
    records = [pref(i, p) for i, p in enumerate(prompts)]
    for n, (index, variant) in enumerate(picks):
        base = prompts[index % len(prompts)]
        records.append(pref(1000 + n, variant(base)))  # type: ignore[operator]
    seen: dict[str, set[str]] = {}
    for split, record, row in split_rows("preference", records, test_fraction=fraction, seed=seed):
        assert row["prompt"] == record.prompt
        seen.setdefault(normalize_prompt(record.prompt), set()).add(split)
    assert all(len(splits) == 1 for splits in seen.values())
