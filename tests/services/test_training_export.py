"""A project's judgments exported as TRL-ready training data, with filters and a card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput
from judgeloop.export.training import TrainingFilters
from judgeloop.services.learning import (
    export_training_dataset,
    get_reward_model,
    register_reward_model,
)
from judgeloop.services.rounds import start_round
from judgeloop.services.training_data import kto_records, preference_records, rubric_records
from tests.factories import join, make_user
from tests.services.test_rounds import _ab_project, _answers, _judge_all, _prompts, _versions


def _judged(session: Session):  # type: ignore[no-untyped-def]
    project, owner = _ab_project(session)
    v1, v2, _ = _versions(session)
    prompts = _prompts(20)
    start_round(
        session,
        project=project,
        actor=owner,
        model=v2,
        prompts=prompts,
        answers=_answers(prompts, v1, v2),
    )
    workers = [join(session, project, make_user(session)) for _ in range(2)]
    _judge_all(session, project, workers, prefer=v2)
    return project, owner, v1, v2


def test_preferences_rubric_and_kto_records_come_from_accepted_judgments(session: Session) -> None:
    project, _, v1, v2 = _judged(session)
    prefs = preference_records(session, project=project)
    assert len(prefs) == 20
    assert all(p.chosen.startswith(v2.name) and p.rejected.startswith(v1.name) for p in prefs)
    assert all(p.agreement == 1.0 and p.n_votes == 2 and p.round == 1 for p in prefs)
    assert {p.chosen_model for p in prefs} == {v2.name}
    rubric = rubric_records(session, project=project)
    assert len(rubric) == 40 and all(set(r.scores) >= {"helpfulness", "safety"} for r in rubric)
    kto = kto_records(session, project=project)
    assert sum(k.label for k in kto) == sum(not k.label for k in kto)


@pytest.mark.parametrize("fmt", ["jsonl", "hf"])
def test_export_loads_in_datasets_and_splits_by_prompt(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    datasets = pytest.importorskip("datasets")
    project, owner, _, v2 = _judged(session)
    out = tmp_path / "prefs"
    written = export_training_dataset(
        session,
        project=project,
        kind="preference",
        path=out,
        format=fmt,
        test_fraction=0.3,
        actor=owner,
    )
    assert written.counts["train"] + written.counts["test"] == 20 and written.counts["test"] > 0
    assert "preference" in (out / "README.md").read_text()
    if fmt == "hf":
        data = (
            datasets.load_from_disk(str(out / "hf"))
            if (out / "hf").exists()
            else datasets.load_from_disk(str(out))
        )
        train, test = data["train"], data["test"]
    else:
        train = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
        test = datasets.load_dataset("json", data_files=str(out / "test.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(train.column_names)
    assert not set(train["prompt"]) & set(test["prompt"])
    assert all(c.startswith(v2.name) for c in train["chosen"])
    strict = export_training_dataset(
        session,
        project=project,
        kind="preference",
        path=tmp_path / "none",
        filters=TrainingFilters(round=2),
    )
    assert sum(strict.counts.values()) == 0


def test_bad_export_requests_and_the_reward_model_registry(
    session: Session, tmp_path: Path
) -> None:
    project, owner, _, _ = _judged(session)
    with pytest.raises(InvalidInput):
        export_training_dataset(session, project=project, kind="vibes", path=tmp_path / "x")
    with pytest.raises(InvalidInput):
        export_training_dataset(
            session, project=project, kind="sft", path=tmp_path / "x", format="xlsx"
        )
    manifest = {
        "data_hash": "ab" * 32,
        "train_pairs": 18,
        "test_pairs": 2,
        "metrics": {"accuracy": 0.75, "ece": 0.05},
    }
    model = register_reward_model(
        session,
        name="rm-test",
        kind="cpu-bt",
        path=tmp_path,
        manifest=manifest,
        project=project,
        actor=owner,
    )
    assert get_reward_model(session, "rm-test").accuracy == 0.75 and model.test_pairs == 2
    with pytest.raises(Conflict):
        register_reward_model(
            session, name="rm-test", kind="cpu-bt", path=tmp_path, manifest=manifest
        )
    json.dumps(model.manifest)
