"""Fixtures for the HTML pages: the app on the test database and a browser-like client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.config import Settings
from judgeloop.web.app import create_app


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The application on the test database (SQLite and PostgreSQL)."""
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that keeps cookies like a browser and does not follow redirects."""
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
