"""Items: a prompt (or conversation) with its candidate answers and the models behind them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin


class ModelVersion(IdMixin, TimestampMixin, Base):
    """A model that produced answers; `parent_id` records lineage (v2 trained from v1)."""

    __tablename__ = "model_versions"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    provider: Mapped[str] = mapped_column(String(50), default="imported")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), default=None)


class Item(IdMixin, TimestampMixin, Base):
    """One prompt (plain or multi-turn) to be judged, unique per project by content hash."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash"),
        Index("ix_items_project_id_id", "project_id", "id"),
        # The queue's index: only items that still need judgments are in it, so picking
        # the next one costs the same at 1,000 items as at 1,000,000.
        Index(
            "ix_items_queue",
            "project_id",
            "is_gold",
            "priority",
            "id",
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    prompt: Mapped[str] = mapped_column(Text, default="")
    messages: Mapped[list[Any] | None] = mapped_column(default=None)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    is_gold: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    # Slots are judgments wanted (the project's redundancy, or the item's
    # target_redundancy when set): leased or submitted and not
    # rejected ones take a slot; `is_open` is kept equal to slots_taken < that number.
    slots_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    is_open: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Adaptive redundancy (services.adaptive): when set, it replaces the project's
    # redundancy for this item, both in `is_open` and in how many slots may be taken.
    target_redundancy: Mapped[int | None] = mapped_column(default=None)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), default=None)


class Candidate(IdMixin, Base):
    """One candidate answer of an item, under a short key ('A', 'B', ...)."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("item_id", "key"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id"), default=None, index=True
    )


class GoldAnswer(IdMixin, TimestampMixin, Base):
    """The known answer to one question of a gold item; only owners ever read it."""

    __tablename__ = "gold_answers"
    __table_args__ = (UniqueConstraint("item_id", "question_key", "candidate_key"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(100))
    candidate_key: Mapped[str] = mapped_column(String(20), default="")
    value: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
