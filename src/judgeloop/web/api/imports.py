"""Importing data files: ``POST /projects/{ref}/imports`` (multipart upload).

The upload is streamed straight into a file under ``<data_dir>/uploads``, never held in
memory nor spooled elsewhere, and refused with 413 as soon as it grows past
``Settings.upload_max_bytes``. Only then does ``services.imports.import_items`` read it.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.errors import InvalidInput, RowError
from judgeloop.export.mapping import ColumnMapping
from judgeloop.schemas.submissions import ImportReport
from judgeloop.services.imports import import_items, import_label_studio
from judgeloop.store.models import User
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.errors import TooLarge
from judgeloop.web.policies import Perm, ProjectAccess, project_access

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

router = APIRouter(tags=["imports"])

UPLOAD_FORMATS = ("jsonl", "json", "csv", "parquet", "label-studio")
MAX_FIELD_BYTES = 1024**2
MAX_FIELDS = 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "format": {
                            "type": "string",
                            "description": "jsonl, json, csv, parquet or label-studio; "
                            "guessed from the file name when left out",
                        },
                        "mapping": {
                            "type": "string",
                            "description": "JSON object: which columns hold what "
                            "(prompt, answers, models, gold, ...)",
                        },
                        "skip_invalid": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


@router.post("/projects/{ref}/imports", response_model=ImportReport, openapi_extra=UPLOAD_BODY)
async def import_items_(
    ref: str, request: Request, user: CurrentUser, session: DbSession, settings: AppSettings
) -> ImportReport:
    """Import items (and judgments) from an uploaded JSONL, CSV, Parquet or JSON file."""
    access = await run_in_threadpool(project_access, session, user=user, ref=ref, perm=Perm.IMPORT)
    upload = await receive_upload(
        request, dest_dir=settings.data_dir / "uploads", max_bytes=settings.upload_max_bytes
    )
    try:
        return await run_in_threadpool(_run_import, session, access, user, upload, settings)
    finally:
        shutil.rmtree(upload.path.parent, ignore_errors=True)


def _run_import(
    session: Session, access: ProjectAccess, user: User, upload: Upload, settings: Settings
) -> ImportReport:
    fmt = upload.fields.get("format", "").strip() or None
    if fmt is not None and fmt not in UPLOAD_FORMATS:
        raise _bad("format", f"expected one of {', '.join(UPLOAD_FORMATS)}, got {fmt!r}")
    rejected = settings.data_dir / "rejected" / f"{access.project.slug}-{uuid.uuid4().hex}.jsonl"
    rejected.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "project": access.project,
        "actor": user,
        "path": upload.path,
        "mapping": _mapping(upload.fields.get("mapping", "")),
        "skip_invalid": _flag(upload.fields.get("skip_invalid", ""), "skip_invalid"),
        "rejected_path": rejected,
        "max_line_bytes": settings.import_max_line_bytes,
    }
    if fmt == "label-studio":
        return import_label_studio(session, **options)
    return import_items(session, format=fmt, **options)


def _mapping(raw: str) -> ColumnMapping | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad("mapping", f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise _bad("mapping", "must be a JSON object")
    try:
        return ColumnMapping.model_validate(value)
    except ValidationError as exc:
        rows = [
            RowError(0, ".".join(["mapping", *(str(p) for p in err["loc"])]), err["msg"])
            for err in exc.errors()
        ]
        raise InvalidInput("invalid mapping", rows) from None


def _flag(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise _bad(name, f"expected true or false, got {raw!r}")


def _bad(name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"invalid {name}", [RowError(0, name, reason)])


@dataclass
class Upload:
    """A received multipart upload: the file on disk and the small form fields."""

    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


class _Sink:
    """python-multipart callbacks: the `file` part goes to `pending`, fields to `fields`."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self.pending: list[bytes] = []
        self._header_name = b""
        self._header_text = b""
        self._disposition = b""
        self._name = ""
        self._in_file = False
        self._buf = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition, self._in_file, self._buf = b"", False, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_text += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_text
        self._header_name, self._header_text = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self._name != "file" or self.filename is not None:
                raise _bad("file", "send exactly one file, in the form field 'file'")
            self.filename = options[b"filename"].decode("utf-8", "replace")
            self._in_file = True
        elif len(self.fields) >= MAX_FIELDS:
            raise _bad(self._name, "too many form fields")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._in_file:
            self.file_bytes += len(chunk)
            if self.file_bytes > self.max_file_bytes:
                raise TooLarge(f"the file is larger than the limit of {self.max_file_bytes} bytes")
            self.pending.append(chunk)
        elif len(self._buf) + len(chunk) > MAX_FIELD_BYTES:
            raise TooLarge(f"the form field {self._name!r} is larger than {MAX_FIELD_BYTES} bytes")
        else:
            self._buf.extend(chunk)

    def _part_end(self) -> None:
        if not self._in_file:
            self.fields[self._name] = self._buf.decode("utf-8", "replace")


async def receive_upload(request: Request, *, dest_dir: Path, max_bytes: int) -> Upload:
    """Stream a multipart body's `file` part into a new folder under `dest_dir`.

    Args:
        request: The request, whose body has not been read.
        dest_dir: Folder for the received file (created when missing).
        max_bytes: Largest file accepted.

    Returns:
        The file's path (alone in its folder: remove the folder when done), its
        client-side name and size, and the other form fields.

    Raises:
        TooLarge: The file (or a form field) is too large.
        InvalidInput: The body is not multipart/form-data with a `file` part.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise _bad("file", "send the file as multipart/form-data in the field 'file'")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MAX_FIELDS * MAX_FIELD_BYTES:
        raise TooLarge(f"the upload is larger than the limit of {max_bytes} bytes")
    sink = _Sink(max_bytes)
    parser = MultipartParser(params[b"boundary"], sink.callbacks())
    folder = dest_dir / uuid.uuid4().hex
    await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True))
    try:
        await _stream_into(request, parser, sink, folder / "upload.part")
        if sink.filename is None:
            raise _bad("file", "no file was sent (use the form field 'file')")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    path = (folder / "upload.part").rename(folder / safe_filename(sink.filename))
    return Upload(path=path, filename=sink.filename, size=sink.file_bytes, fields=sink.fields)


async def _stream_into(request: Request, parser: MultipartParser, sink: _Sink, path: Path) -> None:
    handle: IO[bytes] = await anyio.to_thread.run_sync(path.open, "wb")
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if sink.pending:
                data = b"".join(sink.pending)
                sink.pending.clear()
                await anyio.to_thread.run_sync(handle.write, data)
        parser.finalize()
    except FormParserError:
        raise _bad("file", "the multipart body is malformed") from None
    finally:
        handle.close()


def safe_filename(filename: str) -> str:
    """Return the upload's base name with only ``A-Za-z0-9._-`` (its extensions kept).

    The importer tells the format from the extensions (``.jsonl``, ``.csv.gz``) and names
    the file in its messages, so the client's name is kept as far as it is harmless.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", base).lstrip(".")[-120:]
    return name if name and name != "upload.part" else "upload"
