"""Guidelines pages: history, editing (a new version each save) and the escaped diff."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.services.projects import add_guideline_version, list_guidelines
from judgeloop.store.models import Project, User
from judgeloop.web.pages.owner import line_diff
from tests.factories import join, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup


def _project(session: Session) -> tuple[Project, User]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, guidelines="# Rules\n\nBe kind.\nBe brief.\n")
    return project, owner


def _edit(client: TestClient, slug: str, body: str, base: str | None = None) -> object:
    page = client.get(f"/projects/{slug}/guidelines/edit")
    form = soup(page)
    data = {
        "csrf_token": csrf_of(page),
        "body": body,
        "base_version": base or str(form.select_one("input[name=base_version]")["value"]),  # type: ignore[index]
    }
    return client.post(f"/projects/{slug}/guidelines/edit", data=data)


def test_line_diff_marks_added_removed_and_kept_lines() -> None:
    hunks = line_diff("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(line.op, line.old, line.new, line.text) for line in hunks[0]] == [
        ("same", 1, 1, "a"),
        ("del", 2, None, "b"),
        ("add", None, 2, "B"),
        ("same", 3, 3, "c"),
        ("add", None, 4, "d"),
    ]
    assert line_diff("same\n", "same\n") == []
    far = line_diff("\n".join(map(str, range(40))), "\n".join(["x", *map(str, range(1, 39)), "y"]))
    assert len(far) == 2  # two changes far apart: two hunks, context only around each


def test_owner_edits_guidelines_into_a_new_version_and_sees_the_diff(
    client: TestClient, session: Session
) -> None:
    project, owner = _project(session)
    sign_in(client, owner.email)
    editor = soup(client.get(f"/projects/{project.slug}/guidelines/edit"))
    textarea = editor.select_one("textarea#body")
    assert textarea is not None and "Be kind." in textarea.get_text()
    response = _edit(client, project.slug, "# Rules\r\n\r\nBe kind.\r\nBe <b>precise</b>.\r\n")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == f"/projects/{project.slug}/guidelines/diff?a=1&b=2"  # type: ignore[attr-defined]
    versions = list_guidelines(session, project=project)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].body == "# Rules\n\nBe kind.\nBe <b>precise</b>.\n"
    assert versions[0].author_id == owner.id
    diff = client.get(response.headers["location"])  # type: ignore[attr-defined]
    assert diff.status_code == 200
    page = soup(diff)
    assert [d.get_text() for d in page.select("tr.diff-del td.text")] == ["Be brief."]
    assert [d.get_text() for d in page.select("tr.diff-add td.text")] == ["Be <b>precise</b>."]
    assert "<b>precise</b>" not in diff.text  # escaped: shown, never interpreted
    assert "1 line added" in page.get_text() and "1 line removed" in page.get_text()


def test_history_lists_versions_newest_first_with_links(
    client: TestClient, session: Session
) -> None:
    project, owner = _project(session)
    add_guideline_version(session, project=project, author=owner, body="Second <script>x</script>")
    sign_in(client, owner.email)
    page = soup(client.get(f"/projects/{project.slug}/guidelines"))
    assert [li["id"] for li in page.select(".version-list > li")] == ["v2", "v1"]
    assert page.select_one("#v2 .tag").get_text() == "current"  # type: ignore[union-attr]
    links = [a["href"] for a in page.select("#v2 a")]
    assert f"/projects/{project.slug}/guidelines/diff?a=1&b=2" in links
    assert page.select_one("#v2 script") is None
    assert "Owner" in page.select_one("#v2").get_text()  # type: ignore[union-attr]


def test_unchanged_empty_and_stale_edits_are_refused(client: TestClient, session: Session) -> None:
    project, owner = _project(session)
    sign_in(client, owner.email)
    current = list_guidelines(session, project=project)[0].body
    same = _edit(client, project.slug, current)
    assert same.status_code == 422 and "Nothing changed" in same.text  # type: ignore[attr-defined]
    empty = _edit(client, project.slug, "  \n")
    assert empty.status_code == 422  # type: ignore[attr-defined]
    stale = _edit(client, project.slug, "My text", base="0")
    assert stale.status_code == 409 and "Someone saved version 1" in stale.text  # type: ignore[attr-defined]
    assert "My text" in soup(stale).select_one("textarea#body").get_text()  # type: ignore[arg-type, union-attr]
    assert [v.version for v in list_guidelines(session, project=project)] == [1]


def test_diff_of_unknown_version_is_404_and_defaults_to_the_last_change(
    client: TestClient, session: Session
) -> None:
    project, owner = _project(session)
    sign_in(client, owner.email)
    assert client.get(f"/projects/{project.slug}/guidelines/diff?a=1&b=9").status_code == 404
    assert client.get(f"/projects/{project.slug}/guidelines/diff?a=x").status_code == 422
    only = soup(client.get(f"/projects/{project.slug}/guidelines/diff"))
    assert "The two versions are the same." in only.get_text()


def test_members_read_history_only_owners_edit_strangers_see_nothing(
    client: TestClient, session: Session
) -> None:
    project, _ = _project(session)
    for role in ("worker", "reviewer"):
        client.cookies.clear()
        member = join(session, project, make_user(session, role=role), role)
        sign_in(client, member.email)
        assert client.get(f"/projects/{project.slug}/guidelines").status_code == 200
        assert client.get(f"/projects/{project.slug}/guidelines/diff").status_code == 200
        assert client.get(f"/projects/{project.slug}/guidelines/edit").status_code == 403
        token = csrf_of(client.get("/projects"))
        data = {"csrf_token": token, "body": "hijack", "base_version": "1"}
        assert (
            client.post(f"/projects/{project.slug}/guidelines/edit", data=data).status_code == 403
        )
    client.cookies.clear()
    sign_in(client, make_user(session, role="owner").email)
    for path in ("guidelines", "guidelines/edit", "guidelines/diff"):
        assert client.get(f"/projects/{project.slug}/{path}").status_code == 404
    assert [v.version for v in list_guidelines(session, project=project)] == [1]
