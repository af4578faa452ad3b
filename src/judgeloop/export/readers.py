"""Streaming readers for imported files: JSONL, JSON arrays, CSV, Parquet and `datasets` folders.

Every reader is a generator of ``(line_number, row)`` pairs. ``row`` is a dict, or a
`BadRow` when that one row cannot be read (malformed JSON, a line over the size limit,
the wrong number of CSV fields); the caller decides whether a bad row fails the import.
Problems with the whole file (missing, empty, not UTF-8, not Parquet) raise
`InvalidInput` with a message meant for the person who chose the file.

Nothing here loads a whole file: JSONL is read line by line with a bounded ``readline``,
JSON arrays element by element, CSV through the csv module over a bounded text stream,
Parquet with ``iter_batches`` and `datasets` folders (memory-mapped) in batches.
``line_number`` is the physical line for JSONL and CSV (the line a CSV record starts
on), and the 1-based record number for JSON arrays, Parquet and `datasets`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from judgeloop.errors import InvalidInput

FORMATS = ("jsonl", "json", "csv", "parquet", "hf")
DEFAULT_MAX_LINE_BYTES = 16 * 1024**2
BATCH_ROWS = 1000
_CHUNK_CHARS = 1 << 20
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read; `raw` is its text (cut to a few KB) for the report."""

    reason: str
    raw: str


Row = dict[str, Any]
ReadRow = tuple[int, Row | BadRow]


def detect_format(path: Path, format: str | None = None) -> str:
    """Return the format of `path`: `format` when given, else guessed from the name.

    A folder is a `datasets` folder ("hf"); ``.gz`` is looked through (``x.jsonl.gz``).
    Raises InvalidInput for an unknown format or a missing file.
    """
    if format is not None:
        if format not in FORMATS:
            raise InvalidInput(f"unknown format {format!r} (known: {', '.join(FORMATS)})")
        return format
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    if path.is_dir():
        return "hf"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    found = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name} from its name; "
            f"name the format ({', '.join(FORMATS)})"
        )
    return found


