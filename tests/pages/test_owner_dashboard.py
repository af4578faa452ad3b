"""The project page's dashboard: progress, reviews, flags; and the owner's links."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.queue import flag_item
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import sign_in, soup


def _stats(page: object, selector: str) -> dict[str, str]:
    return {
        div.select_one("dt").get_text(): div.select_one("dd").get_text().strip()  # type: ignore[union-attr]
        for div in page.select(f"{selector} div")  # type: ignore[attr-defined]
    }


def test_owner_dashboard_counts_progress_reviews_and_flags(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, redundancy=1)
    worker = join(session, project, make_user(session))
    items = [make_item(session, project=project, prompt=f"q{i}") for i in range(3)]
    subs = []
    for item, seconds in zip(items[:2], (20, 40), strict=True):
        data = SubmissionCreate(
            item_id=item.id,
            submission_key=uuid.uuid4().hex,
            answers=[AnswerIn(question="quality", value=3)],
            seconds_spent=seconds,
        )
        subs.append(submit_judgment(session, worker=worker, data=data)[0])
    review_submission(
        session, submission_id=subs[0].id, reviewer=owner, verdict="reject", feedback="x"
    )
    flag_item(
        session, item=items[2], worker=worker, reason="personal_data", note="<b>phone</b> number"
    )
    flag_item(session, item=items[2], worker=worker, reason="broken_prompt")
    sign_in(client, owner.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    stats = _stats(page, "#progress-title ~ dl.stats:not(.stats-small)")
    assert stats == {
        "Items": "3",
        "Items complete": "1",
        "Submissions": "2",
        "Judgments": "2",
        "Workers": "1",
        "Median time per task": "30 s",
        "Flags raised": "2",
    }
    reviews = _stats(page, "#review-stats")
    assert reviews == {"Awaiting review": "1", "Accepted": "0", "Rejected": "1"}
    flags = page.select_one("#flags")
    assert flags is not None
    assert _stats(flags, "dl")["Personal data"] == "1"
    rows = [[td.get_text() for td in tr.select("td")] for tr in flags.select("tbody tr")]
    assert [r[1:] for r in rows] == [
        [str(items[2].id), "Broken prompt", "—"],
        [str(items[2].id), "Personal data", "<b>phone</b> number"],
    ]
    assert flags.select_one("b") is None
    hrefs = {a["href"] for a in page.select("a")}
    for path in ("import", "submissions", "guidelines", "guidelines/edit"):
        assert f"/projects/{project.slug}/{path}" in hrefs


def test_worker_sees_no_dashboard_and_no_owner_links(client: TestClient, session: Session) -> None:
    project = make_project(session)
    worker = join(session, project, make_user(session))
    sign_in(client, worker.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert page.find(id="flags") is None and page.find(id="review-stats") is None
    hrefs = {a["href"] for a in page.select("a")}
    assert f"/projects/{project.slug}/guidelines" in hrefs and "/work/feedback" in hrefs
    for path in ("import", "submissions", "guidelines/edit"):
        assert f"/projects/{project.slug}/{path}" not in hrefs


def test_reviewer_sees_dashboard_and_review_link_but_no_import(
    client: TestClient, session: Session
) -> None:
    project = make_project(session)
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    sign_in(client, reviewer.email)
    page = soup(client.get(f"/projects/{project.slug}"))
    assert page.find(id="flags") is not None
    hrefs = {a["href"] for a in page.select("a")}
    assert f"/projects/{project.slug}/submissions" in hrefs
    assert f"/projects/{project.slug}/import" not in hrefs
