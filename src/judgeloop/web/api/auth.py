"""Sign-in and API tokens: ``/auth/login``, ``/me``, ``/tokens``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from judgeloop.schemas.accounts import LoginRequest, TokenCreate, TokenRead, UserRead
from judgeloop.services.accounts import authenticate, create_api_token, revoke_api_token
from judgeloop.web.deps import CurrentUser, DbSession

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=TokenRead)
def login(data: LoginRequest, session: DbSession) -> TokenRead:
    """Exchange an email and password for a new API token (shown once, in `token`)."""
    user = authenticate(session, email=data.email, password=data.password)
    token, raw = create_api_token(session, user=user, name=data.token_name)
    return TokenRead.model_validate(token).model_copy(update={"token": raw})


@router.get("/me", response_model=UserRead)
def get_me(user: CurrentUser) -> UserRead:
    """Return the signed-in user."""
    return UserRead.model_validate(user)


@router.post("/tokens", response_model=TokenRead, status_code=201)
def create_token(data: TokenCreate, user: CurrentUser, session: DbSession) -> TokenRead:
    """Create another API token for the signed-in user (shown once, in `token`)."""
    token, raw = create_api_token(session, user=user, name=data.name)
    return TokenRead.model_validate(token).model_copy(update={"token": raw})


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
def delete_token(token_id: int, user: CurrentUser, session: DbSession) -> Response:
    """Revoke one of the signed-in user's tokens."""
    revoke_api_token(session, user=user, token_id=token_id)
    return Response(status_code=204)
