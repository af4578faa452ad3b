"""Model tests share the fake OpenAI-compatible server (see fixtures.py)."""

from tests.llm.fixtures import fake_server_fixture, fake_server_session_fixture

__all__ = ["fake_server_fixture", "fake_server_session_fixture"]