def read_rows(
    path: Path,
    *,
    format: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[ReadRow]:
    """Yield ``(line_number, row)`` for every row of the file at `path`.

    Args:
        path: the file (or `datasets` folder) to read.
        format: one of FORMATS; guessed from the name when None.
        max_line_bytes: longest line (JSONL, CSV) or record (JSON array) accepted.

    Raises:
        InvalidInput: the file is missing, empty, not UTF-8 or not in the format.
    """
    fmt = detect_format(path, format)
    _check_not_empty(path)
    readers = {
        "jsonl": _jsonl_rows,
        "json": _json_array_rows,
        "csv": _csv_rows,
        "parquet": _parquet_rows,
        "hf": _hf_rows,
    }
    count = 0
    for line, row in readers[fmt](path, max_line_bytes):
        count += 1
        yield line, row
    if count == 0:
        raise InvalidInput(f"{path.name} has no rows")


def file_columns(path: Path, *, format: str | None = None) -> list[str] | None:
    """Return the column names of a CSV, Parquet or `datasets` file (None for JSON files).

    Lets a caller report a missing column once, before reading any row.
    """
    fmt = detect_format(path, format)
    _check_not_empty(path)
    if fmt == "csv":
        with _open_text(path) as fh:
            header = fh.readline(DEFAULT_MAX_LINE_BYTES)
        try:
            return next(csv.reader([header]), [])
        except csv.Error as exc:
            raise InvalidInput(f"line 1: the CSV header cannot be read: {exc}") from None
    if fmt == "parquet":
        return list(_parquet_file(path).schema_arrow.names)
    if fmt == "hf":
        return list(_hf_dataset(path).column_names)
    return None


def _check_not_empty(path: Path) -> None:
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty")


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _open_text(path: Path) -> io.TextIOWrapper:
    # utf-8-sig drops a byte-order mark; errors surface as UnicodeDecodeError on read.
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", newline="")


def _not_utf8(where: str, exc: UnicodeDecodeError) -> InvalidInput:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return InvalidInput(
        f"{where}: the file is not UTF-8 text (byte 0x{byte} at position {exc.start}); "
        "save it as UTF-8 and import it again"
    )


def _not_gzip(path: Path, exc: Exception) -> InvalidInput:
    return InvalidInput(f"{path.name} cannot be decompressed: {exc}")


def _snippet(raw: bytes | str, limit: int = 4096) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return text[:limit]


def _jsonl_rows(path: Path, max_line_bytes: int) -> Iterator[ReadRow]:
    line_no = 0
    try:
        with _open_binary(path) as fh:
            while raw := fh.readline(max_line_bytes + 1):
                line_no += 1
                if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                    _skip_rest_of_line(fh, max_line_bytes)
                    reason = (
                        f"the line is longer than {max_line_bytes} bytes (import_max_line_bytes)"
                    )
                    yield line_no, BadRow(reason, _snippet(raw[:4096]))
                    continue
                row = _parse_json_line(raw, line_no)
                if row is not None:
                    yield line_no, row
    except (gzip.BadGzipFile, EOFError) as exc:
        raise _not_gzip(path, exc) from None


def _skip_rest_of_line(fh: IO[bytes], chunk: int) -> None:
    while part := fh.readline(chunk):
        if part.endswith(b"\n"):
            return


def _parse_json_line(raw: bytes, line_no: int) -> Row | BadRow | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(f"line {line_no}", exc) from None
    if line_no == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadRow(f"malformed JSON: {exc.msg} (column {exc.colno})", _snippet(text))
    if not isinstance(value, dict):
        return BadRow(f"expected a JSON object, found {type(value).__name__}", _snippet(text))
    return value


def _json_array_rows(path: Path, max_record_bytes: int) -> Iterator[ReadRow]:
    try:
        with _open_text(path) as fh:
            yield from _JsonArrayScanner(fh, max_record_bytes).rows()
    except UnicodeDecodeError as exc:
        raise _not_utf8(path.name, exc) from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise _not_gzip(path, exc) from None


class _JsonArrayScanner:
    """Decodes a top-level JSON array one element at a time from a text stream."""

    def __init__(self, fh: IO[str], max_record: int) -> None:
        self.fh = fh
        self.max_record = max_record
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(_CHUNK_CHARS)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        self.eof = not chunk
        return bool(chunk)

    def _peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def rows(self) -> Iterator[ReadRow]:
        if self._peek() != "[":
            raise InvalidInput("expected a JSON array ('[' ...) at the start of the file")
        self.pos += 1
        index = 0
        while True:
            char = self._peek()
            if char == "]":
                return
            if index and char != ",":
                raise InvalidInput(f"record {index}: expected ',' or ']' after it")
            if index:
                self.pos += 1
            index += 1
            value = self._decode(index)
            if isinstance(value, dict):
                yield index, value
            else:
                raw = json.dumps(value)[:4096]
                yield index, BadRow(f"expected a JSON object, found {type(value).__name__}", raw)

    def _decode(self, index: int) -> Any:
        self._peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > self.max_record:
                    raise InvalidInput(
                        f"record {index} is longer than {self.max_record} bytes "
                        "(import_max_line_bytes)"
                    ) from None
                if not self._more():
                    raise InvalidInput(f"record {index}: malformed JSON: {exc.msg}") from None
                continue
            if end == len(self.buf) and self._more():
                continue  # a number or literal may go on in the next chunk
            if end - self.pos > self.max_record:
                raise InvalidInput(
                    f"record {index} is longer than {self.max_record} bytes (import_max_line_bytes)"
                )
            self.pos = end
            return value


def _bounded_lines(fh: IO[str], max_line: int) -> Iterator[str]:
    line_no = 0
    while line := fh.readline(max_line + 1):
        line_no += 1
        if len(line) > max_line and not line.endswith(("\n", "\r")):
            raise InvalidInput(
                f"line {line_no} is longer than {max_line} bytes (import_max_line_bytes)"
            )
        yield line


def _csv_rows(path: Path, max_line_bytes: int) -> Iterator[ReadRow]:
    csv.field_size_limit(max(max_line_bytes, 131072))
    try:
        with _open_text(path) as fh:
            reader = csv.reader(_bounded_lines(fh, max_line_bytes))
            yield from _csv_records(reader, path)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path.name, exc) from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise _not_gzip(path, exc) from None


def _csv_records(reader: Any, path: Path) -> Iterator[ReadRow]:
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InvalidInput(f"line 1: {path.name} has no CSV header")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise InvalidInput(f"line 1: duplicate column names in the header: {dupes}")
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record:
                continue
            if len(record) != len(header):
                reason = f"expected {len(header)} fields, found {len(record)}"
                yield line, BadRow(reason, _snippet(",".join(record)))
                continue
            yield line, dict(zip(header, record, strict=True))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: the CSV cannot be read: {exc}") from None


def _parquet_file(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"{path.name} is not a readable Parquet file: {exc}") from None


def _parquet_rows(path: Path, max_line_bytes: int) -> Iterator[ReadRow]:  # noqa: ARG001
    import pyarrow as pa

    line = 0
    try:
        for batch in _parquet_file(path).iter_batches(batch_size=BATCH_ROWS):
            for row in batch.to_pylist():
                line += 1
                yield line, row
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"{path.name}: Parquet data cannot be read: {exc}") from None


def _hf_dataset(path: Path) -> Any:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"{path} is not a dataset folder written by datasets' save_to_disk: {exc}"
        ) from None
    if isinstance(ds, datasets.DatasetDict):
        splits = list(ds)
        if "train" in ds:
            return ds["train"]
        if len(splits) != 1:
            raise InvalidInput(f"{path} has several splits {splits}; save one split")
        return ds[splits[0]]
    return ds


def _hf_rows(path: Path, max_line_bytes: int) -> Iterator[ReadRow]:  # noqa: ARG001
    ds = _hf_dataset(path).with_format("arrow")
    line = 0
    for table in ds.iter(batch_size=BATCH_ROWS):
        for row in table.to_pylist():
            line += 1
            yield line, row
