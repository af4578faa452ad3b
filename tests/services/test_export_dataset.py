"""export_dataset on SQLite and PostgreSQL: items round trips, submissions rows, records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services import exports
from judgeloop.services.exports import export_dataset
from judgeloop.services.imports import import_items
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Event, Project, User
from tests.factories import join, make_project, make_user
from tests.services.test_import_items import items_of

QUESTIONS = [
    {
        "key": "quality",
        "kind": "rating",
        "title": "How good is the answer?",
        "per_candidate": True,
        "explanation": "optional",
    },
    {"key": "pref", "kind": "preference", "title": "Which is better?"},
]
CHAT = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "What is 2+2?"},
]
ROWS: list[dict[str, Any]] = [
    {
        "external_id": "q1",
        "prompt": "Capital of France?",
        "candidates": [{"text": "Paris", "model": "gpt4"}, {"text": "Lyon", "model": "llama"}],
        "metadata": {"domain": "geo", "difficulty": 1},
    },
    {"messages": CHAT, "candidates": ["4", "5"], "metadata": {"tags": ["math", "chat"]}},
    {
        "prompt": "Gold one",
        "candidates": ["good", "bad"],
        "gold": {"quality": {"A": 5, "B": 1}, "pref": {"winner": "A", "strength": 2}},
    },
]


def _setup(session: Session, tmp_path: Path) -> tuple[User, Project]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, questions=QUESTIONS)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    import_items(session, project=project, actor=owner, path=path)
    return owner, project


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
def test_items_export_imports_back_unchanged(session: Session, tmp_path: Path, fmt: str) -> None:
    owner, project = _setup(session, tmp_path)
    out = tmp_path / f"items.{fmt}"
    record = export_dataset(
        session, project=project, actor=owner, what="items", format=fmt, path=out
    )
    assert record.row_count == 3 and record.what == "items" and record.format == fmt
    assert len(record.sha256) == 64
    fresh = make_project(session, owner=owner, questions=QUESTIONS)
    report = import_items(session, project=fresh, actor=owner, path=out)
    assert report.items_added == 3 and report.rejected == 0
    assert items_of(session, fresh) == items_of(session, project)
    again = import_items(session, project=fresh, actor=owner, path=out)
    assert again.items_added == 0 and again.duplicates == 3


def test_export_record_hash_and_event(session: Session, tmp_path: Path) -> None:
    owner, project = _setup(session, tmp_path)
    out = tmp_path / "items.jsonl"
    record = export_dataset(
        session, project=project, actor=owner, what="items", format="jsonl", path=out
    )
    assert record.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record.path == str(out) and record.actor_id == owner.id
    event = session.scalar(select(Event).where(Event.kind == "export.finished"))
    assert event is not None and event.payload["rows"] == 3
    assert not list(tmp_path.glob("*.part"))
    hf = export_dataset(
        session, project=project, actor=owner, what="items", format="hf", path=tmp_path / "hf"
    )
    assert (tmp_path / "hf").is_dir() and len(hf.sha256) == 64


def _judge(session: Session, project: Project) -> list[int]:
    from judgeloop.services.items import list_items

    items = list_items(session, project_id=project.id)
    ids = []
    for n, worker in enumerate([make_user(session), make_user(session)]):
        join(session, project, worker)
        for item in items:
            answers = [
                {"question": "quality", "candidate": "A", "value": 4 - n, "explanation": "clear"},
                {"question": "quality", "candidate": "B", "value": 2},
                {"question": "pref", "value": {"winner": "A", "strength": 2}},
            ]
            data = SubmissionCreate(
                item_id=item.id,
                submission_key=f"key-{item.id:04d}-{worker.id:04d}-{n}",
                answers=answers,  # type: ignore[arg-type]
                seconds_spent=10 + n,
                explanation="A is right",
            )
            sub, _ = submit_judgment(session, worker=worker, data=data)
            ids.append(sub.id)
    return ids


def test_submissions_jsonl_rows(session: Session, tmp_path: Path) -> None:
    owner, project = _setup(session, tmp_path)
    ids = _judge(session, project)
    out = tmp_path / "subs.jsonl"
    record = export_dataset(
        session, project=project, actor=owner, what="submissions", format="jsonl", path=out
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert record.row_count == len(ids) == 6
    assert [r["submission_id"] for r in rows] == sorted(ids)
    first = rows[0]
    assert first["external_id"] == "q1" and first["prompt"] == "Capital of France?"
    assert first["candidates"][0] == {"key": "A", "text": "Paris", "model": "gpt4"}
    assert first["answers"] == {"quality": {"A": 4, "B": 2}, "pref": {"winner": "A", "strength": 2}}
    assert first["explanations"] == {"quality": {"A": "clear"}}
    assert first["explanation"] == "A is right" and first["seconds_spent"] == 10.0
    assert first["state"] == "submitted" and first["source"] == "api"
    assert first["guideline_version"] == 1 and first["created_at"].endswith("+00:00")
    assert rows[1]["messages"] == CHAT


def test_submissions_parquet_keeps_answers_as_json(session: Session, tmp_path: Path) -> None:
    owner, project = _setup(session, tmp_path)
    _judge(session, project)
    out = tmp_path / "subs.parquet"
    export_dataset(
        session, project=project, actor=owner, what="submissions", format="parquet", path=out
    )
    table = pq.read_table(out)
    assert table.num_rows == 6
    row = table.to_pylist()[0]
    assert json.loads(row["answers"])["quality"] == {"A": 4, "B": 2}
    assert row["candidates"][1]["model"] == "llama"
    assert row["created_at"].tzinfo is not None


def test_keyset_pages_cover_everything_in_order(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)
    owner, project = _setup(session, tmp_path)
    _judge(session, project)
    items = tmp_path / "items.jsonl"
    export_dataset(session, project=project, actor=owner, what="items", format="jsonl", path=items)
    ids = [json.loads(line)["item_id"] for line in items.read_text().splitlines()]
    assert len(ids) == 3 and ids == sorted(ids)
    subs = tmp_path / "subs.jsonl"
    record = export_dataset(
        session, project=project, actor=owner, what="submissions", format="jsonl", path=subs
    )
    assert record.row_count == 6
    seen: list[int] = []
    export_dataset(
        session, project=project, actor=owner, what="items", format="jsonl",
        path=tmp_path / "again.jsonl", on_progress=seen.append,
    )  # fmt: skip
    assert seen == []  # fewer rows than one progress step


def test_gold_is_exported_for_owners(session: Session, tmp_path: Path) -> None:
    owner, project = _setup(session, tmp_path)
    out = tmp_path / "items.jsonl"
    export_dataset(session, project=project, actor=owner, what="items", format="jsonl", path=out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["is_gold"] for r in rows] == [False, False, True]
    gold = {(g["question"], g["candidate"]): g["value"] for g in rows[2]["gold"]}
    assert gold[("quality", "A")] == 5 and gold[("pref", "")] == {"winner": "A", "strength": 2}


def test_wrong_what_or_format(session: Session, tmp_path: Path) -> None:
    owner, project = _setup(session, tmp_path)
    with pytest.raises(InvalidInput, match="unknown export"):
        export_dataset(
            session, project=project, actor=owner, what="x", format="jsonl", path=tmp_path / "x"
        )
    with pytest.raises(InvalidInput, match="not 'csv'"):
        export_dataset(
            session, project=project, actor=owner, what="items", format="csv", path=tmp_path / "x"
        )
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not a dataset"):
        export_dataset(
            session,
            project=project,
            actor=owner,
            what="items",
            format="hf",
            path=tmp_path / "stuff",
        )
    assert (tmp_path / "stuff" / "keep.txt").exists()


def test_empty_project_exports_empty_files(session: Session, tmp_path: Path) -> None:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner)
    for fmt in ("jsonl", "parquet"):
        record = export_dataset(
            session, project=project, actor=owner, what="submissions", format=fmt,
            path=tmp_path / f"empty.{fmt}",
        )  # fmt: skip
        assert record.row_count == 0
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0
