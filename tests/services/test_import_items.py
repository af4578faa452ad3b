"""import_items on SQLite and PostgreSQL: formats, mappings, errors, duplicates, gold."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.export.mapping import ColumnMapping
from judgeloop.services.imports import import_items
from judgeloop.store.models import (
    Candidate,
    Event,
    GoldAnswer,
    ImportRecord,
    Item,
    ModelVersion,
    Project,
    User,
)
from tests.factories import make_project, make_user
from tests.paths import SHARED_DATA

ALPACA = SHARED_DATA / "alpaca_eval" / "model_outputs"
PER_CANDIDATE = [
    {
        "key": "quality",
        "kind": "rating",
        "title": "How good is the answer?",
        "per_candidate": True,
        "config": {"min": 1, "max": 5},
    }
]


def _owner_project(session: Session, **kw: Any) -> tuple[User, Project]:
    owner = make_user(session, role="owner")
    return owner, make_project(session, owner=owner, **kw)


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _alpaca(n: int) -> list[dict[str, Any]]:
    outputs = {}
    for model in ("gpt4", "alpaca-7b"):
        with gzip.open(ALPACA / f"{model}.json.gz", "rt", encoding="utf-8") as fh:
            outputs[model] = json.load(fh)[:n]
    return [
        {
            "id": f"alpaca-{i}",
            "instruction": outputs["gpt4"][i]["instruction"],
            "dataset": outputs["gpt4"][i]["dataset"],
            "out_gpt4": outputs["gpt4"][i]["output"],
            "out_alpaca": outputs["alpaca-7b"][i]["output"],
        }
        for i in range(n)
    ]


ALPACA_MAPPING = ColumnMapping(
    prompt="instruction",
    answers=["out_gpt4", "out_alpaca"],
    models=["gpt4", "alpaca-7b"],
    id="id",
    metadata=["dataset"],
)


def items_of(session: Session, project: Project) -> list[tuple[Any, ...]]:
    """Every item of the project with its candidates, comparable across projects."""
    out = []
    items = session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))
    for item in items:
        cands = session.execute(
            select(Candidate.key, Candidate.text, ModelVersion.name)
            .outerjoin(ModelVersion, ModelVersion.id == Candidate.model_version_id)
            .where(Candidate.item_id == item.id)
            .order_by(Candidate.position)
        ).all()
        gold = session.execute(
            select(GoldAnswer.question_key, GoldAnswer.candidate_key, GoldAnswer.value)
            .where(GoldAnswer.item_id == item.id)
            .order_by(GoldAnswer.question_key, GoldAnswer.candidate_key)
        ).all()
        out.append(
            (
                item.external_id,
                item.prompt,
                json.dumps(item.messages),
                json.dumps(item.meta, sort_keys=True),
                item.is_gold,
                item.content_hash,
                [tuple(c) for c in cands],
                [tuple(g) for g in gold],
            )
        )
    return out


def _count(session: Session, project: Project) -> int:
    return session.scalar(select(func.count()).where(Item.project_id == project.id)) or 0


def test_jsonl_with_real_model_outputs(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = _write_jsonl(tmp_path / "alpaca.jsonl", _alpaca(5))
    seen: list[int] = []
    report = import_items(
        session,
        project=project,
        actor=owner,
        path=path,
        mapping=ALPACA_MAPPING,
        on_progress=seen.append,
    )
    assert (report.rows_read, report.items_added, report.duplicates, report.rejected) == (
        5,
        5,
        0,
        0,
    )
    assert seen == [5]
    [first, *_] = items_of(session, project)
    assert first[0] == "alpaca-0"
    assert json.loads(first[3]) == {"dataset": _alpaca(1)[0]["dataset"]}
    assert [(k, m) for k, _, m in first[6]] == [("A", "gpt4"), ("B", "alpaca-7b")]
    record = session.get(ImportRecord, report.import_id)
    assert record is not None and record.items_added == 5 and record.format == "jsonl"
    assert record.mapping["prompt"] == "instruction"
    event = session.scalar(select(Event).where(Event.kind == "import.finished"))
    assert event is not None and event.payload["items_added"] == 5


def test_reimport_adds_nothing(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = _write_jsonl(tmp_path / "a.jsonl", _alpaca(4))
    import_items(session, project=project, actor=owner, path=path, mapping=ALPACA_MAPPING)
    again = import_items(session, project=project, actor=owner, path=path, mapping=ALPACA_MAPPING)
    assert (again.items_added, again.duplicates) == (0, 4)
    assert _count(session, project) == 4
    other = make_project(session, owner=owner)
    into_other = import_items(
        session, project=other, actor=owner, path=path, mapping=ALPACA_MAPPING
    )
    assert into_other.items_added == 4


def test_duplicates_within_one_file(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    row = {"prompt": "p", "candidates": ["x"]}
    path = _write_jsonl(tmp_path / "a.jsonl", [row, row, {"prompt": "q"}])
    report = import_items(session, project=project, actor=owner, path=path)
    assert (report.items_added, report.duplicates) == (2, 1)


def test_csv_with_model_columns(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = tmp_path / "a.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "a", "b", "model_a", "model_b", "domain"])
        writer.writerow(['Why, "really"?\nTell me', "because", "", "m1", "m2", "x"])
        writer.writerow(["How?", "so", "thus", "m1", "m2", ""])
    mapping = ColumnMapping(
        prompt="question",
        answers=["a", "b"],
        model_columns=["model_a", "model_b"],
        metadata=["domain"],
    )
    report = import_items(session, project=project, actor=owner, path=path, mapping=mapping)
    assert report.items_added == 2
    first, second = items_of(session, project)
    assert first[1] == 'Why, "really"?\nTell me' and first[6] == [("A", "because", "m1")]
    assert json.loads(second[3]) == {} and len(second[6]) == 2


def test_multi_turn_messages(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    chat = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]
    path = _write_jsonl(tmp_path / "chat.jsonl", [{"messages": chat, "candidates": ["No."]}])
    import_items(session, project=project, actor=owner, path=path)
    item = session.scalar(select(Item).where(Item.project_id == project.id))
    assert item is not None and item.messages == chat and item.prompt == "Tell me a joke."


def test_bad_rows_fail_the_whole_import(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    rows: list[Any] = [{"prompt": f"p{i}"} for i in range(3)]
    rows += [{"prompt": 5}, {"nothing": 1}]
    rows += [{"prompt": f"x{i}", "candidates": "oops"} for i in range(60)]
    path = _write_jsonl(tmp_path / "a.jsonl", rows)
    with path.open("a") as fh:
        fh.write('{"prompt": "broken\n')
    with pytest.raises(InvalidInput) as err:
        import_items(session, project=project, actor=owner, path=path)
    exc = err.value
    assert "63 row(s) of a.jsonl are invalid; nothing was imported" in exc.message
    assert len(exc.rows) == 50 and exc.total == 63
    assert (exc.rows[0].line, exc.rows[0].field, exc.rows[0].reason) == (
        4,
        "prompt",
        "expected text",
    )
    assert exc.rows[1].line == 5 and exc.rows[1].reason == "missing column"
    assert "... and 13 more" in str(exc)
    assert _count(session, project) == 0
    assert session.scalar(select(func.count()).select_from(ImportRecord)) == 0


def test_skip_invalid_writes_the_rejected_rows(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = _write_jsonl(tmp_path / "a.jsonl", [{"prompt": "ok"}, {"prompt": ""}, {"prompt": "ok2"}])
    with path.open("a") as fh:
        fh.write("{not json}\n")
    report = import_items(session, project=project, actor=owner, path=path, skip_invalid=True)
    assert (report.items_added, report.rejected) == (2, 2)
    assert report.rejected_path == str(tmp_path / "a.jsonl.rejected.jsonl")
    lines = [json.loads(x) for x in Path(report.rejected_path).read_text().splitlines()]
    assert lines[0] == {"line": 2, "reasons": ["prompt: empty prompt"], "row": {"prompt": ""}}
    assert lines[1]["line"] == 4 and "malformed JSON" in lines[1]["reasons"][0]
    assert lines[1]["row"] == "{not json}\n"
    assert [(e.line, e.field) for e in report.errors] == [(2, "prompt"), (4, "")]


def test_file_level_problems_are_clear_and_write_nothing(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    cases = {
        "empty.jsonl": (b"", "empty.jsonl is empty"),
        "latin.jsonl": ('{"prompt": "é"}\n'.encode("latin-1"), "not UTF-8"),
        "header.csv": (
            b"question,answer\nq,a\n",
            r"lacks the column\(s\) prompt or messages; its columns are: question, answer",
        ),
        "bad.parquet": (b"PAR1 nope", "not a readable Parquet file"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InvalidInput, match=message):
            import_items(session, project=project, actor=owner, path=tmp_path / name)
    mapping = ColumnMapping(prompt="question", answers=["answer", "answer_b"])
    with pytest.raises(InvalidInput, match="lacks the column") as err:
        import_items(
            session, project=project, actor=owner, path=tmp_path / "header.csv", mapping=mapping
        )
    assert [(r.line, r.field) for r in err.value.rows] == [(1, "answer_b")]
    assert _count(session, project) == 0


def test_too_long_line(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = _write_jsonl(tmp_path / "a.jsonl", [{"prompt": "short"}, {"prompt": "x" * 5000}])
    with pytest.raises(InvalidInput) as err:
        import_items(session, project=project, actor=owner, path=path, max_line_bytes=1000)
    assert err.value.rows[0].line == 2 and "longer than 1000 bytes" in err.value.rows[0].reason
    report = import_items(
        session, project=project, actor=owner, path=path, max_line_bytes=1000, skip_invalid=True,
        rejected_path=tmp_path / "rejected.jsonl",
    )  # fmt: skip
    assert (report.items_added, report.rejected) == (1, 1)
    assert (tmp_path / "rejected.jsonl").exists()


def test_parquet_and_hf_inputs(session: Session, tmp_path: Path) -> None:
    import datasets

    owner, project = _owner_project(session)
    rows = _alpaca(3)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    report = import_items(
        session, project=project, actor=owner, path=tmp_path / "a.parquet", mapping=ALPACA_MAPPING
    )
    assert report.items_added == 3 and report.format == "parquet"
    other = make_project(session, owner=owner)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    report = import_items(
        session, project=other, actor=owner, path=tmp_path / "ds", mapping=ALPACA_MAPPING
    )
    assert report.items_added == 3 and report.format == "hf"
    assert [i[1:] for i in items_of(session, project)] == [i[1:] for i in items_of(session, other)]


def test_gold_answers_are_stored_only_as_gold(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session, questions=PER_CANDIDATE)
    rows = [
        {"prompt": "2+2?", "candidates": ["4", "5"], "gold": {"quality": {"A": 5, "B": 1}}},
        {"prompt": "3+3?", "candidates": ["6", "7"]},
    ]
    path = _write_jsonl(tmp_path / "a.jsonl", rows)
    import_items(session, project=project, actor=owner, path=path)
    gold_item, plain = items_of(session, project)
    assert gold_item[4] is True and plain[4] is False
    assert gold_item[7] == [("quality", "A", 5), ("quality", "B", 1)]
    assert "gold" not in json.loads(gold_item[3])
    bad = _write_jsonl(
        tmp_path / "b.jsonl", [{"prompt": "x", "candidates": ["y"], "gold": {"quality": {"A": 7}}}]
    )
    with pytest.raises(InvalidInput) as err:
        import_items(session, project=project, actor=owner, path=bad)
    assert err.value.rows[0].field == "gold.answers.quality.A.value"


def test_imported_rows_read_back_like_orm_rows(session: Session, tmp_path: Path) -> None:
    owner, project = _owner_project(session)
    path = _write_jsonl(tmp_path / "a.jsonl", [{"prompt": "p", "candidates": ["x"]}])
    import_items(session, project=project, actor=owner, path=path)
    session.expire_all()
    item = session.scalar(select(Item).where(Item.project_id == project.id))
    assert item is not None
    assert item.messages is None and item.meta == {} and item.priority == 0
    assert item.created_at.year >= 2024 and item.import_id is not None
    assert item.is_open is True and item.slots_taken == 0
    cand = session.scalar(select(Candidate).where(Candidate.item_id == item.id))
    assert cand is not None and (cand.key, cand.position, cand.text) == ("A", 0, "x")
