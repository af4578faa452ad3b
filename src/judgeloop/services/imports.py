"""Imports: items from JSONL, JSON, CSV, Parquet and `datasets` folders; Label Studio exports.

One pass over the file, in one transaction: rows are read as a stream, checked, and
inserted in batches with ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (a row whose
content hash the project already has is a duplicate and adds nothing). By default an
import is all-or-nothing: after the first bad row nothing more is inserted, the rest is
still checked, and the transaction is rolled back with an InvalidInput listing the first
50 problems and their count. With ``skip_invalid=True`` the good rows go in and the bad
ones are written, with their reasons, to a JSONL file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from queue import Full, Queue
from typing import Any, TypeVar
from typing import cast as type_cast

from sqlalchemy import JSON, Table, Text, bindparam, cast, func, insert, select
from sqlalchemy.types import ARRAY
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, RowError
from judgeloop.export.labelstudio import LsItem, task_to_item
from judgeloop.export.mapping import ColumnMapping, ItemDraft, content_hash, row_to_item_draft
from judgeloop.export.readers import (
    DEFAULT_MAX_LINE_BYTES,
    BadRow,
    detect_format,
    file_columns,
    read_rows,
)
from judgeloop.export.writers import RejectedRows
from judgeloop.questions.base import QuestionSpec
from judgeloop.schemas.submissions import AnswerIn, ImportReport, RowErrorRead, SubmissionCreate
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import Base, utcnow
from judgeloop.store.dialect import dialect_name, insert_ignoring_conflicts
from judgeloop.store.models import (
    Candidate,
    Event,
    GoldAnswer,
    ImportRecord,
    Item,
    ModelVersion,
    Project,
    ProjectMember,
    User,
)

BATCH_ROWS = 2000
T = TypeVar("T")
Progress = Callable[[int], None]


def _table(model: type[Base]) -> Table:
    return type_cast(Table, model.__table__)


class ItemWriter:
    """Inserts item drafts of one project in batches, skipping those it already has."""

    def __init__(self, session: Session, *, project_id: int, import_id: int | None) -> None:
        """Prepare to write into `project_id`, tagging items with `import_id`."""
        self.session = session
        self.project_id = project_id
        self.import_id = import_id
        self.now = utcnow()
        self.models: dict[str, int] = {}
        self.added = 0
        self.duplicates = 0
        self.postgres = dialect_name(session) == "postgresql"

    def add(self, drafts: Sequence[tuple[str, ItemDraft]]) -> dict[str, int]:
        """Insert the (content hash, draft) pairs the project lacks; returns hash -> new id."""
        by_hash = dict(reversed(drafts))
        if not by_hash:
            return {}
        table = _table(Item)
        params = [self._item_params(h, d) for h, d in by_hash.items()]
        returning = (table.c.id, table.c.content_hash)
        rows = self._insert(table, params, ["project_id", "content_hash"], returning)
        added = {h: i for i, h in rows}
        self.added += len(added)
        self.duplicates += len(drafts) - len(added)
        self._add_candidates(added, by_hash)
        self._add_gold(added, by_hash)
        return added

    def _insert(
        self,
        table: Table,
        rows: list[dict[str, Any]],
        conflict: list[str] | None = None,
        returning: Sequence[Any] = (),
    ) -> list[Any]:
        if not rows:
            return []
        if self.postgres:
            return _unnest_insert(self.session, table, rows, conflict, returning)
        stmt = (
            insert_ignoring_conflicts(self.session, table, conflict) if conflict else insert(table)
        )
        if returning:
            return list(self.session.execute(stmt.returning(*returning), rows).tuples())
        self.session.execute(stmt, rows)
        return []

    def ids_for(self, hashes: Iterable[str]) -> dict[str, int]:
        """Return content hash -> id for the project's items with these hashes."""
        wanted = list(set(hashes))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            query = select(Item.content_hash, Item.id).where(
                Item.project_id == self.project_id,
                Item.content_hash.in_(wanted[start : start + 500]),
            )
            out.update(dict(self.session.execute(query).tuples().all()))
        return out

    def _item_params(self, digest: str, draft: ItemDraft) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "external_id": draft.external_id,
            "prompt": draft.prompt,
            "messages": draft.messages,
            "metadata": draft.metadata,
            "content_hash": digest,
            "is_gold": draft.is_gold,
            "priority": 0,
            "import_id": self.import_id,
            "created_at": self.now,
        }

    def _add_candidates(self, added: dict[str, int], by_hash: dict[str, ItemDraft]) -> None:
        self._resolve_models({c.model for h in added for c in by_hash[h].candidates if c.model})
        rows = [
            {
                "item_id": item_id,
                "key": cand.key,
                "position": pos,
                "text": cand.text,
                "model_version_id": self.models[cand.model] if cand.model else None,
            }
            for digest, item_id in added.items()
            for pos, cand in enumerate(by_hash[digest].candidates)
        ]
        self._insert(_table(Candidate), rows)

    def _resolve_models(self, names: set[str]) -> None:
        missing = sorted(names - self.models.keys())
        if not missing:
            return
        rows = [
            {"name": n, "provider": "imported", "params": {}, "created_at": self.now}
            for n in missing
        ]
        self._insert(_table(ModelVersion), rows, ["name"])
        found = self.session.execute(
            select(ModelVersion.name, ModelVersion.id).where(ModelVersion.name.in_(missing))
        )
        self.models.update(dict(found.tuples().all()))

    def _add_gold(self, added: dict[str, int], by_hash: dict[str, ItemDraft]) -> None:
        rows = [
            {
                "item_id": item_id,
                "question_key": g.question_key,
                "candidate_key": g.candidate_key,
                "value": g.value,
                "explanation": g.explanation,
                "created_at": self.now,
            }
            for digest, item_id in added.items()
            for g in by_hash[digest].gold
        ]
        self._insert(_table(GoldAnswer), rows)


