"""Live conversations with a registered model, and how one becomes a judged item.

A worker talks to a model turn by turn; the model is called server-side, with the
whole conversation so far, and nothing is stored until the worker ends it. Between
requests the conversation travels as a *signed* token (itsdangerous, under the app's
secret key): the worker's browser holds it but cannot change a model turn, and a token
that was changed, is too old, or belongs to another worker or project is refused.

The three steps keep the model call outside any database transaction:

1. `live_model` reads what the call needs (the project's model and its endpoint) and
   ends its read (SQLite holds the write lock for the whole transaction);
2. `take_turn` calls the model (``async``, no database) and returns the conversation
   with the new turn, or the unchanged conversation and the error;
3. `store_conversation` (or `services.red_team.record_attack`) stores the item, its
   model turns as candidates and the worker's judgment, through ``submit_judgment``, in
   one transaction, idempotent on the submission key (`services.judged_items`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, RowError
from judgeloop.llm.backends import ChatReply, make_backend
from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.retry import RetryPolicy
from judgeloop.schemas.submissions import AnswerIn
from judgeloop.services.judged_items import JudgedItem, store_judged_item
from judgeloop.services.model_versions import callable_model
from judgeloop.services.pay_ledger import require_owner
from judgeloop.services.projects import member_role
from judgeloop.services.workforce import lease_block_reason
from judgeloop.store.models import Event, Project, Submission, User

Message = dict[str, str]

DEFAULT_TIMEOUT_S = 60.0
"""Seconds a live call may take, retries included (project setting ``live_timeout_s``)."""
MAX_TIMEOUT_S = 600.0
DEFAULT_MAX_TURNS = 20
"""Model turns a conversation may have (project setting ``max_turns``)."""
MAX_MESSAGE_CHARS = 20_000
STATE_MAX_AGE_S = 24 * 3600
"""How long a conversation may stay open before its token is refused."""
LIVE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=5.0)
"""A worker is waiting: one quick retry, then the error is shown."""
MAX_SECONDS = 7 * 24 * 3600  # seconds a conversation counts as work, at most
KINDS = ("chat", "attack")
CHAT_PREFIX = "chat-"
"""External ids of stored conversations start with this (then the submission key)."""
_SALT = "judgeloop.conversation.v1"


@dataclass(frozen=True)
class LiveModel:
    """Everything a live call needs, read from the database before the call.

    Attributes:
        project_id: The project the conversation belongs to.
        worker_id: The worker holding it.
        version_id: The model version called.
        name: Its name.
        config: How to reach it.
        timeout_s: Seconds the whole call may take.
        max_turns: Model turns a conversation may have.
    """

    project_id: int
    worker_id: int
    version_id: int
    name: str
    config: EndpointConfig
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_turns: int = DEFAULT_MAX_TURNS


@dataclass(frozen=True)
class Conversation:
    """A conversation in progress: alternating user and assistant messages.

    Attributes:
        project_id: Its project.
        worker_id: The worker holding it.
        model_version_id: The model that wrote the assistant turns.
        kind: ``chat`` (rated turn by turn) or ``attack`` (red teaming).
        messages: The turns so far, oldest first (no system prompt).
        started: When it started (seconds since the epoch), for the time spent.
        extra: Kind-specific fields (an attack's ``category``).
        id: A random id, fixed for the conversation's life.
    """

    project_id: int
    worker_id: int
    model_version_id: int
    kind: str
    messages: tuple[Message, ...] = ()
    started: float = field(default_factory=time.time)
    extra: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def model_turns(self) -> list[str]:
        """The assistant turns' texts, in order."""
        return [m["content"] for m in self.messages if m["role"] == "assistant"]

    @property
    def turn_keys(self) -> list[str]:
        """The candidate keys of the model turns: ``t1``, ``t2``, ..."""
        return [turn_key(i) for i in range(1, len(self.model_turns) + 1)]

    def seconds(self) -> float:
        """Seconds since the conversation started (capped at a week)."""
        return min(max(time.time() - self.started, 0.0), float(MAX_SECONDS))


def turn_key(number: int) -> str:
    """The candidate key of model turn `number` (1-based): ``t1``, ``t2``, ..."""
    return f"t{number}"


@dataclass(frozen=True)
class TurnOutcome:
    """What one live call came to: the conversation (with the new turn when it worked)."""

    conversation: Conversation
    reply: ChatReply

    @property
    def ok(self) -> bool:
        """Whether the model answered."""
        return self.reply.ok


class ConversationSigner:
    """Signs conversations into tokens and reads them back, refusing changed ones."""

    def __init__(self, secret: str, *, max_age_s: int = STATE_MAX_AGE_S) -> None:
        """Sign with `secret` (the app's secret key); refuse tokens older than `max_age_s`."""
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_s = max_age_s

    def sign(self, conversation: Conversation) -> str:
        """Return the token that carries `conversation` (compressed, signed, timestamped)."""
        payload = {
            "p": conversation.project_id,
            "w": conversation.worker_id,
            "m": conversation.model_version_id,
            "k": conversation.kind,
            "msgs": list(conversation.messages),
            "s": conversation.started,
            "x": dict(conversation.extra),
            "id": conversation.id,
        }
        return str(self._serializer.dumps(payload))

    def read(self, token: str, *, project_id: int, worker_id: int, kind: str) -> Conversation:
        """Return the conversation in `token`, checked against who may continue it.

        Raises:
            Forbidden: The token was changed (a model turn edited, say), or it belongs to
                another project, worker or kind of conversation.
            InvalidInput: The token is older than `max_age_s`.
        """
        try:
            data = self._serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired:
            raise InvalidInput("this conversation is too old to go on; start a new one") from None
        except BadSignature:
            raise Forbidden(
                "this conversation was changed outside judgeloop; its turns cannot be trusted"
            ) from None
        if (data.get("p"), data.get("w"), data.get("k")) != (project_id, worker_id, kind):
            raise Forbidden("this conversation belongs to another project or worker")
        return Conversation(
            project_id=project_id,
            worker_id=worker_id,
            model_version_id=int(data["m"]),
            kind=kind,
            messages=tuple({"role": m["role"], "content": m["content"]} for m in data["msgs"]),
            started=float(data["s"]),
            extra=dict(data.get("x") or {}),
            id=str(data["id"]),
        )


def start_conversation(
    model: LiveModel, *, kind: str = "chat", extra: Mapping[str, Any] | None = None
) -> Conversation:
    """Return a new, empty conversation of `kind` with `model`."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown conversation kind {kind!r} (known: {', '.join(KINDS)})")
    return Conversation(
        project_id=model.project_id,
        worker_id=model.worker_id,
        model_version_id=model.version_id,
        kind=kind,
        extra=dict(extra or {}),
    )


def project_model_name(project: Project, *keys: str) -> str | None:
    """The first model named in the project's settings under one of `keys`."""
    for key in keys:
        value = project.settings.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def live_model(
    session: Session, *, project: Project, worker: User, setting: str = "chat_model"
) -> LiveModel:
    """Read what a live call needs: the project's model (settings[`setting`]) and endpoint.

    The chat model falls back to the red-team target (``target_model``). The read is
    ended (committed) before returning, so the call runs outside any transaction.

    Raises:
        NotFound: The worker is not a member of the project.
        Conflict: The project is not active.
        Forbidden: The queue would give the worker no task now (a suspension, the daily
            cap, requirements no longer met: ``services.workforce.lease_block_reason``).
        InvalidInput: The project names no model, or the model has no endpoint.
    """
    if member_role(session, project=project, user=worker) is None:
        raise NotFound(f"no project {project.slug!r}")
    if project.state != "active":
        raise Conflict(f"project {project.slug} is {project.state}; it takes no new work")
    if (reason := lease_block_reason(session, project=project, worker=worker)) is not None:
        raise Forbidden(f"you may take no new work in {project.slug} now: {reason}")
    keys = (setting, "target_model") if setting == "chat_model" else (setting,)
    name = project_model_name(project, *keys)
    if name is None:
        raise InvalidInput(f"project {project.slug} names no model to talk to ({setting})")
    version, config = callable_model(session, name)
    timeout = _setting_number(project, "live_timeout_s", DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S)
    turns = int(_setting_number(project, "max_turns", DEFAULT_MAX_TURNS, 200))
    model = LiveModel(project.id, worker.id, version.id, version.name, config, timeout, turns)
    session.commit()  # end the read: the model call must not hold a transaction open
    return model


def _setting_number(project: Project, key: str, default: float, ceiling: float) -> float:
    value = project.settings.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return min(float(value), ceiling)
    return default


def set_chat_model(session: Session, *, project: Project, actor: User, model: str) -> Project:
    """Name the registered model workers hold conversations with (``settings.chat_model``).

    Raises:
        Forbidden: The actor does not own the project.
        NotFound, InvalidInput: No such model, or it has no endpoint.
    """
    require_owner(session, project=project, actor=actor)
    version, _config = callable_model(session, model)
    project.settings = {**project.settings, "chat_model": version.name}
    session.add(Event(kind="project.chat_model", actor_id=actor.id, project_id=project.id))
    session.commit()
    return project


def check_message(text: str) -> str:
    """Return the worker's message, stripped; raise InvalidInput when empty or too long."""
    text = text.strip()
    if not text:
        raise InvalidInput(
            "write a message first", [RowError(0, "message", "the message is empty")]
        )
    if len(text) > MAX_MESSAGE_CHARS:
        reason = f"{len(text)} characters long; at most {MAX_MESSAGE_CHARS} are allowed"
        raise InvalidInput("the message is too long", [RowError(0, "message", reason)])
    return text


async def call_model(model: LiveModel, messages: Sequence[Message]) -> ChatReply:
    """Ask the model to answer `messages` within the model's timeout; never raise.

    A call that takes longer than ``model.timeout_s`` is cancelled and reported as an
    error, like any other failure.
    """
    backend = make_backend(model.config, retry=LIVE_RETRY)
    try:
        return await asyncio.wait_for(backend.complete(list(messages)), model.timeout_s)
    except TimeoutError:
        return ChatReply(error=f"the model did not answer within {model.timeout_s:g} seconds")
    except Exception as exc:  # a backend that breaks its promise never to raise
        return ChatReply(error=f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        await backend.aclose()


async def take_turn(model: LiveModel, conversation: Conversation, text: str) -> TurnOutcome:
    """Send the worker's message with the whole conversation; add both turns if it answers.

    On failure the conversation comes back unchanged, with the reply's error: nothing
    is stored, and the worker may send the message again.

    Raises:
        InvalidInput: The message is empty or too long, or the conversation is full.
        Forbidden: The conversation was made for another model or project.
    """
    if (conversation.project_id, conversation.model_version_id) != (
        model.project_id,
        model.version_id,
    ):
        raise Forbidden("this conversation was held with another model; start a new one")
    text = check_message(text)
    if len(conversation.model_turns) >= model.max_turns:
        raise InvalidInput(f"a conversation may have at most {model.max_turns} model turns")
    asked = (*conversation.messages, {"role": "user", "content": text})
    reply = await call_model(model, asked)
    if not reply.ok or reply.text is None:
        return TurnOutcome(conversation, reply)
    answered = (*asked, {"role": "assistant", "content": reply.text})
    return TurnOutcome(replace(conversation, messages=answered), reply)


def store_conversation(
    session: Session,
    *,
    project: Project,
    worker: User,
    conversation: Conversation,
    answers: Sequence[AnswerIn],
    submission_key: str,
    explanation: str = "",
    source: str = "web",
) -> tuple[Submission, bool]:
    """Store a finished chat as an item rated turn by turn, through ``submit_judgment``.

    The item's ``messages`` are the whole conversation and its prompt the first message;
    each model turn is a candidate ``t1``, ``t2``, ... (by the conversation's model), so
    the project's per-candidate questions rate each turn. `conversation` must come from
    `ConversationSigner.read` (never from what a client says the model said).

    Returns:
        The submission and whether it was stored now (False: a replayed key).

    Raises:
        InvalidInput: No model turn yet, or the answers (with field paths).
        Forbidden: The conversation is not this worker's chat in this project.
    """
    if (conversation.project_id, conversation.worker_id, conversation.kind) != (
        project.id,
        worker.id,
        "chat",
    ):
        raise Forbidden("this conversation is not yours to store here")
    turns = conversation.model_turns
    if not turns:
        raise InvalidInput("the model has not answered yet; send a message first")
    keys = conversation.turn_keys
    judged = JudgedItem(
        prefix=CHAT_PREFIX,
        prompt=conversation.messages[0]["content"],
        messages=[dict(m) for m in conversation.messages],
        candidates=list(zip(keys, turns, strict=True)),
        model_version_id=conversation.model_version_id,
        meta={
            "conversation": {
                "author_id": worker.id,
                "model_version_id": conversation.model_version_id,
                "turns": len(turns),
            }
        },
    )
    return store_judged_item(
        session,
        project=project,
        worker=worker,
        judged=judged,
        answers=answers,
        submission_key=submission_key,
        explanation=explanation,
        seconds_spent=conversation.seconds(),
        source=source,
    )
