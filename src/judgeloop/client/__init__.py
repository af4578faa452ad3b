"""The judgeloop Python SDK: a typed client for the JSON API.

Example:
    >>> from judgeloop.client import Client
    >>> client = Client.login("http://127.0.0.1:8000", "me@example.org", "secret")
    >>> project = client.projects.get("ab-test")
    >>> for item in client.items.list(project):
    ...     client.submissions.create(item, [{"question": "preference", "value": "A"}])
"""

from __future__ import annotations

from types import TracebackType

import httpx

from judgeloop.client._http import HttpCore, HTTPError
from judgeloop.client.exports import Exports
from judgeloop.client.imports import Imports
from judgeloop.client.items import Items
from judgeloop.client.projects import Projects
from judgeloop.client.submissions import Submissions, new_submission_key
from judgeloop.client.tasks import Tasks
from judgeloop.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JudgeloopError,
    LeaseExpired,
    NotFound,
    Unauthorized,
)
from judgeloop.schemas.accounts import LoginRequest, TokenRead, UserRead

__all__ = [
    "Client",
    "Conflict",
    "Forbidden",
    "HTTPError",
    "InvalidInput",
    "JudgeloopError",
    "LeaseExpired",
    "NotFound",
    "Unauthorized",
    "new_submission_key",
]


class Client:
    """A connection to a judgeloop server.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8000`` (``/api/v1`` is added).
        token: An API token; defaults to the ``JUDGELOOP_TOKEN`` environment variable.
        transport: An httpx transport (tests pass one that calls the app in-process).
        timeout: Seconds to wait for each response.
        retries: How often safe requests are retried after a connection error or a 5xx.
        backoff: Seconds before the first retry; doubled for each further one.
    """

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
        self._http = HttpCore(
            base_url, token, transport=transport, timeout=timeout, retries=retries, backoff=backoff
        )
        self.projects = Projects(self._http)
        self.items = Items(self._http)
        self.submissions = Submissions(self._http)
        self.imports = Imports(self._http)
        self.exports = Exports(self._http)
        self.tasks = Tasks(self._http)
        self.token: TokenRead | None = None
        """The token made by :meth:`login` (its ``token`` field holds the secret)."""

    @classmethod
    def login(
        cls,
        base_url: str,
        email: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        token_name: str = "sdk",
    ) -> Client:
        """Sign in with an email and password and return a client using the new token.

        Raises:
            Unauthorized: Wrong email or password.
        """
        client = cls(base_url, "", transport=transport, timeout=timeout)
        body = LoginRequest(email=email, password=password, token_name=token_name)
        token = client._http.send("POST", "/auth/login", TokenRead, json=body.model_dump())
        client._http.set_token(token.token)
        client.token = token
        return client

    def me(self) -> UserRead:
        """Return the signed-in user."""
        return self._http.get("/me", UserRead)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
