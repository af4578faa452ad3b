"""Accounts: creating users, checking passwords (argon2) and API tokens (sha256 of a secret).

Password hashing lives here, not in web/, because the CLI creates users too.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, NotFound, Unauthorized
from judgeloop.schemas.accounts import UserCreate
from judgeloop.store.base import utcnow
from judgeloop.store.models import ApiToken, Event, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "jl_"
# Verifying against this keeps the timing of "unknown email" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("judgeloop-dummy-password")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether `password` matches `password_hash` (False for accounts without one)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: Session, *, data: UserCreate) -> User:
    """Create an account; raises Conflict when the email is taken."""
    email = data.email.strip().lower()
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email, name=data.name, role=data.role, password_hash=hash_password(data.password)
    )
    session.add(user)
    session.flush()
    session.add(Event(kind="user.created", actor_id=None, payload={"user_id": user.id}))
    session.commit()
    return user


def get_user_by_email(session: Session, email: str) -> User:
    """Return the user with this email, or raise NotFound."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


def list_users(session: Session) -> list[User]:
    """Return all users, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))


def authenticate(session: Session, *, email: str, password: str) -> User:
    """Return the active user with these credentials, or raise Unauthorized."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized("wrong email or password")
    return user


def _token_hash(raw: str) -> str:
    # Tokens are 256-bit random secrets, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(session: Session, *, user: User, name: str = "api") -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns the row and the raw token (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(raw), prefix=raw[:10])
    session.add(token)
    session.commit()
    return token, raw


def user_for_token(session: Session, raw: str) -> User:
    """Return the active user owning API token `raw`, or raise Unauthorized."""
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_hash(raw), ApiToken.revoked_at.is_(None)
        )
    )
    user = session.get(User, token.user_id) if token else None
    if user is None or not user.is_active:
        raise Unauthorized("invalid or revoked API token")
    return user


def revoke_api_token(session: Session, *, user: User, token_id: int) -> None:
    """Revoke one of `user`'s tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = utcnow()
    session.commit()
