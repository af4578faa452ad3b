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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from typing import cast as type_cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, RowError
from judgeloop.export.labelstudio import LsItem, task_to_item
from judgeloop.export.mapping import (
    ColumnMapping,
    ItemDraft,
    content_hash,
    missing_columns,
    row_to_item_draft,
)
from judgeloop.export.readers import (
    DEFAULT_MAX_LINE_BYTES,
    detect_format,
    file_columns,
    read_rows,
)
from judgeloop.export.rows import convert_rows, read_ahead
from judgeloop.export.writers import RejectedRows
from judgeloop.questions.base import QuestionSpec
from judgeloop.schemas.submissions import AnswerIn, ImportReport, RowErrorRead, SubmissionCreate
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import Base, utcnow
from judgeloop.store.dialect import dialect_name, insert_ignoring_conflicts
from judgeloop.store.models import (
    Event,
    GoldAnswer,
    ImportRecord,
    Item,
    ModelVersion,
    Project,
    ProjectMember,
    User,
)

BATCH_ROWS = 1000
# SQLite page cache while importing: the unique index on content hashes is written at
# random places, and the default 2 MB cache makes a large import several times slower.
_SQLITE_CACHE_KB = 64 * 1024
T = TypeVar("T")
Progress = Callable[[int], None]


def _table(model: type[Base]) -> Table:
    return type_cast(Table, model.__table__)


@dataclass
class PreparedBatch:
    """A batch of drafts made ready for the database (built without touching it)."""

    drafts: dict[str, ItemDraft]
    count: int
    models: set[str]
    payload: Any


# PostgreSQL: a batch of items, with their candidates nested, travels as one JSON text;
# one statement inserts the items the project lacks and the candidates of those.
_PG_BATCH = text("""
WITH src AS (
  SELECT * FROM json_to_recordset(CAST(:batch AS json)) AS r(
    external_id varchar, prompt text, messages json, metadata json, content_hash varchar,
    is_gold boolean, candidates json)
), new AS (
  INSERT INTO items (project_id, external_id, prompt, messages, metadata, content_hash,
                     is_gold, priority, import_id, created_at)
  SELECT :project_id, external_id, prompt, COALESCE(messages, 'null'::json), metadata,
         content_hash, is_gold, 0, :import_id, :now FROM src
  ON CONFLICT (project_id, content_hash) DO NOTHING
  RETURNING id, content_hash
), cand AS (
  INSERT INTO candidates (item_id, key, position, text, model_version_id)
  SELECT new.id, c.key, c.position, c.text, mv.id
  FROM new JOIN src ON src.content_hash = new.content_hash
  CROSS JOIN LATERAL json_to_recordset(src.candidates)
    AS c(key varchar, position integer, text text, model varchar)
  LEFT JOIN model_versions mv ON mv.name = c.model
)
SELECT id, content_hash FROM new
""")


# SQLite: statements run with executemany over plain tuples, which skips SQLAlchemy's
# per-row parameter processing (most of an import's time). Other columns take their
# server defaults.
_SQLITE_ITEMS = (
    "INSERT INTO items (external_id, prompt, messages, metadata, content_hash, is_gold,"
    " project_id, import_id, created_at, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
    " ON CONFLICT (project_id, content_hash) DO NOTHING"
)
_SQLITE_CANDIDATES = (
    "INSERT INTO candidates (item_id, key, position, text, model_version_id) VALUES (?, ?, ?, ?, ?)"
)


