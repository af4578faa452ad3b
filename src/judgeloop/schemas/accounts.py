"""Wire models for users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "owner", "reviewer", "worker"]


class UserCreate(BaseModel):
    """A new account; the password is hashed with argon2 and never stored as given."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    name: str = Field("", max_length=200)
    role: Role = "worker"
    password: str = Field(min_length=8, max_length=1024)


class UserRead(BaseModel):
    """An account as others may see it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    is_active: bool


class LoginRequest(BaseModel):
    """Email and password, exchanged for an API token."""

    model_config = ConfigDict(extra="forbid")

    email: str
    password: str
    token_name: str = "login"


class TokenCreate(BaseModel):
    """Ask for a new API token for the current user."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("api", max_length=200)


class TokenRead(BaseModel):
    """A token's metadata; `token` is filled only in the response that creates it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    token: str | None = None
