"""Multi-turn chats: a worker talks with the project's model and rates each of its turns.

``GET /work/{slug}/chat`` starts a conversation. Each post of ``/work/{slug}/chat``
sends the worker's message with the whole conversation to the model (server-side,
``async``, no transaction open) and shows the sanitized answer with the project's
per-candidate questions for that turn; the ratings already given travel with each post.
The conversation itself travels in a signed hidden field: a model turn changed in the
browser is refused. ``POST /work/{slug}/chat/submit`` ends the conversation and stores
it as one item with one submission rating every model turn (``t1``, ``t2``, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, RowError
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.conversations import (
    Conversation,
    ConversationSigner,
    LiveModel,
    live_model,
    project_model_name,
    start_conversation,
    store_conversation,
    take_turn,
)
from judgeloop.store.models import User
from judgeloop.web.api.red_team import conversation_signer
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.forms import FormValues, parse_submission
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work import PostedForm
from judgeloop.web.pages.work_views import (
    CandidateView,
    ItemView,
    QuestionView,
    SlotView,
    build_question_views,
    problem_summary,
)
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()


@dataclass(frozen=True)
class TurnCandidate(CandidateView):
    """A model turn as a candidate: ``Model turn 2`` rather than ``Answer B``."""

    @property
    def label(self) -> str:
        """How the page names the turn."""
        return f"Model turn {self.letter}"


@dataclass(frozen=True)
class ChatLine:
    """One turn as shown; `key` is the candidate key of a model turn ('' for the worker's)."""

    role: str
    label: str
    content: str
    key: str = ""


def chat_lines(conversation: Conversation | None) -> list[ChatLine]:
    """The turns, the model's numbered ``t1``, ``t2``, ... like their candidates."""
    lines: list[ChatLine] = []
    number = 0
    for message in conversation.messages if conversation else ():
        if message["role"] == "assistant":
            number += 1
            lines.append(
                ChatLine("assistant", f"Model turn {number}", message["content"], f"t{number}")
            )
        else:
            lines.append(ChatLine("user", "You", message["content"]))
    return lines


def chat_item(conversation: Conversation | None) -> ItemView:
    """The conversation as an item whose candidates are the model turns."""
    turns = conversation.model_turns if conversation else []
    keys = conversation.turn_keys if conversation else []
    cands = [
        TurnCandidate(k, str(i), t) for i, (k, t) in enumerate(zip(keys, turns, strict=True), 1)
    ]
    return ItemView(prompt="", turns=[], candidates=list(cands), stored_keys=tuple(keys))


@dataclass
class ChatPage:
    """What one rendering of the chat page shows."""

    access: ProjectAccess
    values: FormValues = field(default_factory=FormValues)
    conversation: Conversation | None = None
    state: str = ""
    error: str = ""
    rows: Sequence[RowError] = ()
    notice: str = ""


def _questions(access: ProjectAccess) -> list[QuestionSpec]:
    return [QuestionSpec.model_validate(q) for q in access.project.questions]


def _context(page: ChatPage) -> dict[str, Any]:
    access = page.access
    item = chat_item(page.conversation)
    views = build_question_views(_questions(access), item, page.rows)
    per_turn: dict[str, list[tuple[QuestionView, SlotView]]] = {k: [] for k in item.stored_keys}
    for view in views:
        for slot in view.slots:
            if slot.candidate is not None:
                per_turn[slot.candidate.key].append((view, slot))
    model = project_model_name(access.project, "chat_model", "target_model")
    return {
        "project": access.project,
        "model": model if access.sees_models else None,
        "has_model": model is not None,
        "turns": chat_lines(page.conversation),
        "per_turn": per_turn,
        "overall": [v for v in views if not v.spec.per_candidate],
        "item": item,
        "values": page.values,
        "state": page.state,
        "error": page.error,
        "field_errors": {r.field: r.reason for r in page.rows if not r.field.startswith("answers")},
        "problems": problem_summary(views, [r for r in page.rows if r.field != "message"]),
        "submission_key": page.values.get("submission_key") or uuid.uuid4().hex,
        "notice": page.notice,
        "content_warning": bool(access.project.settings.get("content_warning")),
    }


def render_chat(request: Request, page: ChatPage, *, status_code: int = 200) -> Response:
    """Render the chat page."""
    user = page.access.user
    return render_page(
        request, "pages/chat.html", _context(page), user=user, status_code=status_code
    )


def _access(session: Session, user: User, slug: str) -> ProjectAccess:
    return project_access(session, user=user, ref=slug, perm=Perm.SUBMIT)


@router.get("/work/{slug}/chat")
def chat_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Start a conversation with the project's model."""
    access = _access(session, user, slug)
    notice = (
        "Your conversation is saved. Start another one."
        if request.query_params.get("saved")
        else ""
    )
    return render_chat(request, ChatPage(access, notice=notice))


def _read(signer: ConversationSigner, access: ProjectAccess, state: str) -> Conversation:
    return signer.read(state, project_id=access.project.id, worker_id=access.user.id, kind="chat")


def _prepare(
    session: Session, user: User, slug: str, state: str, signer: ConversationSigner
) -> tuple[ProjectAccess, LiveModel, Conversation]:
    access = _access(session, user, slug)
    model = live_model(session, project=access.project, worker=user)
    conversation = _read(signer, access, state) if state else start_conversation(model)
    return access, model, conversation


KEPT_OUT = ("message", "state", "csrf_token")
"""Fields not shown again after a turn: the message was sent, the state is new."""


@router.post("/work/{slug}/chat")
async def send_message(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: PostedForm,
    settings: AppSettings,
) -> Response:
    """Send the worker's message with the conversation so far; show the model's answer."""
    values = FormValues(form.multi_items())
    signer = conversation_signer(settings)
    state = values.get("state")
    access, model, before = await run_in_threadpool(_prepare, session, user, slug, state, signer)
    page = ChatPage(access, values, before if before.messages else None, state=state)
    try:
        outcome = await take_turn(model, before, values.get("message"))
    except InvalidInput as exc:
        page.rows = exc.rows or [RowError(0, "message", exc.message)]
        return render_chat(request, page, status_code=422)
    if not outcome.ok:
        page.error = outcome.reply.error or "no answer"
        return render_chat(request, page, status_code=502)
    page.conversation = outcome.conversation
    page.state = signer.sign(outcome.conversation)
    page.values = FormValues((n, v) for n, v in form.multi_items() if n not in KEPT_OUT)
    return render_chat(request, page)


def _store(
    request: Request,
    session: Session,
    user: User,
    slug: str,
    values: FormValues,
    signer: ConversationSigner,
) -> Response:
    access = _access(session, user, slug)
    state = values.get("state")
    if not state:
        raise InvalidInput("there is no conversation to save yet; send a message first")
    conversation = _read(signer, access, state)
    page = ChatPage(access, values, conversation, state=state)
    parsed = parse_submission(
        values,
        questions=_questions(access),
        candidate_keys=conversation.turn_keys,
        item_id=0,
        require_explanation=access.project.require_explanation,
    )
    rows = list(parsed.errors)
    if not rows:
        try:
            store_conversation(
                session,
                project=access.project,
                worker=user,
                conversation=conversation,
                answers=parsed.data.answers,
                submission_key=parsed.data.submission_key,
                explanation=parsed.data.explanation,
            )
        except (InvalidInput, Conflict) as exc:
            rows = list(getattr(exc, "rows", ())) or [RowError(0, "", exc.message)]
    if rows:
        page.rows = rows
        return render_chat(request, page, status_code=422)
    return RedirectResponse(f"/work/{access.project.slug}/chat?saved=1", status_code=303)


@router.post("/work/{slug}/chat/submit")
def submit_chat(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: PostedForm,
    settings: AppSettings,
) -> Response:
    """End the conversation and store it with the rating of each model turn."""
    values = FormValues(form.multi_items())
    return _store(request, session, user, slug, values, conversation_signer(settings))
