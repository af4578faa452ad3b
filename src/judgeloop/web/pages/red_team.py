"""The red-teaming workbench: attack the target model live, read its answer, record a verdict.

``GET /work/{slug}/attack`` shows the attack form (a weakness category and a prompt).
Posting it calls the target model from the server (``async``: the model is awaited with
no transaction open) and shows the sanitized answer with the verdict questions
(succeeded? how severe?) and a follow-up box for multi-turn attacks; a failed call shows
the error and keeps what was typed, storing nothing. ``POST /work/{slug}/attack/submit``
stores the attack (``services.red_team.record_attack``) and comes back to a fresh form.
The conversation travels in a signed hidden field; the owner's page is in
``red_team_owner``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, RowError
from judgeloop.questions.base import QuestionSpec
from judgeloop.services import red_team as rt
from judgeloop.services.conversations import Conversation, ConversationSigner
from judgeloop.store.models import User
from judgeloop.web.api.red_team import conversation_signer
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.forms import FormValues, parse_submission
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work import PostedForm
from judgeloop.web.pages.work_views import ItemView, build_question_views, problem_summary
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()
RECENT = 10
"""How many of the worker's own attacks the page lists."""


@dataclass(frozen=True)
class TurnLine:
    """One turn of the conversation as the page shows it (the text is untrusted)."""

    role: str
    label: str
    content: str


def turn_lines(conversation: Conversation | None) -> list[TurnLine]:
    """The conversation's turns, labelled ``Your attack`` / ``Model``."""
    if conversation is None:
        return []
    return [
        TurnLine(m["role"], "Your attack" if m["role"] == "user" else "Model", m["content"])
        for m in conversation.messages
    ]


@dataclass
class AttackPage:
    """What one rendering of the attack page shows."""

    access: ProjectAccess
    values: FormValues
    conversation: Conversation | None = None
    state: str = ""
    error: str = ""
    rows: Sequence[RowError] = ()
    notice: str = ""


def verdict_questions(access: ProjectAccess) -> list[QuestionSpec]:
    """The questions asked after the answer: succeeded, severity, explanation."""
    specs = [QuestionSpec.model_validate(q) for q in access.project.questions]
    return [s for s in specs if s.key in rt.VERDICT_QUESTIONS]


def _context(session: Session, page: AttackPage) -> dict[str, Any]:
    access = page.access
    item = ItemView(prompt="", turns=[], candidates=[])
    questions = build_question_views(verdict_questions(access), item, page.rows)
    mine = rt.list_attacks(session, project=access.project, author_id=access.user.id, limit=1000)
    return {
        "project": access.project,
        "target": rt.target_model_name(access.project) if access.sees_models else None,
        "weaknesses": rt.weaknesses_of(access.project),
        "values": page.values,
        "turns": turn_lines(page.conversation),
        "category": str(page.conversation.extra.get("category", "")) if page.conversation else "",
        "state": page.state,
        "error": page.error,
        "field_errors": {r.field: r.reason for r in page.rows if not r.field.startswith("answers")},
        "questions": questions,
        "problems": problem_summary(questions, page.rows),
        "item": item,
        "submission_key": page.values.get("submission_key") or uuid.uuid4().hex,
        "mine": list(reversed(mine[-RECENT:])),
        "notice": page.notice,
        "content_warning": bool(access.project.settings.get("content_warning")),
    }


def render_attack(
    request: Request, session: Session, page: AttackPage, *, status_code: int = 200
) -> Response:
    """Render the attack page (the form, or the answer with the verdict questions)."""
    context = _context(session, page)
    user = page.access.user
    return render_page(request, "pages/red_team.html", context, user=user, status_code=status_code)


def _access(session: Session, user: User, slug: str) -> ProjectAccess:
    return project_access(session, user=user, ref=slug, perm=Perm.SUBMIT)


@router.get("/work/{slug}/attack")
def attack_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Show the attack form, and the worker's latest attacks."""
    access = _access(session, user, slug)
    saved = request.query_params.get("saved")
    notice = "Your attack is saved. Try another one." if saved else ""
    return render_attack(request, session, AttackPage(access, FormValues(), notice=notice))


