"""Plain keyword functions that build test data through the services."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services.accounts import create_user
from judgeloop.services.projects import add_member, create_project
from judgeloop.store.base import utcnow
from judgeloop.store.models import Candidate, Item, Project, User

PASSWORD = "correct horse battery"


def make_user(session: Session, *, role: str = "worker", email: str | None = None) -> User:
    """Create a user with the test password."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    return create_user(
        session, data=UserCreate(email=email, name=role.title(), role=role, password=PASSWORD)
    )  # type: ignore[arg-type]


RATING_QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "quality",
        "kind": "rating",
        "title": "How good is the answer?",
        "config": {"min": 1, "max": 5},
    }
]


def make_project(session: Session, *, owner: User | None = None, **overrides: Any) -> Project:
    """Create a project (a one-question rating project unless overridden)."""
    owner = owner or make_user(session, role="owner")
    fields: dict[str, Any] = {
        "slug": f"p-{uuid.uuid4().hex[:8]}",
        "name": "Test project",
        "questions": RATING_QUESTIONS,
        "redundancy": 3,
    }
    fields.update(overrides)
    return create_project(session, owner=owner, data=ProjectCreate(**fields))


def make_item(
    session: Session,
    *,
    project: Project,
    prompt: str = "What is 2+2?",
    answers: tuple[str, ...] = ("4", "5"),
    is_gold: bool = False,
) -> Item:
    """Create an item with candidate answers A, B, ... directly in the store."""
    item = Item(
        project_id=project.id,
        prompt=prompt,
        content_hash=uuid.uuid4().hex,
        is_gold=is_gold,
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    for pos, text in enumerate(answers):
        session.add(Candidate(item_id=item.id, key=chr(ord("A") + pos), position=pos, text=text))
    session.commit()
    return item


def join(session: Session, project: Project, user: User, role: str = "worker") -> User:
    """Make `user` a member of `project` and return the user."""
    add_member(session, project=project, user=user, role=role)
    return user