def _unnest_insert(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    conflict: list[str] | None,
    returning: Sequence[Any],
) -> list[Any]:
    """PostgreSQL: insert many rows as ``INSERT ... SELECT * FROM unnest(arrays)``.

    One statement with one array parameter per column: psycopg sends it without the
    per-placeholder cost of a 10,000-parameter VALUES list, several times faster.
    JSON travels as text and is cast back. (Dialect-specific; a candidate for dialect.py.)
    """
    names = list(rows[0])
    params: dict[str, list[Any]] = {}
    binds = []
    for name in names:
        column = table.c[name]
        is_json = isinstance(column.type, JSON)
        values = [r[name] for r in rows]
        params[f"u_{name}"] = [json.dumps(v) for v in values] if is_json else values
        element = Text() if is_json else column.type
        binds.append(bindparam(f"u_{name}", type_=ARRAY(element)))
    derived = func.unnest(*binds).table_valued(*names).render_derived()
    columns = [
        cast(derived.c[n], JSON) if isinstance(table.c[n].type, JSON) else derived.c[n]
        for n in names
    ]
    base = insert_ignoring_conflicts(session, table, conflict) if conflict else insert(table)
    stmt = base.from_select(names, select(*columns))
    if returning:
        return list(session.execute(stmt.returning(*returning), params).tuples())
    session.execute(stmt, params)
    return []


def _batches(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(rows, size)):
        yield batch


def project_questions(project: Project) -> list[QuestionSpec]:
    """Return the project's questions as validated specs."""
    return [QuestionSpec.model_validate(q) for q in project.questions]


def check_columns(path: Path, fmt: str, mapping: ColumnMapping) -> None:
    """Raise InvalidInput naming the mapped columns a CSV/Parquet/`datasets` file lacks."""
    columns = file_columns(path, format=fmt)
    if columns is None:
        return
    wanted = [*mapping.required_columns(), *mapping.metadata]
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    prompt_cols = [c for c in (mapping.prompt, mapping.messages) if c]
    if not any(c in columns for c in prompt_cols):
        missing.extend(c for c in prompt_cols if c not in missing)
    if missing:
        raise InvalidInput(
            f"{path.name} lacks the column(s) {', '.join(missing)}; "
            f"its columns are: {', '.join(columns) or '(none)'}",
            [RowError(1, c, "missing column") for c in missing],
        )


def start_import(
    session: Session, *, project: Project, actor: User | None, path: Path, fmt: str, mapping: Any
) -> ImportRecord:
    """Add (and flush) the ImportRecord that the new items point to."""
    record = ImportRecord(
        project_id=project.id,
        actor_id=actor.id if actor else None,
        source=str(path),
        format=fmt,
        mapping=mapping,
    )
    session.add(record)
    session.flush()
    return record


def finish_import(
    session: Session, *, record: ImportRecord, writer: ItemWriter, log: RejectedRows, rows_read: int
) -> ImportReport:
    """Fill in the record's counts, journal the import and commit; returns the report."""
    record.rows_read = rows_read
    record.items_added = writer.added
    record.duplicates = writer.duplicates
    record.rejected = log.rows
    payload = {
        "import_id": record.id,
        "format": record.format,
        "rows_read": rows_read,
        "items_added": writer.added,
        "duplicates": writer.duplicates,
        "rejected": log.rows,
        "submissions_added": record.submissions_added,
    }
    session.add(
        Event(
            kind="import.finished",
            actor_id=record.actor_id,
            project_id=record.project_id,
            payload=payload,
        )
    )
    session.commit()
    return ImportReport(
        import_id=record.id,
        format=record.format,
        rows_read=rows_read,
        items_added=writer.added,
        duplicates=writer.duplicates,
        rejected=log.rows,
        submissions_added=record.submissions_added,
        errors=[RowErrorRead(line=e.line, field=e.field, reason=e.reason) for e in log.first],
        rejected_path=str(log.path) if log.path is not None and log.rows else None,
    )


