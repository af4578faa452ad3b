"""The SDK's HTTP layer: base URL, auth header, retries, and errors mapped back to errors.py.

The server answers errors as ``{"error": {"code", "message", "rows", "total"}}``; this
module turns them back into the ``judgeloop.errors`` class with that code, so code using
the SDK catches the same exceptions as code calling the services directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from judgeloop.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JudgeloopError,
    LeaseExpired,
    NotFound,
    RowError,
    Unauthorized,
)
from judgeloop.schemas.projects import ProjectRead

M = TypeVar("M", bound=BaseModel)
API_PREFIX = "/api/v1"
ProjectRef = int | str | ProjectRead


class HTTPError(JudgeloopError):
    """An HTTP error that carries no judgeloop error code (a proxy's 502, a crash)."""

    code = "http_error"

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


ERROR_CODES: dict[str, type[JudgeloopError]] = {
    cls.code: cls for cls in (NotFound, Conflict, Forbidden, Unauthorized, LeaseExpired)
}
ERROR_STATUSES: dict[int, type[JudgeloopError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_from_response(response: httpx.Response) -> JudgeloopError:
    """Rebuild the judgeloop error that an error response describes.

    Args:
        response: A response with a 4xx or 5xx status (its body already read).

    Returns:
        An instance of the errors.py class named by the body's ``code`` (InvalidInput,
        with its rows, for ``invalid_input`` and 413/422), or HTTPError.
    """
    try:
        body = response.json().get("error", {})
    except (ValueError, AttributeError):
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code", ""))
    message = str(body.get("message") or f"HTTP {response.status_code}")
    if code == "invalid_input" or response.status_code in (413, 422):
        rows = [
            RowError(int(r.get("line", 0)), str(r.get("field", "")), str(r.get("reason", "")))
            for r in body.get("rows", [])
            if isinstance(r, dict)
        ]
        return InvalidInput(message, rows, int(body.get("total", 0) or 0))
    cls = ERROR_CODES.get(code) or ERROR_STATUSES.get(response.status_code)
    return cls(message) if cls is not None else HTTPError(message, response.status_code)


def build(model: type[M], data: M | Mapping[str, Any] | None = None, **fields: Any) -> M:
    """Make a wire model from an instance, a mapping or keywords; raise InvalidInput if wrong.

    Args:
        model: The schema class.
        data: An instance of it, or a mapping of its fields.
        **fields: Fields, overriding those in `data`.

    Returns:
        The validated model.

    Raises:
        InvalidInput: With one row per wrong field, like the server would answer.
    """
    if isinstance(data, model) and not fields:
        return data
    merged = dict(
        data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else data or {}
    )
    merged.update(fields)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        rows = [
            RowError(0, ".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()
        ]
        raise InvalidInput(f"invalid {model.__name__}", rows) from None


def project_path(project: ProjectRef) -> str:
    """Return the URL path of a project given as id, slug or ProjectRead."""
    ref = project.id if isinstance(project, ProjectRead) else project
    return f"/projects/{quote(str(ref), safe='')}"


class HttpCore:
    """One httpx client with judgeloop's base URL, token, retries and error mapping."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        base = base_url.rstrip("/")
        if not base.endswith(API_PREFIX):
            base += API_PREFIX
        self.retries = max(0, retries)
        self.backoff = backoff
        self.http = httpx.Client(base_url=base, transport=transport, timeout=timeout)
        self.set_token(token if token is not None else os.environ.get("JUDGELOOP_TOKEN"))

    def set_token(self, token: str | None) -> None:
        """Send `token` as the bearer token from now on (None: send none)."""
        self.http.headers.pop("Authorization", None)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str, path: str, *, retry: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; raise the judgeloop error an error response describes.

        Args:
            method: HTTP method.
            path: Path below ``/api/v1``.
            retry: Retry connection errors and 5xx answers (only for requests that are
                safe to repeat: reads, and posts carrying an idempotency key).
            **kwargs: Passed to ``httpx.Client.request`` (json, params, files, ...).

        Returns:
            The successful response.
        """
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == attempts:
                    raise
                self._pause(attempt)
                continue
            if response.status_code >= 500 and attempt < attempts:
                self._pause(attempt)
                continue
            if response.is_error:
                raise error_from_response(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, model: type[M], **kwargs: Any) -> M:
        """GET `path` (retried) and parse the body as `model`."""
        return model.model_validate(self.request("GET", path, retry=True, **kwargs).json())

    def get_list(self, path: str, model: type[M], **kwargs: Any) -> list[M]:
        """GET `path` (retried) and parse the body as a list of `model`."""
        body = self.request("GET", path, retry=True, **kwargs).json()
        return TypeAdapter(list[model]).validate_python(body)  # type: ignore[valid-type]

    def send(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        """Send a request (not retried unless `retry=True`) and parse the body as `model`."""
        return model.model_validate(self.request(method, path, **kwargs).json())

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _pause(self, attempt: int) -> None:
        time.sleep(self.backoff * 2 ** (attempt - 1))
