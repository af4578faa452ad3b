"""Writers for exported rows: JSONL, Parquet, a `datasets` folder and a JSON array.

Every writer takes an iterable of rows and streams it: nothing holds more than one batch.
JSONL keeps nested values (answers, metadata) nested. The columnar formats (Parquet,
`datasets`) give prompts, candidates and messages real columns and store the columns
whose shape changes from row to row (answers, explanations, metadata, gold) as JSON text.
Each writer writes to a temporary name and renames at the end, so a failed export
leaves no half-written file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from judgeloop.errors import InvalidInput, RowError
from judgeloop.export.rows import ITEM_COLUMNS, SUBMISSION_COLUMNS

BATCH_ROWS = 2000
MAX_REPORTED_ERRORS = 50
JSON_COLUMNS = {"items": ("metadata", "gold"), "submissions": ("answers", "explanations")}
Progress = Callable[[int], None]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _counted(
    rows: Iterable[dict[str, Any]], on_progress: Progress | None
) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows, 1):
        yield row
        if on_progress is not None and n % BATCH_ROWS == 0:
            on_progress(n)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def write_jsonl(
    path: Path, rows: Iterable[dict[str, Any]], *, on_progress: Progress | None = None
) -> int:
    """Write one JSON object per line (UTF-8); returns the number of rows written."""
    tmp = _partial(path)
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in _counted(rows, on_progress):
            fh.write(json.dumps(row, ensure_ascii=False, default=_default))
            fh.write("\n")
            count += 1
    os.replace(tmp, path)
    return count


def write_json_array(
    path: Path, rows: Iterable[dict[str, Any]], *, on_progress: Progress | None = None
) -> int:
    """Write a JSON array, one element per line (what Label Studio imports and exports)."""
    tmp = _partial(path)
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for row in _counted(rows, on_progress):
            fh.write(",\n" if count else "\n")
            fh.write(json.dumps(row, ensure_ascii=False, default=_default))
            count += 1
        fh.write("\n]\n")
    os.replace(tmp, path)
    return count


def arrow_schema(what: str) -> Any:
    """Return the pyarrow schema of an export ("items" or "submissions")."""
    import pyarrow as pa

    messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    candidates = pa.list_(
        pa.struct([("key", pa.string()), ("text", pa.string()), ("model", pa.string())])
    )
    types: dict[str, Any] = {
        "item_id": pa.int64(),
        "external_id": pa.string(),
        "prompt": pa.string(),
        "messages": messages,
        "candidates": candidates,
        "metadata": pa.string(),
        "is_gold": pa.bool_(),
        "gold": pa.string(),
        "submission_id": pa.int64(),
        "worker_id": pa.int64(),
        "guideline_version": pa.int64(),
        "seconds_spent": pa.float64(),
        "state": pa.string(),
        "source": pa.string(),
        "created_at": pa.timestamp("us", tz="UTC"),
        "answers": pa.string(),
        "explanations": pa.string(),
        "explanation": pa.string(),
    }
    columns = {"items": ITEM_COLUMNS, "submissions": SUBMISSION_COLUMNS}[what]
    return pa.schema([(name, types[name]) for name in columns])


def _columnar(row: dict[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for name in json_columns:
        if out.get(name) is not None:
            out[name] = json.dumps(out[name], ensure_ascii=False, sort_keys=True)
    return out


def write_parquet(
    path: Path,
    rows: Iterable[dict[str, Any]],
    *,
    what: str,
    on_progress: Progress | None = None,
) -> int:
    """Write rows of `what` ("items" or "submissions") to Parquet, a batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(what)
    json_columns = JSON_COLUMNS[what]
    tmp = _partial(path)
    count = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for row in _counted(rows, on_progress):
            batch.append(_columnar(row, json_columns))
            if len(batch) >= BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    os.replace(tmp, path)
    return count


def write_hf(
    path: Path,
    rows: Iterable[dict[str, Any]],
    *,
    what: str,
    on_progress: Progress | None = None,
) -> int:
    """Write a `datasets` folder (``datasets.load_from_disk(path)`` reads it).

    The rows go to a Parquet file first (streamed), which `datasets` converts to its
    memory-mapped Arrow files; the temporary files are removed afterwards.
    """
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp_name:
        tmp = Path(tmp_name)
        count = write_parquet(tmp / "data.parquet", rows, what=what, on_progress=on_progress)
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            ds = datasets.Dataset.from_parquet(
                str(tmp / "data.parquet"), cache_dir=str(tmp / "cache")
            )
            target = tmp / "dataset"
            ds.save_to_disk(str(target))
            del ds
        finally:
            if bars:
                datasets.enable_progress_bars()
        _clear_target(path)
        os.replace(target, path)
    return count


def _clear_target(path: Path) -> None:
    """Remove an earlier export at `path`; refuse to delete a folder that is not one."""
    if not path.exists():
        return
    if not path.is_dir():
        path.unlink()
        return
    if any(path.iterdir()) and not (path / "state.json").exists():
        raise InvalidInput(f"{path} is a folder that is not a dataset; choose another path")
    shutil.rmtree(path)


def sha256_of(path: Path) -> str:
    """Return the sha256 of a file, or of a folder's files (names and contents, in order)."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(_file_digest(file).encode())
        return digest.hexdigest()
    return _file_digest(path)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class RejectedRows:
    """Rejected rows of an import: the first 50 errors for the report, every row in a file.

    Each line of the file is ``{"line", "reasons": [...], "row": <the raw row>}``.
    """

    def __init__(self, rejected_path: Path | None) -> None:
        """Write rejected rows to `rejected_path` (None: keep only the count and first 50)."""
        self.path = rejected_path
        self.first: list[RowError] = []
        self.rows = 0
        self.errors = 0
        self._fh: IO[str] | None = None

    def add(self, line: int, errors: Sequence[RowError], raw: Any) -> None:
        """Record one rejected row and why."""
        self.rows += 1
        self.errors += len(errors)
        room = MAX_REPORTED_ERRORS - len(self.first)
        self.first.extend(errors[: max(room, 0)])
        if self.path is None:
            return
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8")
        reasons = [f"{e.field}: {e.reason}" if e.field else e.reason for e in errors]
        entry = {"line": line, "reasons": reasons, "row": raw}
        self._fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Close the rejected file, if one was opened."""
        if self._fh is not None:
            self._fh.close()
