"""The Python SDK against the in-process app (no live server), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.client import Client, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from judgeloop.client._http import HTTPError, error_from_response
from judgeloop.config import Settings
from judgeloop.schemas import ItemRead, ProjectRead, SubmissionRead
from judgeloop.services.accounts import create_api_token
from judgeloop.store.models import Submission, User
from judgeloop.web.app import create_app
from tests.factories import PASSWORD, RATING_QUESTIONS, join, make_item, make_project, make_user

BASE = "http://testserver"


class AppTransport(httpx.BaseTransport):
    """Hands each request to the app in-process, through FastAPI's TestClient.

    The TestClient speaks its own httpx flavour, so requests and responses are copied
    across through public attributes only.
    """

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, raise_server_exceptions=False)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.client.request(
            request.method,
            str(request.url),
            headers=list(request.headers.multi_items()),
            content=request.content,
        )
        headers = [
            (k, v)
            for k, v in answer.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


class LosesFirstResponse(AppTransport):
    """The app stores the first POST /submissions, but its response never arrives."""

    def __init__(self, app: FastAPI, failure: str) -> None:
        super().__init__(app)
        self.failure = failure
        self.failed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/submissions") and not self.failed:
            self.failed = True
            if self.failure == "connection":
                raise httpx.ReadError("connection reset", request=request)
            return httpx.Response(502, text="bad gateway")
        return response


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def transport(app: FastAPI) -> AppTransport:
    return AppTransport(app)


def client_for(session: Session, user: User, transport: httpx.BaseTransport) -> Client:
    _, raw = create_api_token(session, user=user)
    return Client(BASE, raw, transport=transport, backoff=0.0)


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session, role="owner")


@pytest.fixture
def owner_client(session: Session, owner: User, transport: AppTransport) -> Iterator[Client]:
    with client_for(session, owner, transport) as client:
        yield client


def test_login_and_me(session: Session, transport: AppTransport) -> None:
    user = make_user(session)
    with Client.login(BASE, user.email, PASSWORD, transport=transport) as client:
        assert client.token is not None and client.token.token
        assert client.me().id == user.id
    with pytest.raises(Unauthorized):
        Client.login(BASE, user.email, "wrong password", transport=transport)


def test_project_lifecycle(owner_client: Client, session: Session, unique: str) -> None:
    project = owner_client.projects.create(
        slug=f"sdk-{unique}", name="SDK", questions=RATING_QUESTIONS
    )
    assert isinstance(project, ProjectRead)
    assert owner_client.projects.get(project.slug) == project
    assert owner_client.projects.get(project) == project
    assert project.slug in [p.slug for p in owner_client.projects.list()]
    updated = owner_client.projects.update(project, redundancy=2)
    assert updated.redundancy == 2
    assert updated.name == "SDK"
    version = owner_client.projects.add_guideline_version(project, "# Be kind")
    assert version.version == 2
    assert [g.version for g in owner_client.projects.guidelines(project)] == [2, 1]
    worker = make_user(session)
    member = owner_client.projects.add_member(project, email=worker.email)
    assert (member.user_id, member.role) == (worker.id, "worker")
    assert {m.user_id for m in owner_client.projects.members(project)} >= {worker.id}
    assert owner_client.projects.progress(project).items == 0


def test_errors_come_back_as_judgeloop_errors(owner_client: Client, unique: str) -> None:
    with pytest.raises(NotFound):
        owner_client.projects.get("no-such-project")
    owner_client.projects.create(slug=f"dup-{unique}", name="x", questions=RATING_QUESTIONS)
    with pytest.raises(Conflict):
        owner_client.projects.create(slug=f"dup-{unique}", name="x", questions=RATING_QUESTIONS)
    bad = [{"key": "q", "kind": "nope", "title": "Q"}]
    with pytest.raises(InvalidInput) as err:
        owner_client.projects.create(slug=f"bad-{unique}", name="x", questions=bad)
    assert err.value.rows and err.value.rows[0].field.startswith("questions.0")


def test_invalid_input_is_caught_before_sending(owner_client: Client) -> None:
    with pytest.raises(InvalidInput) as err:
        owner_client.projects.create(slug="Not A Slug", name="x")
    assert err.value.rows[0].field == "slug"


def test_items_iterate_over_pages(
    session: Session, owner: User, owner_client: Client, transport: AppTransport
) -> None:
    project = make_project(session, owner=owner)
    ids = [make_item(session, project=project, prompt=f"q{i}").id for i in range(5)]
    transport.requests.clear()
    items = list(owner_client.items.list(project.slug, page_size=2))
    assert [i.id for i in items] == ids
    assert all(isinstance(i, ItemRead) for i in items)
    assert len(transport.requests) == 3
    assert owner_client.items.get(ids[0]).prompt == "q0"


def test_submit_and_read_back(session: Session, transport: AppTransport) -> None:
    project = make_project(session)
    items = [make_item(session, project=project) for _ in range(3)]
    worker = join(session, project, make_user(session))
    with client_for(session, worker, transport) as client:
        for item_id in (items[0].id, items[1].id):
            created = client.submissions.create(item_id, [{"question": "quality", "value": 3}])
            assert isinstance(created, SubmissionRead) and created.created
        item = client.items.get(items[2].id)
        client.submissions.create(item, [{"question": "quality", "value": 5}], seconds_spent=9)
        mine = list(client.submissions.list(project.slug, page_size=2))
        assert [s.item_id for s in mine] == [i.id for i in items]
        assert client.submissions.get(mine[2].id).judgments[0].value == 5
        with pytest.raises(InvalidInput) as err:
            client.submissions.create(items[0].id, [{"question": "quality", "value": 99}])
        assert err.value.rows[0].field == "answers.quality.value"
        with pytest.raises(Forbidden):
            client.projects.progress(project.slug)


@pytest.mark.parametrize("failure", ["connection", "502"])
def test_lost_response_is_retried_with_the_same_key(
    session: Session, app: FastAPI, failure: str
) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    transport = LosesFirstResponse(app, failure)
    with client_for(session, worker, transport) as client:
        sub = client.submissions.create(item.id, [{"question": "quality", "value": 2}])
    posts = [r for r in transport.requests if r.url.path.endswith("/submissions")]
    assert len(posts) == 2
    assert posts[0].content == posts[1].content
    assert sub.created is False
    count = session.scalar(select(func.count()).where(Submission.item_id == item.id))
    assert count == 1


def test_gives_up_after_the_retries(session: Session) -> None:
    def always_down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def always_503(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="busy")

    client = Client(BASE, "t", transport=httpx.MockTransport(always_down), retries=2, backoff=0)
    with pytest.raises(httpx.ConnectError):
        client.submissions.create(1, [{"question": "q", "value": 1}])
    calls: list[int] = []

    def counting_503(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return always_503(request)

    client = Client(BASE, "t", transport=httpx.MockTransport(counting_503), retries=2, backoff=0)
    with pytest.raises(HTTPError) as err:
        client.submissions.create(1, [{"question": "q", "value": 1}])
    assert err.value.status_code == 503
    assert len(calls) == 3


def test_error_mapping_without_a_body() -> None:
    request = httpx.Request("GET", BASE)
    assert isinstance(error_from_response(httpx.Response(404, request=request)), NotFound)
    too_big = error_from_response(httpx.Response(413, request=request, text="nope"))
    assert isinstance(too_big, InvalidInput)
    other = error_from_response(httpx.Response(418, request=request))
    assert isinstance(other, HTTPError) and other.status_code == 418


def test_base_url_may_include_the_api_prefix(session: Session, transport: AppTransport) -> None:
    user = make_user(session)
    _, raw = create_api_token(session, user=user)
    with Client(BASE + "/api/v1/", raw, transport=transport) as client:
        assert client.me().id == user.id


def test_token_from_the_environment(
    session: Session, transport: AppTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session)
    _, raw = create_api_token(session, user=user)
    monkeypatch.setenv("JUDGELOOP_TOKEN", raw)
    with Client(BASE, transport=transport) as client:
        assert client.me().id == user.id


def test_imports_and_exports_are_wired(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(
                200,
                json={
                    "import_id": 1,
                    "format": "jsonl",
                    "rows_read": 1,
                    "items_added": 1,
                    "duplicates": 0,
                    "rejected": 0,
                },
            )
        return httpx.Response(200, content=b'{"id": 1}\n')

    client = Client(BASE, "t", transport=httpx.MockTransport(handler))
    data = tmp_path / "in.jsonl"
    data.write_text('{"prompt": "hi"}\n')
    report = client.imports.upload("p", data, format="jsonl", mapping={"prompt": "prompt"})
    assert report.items_added == 1
    body = seen[0].content
    assert b'name="file"; filename="in.jsonl"' in body
    assert b'{"prompt": "prompt"}' in body
    out = client.exports.download("p", tmp_path / "out.jsonl", what="submissions")
    assert out.read_bytes() == b'{"id": 1}\n'
    assert seen[1].url.params["what"] == "submissions"


def test_upload_and_download_against_the_app(
    session: Session, owner: User, owner_client: Client, tmp_path: Path
) -> None:
    project = make_project(session, owner=owner)
    data = tmp_path / "prompts.csv"
    data.write_text("question,a,b\nWhy?,because,why not\nHow?,so,thus\n")
    mapping = {"prompt": "question", "answers": ["a", "b"]}
    report = owner_client.imports.upload(project.slug, data, mapping=mapping)
    assert (report.format, report.items_added) == ("csv", 2)
    with pytest.raises(InvalidInput) as err:
        owner_client.imports.upload(project.slug, data, mapping={"nonsense": 1})
    assert err.value.rows[0].field == "mapping.nonsense"
    out = owner_client.exports.download(project.slug, tmp_path / "items.jsonl")
    assert [line for line in out.read_text().splitlines() if line]
    assert "Why?" in out.read_text()
    assert not (tmp_path / "items.jsonl.part").exists()
    with pytest.raises(InvalidInput):
        owner_client.exports.download(
            project.id, tmp_path / "x", what="label-studio", format="jsonl"
        )
    assert not (tmp_path / "x").exists()


def test_work_through_the_queue(session: Session, owner: User, transport: AppTransport) -> None:
    project = make_project(session, owner=owner, redundancy=1)
    for i in range(3):
        make_item(session, project=project, prompt=f"task {i}")
    worker = join(session, project, make_user(session))
    client = client_for(session, worker, transport)
    done = []
    while (task := client.tasks.next(project.slug)) is not None:
        if len(done) == 1:
            client.tasks.heartbeat(task.assignment_id, active_seconds=3)
        sub = client.submissions.create(
            task.item.id, [{"question": "quality", "value": 5}], assignment_id=task.assignment_id
        )
        assert sub.item_id == task.item.id
        done.append(task.item.id)
    assert len(done) == len(set(done)) == 3