def fail_if_rejected(session: Session, log: RejectedRows, name: str, skip_invalid: bool) -> None:
    """In all-or-nothing mode, roll back and raise InvalidInput when any row was bad."""
    if log.rows and not skip_invalid:
        session.rollback()
        raise InvalidInput(
            f"{log.rows} row(s) of {name} are invalid; nothing was imported "
            "(fix them, or import with skip_invalid to leave them out)",
            log.first,
            total=log.errors,
        )


def import_items(
    session: Session,
    *,
    project: Project,
    actor: User | None,
    path: Path | str,
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    skip_invalid: bool = False,
    rejected_path: Path | str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import items (prompts with candidate answers) from a file into a project.

    Args:
        session: the database session; the import commits once, at the end.
        project: the project the items go into.
        actor: who imports (recorded in the ImportRecord and the journal).
        path: a JSONL, JSON-array, CSV or Parquet file (``.gz`` too) or a `datasets` folder.
        format: "jsonl", "json", "csv", "parquet" or "hf"; guessed from the name if None.
        mapping: which columns hold what; the default reads judgeloop's items export.
        skip_invalid: import the good rows and write the bad ones to `rejected_path`.
        rejected_path: where rejected rows go (default: ``<path>.rejected.jsonl``).
        max_line_bytes: the longest line or record accepted (settings.import_max_line_bytes).
        on_progress: called with the number of rows read so far, after each batch.

    Returns:
        What happened: rows read, items added, duplicates, rejected rows and the first errors.

    Raises:
        InvalidInput: the file cannot be read, a mapped column is missing, or (without
            `skip_invalid`) any row is invalid; nothing is written then.
    """
    path = Path(path)
    mapping = mapping or ColumnMapping()
    fmt = detect_format(path, format)
    check_columns(path, fmt, mapping)
    questions = project_questions(project)
    log = RejectedRows(_rejected_path(path, rejected_path) if skip_invalid else None)
    record = start_import(
        session, project=project, actor=actor, path=path, fmt=fmt, mapping=mapping.model_dump()
    )
    writer = ItemWriter(session, project_id=project.id, import_id=record.id)
    rows_read = 0
    rows = read_rows(path, format=fmt, max_line_bytes=max_line_bytes)
    try:
        for count, drafts in prefetch(_prepared(rows, mapping, questions, log)):
            if skip_invalid or not log.rows:
                writer.add(drafts)
            rows_read += count
            if on_progress is not None:
                on_progress(rows_read)
    except BaseException:
        session.rollback()
        raise
    finally:
        log.close()
    fail_if_rejected(session, log, path.name, skip_invalid)
    return finish_import(session, record=record, writer=writer, log=log, rows_read=rows_read)


def _rejected_path(path: Path, given: Path | str | None) -> Path:
    return Path(given) if given is not None else path.with_name(path.name + ".rejected.jsonl")


def _prepared(
    rows: Iterator[tuple[int, Any]],
    mapping: ColumnMapping,
    questions: Sequence[QuestionSpec],
    log: RejectedRows,
) -> Iterator[tuple[int, list[tuple[str, ItemDraft]]]]:
    """Yield (rows read, [(content hash, draft)]) per batch; bad rows go to `log`."""
    for batch in _batches(rows, BATCH_ROWS):
        drafts = []
        for line, row in batch:
            if isinstance(row, BadRow):
                log.add(line, [RowError(line, "", row.reason)], row.raw)
                continue
            result = row_to_item_draft(row, mapping, questions=questions, line=line)
            if isinstance(result, list):
                log.add(line, result, row)
            else:
                drafts.append((content_hash(result), result))
        yield len(batch), drafts


def prefetch(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run `source` in a thread, at most `depth` items ahead of the consumer.

    Reading and checking the next batch then overlaps with the database inserting the
    current one (the driver releases the GIL while it waits). Memory stays bounded:
    the thread blocks when `depth` items wait. Its exceptions re-raise here.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="judgeloop-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


@dataclass
class _PendingSubmission:
    item_id: int
    key: str
    annotator: str
    seconds: float
    answers: list[dict[str, Any]]


def import_label_studio(
    session: Session,
    *,
    project: Project,
    actor: User | None,
    path: Path | str,
    mapping: ColumnMapping | None = None,
    skip_invalid: bool = False,
    rejected_path: Path | str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import a Label Studio JSON export: its tasks as items, its annotations as submissions.

    Task data is read as judgeloop writes it (``prompt``, ``answer_<KEY>``,
    ``model_<KEY>``, ``messages``...) unless `mapping` names the data keys. Annotators
    become inactive worker accounts ``ls-<id>@import.invalid``, members of the project;
    each annotation goes through `submit_judgment` with source "import" and a
    deterministic submission key, so importing the file again adds nothing. Only results
    whose ``from_name`` is a project question key are kept; ``ground_truth`` annotations
    become the item's gold answers. Items go in all-or-nothing (as in `import_items`,
    annotations included in the check); submissions follow, one transaction each.
    """
    path = Path(path)
    if project.state != "active":
        raise Conflict(f"project {project.slug} is {project.state}; it takes no imports")
    questions = project_questions(project)
    log = RejectedRows(_rejected_path(path, rejected_path) if skip_invalid else None)
    dumped = mapping.model_dump() if mapping else {}
    record = start_import(
        session, project=project, actor=actor, path=path, fmt="label-studio", mapping=dumped
    )
    writer = ItemWriter(session, project_id=project.id, import_id=record.id)
    pending: list[_PendingSubmission] = []
    rows_read = 0
    try:
        for batch in _batches(
            read_rows(path, format="json", max_line_bytes=max_line_bytes), BATCH_ROWS
        ):
            tasks = _ls_items(batch, mapping, questions, log)
            if skip_invalid or not log.rows:
                pending.extend(_store_tasks(writer, project.id, tasks))
            rows_read += len(batch)
            if on_progress is not None:
                on_progress(rows_read)
    except BaseException:
        session.rollback()
        raise
    finally:
        log.close()
    fail_if_rejected(session, log, path.name, skip_invalid)
    session.commit()
    record.submissions_added = _submit_all(session, project, pending)
    return finish_import(session, record=record, writer=writer, log=log, rows_read=rows_read)


def _ls_items(
    batch: Sequence[tuple[int, Any]],
    mapping: ColumnMapping | None,
    questions: Sequence[QuestionSpec],
    log: RejectedRows,
) -> list[LsItem]:
    out = []
    for line, raw in batch:
        if isinstance(raw, BadRow):
            log.add(line, [RowError(line, "", raw.reason)], raw.raw)
            continue
        result = task_to_item(raw, mapping=mapping, questions=questions, line=line)
        if isinstance(result, list):
            log.add(line, result, raw)
        else:
            out.append(result)
    return out


def _store_tasks(
    writer: ItemWriter, project_id: int, tasks: Sequence[LsItem]
) -> list[_PendingSubmission]:
    hashes = [content_hash(t.draft) for t in tasks]
    added = writer.add([(h, t.draft) for h, t in zip(hashes, tasks, strict=True)])
    ids = {**writer.ids_for(h for h in hashes if h not in added), **added}
    pending = []
    for digest, task in zip(hashes, tasks, strict=True):
        for ann in task.annotations:
            seed = f"label-studio|{project_id}|{digest}|{ann.annotator}|{ann.annotation_id}"
            key = hashlib.sha256(seed.encode()).hexdigest()
            pending.append(
                _PendingSubmission(ids[digest], key, ann.annotator, ann.seconds, ann.answers)
            )
    return pending


def _submit_all(session: Session, project: Project, pending: Sequence[_PendingSubmission]) -> int:
    workers: dict[str, User] = {}
    added = 0
    for sub in pending:
        if sub.annotator not in workers:
            workers[sub.annotator] = label_studio_worker(
                session, project=project, annotator=sub.annotator
            )
        data = SubmissionCreate(
            item_id=sub.item_id,
            submission_key=sub.key,
            answers=[AnswerIn.model_validate(a) for a in sub.answers],
            seconds_spent=sub.seconds,
        )
        try:
            _, created = submit_judgment(
                session, worker=workers[sub.annotator], data=data, source="import"
            )
        except Conflict:
            continue  # this annotator already judged the item under another annotation
        added += created
    return added


def label_studio_worker(session: Session, *, project: Project, annotator: str) -> User:
    """Return the (inactive) account standing for a Label Studio annotator, a project member."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", annotator)[:200]
    email = f"ls-{safe}@import.invalid".lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email, name=f"Label Studio annotator {annotator}", role="worker", is_active=False
        )
        session.add(user)
        session.flush()
    member = session.scalar(
        select(ProjectMember.id).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    if member is None:
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role="worker"))
        session.flush()
    return user
