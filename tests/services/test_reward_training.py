"""A reward model trained from a project's own preferences, versioned in the registry."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.learning import get_reward_model, list_reward_models
from judgeloop.services.reward_training import project_pairs, train_project_reward
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Project
from tests.factories import join, make_item, make_project, make_user
from tests.learn.test_reward_cpu import MARKER, SENTENCES, TOPICS

pytest.importorskip("torch")

PREFERENCE_ONLY = [
    {
        "key": "preference",
        "kind": "preference",
        "title": "Which answer is better?",
        "config": {"allow_tie": False, "strength_levels": {}},
    }
]


def _marker_project(session: Session, n: int) -> Project:
    """Items whose answer with MARKER was preferred by the one worker who judged them."""
    project = make_project(session, questions=PREFERENCE_ONLY, redundancy=1)
    worker = join(session, project, make_user(session))
    rng = random.Random(3)
    for i in range(n):
        good, bad = rng.sample(SENTENCES, 2)
        marked_first = rng.random() < 0.5
        answers = (f"{MARKER} {good}", bad) if marked_first else (bad, f"{MARKER} {good}")
        item = make_item(
            session,
            project=project,
            prompt=f"Help me with {rng.choice(TOPICS)}, case {i}?",
            answers=answers,
        )
        data = SubmissionCreate(
            item_id=item.id,
            submission_key=uuid.uuid4().hex,
            answers=[
                AnswerIn(question="preference", value={"winner": "A" if marked_first else "B"})
            ],
        )
        submit_judgment(session, worker=worker, data=data)
    return project


def test_a_project_trains_a_reward_model_that_learns_its_preferences(
    session: Session, tmp_path: Path
) -> None:
    project = _marker_project(session, 60)
    train, test = project_pairs(session, project=project, test_fraction=0.25)
    assert not {p.prompt for p in train} & {p.prompt for p in test}
    assert all(p.chosen.startswith(MARKER) for p in train + test)
    from judgeloop.learn.reward_cpu import RewardCpuConfig

    stages: set[str] = set()
    first = train_project_reward(
        session,
        project=project,
        name="marker-rm",
        root=tmp_path,
        config=RewardCpuConfig(epochs=40),
        test_fraction=0.25,
        on_progress=lambda stage, done, total: stages.add(stage),
    )
    assert (
        first.model.name == "marker-rm@v1" and first.accuracy is not None and first.accuracy >= 0.9
    )
    assert first.test_pairs == len(test) and (first.path / "manifest.json").exists()
    assert "encode" in stages
    second = train_project_reward(
        session,
        project=project,
        name="marker-rm",
        root=tmp_path,
        config=RewardCpuConfig(epochs=5),
        test_fraction=0.25,
    )
    assert second.model.name == "marker-rm@v2"
    assert [m.name for m in list_reward_models(session, project=project)] == [
        "marker-rm@v2",
        "marker-rm@v1",
    ]
    assert get_reward_model(session, "marker-rm@v1").data_hash


def test_too_few_preferences_is_a_clear_error(session: Session, tmp_path: Path) -> None:
    project = _marker_project(session, 3)
    with pytest.raises(InvalidInput, match="needs at least 4"):
        train_project_reward(session, project=project, name="tiny", root=tmp_path)


def test_best_of_n_picks_what_the_reward_model_prefers(session: Session, tmp_path: Path) -> None:
    from judgeloop.learn.reward_cpu import RewardCpuConfig
    from judgeloop.services.best_of_n import best_of_n, version_answers
    from judgeloop.store.models import Candidate, ModelVersion

    teacher = _marker_project(session, 48)
    trained = train_project_reward(
        session, project=teacher, name="bon-rm", root=tmp_path, config=RewardCpuConfig(epochs=40)
    )
    plain, marked = (
        ModelVersion(name=f"plain-{uuid.uuid4().hex[:6]}"),
        ModelVersion(name=f"marked-{uuid.uuid4().hex[:6]}"),
    )
    session.add_all([plain, marked])
    session.commit()
    project = make_project(session, questions=PREFERENCE_ONLY, redundancy=1)
    rng = random.Random(9)
    for i in range(12):
        good, bad = rng.sample(SENTENCES, 2)
        item = make_item(
            session, project=project, prompt=f"New question {i}?", answers=(bad, f"{MARKER} {good}")
        )
        cands = {c.key: c for c in session.query(Candidate).filter_by(item_id=item.id)}
        cands["A"].model_version_id, cands["B"].model_version_id = plain.id, marked.id
    session.commit()
    picks = best_of_n(
        session,
        project=project,
        reward_model=trained.model.name,
        from_models=[plain.name, marked.name],
    )
    assert picks.items == 12 and picks.added == 12
    assert picks.picked_from.get(marked.name, 0) >= 11
    assert picks.version.provider == "best_of_n" and picks.version.parent_id == plain.id
    again = best_of_n(
        session,
        project=project,
        reward_model=trained.model.name,
        from_models=[plain.name, marked.name],
    )
    assert again.added == 0 and again.version.id == picks.version.id
    answers = version_answers(session, versions=[picks.version])
    assert len(answers) == 12 and sum(a.startswith(MARKER) for a in answers.values()) >= 11
