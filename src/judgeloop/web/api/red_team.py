"""Red teaming and live chats: attack the target model, store verdicts, rate conversations.

The model calls are made by the server, in ``async`` handlers that await the model
with no database transaction open (the reads before the call end theirs). A failed
call answers 502 with the error code ``model_error`` and stores nothing. A
conversation in progress travels as a signed ``state``; see ``schemas.red_team``.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from judgeloop.config import Settings
from judgeloop.schemas.red_team import (
    AttackCreate,
    AttackPage,
    AttackRead,
    AttackRun,
    CategorySummaryRead,
    ChatCreate,
    ChatModelIn,
    ChatTurnIn,
    ConversationTurn,
    Message,
    RedTeamConfig,
    RedTeamConfigRead,
    RedTeamPromptRead,
    WeaknessIn,
)
from judgeloop.schemas.submissions import SubmissionRead
from judgeloop.services import red_team as rt
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
from judgeloop.store.models import User
from judgeloop.web.api.submissions import submission_reads
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.errors import error_body
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = APIRouter(tags=["red teaming"])
MODEL_ERROR: dict[int | str, dict[str, Any]] = {
    502: {"description": "The model call failed (code model_error); nothing stored"}
}


def conversation_signer(settings: Settings) -> ConversationSigner:
    """The signer of conversation states, under the app's secret key."""
    return ConversationSigner(settings.resolved_secret_key())


def model_error(message: str | None) -> JSONResponse:
    """The 502 answer for a failed model call."""
    text = f"the model call failed: {message or 'no answer'}"
    return JSONResponse(error_body("model_error", text), status_code=502)


def turn_read(signer: ConversationSigner, conversation: Conversation) -> ConversationTurn:
    """The wire form of a conversation after a model turn."""
    return ConversationTurn(
        state=signer.sign(conversation),
        answer=conversation.model_turns[-1] if conversation.model_turns else "",
        messages=[Message(**m) for m in conversation.messages],
        category=str(conversation.extra.get("category", "")),
        turn_keys=conversation.turn_keys,
    )


def attack_read(access: ProjectAccess, attack: rt.Attack, created: bool = True) -> AttackRead:
    """The wire form of an attack (the model's name only where the caller may see it)."""
    messages = [Message(**m) for m in attack.messages] if attack.messages else None
    return AttackRead(
        item_id=attack.item_id,
        submission_id=attack.submission_id,
        author_id=attack.author_id,
        category=attack.category,
        prompt=attack.prompt,
        messages=messages,
        answer=attack.answer,
        target_model=attack.target_model if access.sees_models else None,
        succeeded=attack.succeeded,
        severity=attack.severity,
        state=attack.state,
        created_at=attack.created_at,
        created=created,
    )


def config_read(access: ProjectAccess) -> RedTeamConfigRead:
    """The project's red-team settings as the caller may see them."""
    target = rt.target_model_name(access.project) if access.sees_models else None
    weaknesses = [WeaknessIn(**w.model_dump()) for w in rt.weaknesses_of(access.project)]
    return RedTeamConfigRead(target_model=target, weaknesses=weaknesses)


@router.get("/projects/{ref}/red-team", response_model=RedTeamConfigRead)
def get_red_team(ref: str, user: CurrentUser, session: DbSession) -> RedTeamConfigRead:
    """Return the project's target model and weakness categories."""
    return config_read(project_access(session, user=user, ref=ref))


@router.put("/projects/{ref}/red-team", response_model=RedTeamConfigRead)
def configure_red_team(
    ref: str, body: RedTeamConfig, user: CurrentUser, session: DbSession
) -> RedTeamConfigRead:
    """Name the target model and (optionally) replace the weakness categories (owners)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    weaknesses = [w.model_dump() for w in body.weaknesses] if body.weaknesses else None
    rt.configure_red_team(
        session,
        project=access.project,
        actor=user,
        target_model=body.target_model,
        weaknesses=weaknesses,
    )
    return config_read(access)


def _attack_start(
    session: Session, user: User, ref: str, state: str | None, signer: ConversationSigner
) -> tuple[rt.AttackTarget, Conversation | None]:
    access = project_access(session, user=user, ref=ref, perm=Perm.SUBMIT)
    conversation = None
    if state:
        conversation = signer.read(
            state, project_id=access.project.id, worker_id=user.id, kind="attack"
        )
    return rt.attack_target(session, project=access.project, worker=user), conversation


@router.post(
    "/projects/{ref}/red-team/attacks/run", response_model=ConversationTurn, responses=MODEL_ERROR
)
async def run_attack(
    ref: str, body: AttackRun, user: CurrentUser, session: DbSession, settings: AppSettings
) -> Response | ConversationTurn:
    """Send an attack (or a follow-up, with `state`) to the target model; store nothing."""
    signer = conversation_signer(settings)
    target, conversation = await run_in_threadpool(
        _attack_start, session, user, ref, body.state, signer
    )
    outcome = await rt.run_attack(
        target, prompt=body.prompt, category=body.category, conversation=conversation
    )
    if not outcome.ok:
        return model_error(outcome.reply.error)
    return turn_read(signer, outcome.conversation)


@router.post(
    "/projects/{ref}/red-team/attacks",
    response_model=AttackRead,
    status_code=201,
    responses={200: {"model": AttackRead, "description": "Replayed: same submission_key"}},
)
def record_attack(
    ref: str,
    body: AttackCreate,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> AttackRead:
    """Store an attack, the target's answer and the verdict (201; 200 for a replayed key)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.SUBMIT)
    conversation = conversation_signer(settings).read(
        body.state, project_id=access.project.id, worker_id=user.id, kind="attack"
    )
    submission, created = rt.record_attack(
        session,
        project=access.project,
        worker=user,
        conversation=conversation,
        succeeded=body.succeeded,
        severity=body.severity,
        submission_key=body.submission_key,
        explanation=body.explanation,
        source="api",
    )
    response.status_code = 201 if created else 200
    attack = rt.get_attack(session, project=access.project, item_id=submission.item_id)
    return attack_read(access, attack, created)


