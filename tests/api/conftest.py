"""The app under test and the `api` helper, on SQLite and PostgreSQL.

`api` sends requests to an app built per test with `create_app(settings,
session_factory=...)`; `api.get(url, as_=user)` signs the request with an API token of
`user`. URLs are relative to /api/v1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.config import Settings
from judgeloop.web.app import create_app
from tests.api.helpers import Api


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The application, on the test database."""
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """A plain TestClient on the app (root URLs, no auth)."""
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@pytest.fixture
def api(http: TestClient, session: Session) -> Api:
    """Signed requests to the app's /api/v1."""
    return Api(http, session)
