"""Multi-turn chats with a live model, rated turn by turn, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, InvalidInput, NotFound
from judgeloop.schemas.submissions import AnswerIn
from judgeloop.services.conversations import (
    Conversation,
    ConversationSigner,
    LiveModel,
    live_model,
    set_chat_model,
    start_conversation,
    store_conversation,
    take_turn,
)
from judgeloop.services.model_versions import get_model
from judgeloop.services.submissions import judgments_of
from judgeloop.store.models import Candidate, Item, Project, User
from tests.factories import join, make_project, make_user
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    register_fake,
)

SIGNER = ConversationSigner("test-secret-" + "c" * 32)
TURN_QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "helpfulness",
        "kind": "rating",
        "title": "How helpful is this turn?",
        "per_candidate": True,
        "config": {
            "min": 1,
            "max": 5,
            "levels": {"1": "Unhelpful", "3": "Partly helpful", "5": "Very helpful"},
        },
    },
    {
        "key": "notes",
        "kind": "text",
        "title": "Anything else about the conversation?",
        "required": False,
        "config": {"mode": "explanation"},
    },
]


def _chat_project(session: Session, server: FakeOpenAI) -> tuple[Project, User, str]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=TURN_QUESTIONS, redundancy=2)
    name = register_fake(session, server)
    set_chat_model(session, project=project, actor=owner, model=name)
    worker = join(session, project, make_user(session))
    return project, worker, name


def _turn(model: LiveModel, conversation: Conversation, text: str) -> Conversation:
    """One turn, with the conversation passing through a signed token like in a browser."""
    outcome = asyncio.run(take_turn(model, conversation, text))
    assert outcome.ok, outcome.reply.error
    token = SIGNER.sign(outcome.conversation)
    return SIGNER.read(token, project_id=model.project_id, worker_id=model.worker_id, kind="chat")


def _ratings(*scores: int) -> list[AnswerIn]:
    return [
        AnswerIn(question="helpfulness", candidate=f"t{i}", value=s)
        for i, s in enumerate(scores, start=1)
    ]


def _items(session: Session, project: Project) -> int:
    query = select(func.count()).select_from(Item).where(Item.project_id == project.id)
    return int(session.scalar(query) or 0)


def test_a_three_turn_conversation_is_stored_with_three_turn_ratings(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, worker, name = _chat_project(session, fake_server)
    model = live_model(session, project=project, worker=worker)
    conversation = start_conversation(model)
    for text in ("Hi! Can you help me plan a trip?", "To Lisbon, in May.", "And the food?"):
        conversation = _turn(model, conversation, text)
    sent = fake_server.state.bodies[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant"] * 2 + ["user"]
    assert conversation.turn_keys == ["t1", "t2", "t3"]

    submission, created = store_conversation(
        session,
        project=project,
        worker=worker,
        conversation=conversation,
        answers=[*_ratings(4, 5, 2), AnswerIn(question="notes", value="Good until the end.")],
        submission_key=uuid.uuid4().hex,
    )
    assert created
    item = session.get(Item, submission.item_id)
    assert item is not None and item.prompt == "Hi! Can you help me plan a trip?"
    assert [m["role"] for m in item.messages or []] == ["user", "assistant"] * 3
    assert item.meta["conversation"]["turns"] == 3 and not item.is_open
    version = get_model(session, name).version
    cands = session.scalars(
        select(Candidate).where(Candidate.item_id == item.id).order_by(Candidate.position)
    ).all()
    assert [c.key for c in cands] == ["t1", "t2", "t3"]
    assert [c.text for c in cands] == conversation.model_turns
    assert {c.model_version_id for c in cands} == {version.id}
    judgments = judgments_of(session, [submission.id])[submission.id]
    turn_scores = [(j.candidate_key, j.value) for j in judgments if j.question_key == "helpfulness"]
    assert turn_scores == [("t1", 4), ("t2", 5), ("t3", 2)]


def test_a_tampered_model_turn_is_refused(session: Session, fake_server: FakeOpenAI) -> None:
    project, worker, _ = _chat_project(session, fake_server)
    model = live_model(session, project=project, worker=worker)
    conversation = _turn(model, start_conversation(model), "Say something nice.")
    token = SIGNER.sign(conversation)
    where: dict[str, Any] = {"project_id": project.id, "worker_id": worker.id, "kind": "chat"}

    forged = ConversationSigner("someone-elses-secret-" + "x" * 30).sign(
        Conversation(
            project_id=project.id,
            worker_id=worker.id,
            model_version_id=conversation.model_version_id,
            kind="chat",
            messages=(
                {"role": "user", "content": "Say something nice."},
                {"role": "assistant", "content": "Something the model never said."},
            ),
        )
    )
    payload, _, signature = token.rpartition(".")
    flipped = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    for bad in (forged, f"{flipped}.{signature}", token[:-2], "not a token"):
        with pytest.raises(Forbidden, match="changed"):
            SIGNER.read(bad, **where)
    other = join(session, project, make_user(session))
    with pytest.raises(Forbidden, match="another"):
        SIGNER.read(token, project_id=project.id, worker_id=other.id, kind="chat")
    with pytest.raises(Forbidden):
        SIGNER.read(token, project_id=project.id, worker_id=worker.id, kind="attack")
    with pytest.raises(InvalidInput, match="too old"):
        ConversationSigner("test-secret-" + "c" * 32, max_age_s=-1).read(token, **where)
    assert _items(session, project) == 0


def test_a_conversation_of_another_worker_is_not_stored(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, worker, _ = _chat_project(session, fake_server)
    model = live_model(session, project=project, worker=worker)
    conversation = _turn(model, start_conversation(model), "Hello")
    other = join(session, project, make_user(session))
    with pytest.raises(Forbidden):
        store_conversation(
            session,
            project=project,
            worker=other,
            conversation=conversation,
            answers=_ratings(3),
            submission_key=uuid.uuid4().hex,
        )
    assert _items(session, project) == 0


def test_a_missing_turn_rating_stores_nothing(session: Session, fake_server: FakeOpenAI) -> None:
    project, worker, _ = _chat_project(session, fake_server)
    model = live_model(session, project=project, worker=worker)
    conversation = _turn(model, _turn(model, start_conversation(model), "One"), "Two")
    with pytest.raises(InvalidInput) as err:
        store_conversation(
            session,
            project=project,
            worker=worker,
            conversation=conversation,
            answers=_ratings(4),
            submission_key=uuid.uuid4().hex,
        )
    assert [r.field for r in err.value.rows] == ["answers.helpfulness.t2"]
    assert _items(session, project) == 0
    with pytest.raises(InvalidInput, match="has not answered"):
        store_conversation(
            session,
            project=project,
            worker=worker,
            conversation=start_conversation(model),
            answers=[],
            submission_key=uuid.uuid4().hex,
        )


def test_a_failed_turn_leaves_the_conversation_as_it_was(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, worker, _ = _chat_project(session, fake_server)
    model = live_model(session, project=project, worker=worker)
    conversation = _turn(model, start_conversation(model), "First")
    outcome = asyncio.run(take_turn(model, conversation, "[[400]] break"))
    assert not outcome.ok and "HTTP 400" in (outcome.reply.error or "")
    assert outcome.conversation == conversation
    again = asyncio.run(take_turn(model, conversation, "[[500]] once"))  # retried, then fine
    assert again.ok and len(again.conversation.model_turns) == 2


def test_the_chat_needs_a_member_a_model_and_room_for_turns(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, worker, name = _chat_project(session, fake_server)
    with pytest.raises(NotFound):
        live_model(session, project=project, worker=make_user(session))
    bare = make_project(session, questions=TURN_QUESTIONS)
    member = join(session, bare, make_user(session))
    with pytest.raises(InvalidInput, match="names no model"):
        live_model(session, project=bare, worker=member)
    with pytest.raises(Forbidden):
        set_chat_model(session, project=project, actor=worker, model=name)
    project.settings = {**project.settings, "daily_cap": 0}
    session.commit()
    with pytest.raises(Forbidden, match="daily cap"):  # what stops the queue stops live work
        live_model(session, project=project, worker=worker)
    project.settings = {**project.settings, "max_turns": 1, "daily_cap": None}
    session.commit()
    model = live_model(session, project=project, worker=worker)
    conversation = _turn(model, start_conversation(model), "Only one")
    with pytest.raises(InvalidInput, match="at most 1 model turns"):
        asyncio.run(take_turn(model, conversation, "Two?"))
    with pytest.raises(InvalidInput, match="too long"):
        asyncio.run(take_turn(model, start_conversation(model), "x" * 20_001))
