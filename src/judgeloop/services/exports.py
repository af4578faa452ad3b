"""Exports: a project's items, submissions, Label Studio tasks or consensus, to a file.

Rows are read with keyset pagination (``id > last``, a page at a time), built by the
pure `export.rows` / `export.labelstudio` functions and streamed by `export.writers`;
no table is ever loaded whole. Each export is recorded (ExportRecord with row count
and sha256) and journaled.

Items exports import again unchanged with the default ColumnMapping. A Label Studio
export writes the tasks (JSON array) to `path` and the project's labelling config to
``<path without suffix>.label_config.xml`` beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.export.consensus_rows import ConsensusRecord, consensus_row
from judgeloop.export.labelstudio import item_task, label_config
from judgeloop.export.rows import (
    AnswerRecord,
    CandidateRecord,
    ItemRecord,
    SubmissionRecord,
    item_row,
    submission_row,
)
from judgeloop.export.writers import (
    sha256_of,
    write_hf,
    write_json_array,
    write_jsonl,
    write_parquet,
)
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.consensus import consensus_by_item
from judgeloop.store.models import (
    Candidate,
    Event,
    ExportRecord,
    GoldAnswer,
    Item,
    Judgment,
    ModelVersion,
    Project,
    Submission,
    User,
)

PAGE = 1000
FORMATS = {
    "items": ("jsonl", "parquet", "hf"),
    "submissions": ("jsonl", "parquet", "hf"),
    "label-studio": ("json",),
    "consensus": ("jsonl",),
}
Progress = Callable[[int], None]


def export_dataset(
    session: Session,
    *,
    project: Project,
    actor: User | None,
    what: str,
    format: str,
    path: Path | str,
    on_progress: Progress | None = None,
) -> ExportRecord:
    """Write a project's items, submissions or Label Studio tasks to `path`.

    Args:
        session: the database session (read in pages; the record is committed at the end).
        project: the project to export.
        actor: who exports (recorded and journaled).
        what: "items", "submissions", "label-studio" or "consensus" (each item's
            stored consensus beside its raw judgments; run aggregation first).
        format: "jsonl", "parquet" or "hf" (a `datasets` folder) for items and
            submissions; "json" for label-studio; "jsonl" for consensus.
        path: the file (or folder, for "hf") to write.
        on_progress: called with the number of rows written so far, every 2,000 rows.

    Returns:
        The stored ExportRecord: row count, sha256 of the file (or of the folder's files).

    Raises:
        InvalidInput: an unknown `what`, or a format it cannot be written in.
    """
    if what not in FORMATS:
        raise InvalidInput(f"unknown export {what!r} (known: {', '.join(FORMATS)})")
    if format not in FORMATS[what]:
        raise InvalidInput(f"{what} exports as {', '.join(FORMATS[what])}, not {format!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    filters: dict[str, Any] = {}
    if what == "label-studio":
        count, config_path = _write_label_studio(session, project, path, on_progress)
        filters["label_config_path"] = str(config_path)
    elif what == "consensus":
        count = write_jsonl(path, _consensus_rows(session, project), on_progress=on_progress)
    else:
        rows = (
            _item_rows(session, project) if what == "items" else _submission_rows(session, project)
        )
        if format == "jsonl":
            count = write_jsonl(path, rows, on_progress=on_progress)
        else:
            write = write_parquet if format == "parquet" else write_hf
            count = write(path, rows, what=what, on_progress=on_progress)
    return _record(session, project, actor, what, format, path, count, filters)


def _record(
    session: Session,
    project: Project,
    actor: User | None,
    what: str,
    fmt: str,
    path: Path,
    count: int,
    filters: dict[str, Any],
) -> ExportRecord:
    record = ExportRecord(
        project_id=project.id,
        actor_id=actor.id if actor else None,
        what=what,
        format=fmt,
        path=str(path),
        row_count=count,
        sha256=sha256_of(path),
        filters=filters,
    )
    session.add(record)
    session.flush()
    payload = {"export_id": record.id, "what": what, "format": fmt, "rows": count}
    session.add(
        Event(
            kind="export.finished", actor_id=record.actor_id, project_id=project.id, payload=payload
        )
    )
    session.commit()
    return record


def _among(column: Any, ids: Sequence[int]) -> Any:
    """Return ``column IN ids`` with the ids' range too.

    The range keeps the index scan bounded even when the planner's statistics are stale
    (right after a large import).
    """
    return and_(column.between(min(ids), max(ids)), column.in_(ids))


def _item_pages(session: Session, project_id: int) -> Iterator[list[ItemRecord]]:
    """Yield the project's items a page at a time, in id order, with candidates and gold."""
    after = 0
    columns = (Item.id, Item.external_id, Item.prompt, Item.messages, Item.meta, Item.is_gold)
    while True:
        query = (
            select(*columns)
            .where(Item.project_id == project_id, Item.id > after)
            .order_by(Item.id)
            .limit(PAGE)
        )
        page = session.execute(query).all()
        if not page:
            return
        yield _item_records(session, page)
        after = page[-1].id


def _item_records(session: Session, page: Sequence[Any]) -> list[ItemRecord]:
    ids = [row.id for row in page]
    cands = _candidates(session, ids)
    gold = _gold(session, [row.id for row in page if row.is_gold])
    return [
        ItemRecord(
            id=row.id,
            prompt=row.prompt,
            external_id=row.external_id,
            messages=row.messages,
            metadata=row.meta or {},
            is_gold=row.is_gold,
            candidates=cands.get(row.id, []),
            gold=gold.get(row.id, []),
        )
        for row in page
    ]


def _items_by_id(session: Session, ids: Sequence[int]) -> dict[int, ItemRecord]:
    columns = (Item.id, Item.external_id, Item.prompt, Item.messages, Item.meta, Item.is_gold)
    page = session.execute(select(*columns).where(_among(Item.id, ids)).order_by(Item.id)).all()
    return {record.id: record for record in _item_records(session, page)}


def _candidates(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateRecord]]:
    out: dict[int, list[CandidateRecord]] = {}
    query = (
        select(Candidate.item_id, Candidate.key, Candidate.text, ModelVersion.name)
        .outerjoin(ModelVersion, ModelVersion.id == Candidate.model_version_id)
        .where(_among(Candidate.item_id, ids))
        .order_by(Candidate.item_id, Candidate.position)
    )
    for item_id, key, text, model in session.execute(query):
        out.setdefault(item_id, []).append(CandidateRecord(key, text, model))
    return out


