"""Exporting a project's data: ``GET /projects/{ref}/export``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access

router = APIRouter(tags=["exports"])

What = Literal["items", "submissions", "label-studio"]
Format = Literal["jsonl", "parquet", "json"]
MEDIA_TYPES: dict[str, str] = {
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


@router.get(
    "/projects/{ref}/export",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def export_dataset_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    what: Annotated[What, Query(description="What to export.")] = "items",
    format: Annotated[Format, Query(description="File format.")] = "jsonl",
) -> FileResponse:
    """Write a project's items or submissions to a file and send it (owners and admins)."""
    from judgeloop.services.exports import export_dataset

    access = project_access(session, user=user, ref=ref, perm=Perm.EXPORT)
    name = f"{access.project.slug}-{what}.{format}"
    path = settings.data_dir / "exports" / f"{uuid.uuid4().hex}-{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        export_dataset(
            session, project=access.project, actor=user, what=what, format=format, path=path
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    cleanup = BackgroundTask(path.unlink, missing_ok=True)
    return FileResponse(path, media_type=MEDIA_TYPES[format], filename=name, background=cleanup)
