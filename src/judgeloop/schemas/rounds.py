"""Wire models for rounds: starting one, its report, the leaderboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RoundPromptIn(BaseModel):
    """A prompt for the new round: fresh, or a red-team attack (tagged with its weakness)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=100_000)
    source: Literal["fresh", "red_team"] = "fresh"
    tag: str = Field("", max_length=100)


class RoundAnswerIn(BaseModel):
    """One model version's answer to one prompt."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=100_000)
    text: str = Field(min_length=1, max_length=200_000)


class RoundCreate(BaseModel):
    """Start the next round: the new version, its baseline, prompts and both answers."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    baseline: str | None = Field(None, max_length=200)
    prompts: list[RoundPromptIn] = Field(min_length=1, max_length=100_000)
    answers: list[RoundAnswerIn] = Field(min_length=2)
    seed: int = 0


class RoundRead(BaseModel):
    """A round as stored."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    state: str
    model_version_id: int | None
    baseline_version_id: int | None
    created_at: datetime
    frozen_at: datetime | None


class RoundStarted(BaseModel):
    """What starting a round did."""

    round: RoundRead
    created: int
    duplicates: int
    frozen_previous: int | None
    sides: dict[str, int]


class WinRateRead(BaseModel):
    """A win-rate in percent with its 95% interval and counts."""

    win_rate: float | None
    low: float | None
    high: float | None
    wins: int
    losses: int
    ties: int
    items: int


class RoundReportRead(BaseModel):
    """The round report."""

    round: int
    state: str
    model: str | None
    baseline: str | None
    items: int
    human: WinRateRead
    human_by_source: dict[str, WinRateRead]
    judges: dict[str, WinRateRead]
    dimensions: list[dict[str, Any]]
    reward_model_accuracy: float | None
    reward_model_pairs: int


class LeaderboardRead(BaseModel):
    """Bradley-Terry scores (Elo scale, 95% intervals) of every version over all rounds."""

    models: list[str]
    scores: list[float]
    low: list[float]
    high: list[float]
    rounds: list[RoundReportRead]
