"""Helpers for the API tests: a signed-request client and test-data shortcuts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.services.accounts import create_api_token
from judgeloop.store.models import Candidate, GoldAnswer, Item, ModelVersion, Project, User


class Api:
    """Requests against the in-process app, each signed as a chosen user."""

    def __init__(self, client: TestClient, session: Session) -> None:
        self.client = client
        self.session = session
        self._tokens: dict[int, str] = {}

    def headers(self, user: User | None) -> dict[str, str]:
        if user is None:
            return {}
        if user.id not in self._tokens:
            _, raw = create_api_token(self.session, user=user, name="test")
            self._tokens[user.id] = raw
        return {"Authorization": f"Bearer {self._tokens[user.id]}"}

    def request(
        self, method: str, url: str, *, as_: User | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers(as_), **kwargs.pop("headers", {})}
        return self.client.request(method, "/api/v1" + url, headers=headers, **kwargs)

    def get(self, url: str, *, as_: User | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, as_=as_, **kwargs)

    def post(self, url: str, *, as_: User | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, as_=as_, **kwargs)

    def patch(self, url: str, *, as_: User | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, as_=as_, **kwargs)

    def delete(self, url: str, *, as_: User | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, as_=as_, **kwargs)


def error(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of an error response."""
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "rows", "total"}
    return body


def add_gold(session: Session, item: Item, value: Any, question: str = "quality") -> GoldAnswer:
    """Mark `item` as gold with a known answer to `question`."""
    item.is_gold = True
    gold = GoldAnswer(item_id=item.id, question_key=question, value=value)
    session.add(gold)
    session.commit()
    return gold


def attach_models(session: Session, item: Item, *names: str) -> None:
    """Record that the item's candidates A, B, ... came from the named models."""
    cands = session.query(Candidate).filter_by(item_id=item.id).order_by(Candidate.position)
    for cand, name in zip(cands, names, strict=False):
        model = session.query(ModelVersion).filter_by(name=name).one_or_none()
        if model is None:
            model = ModelVersion(name=name)
            session.add(model)
            session.flush()
        cand.model_version_id = model.id
    session.commit()


def rating(item_id: int, value: Any = 4, key: str | None = None) -> dict[str, Any]:
    """A submission body answering the factories' one rating question."""
    return {
        "item_id": item_id,
        "submission_key": key or uuid.uuid4().hex,
        "answers": [{"question": "quality", "value": value}],
        "seconds_spent": 3.0,
    }


def project_url(project: Project) -> str:
    return f"/projects/{project.slug}"
