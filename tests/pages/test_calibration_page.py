"""The judge calibration page: tables for agreement, position bias and length bias."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.store.models import User
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    register_fake,
)
from tests.pages.helpers import sign_in, soup
from tests.services.test_calibration import make_calibration_world, run_judge


def _cells(page: object, row_id: str) -> list[str]:
    row = soup(page).select_one(f"#{row_id}")  # type: ignore[arg-type]
    assert row is not None, row_id
    return [" ".join(c.get_text(" ").split()) for c in row.select("th, td")]


def test_owner_reads_a_position_biased_judges_calibration(
    client: TestClient, session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session, n_items=8)
    model = run_judge(session, fake_server, world, biased=True)
    other = register_fake(session, fake_server, name="org/other-judge")
    owner = session.get(User, world.project.owner_id)
    assert owner is not None
    sign_in(client, owner.email)
    url = f"/projects/{world.project.slug}/judges/{model}/calibration"
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert "<script" not in page.text and " style=" not in page.text
    assert "Content-Security-Policy" in page.headers
    assert "8 items judged" in soup(page).select_one("#runs").get_text()  # type: ignore[union-attr]
    better = _cells(page, "agreement-better")
    assert better[0].startswith("Which is better?") and better[1] == "8"
    assert better[2].startswith("50%")  # right only where the right answer came first
    assert _cells(page, "agreement-helpfulness-dimension")[1] == "32"
    position = _cells(page, "position-better")
    assert position[1:3] == ["8", "8"]
    assert position[3].startswith("100%") and position[4].startswith("100%")
    assert position[5] == "16"
    assert _cells(page, "position-helpful")[4] == "—"
    assert _cells(page, "length-better")[1] == "8"
    assert _cells(page, "length-rating-helpful")[0].startswith("How helpful?")
    # A judge that has not run yet gets the page with pointers to the commands.
    empty = client.get(f"/projects/{world.project.slug}/judges/{other}/calibration")
    assert empty.status_code == 200
    assert f"judgeloop judge {world.project.slug} --model org/other-judge" in empty.text
    assert (
        client.get(f"/projects/{world.project.slug}/judges/nobody/calibration").status_code == 404
    )
    worker = TestClient(client.app, follow_redirects=False)
    sign_in(worker, world.workers[0].email)
    assert worker.get(url).status_code == 403
