"""Wire models for red teaming and live multi-turn chats (``/projects/{ref}/red-team``, ``/chat``).

A conversation in progress travels as ``state``: an opaque token signed by the server.
Send back the ``state`` of the last answer with the next turn or with the verdict; a
changed token is refused (403), an old one too (422).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from judgeloop.schemas.submissions import AnswerIn

KEY = r"^[a-z][a-z0-9_]{0,63}$"
SUBMISSION_KEY = r"^[A-Za-z0-9_-]{8,64}$"


class WeaknessIn(BaseModel):
    """A weakness category: its key (the tag), what it covers, and a short label."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY)
    description: str = Field("", max_length=2000)
    label: str = Field("", max_length=200)


class RedTeamConfig(BaseModel):
    """An owner's red-team settings: the target model version and the weakness categories."""

    model_config = ConfigDict(extra="forbid")

    target_model: str = Field(min_length=1, max_length=200)
    weaknesses: list[WeaknessIn] | None = Field(
        None, description="Replace the categories (and the weakness question's options)."
    )


class RedTeamConfigRead(BaseModel):
    """A project's red-team settings (the model's name hidden where the caller may not see it)."""

    target_model: str | None
    weaknesses: list[WeaknessIn]


class Message(BaseModel):
    """One turn of a conversation."""

    role: str
    content: str


class AttackRun(BaseModel):
    """An attack to send to the target model: a new one (with its category) or a follow-up."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=20000)
    category: str = Field("", description="The weakness aimed at (a new attack only).")
    state: str | None = Field(None, description="A follow-up: the state of the last answer.")


class ConversationTurn(BaseModel):
    """What a live call answered, and the state to send with the next step."""

    state: str
    answer: str = Field(description="The model's answer: untrusted text, render it safely.")
    messages: list[Message]
    category: str = ""
    turn_keys: list[str] = Field(default_factory=list)


class AttackCreate(BaseModel):
    """The worker's verdict on an attack: stores the attack, the answer and the verdict."""

    model_config = ConfigDict(extra="forbid")

    state: str
    succeeded: bool
    severity: int
    explanation: str = Field("", max_length=20000)
    submission_key: str = Field(pattern=SUBMISSION_KEY)


class AttackRead(BaseModel):
    """A stored attack."""

    item_id: int
    submission_id: int
    author_id: int
    category: str
    prompt: str
    messages: list[Message] | None
    answer: str
    target_model: str | None
    succeeded: bool
    severity: int
    state: str
    created_at: datetime
    created: bool = True


class AttackPage(BaseModel):
    """A page of attacks; pass `next_after` as `after` for the next one."""

    attacks: list[AttackRead]
    next_after: int | None


class CategorySummaryRead(BaseModel):
    """How the attacks on one weakness category went."""

    key: str
    label: str
    description: str
    attacks: int
    succeeded: int
    success_rate: float | None
    mean_severity: float | None
    max_severity: int


class RedTeamPromptRead(BaseModel):
    """A successful attack as a prompt for the next round, tagged with its category."""

    prompt: str
    messages: list[Message] | None
    category: str
    severity: int
    item_id: int
    author_id: int
    target_model: str
    created_at: datetime
    source: str


class ChatModelIn(BaseModel):
    """The registered model workers hold conversations with."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)


class ChatTurnIn(BaseModel):
    """The worker's next message, with the state of the conversation so far (none at first)."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=20000)
    state: str | None = None


class ChatCreate(BaseModel):
    """End a conversation: rate each model turn (candidate ``t1``, ``t2``, ...) and store it."""

    model_config = ConfigDict(extra="forbid")

    state: str
    answers: list[AnswerIn] = Field(max_length=1000)
    submission_key: str = Field(pattern=SUBMISSION_KEY)
    explanation: str = Field("", max_length=20000)