class ItemWriter:
    """Inserts item drafts of one project in batches, skipping those it already has.

    `prepare` does the per-row work without the database (an import runs it in the
    reader thread); `write` sends a prepared batch. PostgreSQL gets one statement per
    batch (`_PG_BATCH`); SQLite gets ``executemany`` calls of statements compiled once.
    """

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
        if not self.postgres:
            conn = session.connection()
            self._cache_size = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
            conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KB}")
            dialect = session.get_bind().dialect
            stamp = _table(Item).c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
            self._fixed = (project_id, import_id, stamp(self.now) if stamp else self.now)

    def close(self) -> None:
        """Give SQLite's page cache its usual size back (it grows while a batch goes in)."""
        if not self.postgres and self.session.in_transaction():
            pragma = f"PRAGMA cache_size={self._cache_size}"
            self.session.connection().exec_driver_sql(pragma)

    def add(self, pairs: Sequence[tuple[str, ItemDraft]]) -> dict[str, int]:
        """Insert the (content hash, draft) pairs the project lacks; returns hash -> new id."""
        return self.write(self.prepare(pairs))

    def prepare(self, pairs: Sequence[tuple[str, ItemDraft]]) -> PreparedBatch:
        """Build what `write` sends, without touching the database (thread-safe)."""
        drafts: dict[str, ItemDraft] = {}
        for digest, draft in pairs:
            drafts.setdefault(digest, draft)
        models = {c.model for d in drafts.values() for c in d.candidates if c.model}
        payload = self._pg_payload(drafts) if self.postgres else self._sqlite_rows(drafts)
        return PreparedBatch(drafts, len(pairs), models, payload)

    def write(self, batch: PreparedBatch) -> dict[str, int]:
        """Insert a prepared batch; returns content hash -> id of the items added."""
        if not batch.drafts:
            return {}
        self._resolve_models(batch.models)
        added = self._write_pg(batch) if self.postgres else self._write_sqlite(batch)
        self.added += len(added)
        self.duplicates += batch.count - len(added)
        self._add_gold(added, batch.drafts)
        return added

    def ids_for(self, hashes: Iterable[str]) -> dict[str, int]:
        """Return content hash -> id for the project's items with these hashes."""
        wanted = list(set(hashes))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            query = select(Item.content_hash, Item.id).where(
                Item.project_id == self.project_id,
                Item.content_hash.in_(wanted[start : start + 500]),
            )
            out.update(dict(self.session.execute(query).all()))
        return out

    def _pg_payload(self, drafts: dict[str, ItemDraft]) -> str:
        return json.dumps(
            [
                {
                    "external_id": d.external_id,
                    "prompt": d.prompt,
                    "messages": d.messages,
                    "metadata": d.metadata,
                    "content_hash": digest,
                    "is_gold": d.is_gold,
                    "candidates": [
                        {"key": c.key, "position": i, "text": c.text, "model": c.model}
                        for i, c in enumerate(d.candidates)
                    ],
                }
                for digest, d in drafts.items()
            ],
            ensure_ascii=False,
        )

    def _write_pg(self, batch: PreparedBatch) -> dict[str, int]:
        params = {
            "batch": batch.payload,
            "project_id": self.project_id,
            "import_id": self.import_id,
            "now": self.now,
        }
        return {digest: item_id for item_id, digest in self.session.execute(_PG_BATCH, params)}

    def _sqlite_rows(self, drafts: dict[str, ItemDraft]) -> list[tuple[Any, ...]]:
        dumps, fixed = json.dumps, self._fixed
        return [
            (d.external_id, d.prompt, dumps(d.messages), dumps(d.metadata), h, d.is_gold, *fixed)
            for h, d in drafts.items()
        ]

    def _write_sqlite(self, batch: PreparedBatch) -> dict[str, int]:
        table = _table(Item)
        before = self.session.scalar(select(func.max(table.c.id))) or 0
        conn = self.session.connection()
        conn.exec_driver_sql(_SQLITE_ITEMS, batch.payload)
        # SQLite hands out increasing ids and the write lock is held: the new rows are these.
        query = select(table.c.content_hash, table.c.id).where(
            table.c.id > before, table.c.project_id == self.project_id
        )
        added = dict(self.session.execute(query).all())
        rows = [
            (item_id, c.key, pos, c.text, self.models[c.model] if c.model else None)
            for digest, item_id in added.items()
            for pos, c in enumerate(batch.drafts[digest].candidates)
        ]
        if rows:
            conn.exec_driver_sql(_SQLITE_CANDIDATES, rows)
        return added

    def _resolve_models(self, names: set[str]) -> None:
        missing = sorted(names - self.models.keys())
        if not missing:
            return
        rows = [
            {"name": n, "provider": "imported", "params": {}, "created_at": self.now}
            for n in missing
        ]
        stmt = insert_ignoring_conflicts(self.session, _table(ModelVersion), ["name"])
        self.session.execute(stmt, rows)
        found = self.session.execute(
            select(ModelVersion.name, ModelVersion.id).where(ModelVersion.name.in_(missing))
        )
        self.models.update(dict(found.all()))

    def _add_gold(self, added: dict[str, int], drafts: dict[str, ItemDraft]) -> None:
        names = ("item_id", "question_key", "candidate_key", "value", "explanation", "created_at")
        rows = [
            dict(
                zip(
                    names,
                    (i, g.question_key, g.candidate_key, g.value, g.explanation, self.now),
                    strict=True,
                )
            )
            for digest, i in added.items()
            for g in drafts[digest].gold
        ]
        if rows:
            self.session.execute(insert(_table(GoldAnswer)), rows)


def _project_questions(project: Project) -> list[QuestionSpec]:
    """Return the project's questions as validated specs."""
    return [QuestionSpec.model_validate(q) for q in project.questions]


