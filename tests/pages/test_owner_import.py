"""GET/POST /projects/{slug}/import: upload, mapping, report, error list, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.store.models import Candidate, Item, Project
from judgeloop.web.pages.imports import ImportForm, column_mapping
from tests.factories import join, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup

GOOD = {"prompt": "What is 2+2?", "candidates": [{"text": "4", "model": "m1"}, {"text": "5"}]}


def _jsonl(rows: list[Any]) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def _upload(
    client: TestClient, slug: str, content: bytes, name: str = "items.jsonl", **fields: str
) -> Any:
    token = csrf_of(client.get(f"/projects/{slug}/import"))
    return client.post(
        f"/projects/{slug}/import",
        data={"csrf_token": token, **fields},
        files={"file": (name, content, "application/octet-stream")},
    )


def _items(session: Session, project: Project) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).where(Item.project_id == project.id)) or 0


def _owner_project(client: TestClient, session: Session) -> Project:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    sign_in(client, owner.email)
    return project


def test_form_has_file_format_mapping_and_skip_fields(client: TestClient, session: Session) -> None:
    project = _owner_project(client, session)
    page = soup(client.get(f"/projects/{project.slug}/import"))
    form = page.select_one("form[enctype='multipart/form-data']")
    assert form is not None and form["action"] == f"/projects/{project.slug}/import"
    names = {i["name"] for i in form.select("input, select")}
    expected = {"csrf_token", "file", "format", "prompt", "answers", "models", "model_columns"}
    assert expected | {"id", "metadata", "skip_invalid"} <= names
    assert [o["value"] for o in form.select("#format option")] == [
        "", "jsonl", "json", "csv", "parquet", "label-studio"
    ]  # fmt: skip
    for field in form.select("input:not([type=hidden]), select"):
        assert page.select_one(f"label[for={field['id']}]") is not None, field["name"]


def test_bad_row_shows_its_line_and_nothing_is_imported(
    client: TestClient, session: Session
) -> None:
    project = _owner_project(client, session)
    content = _jsonl([GOOD, {"candidates": ["x"]}, {**GOOD, "prompt": "Other"}, "{not json"])
    response = _upload(client, project.slug, content)
    assert response.status_code == 422
    page = soup(response)
    box = page.select_one("#import-errors")
    assert box is not None and "Nothing was imported" in box.get_text()
    rows = [[td.get_text() for td in tr.select("td")] for tr in box.select("tbody tr")]
    assert [r[0] for r in rows] == ["2", "4"]
    assert "2 problems in all" in box.get_text()
    assert _items(session, project) == 0


def test_skip_invalid_imports_the_good_rows_and_reports_counts(
    client: TestClient, session: Session
) -> None:
    project = _owner_project(client, session)
    content = _jsonl([GOOD, {"candidates": ["x"]}, {**GOOD, "prompt": "Other"}, GOOD])
    response = _upload(client, project.slug, content, skip_invalid="on")
    assert response.status_code == 200, response.text
    page = soup(response)
    counts = {
        k: page.select_one(f"#{k}").get_text()
        for k in ("rows-read", "items-added", "duplicates", "rejected")
    }  # type: ignore[union-attr]
    assert counts == {"rows-read": "4", "items-added": "2", "duplicates": "1", "rejected": "1"}
    left_out = page.select("#import-report tbody tr td")
    assert left_out[0].get_text() == "2"
    assert page.select_one("#skip_invalid").has_attr("checked")  # type: ignore[union-attr]
    assert _items(session, project) == 2


def test_mapping_fields_read_a_csv_with_its_own_columns(
    client: TestClient, session: Session
) -> None:
    project = _owner_project(client, session)
    csv = b"question,left,right,qid,domain\nWhy?,Because.,No idea.,q1,misc\n"
    response = _upload(
        client,
        project.slug,
        csv,
        name="pairs.csv",
        format="csv",
        prompt="question",
        answers="left, right",
        models="alpha, beta",
        id="qid",
        metadata="domain",
    )
    assert response.status_code == 200, response.text
    session.expire_all()
    item = session.scalars(select(Item).where(Item.project_id == project.id)).one()
    assert (item.prompt, item.external_id, item.meta) == ("Why?", "q1", {"domain": "misc"})
    texts = session.scalars(
        select(Candidate.text).where(Candidate.item_id == item.id).order_by(Candidate.position)
    )
    assert list(texts) == ["Because.", "No idea."]
    assert soup(response).select_one("#m-answers")["value"] == "left, right"  # type: ignore[index]


def test_missing_mapped_column_and_unreadable_format_are_reported(
    client: TestClient, session: Session
) -> None:
    project = _owner_project(client, session)
    response = _upload(client, project.slug, b"a,b\n1,2\n", name="x.csv", prompt="question")
    assert response.status_code == 422
    assert "question" in soup(response).select_one("#import-errors").get_text()  # type: ignore[union-attr]
    response = _upload(client, project.slug, b"hello", name="notes.txt")
    assert response.status_code == 422
    assert "cannot tell the format" in response.text
    response = _upload(client, project.slug, b"", name="")
    assert response.status_code == 422


def test_column_mapping_from_the_form() -> None:
    assert column_mapping(ImportForm()) is None
    mapping = column_mapping(ImportForm(answers="a, b,", model_columns="ma,mb", id="key"))
    assert mapping is not None
    assert (mapping.answers, mapping.model_columns, mapping.id) == (["a", "b"], ["ma", "mb"], "key")
    form = ImportForm.from_fields({"skip_invalid": "on", "format": " csv ", "csrf_token": "x"})
    assert (form.skip_invalid, form.format) == (True, "csv")


def test_upload_without_csrf_token_is_refused_and_not_kept(
    client: TestClient, session: Session, settings: Settings
) -> None:
    project = _owner_project(client, session)
    client.get(f"/projects/{project.slug}/import")
    response = client.post(
        f"/projects/{project.slug}/import",
        data={"csrf_token": "forged"},
        files={"file": ("items.jsonl", _jsonl([GOOD]), "application/jsonl")},
    )
    assert response.status_code == 403
    assert _items(session, project) == 0
    uploads = Path(settings.data_dir) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_too_large_upload_is_refused(
    client: TestClient, session: Session, settings: Settings
) -> None:
    settings.upload_max_bytes = 64
    project = _owner_project(client, session)
    response = _upload(client, project.slug, _jsonl([GOOD] * 10))
    assert response.status_code == 413
    assert "larger than the limit" in response.text
    assert _items(session, project) == 0


def test_only_owners_and_admins_import(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    sign_in(client, reviewer.email)
    assert client.get(f"/projects/{project.slug}/import").status_code == 403
    token = csrf_of(client.get("/projects"))
    response = client.post(
        f"/projects/{project.slug}/import",
        data={"csrf_token": token},
        files={"file": ("items.jsonl", _jsonl([GOOD]), "application/jsonl")},
    )
    assert response.status_code == 403
    client.cookies.clear()
    sign_in(client, make_user(session, role="owner").email)
    assert client.get(f"/projects/{project.slug}/import").status_code == 404
    client.cookies.clear()
    sign_in(client, make_user(session, role="admin").email)
    assert _upload(client, project.slug, _jsonl([GOOD])).status_code == 200
    assert _items(session, project) == 1