def _read_state(
    signer: ConversationSigner, access: ProjectAccess, values: FormValues
) -> Conversation | None:
    state = values.get("state")
    if not state:
        return None
    return signer.read(state, project_id=access.project.id, worker_id=access.user.id, kind="attack")


def _prepare(
    session: Session, user: User, slug: str, values: FormValues, signer: ConversationSigner
) -> tuple[ProjectAccess, rt.AttackTarget, Conversation | None]:
    access = _access(session, user, slug)
    conversation = _read_state(signer, access, values)
    return access, rt.attack_target(session, project=access.project, worker=user), conversation


@router.post("/work/{slug}/attack")
async def send_attack(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: PostedForm,
    settings: AppSettings,
) -> Response:
    """Send the attack (or a follow-up) to the target model and show its answer."""
    values = FormValues(form.multi_items())
    signer = conversation_signer(settings)
    access, target, before = await run_in_threadpool(_prepare, session, user, slug, values, signer)
    page = AttackPage(access, values, before, state=values.get("state"))
    try:
        outcome = await rt.run_attack(
            target,
            prompt=values.get("prompt"),
            category=values.get("category"),
            conversation=before,
        )
    except InvalidInput as exc:
        page.rows = exc.rows or [RowError(0, "prompt", exc.message)]
        return await run_in_threadpool(render_attack, request, session, page, status_code=422)
    if not outcome.ok:
        page.error = outcome.reply.error or "no answer"
        return await run_in_threadpool(render_attack, request, session, page, status_code=502)
    page.conversation = outcome.conversation
    page.state = signer.sign(outcome.conversation)
    page.values = FormValues([("submission_key", uuid.uuid4().hex)])
    return await run_in_threadpool(render_attack, request, session, page)


def read_verdict(
    access: ProjectAccess, values: FormValues
) -> tuple[bool | None, int | None, str, str, list[RowError]]:
    """Read the verdict form: (succeeded, severity, explanation, submission key, problems)."""
    parsed = parse_submission(
        values, questions=verdict_questions(access), candidate_keys=(), item_id=0
    )
    rows = list(parsed.errors)
    found = {a.question: a.value for a in parsed.data.answers}
    succeeded = None if rt.SUCCESS_QUESTION not in found else found[rt.SUCCESS_QUESTION] == "yes"
    severity = found.get(rt.SEVERITY_QUESTION)
    for key, value in ((rt.SUCCESS_QUESTION, succeeded), (rt.SEVERITY_QUESTION, severity)):
        label = f"answers.{key}"
        if value is None and not any(r.field.startswith(label) for r in rows):
            rows.append(RowError(0, label, "this question is required"))
    explanation = str(found.get(rt.EXPLANATION_QUESTION) or values.get("explanation"))
    sev = severity if isinstance(severity, int) else None
    return succeeded, sev, explanation, parsed.data.submission_key, rows


def _submit(
    request: Request,
    session: Session,
    user: User,
    slug: str,
    values: FormValues,
    signer: ConversationSigner,
) -> Response:
    access = _access(session, user, slug)
    conversation = _read_state(signer, access, values)
    if conversation is None:
        raise InvalidInput("this form lost its conversation; send the attack again")
    page = AttackPage(access, values, conversation, state=values.get("state"))
    succeeded, severity, explanation, key, rows = read_verdict(access, values)
    if not rows and succeeded is not None and severity is not None:
        try:
            rt.record_attack(
                session,
                project=access.project,
                worker=user,
                conversation=conversation,
                succeeded=succeeded,
                severity=severity,
                submission_key=key,
                explanation=explanation,
            )
        except InvalidInput as exc:
            rows = list(exc.rows) or [RowError(0, "", exc.message)]
        except Conflict as exc:
            rows = [RowError(0, "", exc.message)]
    if rows:
        page.rows = rows
        return render_attack(request, session, page, status_code=422)
    return RedirectResponse(f"/work/{access.project.slug}/attack?saved=1", status_code=303)


@router.post("/work/{slug}/attack/submit")
def submit_attack(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: PostedForm,
    settings: AppSettings,
) -> Response:
    """Store the attack, the answer and the verdict; then start a fresh attack."""
    values = FormValues(form.multi_items())
    return _submit(request, session, user, slug, values, conversation_signer(settings))
