"""Uploading data files (POST /projects/{ref}/imports) and exporting them (GET .../export)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import anyio
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from judgeloop.config import Settings
from judgeloop.store.models import Project, User
from judgeloop.web.api.imports import receive_upload, safe_filename
from judgeloop.web.app import create_app
from judgeloop.web.errors import TooLarge
from tests.api.helpers import Api, error, rating
from tests.factories import join, make_item, make_project, make_user


def _jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _owned(session: Session) -> tuple[User, Project]:
    owner = make_user(session, role="owner")
    return owner, make_project(session, owner=owner)


def _upload(
    api: Api, project: Project, user: User, content: bytes, name: str = "items.jsonl", **form: str
) -> Any:
    files = {"file": (name, io.BytesIO(content), "application/octet-stream")}
    return api.post(f"/projects/{project.slug}/imports", as_=user, files=files, data=form)


def test_upload_jsonl(api: Api, session: Session, settings: Settings) -> None:
    owner, project = _owned(session)
    rows = [{"prompt": f"q{i}", "candidates": ["yes", "no"]} for i in range(3)]
    response = _upload(api, project, owner, _jsonl(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["format"], report["rows_read"], report["items_added"]) == ("jsonl", 3, 3)
    items = api.get(f"/projects/{project.slug}/items", as_=owner).json()["items"]
    assert [i["prompt"] for i in items] == ["q0", "q1", "q2"]
    assert [c["text"] for c in items[0]["candidates"]] == ["yes", "no"]
    assert list((settings.data_dir / "uploads").iterdir()) == []


def test_upload_csv_with_a_mapping(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    content = b"question,a,b\nWhy?,because,why not\n"
    mapping = json.dumps({"prompt": "question", "answers": ["a", "b"], "models": ["m1", "m2"]})
    response = _upload(api, project, owner, content, name="data.csv", mapping=mapping)
    assert response.status_code == 200, response.text
    item = api.get(f"/projects/{project.slug}/items", as_=owner).json()["items"][0]
    assert item["prompt"] == "Why?"
    assert [(c["text"], c["model"]) for c in item["candidates"]] == [
        ("because", "m1"),
        ("why not", "m2"),
    ]


def test_bad_rows_are_422_with_lines(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    content = _jsonl([{"prompt": "ok"}, {"prompt": 5}])
    response = _upload(api, project, owner, content)
    assert response.status_code == 422
    body = error(response)
    assert body["rows"][0] == {"line": 2, "field": "prompt", "reason": "expected text"}
    skipped = _upload(api, project, owner, content, skip_invalid="true")
    assert skipped.status_code == 200
    assert (skipped.json()["items_added"], skipped.json()["rejected"]) == (1, 1)


def test_form_problems_name_the_field(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    content = _jsonl([{"prompt": "ok"}])
    cases = {
        "mapping": {"mapping": "{not json"},
        "mapping.nonsense": {"mapping": json.dumps({"nonsense": 1})},
        "skip_invalid": {"skip_invalid": "maybe"},
        "format": {"format": "hf"},
    }
    for field, form in cases.items():
        response = _upload(api, project, owner, content, **form)
        assert response.status_code == 422, field
        assert error(response)["rows"][0]["field"] == field
    url = f"/projects/{project.slug}/imports"
    no_file = api.post(url, as_=owner, data={"format": "jsonl"}, files={"x": ("", b"")})
    assert no_file.status_code == 422
    not_multipart = api.post(url, as_=owner, json={"file": "x"})
    assert not_multipart.status_code == 422
    assert error(not_multipart)["rows"][0]["field"] == "file"


def test_unknown_extension_asks_for_the_format(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    content = _jsonl([{"prompt": "ok"}])
    response = _upload(api, project, owner, content, name="data.txt")
    assert response.status_code == 422
    assert "data.txt" in error(response)["message"]
    named = _upload(api, project, owner, content, name="data.txt", format="jsonl")
    assert named.status_code == 200


def test_upload_over_the_limit_is_413(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 100})
    with TestClient(create_app(small, session_factory=session_factory)) as client:
        api = Api(client, session)
        owner, project = _owned(session)
        ok = _upload(api, project, owner, _jsonl([{"prompt": "short"}]))
        assert ok.status_code == 200
        big = _upload(api, project, owner, _jsonl([{"prompt": "x" * 200}]))
        assert big.status_code == 413
        assert error(big)["code"] == "too_large"
        assert "100 bytes" in error(big)["message"]
    assert list((small.data_dir / "uploads").iterdir()) == []


def test_content_length_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    read = False

    async def receive() -> dict[str, Any]:
        nonlocal read
        read = True
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=xyz"),
            (b"content-length", str(10**12).encode()),
        ],
    }
    request = Request(scope, receive)
    with pytest.raises(TooLarge):
        anyio.run(lambda: receive_upload(request, dest_dir=tmp_path, max_bytes=1000))
    assert not read
    assert list(tmp_path.iterdir()) == []


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\me\\data.csv.gz") == "data.csv.gz"
    assert safe_filename("my file (1).jsonl") == "my_file_1_.jsonl"
    assert safe_filename("...") == "upload"


def test_only_owners_import(api: Api, session: Session) -> None:
    _, project = _owned(session)
    worker = join(session, project, make_user(session))
    content = _jsonl([{"prompt": "ok"}])
    assert _upload(api, project, worker, content).status_code == 403
    assert _upload(api, project, make_user(session), content).status_code == 404


def test_export_items_and_reimport(api: Api, session: Session, settings: Settings) -> None:
    owner, project = _owned(session)
    for i in range(3):
        make_item(session, project=project, prompt=f"q{i}")
    response = api.get(f"/projects/{project.slug}/export", as_=owner)
    assert response.status_code == 200
    assert f'filename="{project.slug}-items.jsonl"' in response.headers["content-disposition"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [r["prompt"] for r in rows] == ["q0", "q1", "q2"]
    assert list((settings.data_dir / "exports").iterdir()) == []
    other = make_project(session, owner=owner)
    report = _upload(api, other, owner, response.content).json()
    assert report["items_added"] == 3


def test_export_submissions_as_parquet(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    api.post("/submissions", as_=worker, json=rating(item.id, 5))
    response = api.get(
        f"/projects/{project.slug}/export",
        as_=owner,
        params={"what": "submissions", "format": "parquet"},
    )
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 1


def test_export_label_studio_defaults_to_json(api: Api, session: Session) -> None:
    owner, project = _owned(session)
    make_item(session, project=project)
    url = f"/projects/{project.slug}/export"
    response = api.get(url, as_=owner, params={"what": "label-studio"})
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    wrong = api.get(url, as_=owner, params={"what": "label-studio", "format": "jsonl"})
    assert wrong.status_code == 422
    unknown = api.get(url, as_=owner, params={"what": "secrets"})
    assert unknown.status_code == 422
    assert error(unknown)["rows"][0]["field"] == "query.what"
