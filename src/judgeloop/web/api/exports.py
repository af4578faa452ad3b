"""Exporting a project's data: ``GET /projects/{ref}/export``."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from judgeloop.services.exports import export_dataset
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.policies import Perm, ProjectAccess, project_access

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
    format: Annotated[
        Format | None,
        Query(description="File format; default jsonl (json for label-studio)."),
    ] = None,
) -> FileResponse:
    """Write a project's items or submissions to a file and send it (owners and admins).

    ``label-studio`` exports as ``json``; items and submissions as ``jsonl`` or ``parquet``.
    """
    access = project_access(session, user=user, ref=ref, perm=Perm.EXPORT)
    fmt = format or ("json" if what == "label-studio" else "jsonl")
    return _export_file(session, access, what, fmt, settings.data_dir / "exports")


def _export_file(
    session: Session, access: ProjectAccess, what: str, fmt: str, exports_dir: Path
) -> FileResponse:
    # A folder per export: Label Studio exports write a label config beside the file.
    # The whole folder is removed once the file has been sent.
    name = f"{access.project.slug}-{what}.{fmt}"
    folder = exports_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        export_dataset(
            session,
            project=access.project,
            actor=access.user,
            what=what,
            format=fmt,
            path=folder / name,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(
        folder / name, media_type=MEDIA_TYPES[fmt], filename=name, background=cleanup
    )
