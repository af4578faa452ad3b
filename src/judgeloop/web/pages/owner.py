"""Owner pages: create a project from a template, and keep its guidelines (versions, diffs).

- ``GET/POST /projects/new``: pick one of the task templates, name the project, choose
  its redundancy and whether model names are hidden. Only users whose role is owner or
  admin may create projects; errors are shown next to their fields.
- ``GET /projects/{slug}/guidelines``: every version, newest first.
- ``GET/POST /projects/{slug}/guidelines/edit``: a new version from the current text.
- ``GET /projects/{slug}/guidelines/diff?a=1&b=2``: a line diff of two versions, made on
  the server with difflib and autoescaped like any untrusted text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.presets import list_presets
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services.projects import add_guideline_version, create_project, list_guidelines
from judgeloop.store.models import GuidelineVersion, Project, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import Perm, project_access, require_project_creator

router = page_router()

RESERVED_SLUGS = frozenset({"new"})
"""Slugs a project may not take: they are pages under ``/projects/``."""
MAX_GUIDELINES = 200_000
DIFF_CONTEXT = 3

_FIELD_MESSAGES = {
    "preset": "Choose a template.",
    "slug": "Start with a lowercase letter; then use lowercase letters, digits and '-' "
    "(at most 100 characters).",
    "name": "Give the project a name of at most 200 characters.",
    "description": "The description may have at most 20,000 characters.",
    "redundancy": "Enter a whole number from 1 to 100.",
}


class NewProjectForm(BaseModel):
    """The fields of the new-project form, as typed (checked by `project_data`)."""

    preset: str = ""
    slug: str = ""
    name: str = ""
    description: str = ""
    redundancy: str = "1"
    hide_model_identity: str = ""


class GuidelinesForm(BaseModel):
    """The fields of the guidelines editor."""

    body: str = ""
    base_version: str = ""


def project_data(form: NewProjectForm) -> ProjectCreate | dict[str, str]:
    """Turn the form into a ProjectCreate, or return a message for each wrong field.

    Args:
        form: What the owner typed.

    Returns:
        The validated project, or field name -> message.
    """
    errors: dict[str, str] = {}
    if form.preset not in {p.name for p in list_presets()}:
        errors["preset"] = _FIELD_MESSAGES["preset"]
    slug = form.slug.strip()
    if slug in RESERVED_SLUGS:
        errors["slug"] = f"'{slug}' is reserved; choose another slug."
    redundancy = form.redundancy.strip()
    if not redundancy.isdigit():
        errors["redundancy"] = _FIELD_MESSAGES["redundancy"]
    raw = {
        "preset": form.preset,
        "slug": slug,
        "name": form.name.strip(),
        "description": form.description.strip(),
        "redundancy": int(redundancy) if redundancy.isdigit() else 1,
        "hide_model_identity": bool(form.hide_model_identity),
    }
    try:
        data = ProjectCreate.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(name, _FIELD_MESSAGES.get(name, err["msg"]))
        return errors
    return errors or data


def _create(session: Session, owner: User, form: NewProjectForm) -> Project | dict[str, str]:
    data = project_data(form)
    if isinstance(data, dict):
        return data
    try:
        return create_project(session, owner=owner, data=data)
    except Conflict:
        session.rollback()
        return {"slug": "A project with this slug already exists; choose another."}
    except InvalidInput as exc:
        session.rollback()
        return {"form": exc.message + "".join(f"; {r.field}: {r.reason}" for r in exc.rows)}


def _new_project_page(
    request: Request, user: User, form: NewProjectForm, errors: dict[str, str]
) -> Response:
    context = {"presets": list_presets(), "form": form, "errors": errors}
    status = 422 if errors else 200
    return render_page(request, "pages/project_new.html", context, user=user, status_code=status)


@router.get("/projects/new")
def new_project_form(request: Request, user: CurrentUser) -> Response:
    """Show the new-project form: every template with its description."""
    require_project_creator(user)
    return _new_project_page(request, user, NewProjectForm(hide_model_identity="on"), {})


@router.post("/projects/new")
def create_project_(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[NewProjectForm, Form()],
) -> Response:
    """Create the project and go to its page, or show the form again with the errors."""
    require_project_creator(user)
    result = _create(session, user, form)
    if isinstance(result, dict):
        return _new_project_page(request, user, form, result)
    return RedirectResponse(f"/projects/{result.slug}", status_code=303)


def _authors(session: Session, versions: list[GuidelineVersion]) -> dict[int, str]:
    ids = {v.author_id for v in versions if v.author_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


@router.get("/projects/{slug}/guidelines")
def guidelines_history(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """List every version of the guidelines, newest first, with links to their changes."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_GUIDELINES)
    versions = list_guidelines(session, project=access.project)
    context = {
        "project": access.project,
        "versions": versions,
        "authors": _authors(session, versions),
        "can_edit": access.can(Perm.EDIT_GUIDELINES),
    }
    return render_page(request, "pages/guidelines_history.html", context, user=user)