@router.get("/projects/{ref}/red-team/attacks", response_model=AttackPage)
def list_attacks(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    category: str | None = None,
    succeeded: bool | None = None,
    author_id: Annotated[int | None, Query(description="Only this worker's.")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AttackPage:
    """Return a page of the project's attacks (a worker sees only their own)."""
    access = project_access(session, user=user, ref=ref)
    if not access.can(Perm.READ_ALL_SUBMISSIONS):
        author_id = user.id
    rows = rt.list_attacks(
        session,
        project=access.project,
        author_id=author_id,
        category=category,
        succeeded=succeeded,
        after=after,
        limit=limit,
    )
    next_after = rows[-1].item_id if len(rows) == limit else None
    return AttackPage(attacks=[attack_read(access, a) for a in rows], next_after=next_after)


@router.get("/projects/{ref}/red-team/summary", response_model=list[CategorySummaryRead])
def attack_summary(ref: str, user: CurrentUser, session: DbSession) -> list[CategorySummaryRead]:
    """Return each weakness category's attacks and success rate (owners and reviewers)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    return [
        CategorySummaryRead(
            key=s.key,
            label=s.label,
            description=s.description,
            attacks=s.attacks,
            succeeded=s.succeeded,
            success_rate=s.success_rate,
            mean_severity=s.mean_severity,
            max_severity=s.max_severity,
        )
        for s in rt.attack_summary(session, project=access.project)
    ]


@router.get("/projects/{ref}/red-team/prompts", response_model=list[RedTeamPromptRead])
def red_team_prompts(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    min_severity: Annotated[int, Query(ge=0)] = rt.DEFAULT_MIN_SEVERITY,
    since: datetime | None = None,
) -> list[RedTeamPromptRead]:
    """Return the successful attacks as tagged prompts for the next round (owners)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.EXPORT)
    prompts = rt.red_team_prompts(
        session, project=access.project, min_severity=min_severity, since=since
    )
    return [RedTeamPromptRead.model_validate(p, from_attributes=True) for p in prompts]


@router.get(
    "/projects/{ref}/red-team/prompts.jsonl",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_red_team_prompts(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    min_severity: Annotated[int, Query(ge=0)] = rt.DEFAULT_MIN_SEVERITY,
    since: datetime | None = None,
) -> FileResponse:
    """Download the successful attacks as JSONL that ``judgeloop import`` reads (owners).

    The export is recorded (``what="red-team-prompts"``) like any other.
    """
    access = project_access(session, user=user, ref=ref, perm=Perm.EXPORT)
    name = f"{access.project.slug}-red-team-prompts.jsonl"
    folder = settings.data_dir / "exports" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        rt.export_red_team_prompts(
            session,
            project=access.project,
            actor=user,
            path=folder / name,
            min_severity=min_severity,
            since=since,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(
        folder / name, media_type="application/x-ndjson", filename=name, background=cleanup
    )


@router.put("/projects/{ref}/chat", response_model=ChatModelIn)
def set_chat_model_(
    ref: str, body: ChatModelIn, user: CurrentUser, session: DbSession
) -> ChatModelIn:
    """Name the registered model workers hold conversations with (owners)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    project = set_chat_model(session, project=access.project, actor=user, model=body.model)
    return ChatModelIn(model=project.settings["chat_model"])


def _chat_start(
    session: Session, user: User, ref: str, state: str | None, signer: ConversationSigner
) -> tuple[LiveModel, Conversation]:
    access = project_access(session, user=user, ref=ref, perm=Perm.SUBMIT)
    model = live_model(session, project=access.project, worker=user)
    if state:
        return model, signer.read(
            state, project_id=model.project_id, worker_id=user.id, kind="chat"
        )
    return model, start_conversation(model)


@router.post("/projects/{ref}/chat/turns", response_model=ConversationTurn, responses=MODEL_ERROR)
async def chat_turn(
    ref: str, body: ChatTurnIn, user: CurrentUser, session: DbSession, settings: AppSettings
) -> Response | ConversationTurn:
    """Send the next message with the whole conversation to the project's chat model."""
    signer = conversation_signer(settings)
    model, conversation = await run_in_threadpool(
        _chat_start, session, user, ref, body.state, signer
    )
    outcome = await take_turn(model, conversation, body.message)
    if not outcome.ok:
        return model_error(outcome.reply.error)
    return turn_read(signer, outcome.conversation)


@router.post(
    "/projects/{ref}/chat/conversations",
    response_model=SubmissionRead,
    status_code=201,
    responses={200: {"model": SubmissionRead, "description": "Replayed: same submission_key"}},
)
def store_chat(
    ref: str,
    body: ChatCreate,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> SubmissionRead:
    """End a conversation: store it as an item with a rating of each model turn."""
    access = project_access(session, user=user, ref=ref, perm=Perm.SUBMIT)
    conversation = conversation_signer(settings).read(
        body.state, project_id=access.project.id, worker_id=user.id, kind="chat"
    )
    submission, created = store_conversation(
        session,
        project=access.project,
        worker=user,
        conversation=conversation,
        answers=body.answers,
        submission_key=body.submission_key,
        explanation=body.explanation,
        source="api",
    )
    response.status_code = 201 if created else 200
    return submission_reads(session, [submission], created=created)[0]
