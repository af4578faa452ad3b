"""Close the loop: export a project's judgments as training data, register reward models.

``export_training_dataset`` writes the formats TRL reads (with a dataset card) from the
records of ``services.training_data``; ``register_reward_model`` keeps a trained reward
model in the registry with its data hash and held-out scores, so rounds and best-of-n
can find it by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.export.training import TrainingFilters
from judgeloop.export.training_writers import CardInfo, TrainingExport, write_training_dataset
from judgeloop.services.training_data import RECORD_BUILDERS
from judgeloop.store.models import Event, Project, User
from judgeloop.store.models.learning import RewardModel

FORMATS = ("jsonl", "parquet", "hf")


def export_training_dataset(
    session: Session,
    *,
    project: Project,
    kind: str,
    path: Path,
    format: str = "jsonl",
    filters: TrainingFilters | None = None,
    test_fraction: float = 0.1,
    conversational: bool = False,
    actor: User | None = None,
) -> TrainingExport:
    """Write the project's training data of one kind to a dataset folder; records an event.

    Args:
        session: Database session.
        project: The project.
        kind: preference, sft, kto, rubric or label.
        path: The folder to write (replaced if it exists).
        format: jsonl, parquet or hf (a Hugging Face ``datasets`` folder).
        filters: Minimum agreement/confidence/reliability, flagged items, a round.
        test_fraction: Share of prompts held out (split by prompt: none is in both).
        conversational: Prompts and answers as chat messages instead of strings.
        actor: Who asked (for the journal).

    Raises:
        InvalidInput: An unknown kind or format, or a test fraction outside [0, 1).
    """
    if kind not in RECORD_BUILDERS:
        raise InvalidInput(f"unknown kind {kind!r}; choose one of {', '.join(RECORD_BUILDERS)}")
    if format not in FORMATS:
        raise InvalidInput(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if not 0 <= test_fraction < 1:
        raise InvalidInput("the test fraction must be at least 0 and below 1")
    filters = filters or TrainingFilters()
    records = RECORD_BUILDERS[kind](session, project=project, round_number=filters.round)
    card = CardInfo(
        title=f"{project.name}: {kind} data",
        source=f"judgeloop project {project.slug}",
        method="consensus where aggregated, else majority of accepted judgments",
    )
    written = write_training_dataset(
        path,
        records,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        format=format,  # type: ignore[arg-type]
        filters=filters,
        test_fraction=test_fraction,
        conversational=conversational,
        card=card,
    )
    session.add(
        Event(
            kind="training_data.exported",
            actor_id=actor.id if actor else None,
            project_id=project.id,
            payload={"kind": kind, "format": format, "path": str(path), "counts": written.counts},
        )
    )
    session.commit()
    return written


def register_reward_model(
    session: Session,
    *,
    name: str,
    kind: str,
    path: Path,
    manifest: dict[str, Any],
    project: Project | None = None,
    round_number: int | None = None,
    actor: User | None = None,
) -> RewardModel:
    """Add a trained reward model to the registry (names are unique); commits."""
    if session.scalar(select(RewardModel.id).where(RewardModel.name == name)) is not None:
        raise Conflict(f"a reward model named {name!r} exists; choose another name")
    metrics = manifest.get("metrics", {}) if isinstance(manifest.get("metrics"), dict) else {}
    metrics = metrics.get("held_out", metrics)  # learn/ keeps held-out figures apart
    model = RewardModel(
        name=name,
        kind=kind,
        path=str(path),
        project_id=project.id if project else None,
        round_number=round_number,
        data_hash=str(manifest.get("data_hash", "")),
        train_pairs=int(manifest.get("train_pairs", 0) or 0),
        test_pairs=int(manifest.get("test_pairs", 0) or 0),
        accuracy=metrics.get("accuracy"),
        calibration_error=metrics.get("ece"),
        manifest=manifest,
        actor_id=actor.id if actor else None,
    )
    session.add(model)
    session.flush()
    session.add(
        Event(
            kind="reward_model.registered",
            actor_id=actor.id if actor else None,
            project_id=project.id if project else None,
            payload={"name": name, "accuracy": model.accuracy},
        )
    )
    session.commit()
    return model


def get_reward_model(session: Session, name: str) -> RewardModel:
    """The registered reward model with this name, or NotFound."""
    found = session.scalar(select(RewardModel).where(RewardModel.name == name))
    if found is None:
        raise NotFound(f"no reward model {name!r}")
    return found


def list_reward_models(session: Session, *, project: Project | None = None) -> list[RewardModel]:
    """Registered reward models, newest first (one project's, or all)."""
    query = select(RewardModel).order_by(RewardModel.id.desc())
    if project is not None:
        query = query.where(RewardModel.project_id == project.id)
    return list(session.scalars(query))
