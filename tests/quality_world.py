"""Test data for the quality services: a project with a label, a rating and an A/B question.

Five honest workers answer from the truth; a spammer answers at random; gold items let
gold accuracy be measured. Everything is written through ``submit_judgment``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import GoldAnswer, Item, Project, Submission, User
from tests.api.helpers import attach_models
from tests.factories import join, make_item, make_project, make_user

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "topic",
        "kind": "choice",
        "title": "Which topic?",
        "config": {
            "options": [
                {"value": "math", "label": "Math"},
                {"value": "code", "label": "Code"},
                {"value": "chat", "label": "Chat"},
            ]
        },
    },
    {"key": "quality", "kind": "rating", "title": "How good?", "config": {"min": 1, "max": 5}},
    {"key": "better", "kind": "preference", "title": "Which is better?", "config": {}},
]
TOPICS = ("math", "code", "chat")


@dataclass
class World:
    """A project, its workers and items, and the truth behind them."""

    project: Project
    owner: User
    workers: list[User]
    spammer: User
    items: list[Item]
    truth: dict[int, dict[str, Any]] = field(default_factory=dict)


def answers(topic: str, score: int, winner: str) -> list[dict[str, Any]]:
    """The three answers of one submission."""
    return [
        {"question": "topic", "value": topic},
        {"question": "quality", "value": score},
        {
            "question": "better",
            "value": {"winner": winner, "strength": None if winner == "tie" else 2},
        },
    ]


def submit(
    session: Session,
    worker: User,
    item: Item,
    values: list[dict[str, Any]],
    seconds: float = 30.0,
    explanation: str = "",
) -> Submission:
    """Submit through the single write path."""
    data = SubmissionCreate(
        item_id=item.id,
        submission_key=uuid.uuid4().hex,
        answers=values,  # type: ignore[arg-type]
        seconds_spent=seconds,
        explanation=explanation,
    )
    sub, _ = submit_judgment(session, worker=worker, data=data)
    return sub


def make_world(
    session: Session, *, n_items: int = 12, n_honest: int = 5, seed: int = 7, **project: Any
) -> World:
    """A project judged by honest workers (all agree with the truth) and one spammer."""
    rng = random.Random(seed)
    fields = {"questions": QUESTIONS, "redundancy": n_honest + 1, **project}
    proj = make_project(session, **fields)
    owner = session.get(User, proj.owner_id)
    assert owner is not None
    honest = [join(session, proj, make_user(session)) for _ in range(n_honest)]
    spammer = join(session, proj, make_user(session))
    items = [make_item(session, project=proj, prompt=f"prompt {i}") for i in range(n_items)]
    for item in items:
        attach_models(session, item, "model-good", "model-bad")
    world = World(proj, owner, honest, spammer, items)
    for n, item in enumerate(items):
        world.truth[item.id] = {"topic": TOPICS[n % 3], "quality": 2 + n % 3, "better": "A"}
    for n, item in enumerate(items[:3]):
        item.is_gold = True
        session.add(GoldAnswer(item_id=item.id, question_key="topic", value=TOPICS[n % 3]))
    session.commit()
    for item in items:
        t = world.truth[item.id]
        for worker in honest:
            submit(session, worker, item, answers(t["topic"], t["quality"], t["better"]))
        spam = answers(rng.choice(TOPICS), rng.choice((1, 5)), rng.choice(("A", "B", "tie")))
        submit(session, spammer, item, spam, seconds=1.0)
    return world
