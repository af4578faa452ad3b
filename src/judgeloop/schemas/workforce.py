"""Wire models for the workforce: profiles, qualifications, project requirements, matches."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SKILL_LANES = ("generalist", "domain_expert", "coding")
DOMAINS = (
    "law",
    "finance",
    "medicine",
    "education",
    "science",
    "engineering",
    "marketing",
    "technology",
    "humanities",
    "creative_writing",
)
"""Suggested domains; any lowercase word (``^[a-z][a-z0-9_]*$``) is accepted."""
LANGUAGE_LEVELS = ("basic", "fluent", "native")

Lane = Literal["generalist", "domain_expert", "coding"]
Level = Literal["basic", "fluent", "native"]
WORD = r"^[a-z][a-z0-9_]{0,49}$"
QUALIFICATION_NAME = r"^[a-z][a-z0-9_.-]{0,99}$"


def _unique(values: list[str]) -> list[str]:
    """Drop repeated values, keeping the first of each, in order."""
    return list(dict.fromkeys(values))


def _clean_domains(values: list[str]) -> list[str]:
    """Lowercase domains ('Data Science' -> 'data_science') and refuse anything else."""
    cleaned = _unique([v.strip().lower().replace(" ", "_") for v in values if v.strip()])
    bad = [v for v in cleaned if re.match(WORD, v) is None]
    if bad:
        raise ValueError(f"domains are lowercase words (letters, digits, _); got {bad}")
    return cleaned


class LanguageSkill(BaseModel):
    """A language and how well one speaks it (or, in requirements, the least level asked)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
        description="BCP 47 language tag, e.g. 'en', 'pt-BR'.",
    )
    level: Level = "fluent"


class ProfileUpdate(BaseModel):
    """What a worker says about themselves (the whole profile; omitted fields are emptied)."""

    model_config = ConfigDict(extra="forbid")

    skill_lanes: list[Lane] = Field(default_factory=list, max_length=3)
    domains: list[str] = Field(default_factory=list, max_length=30)
    languages: list[LanguageSkill] = Field(default_factory=list, max_length=30)
    programming_languages: list[str] = Field(default_factory=list, max_length=50)
    experience: str = Field("", max_length=20000)
    availability_hours_per_week: int = Field(0, ge=0, le=168)
    credentials: str = Field("", max_length=20000)

    @field_validator("skill_lanes")
    @classmethod
    def _lanes(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return _clean_domains(value)

    @field_validator("programming_languages")
    @classmethod
    def _programming(cls, value: list[str]) -> list[str]:
        cleaned = _unique([v.strip().lower() for v in value if v.strip()])
        too_long = [v for v in cleaned if len(v) > 40]
        if too_long:
            raise ValueError(f"programming language names are at most 40 characters: {too_long}")
        return cleaned

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[LanguageSkill]) -> list[LanguageSkill]:
        codes = [v.code for v in value]
        if len(set(codes)) != len(codes):
            raise ValueError("each language may be listed once")
        return value


class ProfileRead(BaseModel):
    """A worker's profile as they (and project owners) see it."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    skill_lanes: list[str]
    domains: list[str]
    languages: list[LanguageSkill]
    programming_languages: list[str]
    experience: str
    availability_hours_per_week: int
    credentials: str
    verified: bool
    verified_by: int | None
    verified_at: datetime | None


class VerificationUpdate(BaseModel):
    """An owner's decision on a worker's credentials."""

    model_config = ConfigDict(extra="forbid")

    verified: bool


class QualificationRead(BaseModel):
    """A qualification a worker holds; `active` is false once it has expired."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    score: float
    granted_at: datetime
    expires_at: datetime | None
    assessment_id: int | None
    active: bool = True


class Requirements(BaseModel):
    """Who may work on a project. Empty lists ask nothing.

    A worker needs one of `lanes` (if any), one of `domains` (if any), every language in
    `languages` at its level or above, every qualification in `qualifications` (not
    expired), a quality of at least `min_quality` (if set) and, with `verified_only`,
    verified credentials. `open` lists the project in 'projects for you' of every
    eligible worker, who may then join it on their own; otherwise only members see it.
    """

    model_config = ConfigDict(extra="forbid")

    lanes: list[Lane] = Field(default_factory=list, max_length=3)
    domains: list[str] = Field(default_factory=list, max_length=30)
    languages: list[LanguageSkill] = Field(default_factory=list, max_length=30)
    qualifications: list[str] = Field(default_factory=list, max_length=30)
    min_quality: float | None = Field(None, ge=0.0, le=1.0)
    verified_only: bool = False
    open: bool = False

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return _clean_domains(value)

    @field_validator("qualifications")
    @classmethod
    def _qualifications(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(QUALIFICATION_NAME, v)]
        if bad:
            raise ValueError(f"qualification names are lowercase slugs; got {bad}")
        return _unique(value)


class DailyCapUpdate(BaseModel):
    """The most submissions one worker may make in the project per UTC day (None: no cap)."""

    model_config = ConfigDict(extra="forbid")

    per_worker: int | None = Field(None, ge=1, le=1_000_000)


class EligibilityRead(BaseModel):
    """Whether a worker meets a project's requirements, and if not, what is missing."""

    eligible: bool
    reasons: list[str]
    fit: float = Field(description="Share of the stated requirements met, 0..1.")


class MatchRead(BaseModel):
    """One project in a worker's 'projects for you'."""

    project_id: int
    slug: str
    name: str
    description: str
    task_type: str
    member: bool
    eligible: bool
    reasons: list[str]
    fit: float
    open_items: int
    pay: str | None = None
    daily_cap: int | None = None
    done_today: int = 0


class EligibleCountRead(BaseModel):
    """How many workers could work on a project under its requirements."""

    workers: int = Field(description="Active worker accounts.")
    eligible: int = Field(description="Of those, how many meet the requirements.")
    members: int = Field(description="Workers who are members of the project.")
    eligible_members: int
    missing: dict[str, int] = Field(
        default_factory=dict, description="Requirement -> workers held back by it."
    )


class InviteCreate(BaseModel):
    """Invite a worker (by id or email) into a project as a worker."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = None
    email: str | None = None
    override: bool = Field(False, description="Invite even if the worker is not eligible.")
