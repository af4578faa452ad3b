"""Helpers for page tests: read forms out of HTML, sign in like a browser."""

from __future__ import annotations

from typing import Any, Protocol

from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient

from tests.factories import PASSWORD


class Page(Protocol):
    """What the helpers need of a response (Starlette's TestClient and httpx agree on it)."""

    @property
    def text(self) -> str: ...


def soup(response: Page) -> BeautifulSoup:
    """Parse a page."""
    return BeautifulSoup(response.text, "html.parser")


def attr(page: Tag, selector: str, name: str) -> str:
    """Return attribute `name` of the first element matching CSS `selector` (which must exist)."""
    element = page.select_one(selector)
    assert element is not None, f"nothing matches {selector!r}"
    return str(element[name])


def csrf_of(response: Page) -> str:
    """Return the CSRF token of the first form on the page."""
    return attr(soup(response), "input[name=csrf_token]", "value")


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    """Open the sign-in page and post the form; returns the redirect response."""
    token = csrf_of(client.get("/login"))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response
