"""Train a reward model from a project's preferences and keep it versioned in the registry.

The project's consensus preferences (``services.training_data``) are split by prompt
(no prompt on both sides), the default CPU model (``learn.reward_cpu``: MiniLM
embeddings and a Bradley-Terry head) is trained on one side and scored on the other,
and the folder ``<root>/<name>/v<N>`` with its manifest (data hash, counts, config,
held-out accuracy and calibration) is registered as ``<name>@v<N>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.export.training import TrainingFilters, filter_records, split_of
from judgeloop.services.learning import register_reward_model
from judgeloop.services.training_data import preference_records
from judgeloop.store.models import Project, User
from judgeloop.store.models.learning import RewardModel

Progress = Callable[[str, int, int], None]


@dataclass
class TrainedReward:
    """A trained and registered reward model with its held-out figures."""

    model: RewardModel
    path: Path
    train_pairs: int
    test_pairs: int
    accuracy: float | None


def project_pairs(
    session: Session,
    *,
    project: Project,
    filters: TrainingFilters | None = None,
    test_fraction: float = 0.2,
) -> tuple[list[Any], list[Any]]:
    """The project's preference pairs as (train, test), split by prompt."""
    from judgeloop.learn.data import PreferencePair, render_messages

    records = filter_records(
        preference_records(
            session, project=project, round_number=(filters or TrainingFilters()).round
        ),
        filters or TrainingFilters(),
    )
    train: list[PreferencePair] = []
    test: list[PreferencePair] = []
    for rec in records:
        prompt = render_messages(rec.messages) if rec.messages else rec.prompt
        pair = PreferencePair(
            prompt=prompt, chosen=rec.chosen, rejected=rec.rejected, margin=rec.margin
        )
        (test if split_of(rec.prompt, test_fraction) == "test" else train).append(pair)
    return train, test


def train_project_reward(
    session: Session,
    *,
    project: Project,
    name: str,
    root: Path,
    config: Any = None,
    filters: TrainingFilters | None = None,
    test_fraction: float = 0.2,
    max_pairs: int | None = None,
    on_progress: Progress | None = None,
    actor: User | None = None,
) -> TrainedReward:
    """Train the default CPU reward model on the project's preferences and register it.

    Args:
        session: Database session (no transaction is held while training).
        project: The project whose preferences teach the model.
        name: The model's name; the registry entry is ``<name>@v<N>``.
        root: The folder that holds every reward model (``<data_dir>/reward_models``).
        config: A ``learn.reward_cpu.RewardCpuConfig`` (default: frozen encoder).
        filters: Which preferences to trust (agreement, confidence, reliability ...).
        test_fraction: Share of prompts held out to measure accuracy and calibration.
        max_pairs: Train on at most this many pairs (the first ones; for quick runs).
        on_progress: ``(stage, done, total)`` while training.
        actor: Who asked.

    Raises:
        InvalidInput: Fewer than 4 usable pairs, or none held out.
    """
    from judgeloop.learn.manifest import next_version_dir
    from judgeloop.learn.reward_cpu import train_reward_cpu

    train, test = project_pairs(
        session, project=project, filters=filters, test_fraction=test_fraction
    )
    if max_pairs is not None:
        train = train[:max_pairs]
    if len(train) < 4 or not test:
        raise InvalidInput(
            f"{project.slug} has {len(train)} training and {len(test)} held-out preference "
            "pairs; a reward model needs at least 4 and 1"
        )
    session.commit()  # hold no transaction (and on SQLite no lock) while training
    model = train_reward_cpu(
        train,
        eval_pairs=test,
        config=config,
        on_progress=on_progress,
        source=f"project {project.slug}",
    )
    folder, version = next_version_dir(root, name)
    model.save(folder)
    manifest = _manifest_dict(folder)
    registered = register_reward_model(
        session,
        name=f"{name}@v{version}",
        kind=str(manifest.get("kind", "")),
        path=folder,
        manifest=manifest,
        project=project,
        actor=actor,
    )
    return TrainedReward(registered, folder, len(train), len(test), registered.accuracy)


def _manifest_dict(folder: Path) -> dict[str, Any]:
    from dataclasses import asdict

    from judgeloop.learn.manifest import read_manifest

    manifest = asdict(read_manifest(folder))
    data = manifest.get("data", {})
    manifest["data_hash"] = data.get("hash", "")
    manifest["train_pairs"] = data.get("train_pairs", 0)
    manifest["test_pairs"] = data.get("eval_pairs", 0)
    return manifest
