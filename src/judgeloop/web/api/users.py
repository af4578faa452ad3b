"""Accounts, for admins: ``/users``."""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.schemas.accounts import UserCreate, UserRead
from judgeloop.services.accounts import create_user, list_users
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import require_admin

router = APIRouter(tags=["users"])


@router.post("/users", response_model=UserRead, status_code=201)
def create_user_(data: UserCreate, user: CurrentUser, session: DbSession) -> UserRead:
    """Create an account (admins only)."""
    require_admin(user)
    return UserRead.model_validate(create_user(session, data=data))


@router.get("/users", response_model=list[UserRead])
def list_users_(user: CurrentUser, session: DbSession) -> list[UserRead]:
    """List every account (admins only)."""
    require_admin(user)
    return [UserRead.model_validate(u) for u in list_users(session)]