def _check_columns(path: Path, fmt: str, mapping: ColumnMapping) -> None:
    """Raise InvalidInput naming the mapped columns a CSV/Parquet/`datasets` file lacks."""
    columns = file_columns(path, format=fmt)
    if columns is None:
        return
    missing = missing_columns(columns, mapping)
    if missing:
        raise InvalidInput(
            f"{path.name} lacks the column(s) {', '.join(missing)}; "
            f"its columns are: {', '.join(columns) or '(none)'}",
            [RowError(1, c, "missing column") for c in missing],
        )


def _start_import(
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


def _finish_import(
    session: Session, *, record: ImportRecord, writer: ItemWriter, log: RejectedRows, rows_read: int
) -> ImportReport:
    """Fill in the record's counts, journal the import and commit; returns the report."""
    counts = {
        "rows_read": rows_read,
        "items_added": writer.added,
        "duplicates": writer.duplicates,
        "rejected": log.rows,
        "submissions_added": record.submissions_added,
    }
    for name, value in counts.items():
        setattr(record, name, value)
    payload = {"import_id": record.id, "format": record.format, **counts}
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
        **counts,
        errors=[RowErrorRead(line=e.line, field=e.field, reason=e.reason) for e in log.first],
        rejected_path=str(log.path) if log.path is not None and log.rows else None,
    )


def _fail_if_rejected(session: Session, log: RejectedRows, name: str, skip_invalid: bool) -> None:
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
    _check_columns(path, fmt, mapping)
    questions = _project_questions(project)
    log = RejectedRows(_rejected_path(path, rejected_path) if skip_invalid else None)
    record = _start_import(
        session, project=project, actor=actor, path=path, fmt=fmt, mapping=mapping.model_dump()
    )
    writer = ItemWriter(session, project_id=project.id, import_id=record.id)
    rows = read_rows(path, format=fmt, max_line_bytes=max_line_bytes)
    convert = partial(_hashed_draft, mapping=mapping, questions=questions)
    batches = convert_rows(rows, convert, log.add, BATCH_ROWS)
    prepared = ((count, writer.prepare(pairs)) for count, pairs in batches)
    rows_read = _load(session, prepared, writer.write, log, skip_invalid, on_progress)
    writer.close()
    _fail_if_rejected(session, log, path.name, skip_invalid)
    return _finish_import(session, record=record, writer=writer, log=log, rows_read=rows_read)


def _hashed_draft(
    row: dict[str, Any], line: int, *, mapping: ColumnMapping, questions: Sequence[QuestionSpec]
) -> tuple[str, ItemDraft] | list[RowError]:
    draft = row_to_item_draft(row, mapping, questions=questions, line=line)
    return draft if isinstance(draft, list) else (content_hash(draft), draft)


def _load(
    session: Session,
    batches: Iterator[tuple[int, T]],
    store: Callable[[T], Any],
    log: RejectedRows,
    skip_invalid: bool,
    on_progress: Progress | None,
) -> int:
    """Store converted batches (read and converted in a reader thread); returns rows read.

    Once a row is bad, all-or-nothing mode stores nothing more but keeps checking.
    Any exception rolls the session back.
    """
    rows_read = 0
    try:
        for count, converted in read_ahead(batches):
            if skip_invalid or not log.rows:
                store(converted)
            rows_read += count
            if on_progress is not None:
                on_progress(rows_read)
    except BaseException:
        session.rollback()
        raise
    finally:
        log.close()
    return rows_read


def _rejected_path(path: Path, given: Path | str | None) -> Path:
    return Path(given) if given is not None else path.with_name(path.name + ".rejected.jsonl")


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
    questions = _project_questions(project)
    log = RejectedRows(_rejected_path(path, rejected_path) if skip_invalid else None)
    dumped = mapping.model_dump() if mapping else {}
    record = _start_import(
        session, project=project, actor=actor, path=path, fmt="label-studio", mapping=dumped
    )
    writer = ItemWriter(session, project_id=project.id, import_id=record.id)
    pending: list[_PendingSubmission] = []

    def convert(task: dict[str, Any], line: int) -> LsItem | list[RowError]:
        return task_to_item(task, mapping=mapping, questions=questions, line=line)

    def store(tasks: list[LsItem]) -> None:
        pending.extend(_store_tasks(writer, project.id, tasks))

    rows = read_rows(path, format="json", max_line_bytes=max_line_bytes)
    batches = convert_rows(rows, convert, log.add, BATCH_ROWS)
    rows_read = _load(session, batches, store, log, skip_invalid, on_progress)
    writer.close()
    _fail_if_rejected(session, log, path.name, skip_invalid)
    session.commit()
    record.submissions_added = _submit_all(session, project, pending)
    return _finish_import(session, record=record, writer=writer, log=log, rows_read=rows_read)


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