def _current(session: Session, project: Project) -> GuidelineVersion | None:
    return session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project.id,
            GuidelineVersion.version == project.guideline_version,
        )
    )


def _editor(
    request: Request,
    user: User,
    project: Project,
    form: GuidelinesForm,
    error: str = "",
    status: int = 200,
) -> Response:
    context = {"project": project, "form": form, "error": error}
    return render_page(
        request, "pages/guidelines_edit.html", context, user=user, status_code=status
    )


@router.get("/projects/{slug}/guidelines/edit")
def edit_guidelines_form(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """Show the current guidelines' Markdown in an editor."""
    access = project_access(session, user=user, ref=slug, perm=Perm.EDIT_GUIDELINES)
    current = _current(session, access.project)
    body = current.body if current else ""
    form = GuidelinesForm(body=body, base_version=str(access.project.guideline_version))
    return _editor(request, user, access.project, form)


def _guidelines_problem(form: GuidelinesForm, project: Project, current: str) -> tuple[str, int]:
    """Return why the edited guidelines cannot be saved (and the status), or ('', 200)."""
    if form.base_version != str(project.guideline_version):
        return (
            f"Someone saved version {project.guideline_version} while you were editing. "
            "Copy your text, reload the editor, and apply your changes again.",
            409,
        )
    if not form.body.strip():
        return "The guidelines may not be empty.", 422
    if len(form.body) > MAX_GUIDELINES:
        return f"The guidelines may have at most {MAX_GUIDELINES:,} characters.", 422
    if form.body == current:
        return "Nothing changed: edit the text before saving a new version.", 422
    return "", 200


@router.post("/projects/{slug}/guidelines/edit")
def add_guideline_version_(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[GuidelinesForm, Form()],
) -> Response:
    """Save the text as a new version and show what changed, or the editor with the error."""
    access = project_access(session, user=user, ref=slug, perm=Perm.EDIT_GUIDELINES)
    form.body = form.body.replace("\r\n", "\n")
    current = _current(session, access.project)
    error, status = _guidelines_problem(form, access.project, current.body if current else "")
    if error:
        return _editor(request, user, access.project, form, error, status)
    new = add_guideline_version(session, project=access.project, author=user, body=form.body)
    return RedirectResponse(f"/projects/{slug}/guidelines/diff?a={new - 1}&b={new}", 303)


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: kept (``same``), removed (``del``) or added (``add``)."""

    op: str
    old: int | None
    new: int | None
    text: str


def line_diff(a: str, b: str, context: int = DIFF_CONTEXT) -> list[list[DiffLine]]:
    """Diff two texts line by line, in hunks with `context` unchanged lines around changes.

    Args:
        a: The old text.
        b: The new text.
        context: Unchanged lines kept before and after each change.

    Returns:
        The hunks (none when the texts are equal), each a list of lines with numbers.
    """
    old, new = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pairs = zip(range(i1, i2), range(j1, j2), strict=True)
                lines += [DiffLine("same", i + 1, j + 1, old[i]) for i, j in pairs]
                continue
            lines += [DiffLine("del", i + 1, None, old[i]) for i in range(i1, i2)]
            lines += [DiffLine("add", None, j + 1, new[j]) for j in range(j1, j2)]
        hunks.append(lines)
    return hunks


def _version(versions: list[GuidelineVersion], number: int) -> GuidelineVersion:
    found = next((v for v in versions if v.version == number), None)
    if found is None:
        raise NotFound(f"no guidelines version {number}")
    return found


def _diff_context(project: Project, versions: list[GuidelineVersion], a: int, b: int) -> Any:
    old, new = _version(versions, a), _version(versions, b)
    hunks = line_diff(old.body, new.body)
    return {
        "project": project,
        "old": old,
        "new": new,
        "hunks": hunks,
        "added": sum(1 for h in hunks for line in h if line.op == "add"),
        "removed": sum(1 for h in hunks for line in h if line.op == "del"),
        "numbers": [v.version for v in versions],
    }


@router.get("/projects/{slug}/guidelines/diff")
def guidelines_diff(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    a: int | None = None,
    b: int | None = None,
) -> Response:
    """Show what changed between guideline versions `a` and `b` (default: the last change)."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_GUIDELINES)
    versions = list_guidelines(session, project=access.project)
    b = access.project.guideline_version if b is None else b
    a = max(b - 1, 1) if a is None else a
    context = _diff_context(access.project, versions, a, b)
    return render_page(request, "pages/guideline_diff.html", context, user=user)
