"""A worker's account: self sign-up (``/signup``) and the profile (``/account/profile``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, RowError
from judgeloop.questions.base import pydantic_errors
from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.workforce import DOMAINS, ProfileUpdate
from judgeloop.services.accounts import create_user
from judgeloop.services.assessments import is_active, list_qualifications
from judgeloop.services.workforce import get_profile, update_profile
from judgeloop.store.models import User, WorkerProfile
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.pages.auth import signed_in_user
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.security import set_session_cookie

router = page_router()

PROFILE_URL = "/account/profile"
LANE_LABELS = {
    "generalist": "Generalist: everyday questions, writing, common sense",
    "domain_expert": "Domain expert: professional knowledge in a field",
    "coding": "Coding: reading, running and judging code",
}
LEVEL_LABELS = {"basic": "Basic", "fluent": "Fluent", "native": "Native"}
EXTRA_LANGUAGE_ROWS = 2
MAX_LANGUAGE_ROWS = 30


async def read_form(request: Request) -> FormData:
    """The posted form (already read, and cached, by the CSRF check)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(read_form)]


def _text(form: FormData, name: str, limit: int = 20000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _signup_context(
    form: FormData | None = None, errors: Sequence[RowError] = ()
) -> dict[str, Any]:
    by_field = {row.field.split(".")[0]: row.reason for row in errors}
    return {
        "name": _text(form, "name", 200) if form else "",
        "email": _text(form, "email", 320) if form else "",
        "errors": by_field,
    }


@router.get("/signup")
def signup_form(request: Request, session: DbSession, settings: AppSettings) -> Response:
    """Show the sign-up form for new workers (signed-in visitors go to their profile)."""
    if signed_in_user(request, session, settings) is not None:
        return RedirectResponse(PROFILE_URL, status_code=303)
    return render_page(request, "pages/signup.html", _signup_context())


def _create_worker(session: DbSession, form: FormData) -> User | list[RowError]:
    """Create a worker account from the form, or say what is wrong with it."""
    if _text(form, "password", 1024) != _text(form, "password_again", 1024):
        return [RowError(0, "password_again", "The two passwords differ.")]
    fields = {k: _text(form, k, 1024) for k in ("name", "email", "password")}
    try:
        data = UserCreate(**fields, role="worker")
    except ValidationError as exc:
        return [RowError(0, r.field, _friendly(r.field, r.reason)) for r in pydantic_errors(exc)]
    try:
        return create_user(session, data=data)
    except Conflict:
        return [RowError(0, "email", "An account with this email exists; sign in instead.")]


def _friendly(field: str, reason: str) -> str:
    if field == "email":
        return "Enter an email address like name@example.org."
    if field == "password":
        return "Choose a password of at least 8 characters."
    return reason


@router.post("/signup")
def signup(
    request: Request, session: DbSession, settings: AppSettings, form: PostedForm
) -> Response:
    """Create a worker account, sign it in, and open the profile to fill in."""
    result = _create_worker(session, form)
    if isinstance(result, list):
        context = _signup_context(form, result)
        return render_page(request, "pages/signup.html", context, status_code=422)
    response = RedirectResponse(PROFILE_URL + "?welcome=1", status_code=303)
    set_session_cookie(response, settings, result.id)
    return response


def _language_rows(languages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    rows = [{"code": str(x.get("code", "")), "level": str(x.get("level", ""))} for x in languages]
    return (rows + [{"code": "", "level": "fluent"}] * EXTRA_LANGUAGE_ROWS)[:MAX_LANGUAGE_ROWS]


def _profile_context(
    session: DbSession, user: User, profile: WorkerProfile | dict[str, Any]
) -> dict[str, Any]:
    values = profile if isinstance(profile, dict) else _profile_values(profile)
    stored = get_profile(session, user=user)
    quals = list_qualifications(session, worker_id=user.id)
    return {
        "values": values,
        "languages": _language_rows(values["languages"]),
        "lanes": LANE_LABELS,
        "domains": DOMAINS,
        "other_domains": ", ".join(d for d in values["domains"] if d not in DOMAINS),
        "levels": LEVEL_LABELS,
        "profile": stored,
        "qualifications": [(q, is_active(q)) for q in quals],
        "errors": {},
    }


def _profile_values(profile: WorkerProfile) -> dict[str, Any]:
    return {
        "skill_lanes": list(profile.skill_lanes),
        "domains": list(profile.domains),
        "languages": list(profile.languages),
        "programming_languages": ", ".join(profile.programming_languages),
        "experience": profile.experience,
        "availability_hours_per_week": str(profile.availability_hours_per_week),
        "credentials": profile.credentials,
    }


@router.get(PROFILE_URL)
def profile_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Show the worker's profile form, their verification and their qualifications."""
    context = _profile_context(session, user, get_profile(session, user=user))
    context["notice"] = _notice(request)
    return render_page(request, "pages/profile.html", context, user=user)


def _notice(request: Request) -> str:
    if request.query_params.get("welcome"):
        return "Welcome! Tell us about yourself, so we can match you with projects."
    if request.query_params.get("saved"):
        return "Your profile is saved."
    return ""


def _posted_profile(form: FormData) -> dict[str, Any]:
    """The profile as typed, in the shape the page shows (and ProfileUpdate reads)."""
    other = [d.strip() for d in _text(form, "domains_other", 2000).split(",") if d.strip()]
    languages = []
    for n in range(MAX_LANGUAGE_ROWS):
        code = _text(form, f"lang_code_{n}", 20).strip()
        if code:
            languages.append({"code": code, "level": _text(form, f"lang_level_{n}", 20)})
    return {
        "skill_lanes": [v for v in form.getlist("skill_lanes") if isinstance(v, str)],
        "domains": [v for v in form.getlist("domains") if isinstance(v, str)] + other,
        "languages": languages,
        "programming_languages": _text(form, "programming_languages", 2000),
        "experience": _text(form, "experience"),
        "availability_hours_per_week": _text(form, "availability_hours_per_week", 10).strip(),
        "credentials": _text(form, "credentials"),
    }


def _profile_update(values: dict[str, Any]) -> ProfileUpdate | list[RowError]:
    data = {
        **values,
        "programming_languages": values["programming_languages"].split(","),
        "availability_hours_per_week": values["availability_hours_per_week"] or "0",
    }
    try:
        return ProfileUpdate.model_validate(data)
    except ValidationError as exc:
        return pydantic_errors(exc)


@router.post(PROFILE_URL)
def save_profile(
    request: Request, session: DbSession, user: CurrentUser, form: PostedForm
) -> Response:
    """Save the profile, or show the form again with what is wrong and what was typed."""
    values = _posted_profile(form)
    data = _profile_update(values)
    if isinstance(data, list):
        context = _profile_context(session, user, values)
        context.update(errors={r.field.split(".")[0]: r.reason for r in data}, notice="")
        return render_page(request, "pages/profile.html", context, user=user, status_code=422)
    update_profile(session, user=user, data=data)
    return RedirectResponse(PROFILE_URL + "?saved=1", status_code=303)
