"""Streaming readers: formats, line numbers, and clear errors for bad files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from judgeloop.errors import InvalidInput
from judgeloop.export.readers import BadRow, detect_format, file_columns, read_rows
from tests.paths import SHARED_DATA

ALPACA = SHARED_DATA / "alpaca_eval" / "model_outputs" / "gpt4.json.gz"


def _rows(path: Path, **kwargs: object) -> list[tuple[int, object]]:
    return list(read_rows(path, **kwargs))  # type: ignore[arg-type]


def test_detects_formats_by_name(tmp_path: Path) -> None:
    for name, fmt in [
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.json", "json"),
        ("a.csv", "csv"),
        ("a.parquet", "parquet"),
    ]:
        (tmp_path / name).write_bytes(b"x")
        assert detect_format(tmp_path / name) == fmt
    assert detect_format(tmp_path) == "hf"
    assert detect_format(tmp_path / "whatever.bin", "csv") == "csv"


def test_unknown_extension_and_format(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        detect_format(tmp_path / "a.xlsx")
    with pytest.raises(InvalidInput, match="unknown format"):
        detect_format(tmp_path / "a.xlsx", "xlsx")
    with pytest.raises(InvalidInput, match="no such file"):
        _rows(tmp_path / "missing.jsonl")


def test_jsonl_line_numbers_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n   \n{"a": 3}')
    assert _rows(path) == [(1, {"a": 1}), (3, {"a": 2}), (5, {"a": 3})]


def test_jsonl_malformed_and_non_object_lines_are_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n{"a": \n[1, 2]\n')
    rows = _rows(path)
    assert rows[0] == (1, {"a": 1})
    line, bad = rows[1]
    assert line == 2 and isinstance(bad, BadRow) and "malformed JSON" in bad.reason
    assert isinstance(rows[2][1], BadRow) and "expected a JSON object" in rows[2][1].reason


def test_jsonl_too_long_line_is_skipped_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    long = json.dumps({"a": "x" * 500})
    path.write_text(f'{{"a": 1}}\n{long}\n{{"a": 2}}\n')
    rows = _rows(path, max_line_bytes=100)
    assert rows[0] == (1, {"a": 1})
    assert isinstance(rows[1][1], BadRow) and "longer than 100 bytes" in rows[1][1].reason
    assert rows[2] == (3, {"a": 2})


def test_line_exactly_at_the_limit_is_accepted(tmp_path: Path) -> None:
    line = json.dumps({"a": "x" * 10})
    path = tmp_path / "a.jsonl"
    path.write_text(line + "\n" + line)
    assert [r for _, r in _rows(path, max_line_bytes=len(line))] == [{"a": "x" * 10}] * 2


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes('{"a": "ok"}\n{"a": "café"}\n'.encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"line 2: the file is not UTF-8 text \(byte 0xe9"):
        _rows(path)


def test_non_utf8_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("prompt\ncafé\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        _rows(path)


def test_empty_files(tmp_path: Path) -> None:
    for name in ("a.jsonl", "a.csv", "a.json", "a.parquet"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(InvalidInput, match="is empty"):
            _rows(tmp_path / name)
    (tmp_path / "blank.jsonl").write_text("\n\n  \n")
    with pytest.raises(InvalidInput, match="has no rows"):
        _rows(tmp_path / "blank.jsonl")
    (tmp_path / "header.csv").write_text("prompt,answer\n")
    with pytest.raises(InvalidInput, match="has no rows"):
        _rows(tmp_path / "header.csv")


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')
    assert _rows(path) == [(1, {"a": 1})]
    csv_path = tmp_path / "a.csv"
    csv_path.write_bytes(b"\xef\xbb\xbfprompt\nhi\n")
    assert _rows(csv_path) == [(2, {"prompt": "hi"})]


def test_csv_rows_start_lines_and_field_counts(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('prompt,answer\n"multi\nline",x\nshort\nok,y\n', newline="")
    rows = _rows(path)
    assert rows[0] == (2, {"prompt": "multi\nline", "answer": "x"})
    assert rows[1][0] == 4 and isinstance(rows[1][1], BadRow)
    assert "expected 2 fields, found 1" in rows[1][1].reason
    assert rows[2] == (5, {"prompt": "ok", "answer": "y"})
    assert file_columns(path) == ["prompt", "answer"]


def test_csv_duplicate_header_and_too_long_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,a\n1,2\n")
    with pytest.raises(InvalidInput, match="duplicate column names"):
        _rows(path)
    path.write_text("a\n" + "x" * 200 + "\n")
    with pytest.raises(InvalidInput, match="line 2 is longer than 100 bytes"):
        _rows(path, max_line_bytes=100)


def test_json_array_streams_elements(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"a": i, "t": "é" * 50} for i in range(5)] + [3]))
    rows = _rows(path)
    assert [line for line, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[4][1] == {"a": 4, "t": "é" * 50}
    assert isinstance(rows[5][1], BadRow)


def test_json_array_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"a": 1}')
    with pytest.raises(InvalidInput, match="expected a JSON array"):
        _rows(path)
    path.write_text('[{"a": 1}, {"a": ')
    with pytest.raises(InvalidInput, match="record 2: malformed JSON"):
        _rows(path)
    path.write_text(json.dumps([{"a": "x" * 300}]))
    with pytest.raises(InvalidInput, match="record 1 is longer than 100 bytes"):
        _rows(path, max_line_bytes=100)


def test_gzip_json_array_of_real_model_outputs() -> None:
    rows = []
    for line, row in read_rows(ALPACA):
        rows.append((line, row))
        if line == 3:
            break
    assert [line for line, _ in rows] == [1, 2, 3]
    first = rows[0][1]
    assert isinstance(first, dict) and first["generator"] == "gpt4"
    assert set(first) >= {"instruction", "output", "dataset"}


def test_bad_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InvalidInput, match="cannot be decompressed"):
        _rows(path)


def test_gzip_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"a": 1}\n{"a": 2}\n')
    assert _rows(path) == [(1, {"a": 1}), (2, {"a": 2})]


def test_parquet_rows_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    table = pa.table({"prompt": ["p1", "p2", "p3"], "n": [1, 2, 3]})
    pq.write_table(table, path, row_group_size=2)
    assert _rows(path) == [
        (1, {"prompt": "p1", "n": 1}),
        (2, {"prompt": "p2", "n": 2}),
        (3, {"prompt": "p3", "n": 3}),
    ]
    assert file_columns(path) == ["prompt", "n"]


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    path.write_text("prompt\nhello\n")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        _rows(path)


def test_hf_dataset_folder(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_dict({"prompt": ["a", "b"], "n": [1, 2]}).save_to_disk(
        str(tmp_path / "ds")
    )
    assert _rows(tmp_path / "ds") == [(1, {"prompt": "a", "n": 1}), (2, {"prompt": "b", "n": 2})]
    assert file_columns(tmp_path / "ds") == ["prompt", "n"]
    (tmp_path / "plain").mkdir()
    with pytest.raises(InvalidInput, match="not a dataset folder"):
        _rows(tmp_path / "plain")


def test_hf_dataset_dict_uses_train_split(tmp_path: Path) -> None:
    import datasets

    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"prompt": ["t"]}),
            "test": datasets.Dataset.from_dict({"prompt": ["x"]}),
        }
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    assert _rows(tmp_path / "dd") == [(1, {"prompt": "t"})]


def test_read_ahead_keeps_order_and_reraises() -> None:
    from judgeloop.export.rows import read_ahead

    assert list(read_ahead(iter(range(10)), depth=2)) == list(range(10))

    def broken() -> Iterator[int]:
        yield 1
        raise InvalidInput("boom")

    got = []
    with pytest.raises(InvalidInput, match="boom"):
        for value in read_ahead(broken()):
            got.append(value)
    assert got == [1]


def test_read_ahead_stops_its_thread_when_the_consumer_stops() -> None:
    import threading

    from judgeloop.export.rows import read_ahead

    closed = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.append(True)

    stream = read_ahead(endless(), depth=1)
    assert next(stream) == 1
    stream.close()
    assert closed == [True]
    assert not any(t.name == "judgeloop-read-ahead" for t in threading.enumerate())


def test_convert_rows_batches_and_rejects(tmp_path: Path) -> None:
    from judgeloop.errors import RowError
    from judgeloop.export.rows import convert_rows

    path = tmp_path / "a.jsonl"
    path.write_text('{"n": 1}\n{"n": -1}\n{oops\n{"n": 3}\n')
    rejected: list[tuple[int, object]] = []

    def convert(row: dict[str, object], line: int) -> object:
        return [RowError(line, "n", "negative")] if row["n"] == -1 else row["n"]  # type: ignore[operator]

    batches = list(
        convert_rows(
            read_rows(path), convert, lambda line, errs, raw: rejected.append((line, raw)), 2
        )
    )
    assert batches == [(2, [1]), (2, [3])]
    assert rejected == [(2, {"n": -1}), (3, "{oops\n")]
