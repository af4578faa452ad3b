"""The import page: ``GET/POST /projects/{slug}/import`` (owners and admins of the project).

The owner uploads a data file (multipart), picks its format, says which columns hold
what, and may choose to skip invalid rows. The page then shows the import's report
(rows read, added, duplicates, rejected) or, when nothing was imported, the error list
with line numbers and reasons (the first 50, and how many there were in all).

The upload is streamed to disk by the API's ``receive_upload`` and never held in
memory. So this route does not use the pages' CSRF dependency (which would parse, and
so consume, the body before the handler); it checks the ``csrf_token`` field that
arrives in the multipart body itself, before anything is imported.
"""

from __future__ import annotations

import hmac
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from judgeloop.config import Settings
from judgeloop.errors import InvalidInput, JudgeloopError, RowError
from judgeloop.export.mapping import ColumnMapping
from judgeloop.schemas.submissions import ImportReport
from judgeloop.services.imports import import_items, import_label_studio
from judgeloop.store.models import Project, User
from judgeloop.web.api.imports import UPLOAD_FORMATS, Upload, receive_upload
from judgeloop.web.csrf import CSRF_COOKIE, CSRF_FIELD, make_token
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.errors import status_for
from judgeloop.web.pages.templating import PageRoute, render_page
from judgeloop.web.policies import Perm, project_access
from judgeloop.web.security import SESSION_COOKIE

# No CSRF dependency here: see the module docstring.
router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORMAT_CHOICES = [
    ("", "Guess from the file name"),
    ("jsonl", "JSON Lines (.jsonl)"),
    ("json", "JSON array (.json)"),
    ("csv", "CSV (.csv)"),
    ("parquet", "Parquet (.parquet)"),
    ("label-studio", "Label Studio export (JSON)"),
]
assert {value for value, _ in FORMAT_CHOICES} == {"", *UPLOAD_FORMATS}
_LIST_FIELDS = ("answers", "models", "model_columns", "metadata")
_TRUE = frozenset({"on", "1", "true", "yes"})


@dataclass
class ImportForm:
    """The import form's fields, as typed: column names, comma-separated where several."""

    format: str = ""
    prompt: str = ""
    answers: str = ""
    models: str = ""
    model_columns: str = ""
    id: str = ""
    metadata: str = ""
    skip_invalid: bool = False

    @classmethod
    def from_fields(cls, raw: Mapping[str, str]) -> ImportForm:
        """Read the form from the multipart fields (unknown ones are ignored)."""
        values: dict[str, Any] = {
            f.name: raw.get(f.name, "").strip()[:2000] for f in fields(cls) if f.type == "str"
        }
        values["skip_invalid"] = raw.get("skip_invalid", "").strip().lower() in _TRUE
        return cls(**values)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def column_mapping(form: ImportForm) -> ColumnMapping | None:
    """Build the column mapping from the form; None when every field is left empty.

    Args:
        form: The import form.

    Returns:
        The mapping (fields left empty keep their defaults), or None for the default.

    Raises:
        InvalidInput: The fields do not make a valid mapping; rows name the fields.
    """
    raw: dict[str, Any] = {}
    for name in ("prompt", "id"):
        if getattr(form, name):
            raw[name] = getattr(form, name)
    for name in _LIST_FIELDS:
        if getattr(form, name):
            raw[name] = _split(getattr(form, name))
    if not raw:
        return None
    try:
        return ColumnMapping.model_validate(raw)
    except ValidationError as exc:
        rows = [
            RowError(0, str(err["loc"][0]) if err["loc"] else "columns", err["msg"])
            for err in exc.errors()
        ]
        raise InvalidInput("the column fields do not make a valid mapping", rows) from None


def _check_csrf(request: Request, settings: Settings, submitted: str) -> None:
    """Refuse the upload unless its ``csrf_token`` field is this browser's token."""
    seed = request.cookies.get(CSRF_COOKIE, "")
    expected = make_token(settings, seed, request.cookies.get(SESSION_COOKIE, ""))
    if not (seed and submitted and hmac.compare_digest(expected.encode(), submitted.encode())):
        raise HTTPException(
            status_code=403,
            detail="This form has expired or did not come from judgeloop. Reload the page "
            "and try again.",
        )


def _run_import(
    session: Session,
    project: Project,
    user: User,
    upload: Upload,
    form: ImportForm,
    settings: Settings,
) -> ImportReport:
    if not upload.filename and upload.size == 0:
        raise InvalidInput("choose a file to upload", [RowError(0, "file", "no file chosen")])
    fmt = form.format or None
    if fmt is not None and fmt not in UPLOAD_FORMATS:
        raise InvalidInput("unknown format", [RowError(0, "format", f"not a format: {fmt!r}")])
    rejected = settings.data_dir / "rejected" / f"{project.slug}-{uuid.uuid4().hex}.jsonl"
    rejected.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "project": project,
        "actor": user,
        "path": upload.path,
        "mapping": column_mapping(form),
        "skip_invalid": form.skip_invalid,
        "rejected_path": rejected,
        "max_line_bytes": settings.import_max_line_bytes,
    }
    if fmt == "label-studio":
        return import_label_studio(session, **options)
    return import_items(session, format=fmt, **options)


def _import_page(
    request: Request,
    user: User,
    project: Project,
    form: ImportForm,
    *,
    report: ImportReport | None = None,
    failure: JudgeloopError | None = None,
    filename: str = "",
) -> Response:
    rows = failure.rows if isinstance(failure, InvalidInput) else []
    total = failure.total if isinstance(failure, InvalidInput) else 0
    context = {
        "project": project,
        "form": form,
        "formats": FORMAT_CHOICES,
        "report": report,
        "failure": failure.message if failure else "",
        "error_rows": rows,
        "error_total": max(total, len(rows)),
        "filename": filename,
    }
    status = status_for(failure) if failure else 200
    return render_page(request, "pages/import.html", context, user=user, status_code=status)


@router.get("/projects/{slug}/import")
def import_form(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Show the upload form, with the expected file layout."""
    access = project_access(session, user=user, ref=slug, perm=Perm.IMPORT)
    return _import_page(request, user, access.project, ImportForm())


async def _import_and_report(
    request: Request, session: Session, project: Project, user: User, upload: Upload
) -> Response:
    """Check the upload's CSRF token, import it, and render the report or the errors."""
    settings: Settings = request.app.state.settings
    form = ImportForm.from_fields(upload.fields)
    _check_csrf(request, settings, upload.fields.get(CSRF_FIELD, ""))
    try:
        args = (session, project, user, upload, form, settings)
        report = await run_in_threadpool(_run_import, *args)
    except JudgeloopError as exc:
        await run_in_threadpool(session.rollback)
        return _import_page(request, user, project, form, failure=exc, filename=upload.filename)
    return _import_page(request, user, project, form, report=report, filename=upload.filename)


@router.post("/projects/{slug}/import")
async def import_upload(
    request: Request, slug: str, session: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    """Receive the file, import it, and show the report (or why nothing was imported)."""
    access = await run_in_threadpool(project_access, session, user=user, ref=slug, perm=Perm.IMPORT)
    dest, limit = settings.data_dir / "uploads", settings.upload_max_bytes
    try:
        upload = await receive_upload(request, dest_dir=dest, max_bytes=limit)
    except InvalidInput as exc:
        return _import_page(request, user, access.project, ImportForm(), failure=exc)
    try:
        return await _import_and_report(request, session, access.project, user, upload)
    finally:
        shutil.rmtree(upload.path.parent, ignore_errors=True)
