"""/projects and /projects/{slug}: who sees what, progress, rubric, guidelines."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.projects import add_guideline_version
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Project, User
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import attr, sign_in, soup

RUBRIC = [
    {
        "key": "accuracy",
        "name": "Accuracy",
        "description": "Are the facts right?",
        "levels": {"1": "Mostly wrong.", "2": "Some errors.", "3": "Entirely correct."},
    }
]
QUESTIONS = [
    {
        "key": "accuracy",
        "kind": "rating",
        "title": "How accurate is the answer?",
        "config": {"dimension": "accuracy"},
    },
    {
        "key": "topic",
        "kind": "choice",
        "title": "What is it about?",
        "config": {
            "options": [
                {"value": "math", "label": "Mathematics", "description": "Numbers."},
                {"value": "other", "label": "Something else"},
            ]
        },
    },
]


def _project(session: Session, owner: User, **kw: object) -> Project:
    fields: dict[str, object] = {"name": "Rubric project", "questions": QUESTIONS, "rubric": RUBRIC}
    return make_project(session, owner=owner, **{**fields, **kw})


def _judge(session: Session, project: Project, worker: User, key: str) -> None:
    item = make_item(session, project=project, answers=("4",))
    answers = [AnswerIn(question="accuracy", value=3), AnswerIn(question="topic", value="math")]
    data = SubmissionCreate(item_id=item.id, submission_key=key, answers=answers, seconds_spent=30)
    submit_judgment(session, worker=worker, data=data)


def test_signed_out_visitor_is_sent_to_login(client: TestClient, session: Session) -> None:
    project = _project(session, make_user(session, role="owner"))
    for path in ("/projects", f"/projects/{project.slug}"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_owner_sees_projects_with_progress(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, redundancy=1)
    worker = join(session, project, make_user(session))
    _judge(session, project, worker, "key-aaaaaaaa")
    make_item(session, project=project)
    sign_in(client, owner.email)
    page = soup(client.get("/projects"))
    card = page.find("li", class_="project-card")
    assert card is not None
    assert attr(card, "a", "href") == f"/projects/{project.slug}"
    assert "1 of 2 items complete" in card.get_text()
    assert attr(card, "progress", "value") == "1"
    assert attr(card, "progress", "max") == "2"


def test_empty_list_says_so(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    response = client.get("/projects")
    assert response.status_code == 200
    assert "not a member of any project" in response.text


def test_project_page_shows_template_questions_rubric_and_progress(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, description="Rate **answers**.", redundancy=1)
    worker = join(session, project, make_user(session))
    _judge(session, project, worker, "key-bbbbbbbb")
    sign_in(client, owner.email)
    response = client.get(f"/projects/{project.slug}")
    assert response.status_code == 200
    page = soup(response)
    assert page.h1 is not None and page.h1.get_text() == "Rubric project"
    assert page.find("strong", string="answers") is not None
    assert "Template: Custom" in page.get_text()
    titles = [h.get_text() for h in page.select(".questions h3")]
    assert titles == ["How accurate is the answer?", "What is it about?"]
    assert "Mathematics" in page.get_text() and "Numbers." in page.get_text()
    dim = page.find(id="rubric-accuracy")
    assert dim is not None
    levels = [(dt.get_text(), dd.get_text()) for dt, dd in zip(dim("dt"), dim("dd"), strict=True)]
    assert levels == [("1", "Mostly wrong."), ("2", "Some errors."), ("3", "Entirely correct.")]
    stats = {
        div.select_one("dt").get_text(): div.select_one("dd").get_text()  # type: ignore[union-attr]
        for div in page.select("#progress-title ~ dl.stats:not(.stats-small) div")
    }
    assert stats == {
        "Items": "1",
        "Items complete": "1",
        "Submissions": "1",
        "Judgments": "2",
        "Workers": "1",
        "Median time per task": "30 s",
        "Flags raised": "0",
    }


def test_preset_project_names_its_template(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, preset="response_rating", questions=[])
    sign_in(client, owner.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert "Template: Response rating" in page.get_text()
    assert len(page.select(".rubric-dimension")) == 7
    for dim in page.select(".rubric-dimension"):
        assert [dt.get_text() for dt in dim("dt")] == ["1", "2", "3", "4", "5"]
        assert all(dd.get_text().strip() for dd in dim("dd"))
    assert page.find("h1", string="Response rating") is not None  # the preset's guidelines


def test_current_guidelines_are_shown(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner, guidelines="# Old rules")
    add_guideline_version(session, project=project, author=owner, body="# New rules\n\nBe fair.")
    sign_in(client, owner.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    section = page.find(id="guidelines")
    assert section is not None
    assert "version 2" in section.get_text()
    assert section.find("h1", string="New rules") is not None
    assert "Old rules" not in section.get_text()


def test_worker_sees_own_project_not_anothers(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    mine = _project(session, owner, name="Mine")
    other = make_project(session, owner=owner, name="Secret project")
    worker = join(session, mine, make_user(session))
    sign_in(client, worker.email)
    listing = client.get("/projects")
    assert "Mine" in listing.text
    assert "Secret project" not in listing.text and other.slug not in listing.text
    response = client.get(f"/projects/{other.slug}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Secret project" not in response.text
    assert client.get("/projects/no-such-project").status_code == 404


def test_worker_sees_no_progress_and_no_import(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner)
    worker = join(session, project, make_user(session))
    sign_in(client, worker.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert page.find(id="progress-title") is None
    assert page.find(id="import-title") is None
    assert page.find(id="rubric-accuracy") is not None
    assert "your role: worker" in page.get_text()


def test_owner_sees_import_placeholder(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner)
    sign_in(client, owner.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert page.find(id="import-title") is not None
    assert attr(page, "section[aria-labelledby=import-title] a", "href").startswith("/")


def test_reviewer_sees_progress(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    project = _project(session, owner)
    reviewer = join(session, project, make_user(session, role="reviewer"), role="reviewer")
    sign_in(client, reviewer.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert page.find(id="progress-title") is not None
    assert page.find(id="import-title") is None
