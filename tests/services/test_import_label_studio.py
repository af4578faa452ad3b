"""import_label_studio on SQLite and PostgreSQL: tasks, annotators, round trips, errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput
from judgeloop.schemas.projects import ProjectUpdate
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services.exports import export_dataset
from judgeloop.services.imports import import_items, import_label_studio
from judgeloop.services.items import list_items
from judgeloop.services.projects import update_project
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Item, Judgment, Project, ProjectMember, Submission, User
from tests.factories import join, make_project, make_user
from tests.services.test_import_items import items_of

QUESTIONS: list[dict[str, Any]] = [
    {"key": "quality", "kind": "rating", "title": "Quality", "per_candidate": True},
    {"key": "pref", "kind": "preference", "title": "Which is better?"},
    {"key": "topic", "kind": "choice", "title": "Topic", "config": {"options": [
        {"value": "math", "label": "Mathematics"}, {"value": "geo", "label": "Geography"}]}},
    {"key": "note", "kind": "text", "title": "Notes", "required": False},
]  # fmt: skip
ROWS: list[dict[str, Any]] = [
    {"external_id": "q1", "prompt": "Capital of France?",
     "candidates": [{"text": "Paris", "model": "gpt4"}, {"text": "Lyon", "model": "llama"}]},
    {"prompt": "2+2?", "candidates": ["4", "5"], "metadata": {"domain": "math"},
     "gold": {"topic": "math"}},
]  # fmt: skip


def _answers(n: int, topic: str) -> list[dict[str, Any]]:
    return [
        {"question": "quality", "candidate": "A", "value": 5 - n},
        {"question": "quality", "candidate": "B", "value": 1 + n},
        {
            "question": "pref",
            "value": {"winner": "A", "strength": 3} if n == 0 else {"winner": "tie"},
        },
        {"question": "topic", "value": topic},
        {"question": "note", "value": f"worker {n} was here"},
    ]


def _judged_project(session: Session, tmp_path: Path) -> tuple[User, Project]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=QUESTIONS)
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    import_items(session, project=project, actor=owner, path=source)
    for n in range(2):
        worker = join(session, project, make_user(session))
        for item in list_items(session, project_id=project.id):
            data = SubmissionCreate(
                item_id=item.id,
                submission_key=f"sub-{item.id:04d}-{n}-{project.id:04d}",
                answers=_answers(n, "geo" if item.external_id == "q1" else "math"),  # type: ignore[arg-type]
                seconds_spent=20.0 + n,
            )
            submit_judgment(session, worker=worker, data=data)
    return owner, project


def _judgments(session: Session, project: Project) -> list[tuple[Any, ...]]:
    """(item content hash, seconds, question, candidate, value) for all judgments, sorted."""
    rows = session.execute(
        select(
            Item.content_hash,
            Submission.seconds_spent,
            Judgment.question_key,
            Judgment.candidate_key,
            Judgment.value,
        )
        .join(Submission, Submission.id == Judgment.submission_id)
        .join(Item, Item.id == Submission.item_id)
        .where(Submission.project_id == project.id)
    ).all()
    return sorted((h, s, q, c, json.dumps(v, sort_keys=True)) for h, s, q, c, v in rows)


def _export(session: Session, owner: User, project: Project, path: Path) -> Path:
    export_dataset(
        session, project=project, actor=owner, what="label-studio", format="json", path=path
    )
    return path


def test_export_writes_tasks_and_label_config(session: Session, tmp_path: Path) -> None:
    owner, project = _judged_project(session, tmp_path)
    path = _export(session, owner, project, tmp_path / "ls.json")
    tasks = json.loads(path.read_text())
    assert len(tasks) == 2 and len(tasks[0]["annotations"]) == 2
    assert tasks[0]["data"]["answer_A"] == "Paris" and tasks[0]["data"]["model_A"] == "gpt4"
    assert tasks[1]["annotations"][-1]["ground_truth"] is True
    config = ET.fromstring((tmp_path / "ls.label_config.xml").read_text())
    names = {el.get("name") for el in config.iter()}
    assert {"prompt", "answer_A", "answer_B", "quality-A", "pref", "topic", "note"} <= names


def test_round_trip_label_studio_import_export_import(session: Session, tmp_path: Path) -> None:
    owner, project = _judged_project(session, tmp_path)
    first = _export(session, owner, project, tmp_path / "ls1.json")
    copy = make_project(session, owner=owner, questions=QUESTIONS)
    report = import_label_studio(session, project=copy, actor=owner, path=first)
    assert (report.items_added, report.submissions_added, report.rejected) == (2, 4, 0)
    assert items_of(session, copy) == items_of(session, project)
    assert _judgments(session, copy) == _judgments(session, project)
    sources = set(
        session.scalars(select(Submission.source).where(Submission.project_id == copy.id))
    )
    assert sources == {"import"}
    second = _export(session, owner, copy, tmp_path / "ls2.json")
    third = make_project(session, owner=owner, questions=QUESTIONS)
    import_label_studio(session, project=third, actor=owner, path=second)
    assert items_of(session, third) == items_of(session, project)
    assert _judgments(session, third) == _judgments(session, project)


def test_reimport_adds_nothing(session: Session, tmp_path: Path) -> None:
    owner, project = _judged_project(session, tmp_path)
    path = _export(session, owner, project, tmp_path / "ls.json")
    copy = make_project(session, owner=owner, questions=QUESTIONS)
    import_label_studio(session, project=copy, actor=owner, path=path)
    again = import_label_studio(session, project=copy, actor=owner, path=path)
    assert (again.items_added, again.duplicates, again.submissions_added) == (0, 2, 0)
    count = session.scalar(select(func.count()).where(Submission.project_id == copy.id))
    assert count == 4


def test_annotators_become_inactive_members(session: Session, tmp_path: Path) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=QUESTIONS[2:3])
    tasks = [
        {"id": 1, "data": {"text": "Where is Paris?"}, "annotations": [
            {"id": 10, "completed_by": 7, "lead_time": 3.5,
             "result": [{"from_name": "topic", "to_name": "text", "type": "choices",
                         "value": {"choices": ["geo"]}},
                        {"from_name": "sentiment", "value": {"choices": ["pos"]}}]},
            {"id": 11, "completed_by": 8, "was_cancelled": True, "result": []},
        ]},
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    report = import_label_studio(session, project=project, actor=owner, path=path)
    assert (report.items_added, report.submissions_added) == (1, 1)
    user = session.scalar(select(User).where(User.email == "ls-7@import.invalid"))
    assert user is not None and not user.is_active and user.role == "worker"
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    assert role == "worker"
    sub = session.scalar(select(Submission).where(Submission.worker_id == user.id))
    assert sub is not None and sub.seconds_spent == 3.5 and sub.source == "import"
    values = list(session.scalars(select(Judgment.value).where(Judgment.submission_id == sub.id)))
    assert values == ["geo"]
    assert session.scalar(select(User).where(User.email == "ls-8@import.invalid")) is None


def test_invalid_annotation_fails_everything_unless_skipped(
    session: Session, tmp_path: Path
) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=QUESTIONS[2:3])
    good = {
        "data": {"prompt": "ok"},
        "annotations": [
            {"completed_by": 1, "result": [{"from_name": "topic", "value": {"choices": ["math"]}}]}
        ],
    }
    bad = {
        "data": {"prompt": "bad"},
        "annotations": [
            {"completed_by": 1, "result": [{"from_name": "topic", "value": {"choices": ["art"]}}]}
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps([good, bad, {"nodata": True}]))  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        import_label_studio(session, project=project, actor=owner, path=path)
    assert [(e.line, e.field) for e in err.value.rows] == [
        (2, "annotations.0.answers.topic.value"),
        (3, "data"),
    ]
    assert session.scalar(select(func.count()).where(Submission.project_id == project.id)) == 0
    report = import_label_studio(
        session, project=project, actor=owner, path=path, skip_invalid=True
    )
    assert (report.items_added, report.submissions_added, report.rejected) == (1, 1, 2)
    assert report.rejected_path is not None and Path(report.rejected_path).exists()


def test_not_json_and_inactive_project(session: Session, tmp_path: Path) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=QUESTIONS[2:3])
    path = tmp_path / "export.json"
    path.write_text('{"tasks": []}')
    with pytest.raises(InvalidInput, match="expected a JSON array"):
        import_label_studio(session, project=project, actor=owner, path=path)
    update_project(session, project=project, data=ProjectUpdate(state="paused"))
    with pytest.raises(Conflict, match="paused"):
        import_label_studio(session, project=project, actor=owner, path=path)
