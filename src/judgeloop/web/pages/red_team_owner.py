"""The owner's red-teaming page: the target model, the categories, attacks and success rates.

``GET /projects/{slug}/red-team`` (owners, admins and reviewers) shows each weakness
category's attacks and success rate, the attacks themselves (the model's answers
sanitized, behind a disclosure), and a download of the successful attacks as JSONL
prompts for the next round. Owners also set the target model, the chat model and the
categories there (``POST``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import InvalidInput, NotFound, RowError
from judgeloop.services import red_team as rt
from judgeloop.services.conversations import project_model_name, set_chat_model
from judgeloop.services.model_versions import callable_model, list_models
from judgeloop.store.models import User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.forms import FormValues
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.pages.work import PostedForm
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()
SHOWN = 200
"""The most attacks the page lists (newest first); the API pages through all of them."""


def weaknesses_text(weaknesses: list[rt.Weakness]) -> str:
    """The categories as the form shows them: one ``key: description`` per line."""
    return "\n".join(f"{w.key}: {w.description}".rstrip(": ") for w in weaknesses)


def parse_weaknesses(text: str) -> list[dict[str, str]]:
    """Read ``key: description`` lines (blank lines skipped) into weakness dicts."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, description = line.partition(":")
        out.append({"key": key.strip(), "description": description.strip()})
    return out


def _authors(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


def _rate(value: float | None) -> dict[str, Any]:
    if value is None:
        return {"text": "–", "step": 0}
    return {"text": f"{value:.0%}", "step": round(value * 10)}


def _context(
    session: Session,
    access: ProjectAccess,
    values: FormValues,
    category: str | None,
    errors: dict[str, str],
) -> dict[str, Any]:
    project = access.project
    summary = rt.attack_summary(session, project=project)
    attacks = rt.list_attacks(session, project=project, category=category, limit=1000)
    attacks = list(reversed(attacks[-SHOWN:]))
    models = [m.version.name for m in list_models(session) if m.endpoint is not None]
    chat = project.settings.get("chat_model") or ""
    return {
        "project": project,
        "can_configure": access.can(Perm.UPDATE_PROJECT),
        "can_export": access.can(Perm.EXPORT),
        "sees_models": access.sees_models,
        "models": models,
        "target": values.get("target_model", rt.target_model_name(project) or ""),
        "chat_model": values.get("chat_model", chat),
        "chat_fallback": project_model_name(project, "chat_model", "target_model"),
        "weaknesses_text": values.get("weaknesses", weaknesses_text(rt.weaknesses_of(project))),
        "summary": [(s, _rate(s.success_rate)) for s in summary],
        "total": sum(s.attacks for s in summary),
        "successes": sum(s.succeeded for s in summary),
        "attacks": attacks,
        "authors": _authors(session, {a.author_id for a in attacks}),
        "category": category or "",
        "errors": errors,
        "notice": "Saved." if values.get("saved") else "",
    }


def render_owner_page(
    request: Request,
    session: Session,
    access: ProjectAccess,
    *,
    values: FormValues | None = None,
    category: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the owner's red-teaming page."""
    context = _context(session, access, values or FormValues(), category, errors or {})
    return render_page(
        request, "pages/red_team_owner.html", context, user=access.user, status_code=status_code
    )


@router.get("/projects/{slug}/red-team")
def red_team_overview(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """Show the attacks by category with their success rates (and, to owners, the settings)."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_PROGRESS)
    category = request.query_params.get("category") or None
    values = FormValues([("saved", "1")] if request.query_params.get("saved") else [])
    return render_owner_page(request, session, access, values=values, category=category)


def _save(session: Session, access: ProjectAccess, values: FormValues) -> dict[str, str]:
    """Apply the settings form; return a message per wrong field (nothing is saved then)."""
    target = values.get("target_model").strip()
    chat = values.get("chat_model").strip()
    if not target:
        return {"target_model": "Choose the model the attacks are aimed at."}
    try:
        if chat:
            callable_model(session, chat)  # check it before anything is saved
        rt.configure_red_team(
            session,
            project=access.project,
            actor=access.user,
            target_model=target,
            weaknesses=parse_weaknesses(values.get("weaknesses")),
        )
        if chat:
            set_chat_model(session, project=access.project, actor=access.user, model=chat)
    except (InvalidInput, NotFound) as exc:
        session.rollback()
        rows: list[RowError] = list(getattr(exc, "rows", ()))
        if not rows:
            return {"target_model" if "model" in exc.message else "weaknesses": exc.message}
        return {"weaknesses": "; ".join(f"{r.field}: {r.reason}" for r in rows)}
    return {}


@router.post("/projects/{slug}/red-team")
def save_red_team(
    request: Request, slug: str, session: DbSession, user: CurrentUser, form: PostedForm
) -> Response:
    """Save the target model, the chat model and the weakness categories (owners)."""
    access = project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)
    values = FormValues(form.multi_items())
    errors = _save(session, access, values)
    if errors:
        return render_owner_page(
            request, session, access, values=values, errors=errors, status_code=422
        )
    return RedirectResponse(f"/projects/{access.project.slug}/red-team?saved=1", status_code=303)
