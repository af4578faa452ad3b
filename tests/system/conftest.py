"""Fixtures for system tests: a real server process on a database of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.live_server import Server


@pytest.fixture
def server(committed_db_url: str, tmp_path: Path) -> Iterator[Server]:
    """The server (not yet started) on a database of this test's own."""
    srv = Server(committed_db_url, tmp_path)
    yield srv
    srv.stop()
