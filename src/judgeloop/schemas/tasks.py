"""Wire models for the task queue: a leased task and what a worker sends about it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from judgeloop.schemas.items import ItemRead


class TaskRead(BaseModel):
    """A leased task: the item to judge, and until when the lease holds."""

    assignment_id: int
    state: str
    expires_at: datetime
    item: ItemRead


class HeartbeatCreate(BaseModel):
    """The page (or client) is still working on the task; extends the lease."""

    model_config = ConfigDict(extra="forbid")

    active_seconds: float = Field(0.0, ge=0, le=7 * 24 * 3600)


class SkipCreate(BaseModel):
    """Skip a task, saying why; it is never served to this worker again."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class FlagCreate(BaseModel):
    """Report a problem with an item."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="broken_prompt, personal_data, harmful_content or other")
    note: str = Field("", max_length=2000)