def _gold(session: Session, ids: Sequence[int]) -> dict[int, list[AnswerRecord]]:
    out: dict[int, list[AnswerRecord]] = {}
    if not ids:
        return out
    columns = (GoldAnswer.item_id, GoldAnswer.question_key, GoldAnswer.candidate_key)
    query = (
        select(*columns, GoldAnswer.value, GoldAnswer.explanation)
        .where(_among(GoldAnswer.item_id, ids))
        .order_by(GoldAnswer.id)
    )
    for item_id, question, cand, value, explanation in session.execute(query):
        out.setdefault(item_id, []).append(AnswerRecord(question, cand, value, explanation))
    return out


def _item_rows(session: Session, project: Project) -> Iterator[dict[str, Any]]:
    for page in _item_pages(session, project.id):
        yield from (item_row(item) for item in page)


_SUBMISSION_COLUMNS = (
    Submission.id,
    Submission.item_id,
    Submission.worker_id,
    Submission.guideline_version,
    Submission.seconds_spent,
    Submission.state,
    Submission.source,
    Submission.created_at,
    Submission.explanation,
)


def _submission_pages(
    session: Session, where: Sequence[Any], items: dict[int, ItemRecord] | None = None
) -> Iterator[list[SubmissionRecord]]:
    """Yield submissions matching `where` a page at a time, with items and judgments."""
    after = 0
    while True:
        query = select(*_SUBMISSION_COLUMNS).where(*where, Submission.id > after)
        page = session.execute(query.order_by(Submission.id).limit(PAGE)).all()
        if not page:
            return
        known = (
            items if items is not None else _items_by_id(session, sorted({r.item_id for r in page}))
        )
        judgments = _judgments(session, [row.id for row in page])
        yield [
            SubmissionRecord(
                id=row.id,
                item=known[row.item_id],
                worker_id=row.worker_id,
                guideline_version=row.guideline_version,
                seconds_spent=row.seconds_spent,
                state=row.state,
                source=row.source,
                created_at=_utc(row.created_at),
                explanation=row.explanation,
                judgments=judgments.get(row.id, []),
            )
            for row in page
        ]
        after = page[-1].id


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _judgments(session: Session, ids: Sequence[int]) -> dict[int, list[AnswerRecord]]:
    out: dict[int, list[AnswerRecord]] = {}
    columns = (Judgment.submission_id, Judgment.question_key, Judgment.candidate_key)
    query = (
        select(*columns, Judgment.value, Judgment.explanation)
        .where(_among(Judgment.submission_id, ids))
        .order_by(Judgment.id)
    )
    for sub_id, question, cand, value, explanation in session.execute(query):
        out.setdefault(sub_id, []).append(AnswerRecord(question, cand, value, explanation))
    return out


def _submission_rows(session: Session, project: Project) -> Iterator[dict[str, Any]]:
    for page in _submission_pages(session, [Submission.project_id == project.id]):
        yield from (submission_row(sub) for sub in page)


def _consensus_rows(session: Session, project: Project) -> Iterator[dict[str, Any]]:
    for page in _item_pages(session, project.id):
        ids = [item.id for item in page]
        consensus = consensus_by_item(session, ids)
        by_item: dict[int, list[SubmissionRecord]] = {item_id: [] for item_id in ids}
        where = [_among(Submission.item_id, ids), Submission.state != "rejected"]
        for subs in _submission_pages(session, where, {item.id: item for item in page}):
            for sub in subs:
                by_item[sub.item.id].append(sub)
        for item in page:
            records = [
                ConsensusRecord(
                    c.question_key, c.candidate_key, c.value, c.confidence, c.n_judgments, c.method
                )
                for c in consensus.get(item.id, [])
            ]
            yield consensus_row(item, records, by_item[item.id])


def _write_label_studio(
    session: Session, project: Project, path: Path, on_progress: Progress | None
) -> tuple[int, Path]:
    questions = [QuestionSpec.model_validate(q) for q in project.questions]
    keys: dict[str, None] = {}
    single_turn = []

    def tasks() -> Iterator[dict[str, Any]]:
        for page in _item_pages(session, project.id):
            by_item: dict[int, list[SubmissionRecord]] = {item.id: [] for item in page}
            where = [_among(Submission.item_id, list(by_item)), Submission.state != "rejected"]
            items = {item.id: item for item in page}
            for subs in _submission_pages(session, where, items):
                for sub in subs:
                    by_item[sub.item.id].append(sub)
            for item in page:
                keys.update(dict.fromkeys(c.key for c in item.candidates))
                if not item.messages:
                    single_turn.append(item.id)
                yield item_task(item, by_item[item.id], questions)

    count = write_json_array(path, tasks(), on_progress=on_progress)
    # The dialogue view needs every task to have messages; otherwise show the prompt only.
    multi_turn = count > 0 and not single_turn
    config_path = path.with_name(path.stem + ".label_config.xml")
    config_path.write_text(label_config(questions, list(keys), multi_turn=multi_turn), "utf-8")
    return count, config_path
