"""The application shell: health check, OpenAPI, error shape of FastAPI's own errors."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.web.app import create_app
from tests.api.helpers import Api, error
from tests.factories import make_user


def test_healthz(http: TestClient) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_lists_every_resource(http: TestClient) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/presets",
        "/api/v1/projects",
        "/api/v1/projects/{ref}/items",
        "/api/v1/items/{item_id}",
        "/api/v1/submissions",
        "/api/v1/projects/{ref}/imports",
        "/api/v1/projects/{ref}/export",
    ):
        assert path in paths, path
    upload = paths["/api/v1/projects/{ref}/imports"]["post"]["requestBody"]
    assert "multipart/form-data" in upload["content"]
    assert "HTTPBearer" in response.json()["components"]["securitySchemes"]


def test_unknown_api_route_has_the_error_shape(api: Api) -> None:
    response = api.get("/no-such-thing")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_request_validation_error_names_fields(api: Api, session: Session) -> None:
    owner = make_user(session, role="owner")
    response = api.post("/projects", as_=owner, json={"slug": "Bad Slug!", "name": ""})
    assert response.status_code == 422
    body = error(response)
    assert body["code"] == "invalid_input"
    fields = {row["field"] for row in body["rows"]}
    assert {"slug", "name"} <= fields
    assert body["total"] == len(body["rows"])
    assert all(row["line"] == 0 for row in body["rows"])


def test_query_validation_keeps_the_query_prefix(api: Api, session: Session) -> None:
    user = make_user(session)
    response = api.get("/projects/x/items", as_=user, params={"limit": 0})
    assert response.status_code == 422
    assert error(response)["rows"][0]["field"] == "query.limit"


def test_app_builds_its_own_engine_when_given_no_sessions(tmp_path: Path) -> None:
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"
    )
    app = create_app(settings)
    assert app.state.engine is not None
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
