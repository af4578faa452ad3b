"""Models in the loop: how to reach a model version, what it generated, what it judged.

`ModelEndpoint` holds the connection settings of a `ModelVersion` (an OpenAI-compatible
endpoint or a local transformers directory); the API key itself is never stored, only
the name of the environment variable that holds it. `Generation` is one call's outcome,
unique per (model version, parameters, item, prompt, sample) so that a resumed run skips
what is done. `JudgeAnswer` is an LLM judge's answers to one item, kept apart from
people's judgments, unique per (model version, input hash, item, swapped).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin

ENDPOINT_KINDS = ("openai", "transformers")
GENERATION_STATES = ("ok", "failed")
JUDGE_STATES = ("ok", "unparseable", "failed")


class ModelEndpoint(IdMixin, TimestampMixin, Base):
    """How to call one model version; sampling parameters live in `ModelVersion.params`."""

    __tablename__ = "model_endpoints"

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    model: Mapped[str] = mapped_column(String(200), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    api_key_env: Mapped[str | None] = mapped_column(String(200), default=None)
    local_path: Mapped[str | None] = mapped_column(String(1000), default=None)
    timeout_s: Mapped[float] = mapped_column(default=60.0)


class Generation(IdMixin, TimestampMixin, Base):
    """One sample a model version generated (or failed to) for one item."""

    __tablename__ = "generations"
    __table_args__ = (
        UniqueConstraint(
            "model_version_id",
            "params_hash",
            "item_id",
            "prompt_hash",
            "sample_index",
            name="uq_generations_key",
        ),
        Index("ix_generations_project_id_model_version_id", "project_id", "model_version_id"),
    )

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    params_hash: Mapped[str] = mapped_column(String(64))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    sample_index: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finish_reason: Mapped[str | None] = mapped_column(String(50), default=None)
    attempts: Mapped[int] = mapped_column(default=1)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost: Mapped[float] = mapped_column(default=0.0)
    latency_ms: Mapped[int] = mapped_column(default=0)
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="SET NULL"), default=None
    )


class JudgeAnswer(IdMixin, TimestampMixin, Base):
    """An LLM judge's answers to one item's questions, in the question kinds' schemas.

    `answers` holds normalized answers (``question``, ``candidate``, ``kind``, ``value``,
    ``explanation``) with candidate keys as stored, also after a swapped run.
    """

    __tablename__ = "judge_answers"
    __table_args__ = (
        UniqueConstraint(
            "model_version_id", "input_hash", "item_id", "swapped", name="uq_judge_answers_key"
        ),
        Index("ix_judge_answers_project_id_model_version_id", "project_id", "model_version_id"),
    )

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    input_hash: Mapped[str] = mapped_column(String(64))
    """Everything the judge saw: model parameters, guidelines, rubric, questions, the item's
    prompt and candidates (the order aside), so changed answers get a new judgment."""
    swapped: Mapped[bool] = mapped_column(default=False)
    guideline_version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20))
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw_text: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=1)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost: Mapped[float] = mapped_column(default=0.0)
