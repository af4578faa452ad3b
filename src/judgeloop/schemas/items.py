"""Wire models for items and their candidate answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class CandidateRead(BaseModel):
    """A candidate answer; `model` is None when the project hides model identity."""

    key: str
    text: str
    model: str | None = None


class ItemRead(BaseModel):
    """An item as a member sees it. Gold answers are included only for owners."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    external_id: str | None
    prompt: str
    messages: list[dict[str, Any]] | None
    metadata: dict[str, Any]
    candidates: list[CandidateRead]
    is_gold: bool | None = None
    gold: list[dict[str, Any]] | None = None
    submissions: int | None = None
    created_at: datetime


class ItemPage(BaseModel):
    """A page of items; pass `next_after` as `after` to get the next page."""

    items: list[ItemRead]
    next_after: int | None
