"""Write training datasets: a folder with a train and a test split and a dataset card.

`write_training_dataset` filters records, splits them by prompt, builds TRL rows
(`export.training`) and streams them into one of three layouts, each with a
``README.md`` dataset card (counts, agreement, filters, guideline versions, date):

- ``jsonl``: ``train.jsonl``, ``test.jsonl`` (``datasets.load_dataset(folder)`` reads it);
- ``parquet``: ``train.parquet``, ``test.parquet`` (the same);
- ``hf``: a `datasets.DatasetDict` saved with ``save_to_disk`` (``load_from_disk``).

Pure apart from the files it writes; pyarrow and datasets are imported inside functions.
The folder is built under a temporary name and renamed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from judgeloop.errors import InvalidInput
from judgeloop.export.rows import jsonable
from judgeloop.export.training import (
    DEFAULT_SPLIT_SEED,
    FilterStats,
    PreferenceRecord,
    RubricRecord,
    TrainingFilters,
    TrainingKind,
    TrainingRecord,
    filter_records,
    split_rows,
)
from judgeloop.export.training_card import CardStats, render_card
from judgeloop.export.writers import sha256_of

TrainingFormat = Literal["jsonl", "parquet", "hf"]
TRAINING_FORMATS: tuple[TrainingFormat, ...] = ("jsonl", "parquet", "hf")
SPLITS = ("train", "test")
BATCH_ROWS = 2000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class TrainingExport:
    """What `write_training_dataset` wrote.

    Attributes:
        path: The dataset folder.
        kind: preference, sft, kto, rubric or label.
        format: jsonl, parquet or hf.
        counts: Rows per split (``{"train": n, "test": m}``).
        filtered: Records kept and left out (per reason) by the filters.
        sha256: Hash of the folder's files (names and contents).
        card: The dataset card's text (also in ``README.md``).
    """

    path: Path
    kind: TrainingKind
    format: TrainingFormat
    counts: dict[str, int]
    filtered: FilterStats
    sha256: str
    card: str


@dataclass(frozen=True)
class CardInfo:
    """What the dataset card says beyond what the rows tell.

    Attributes:
        title: The card's heading (e.g. the project's name).
        source: Where the data comes from (project, import, URL).
        method: The consensus method and version (``judgeloop.bradley_terry.v1``).
        license: The data's license, if known.
        notes: Extra ``name: value`` lines for the card.
    """

    title: str = "judgeloop training data"
    source: str = ""
    method: str = ""
    license: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def arrow_training_schema(
    kind: TrainingKind, *, conversational: bool = False, dimensions: Sequence[str] = ()
) -> Any:
    """Return the pyarrow schema of a training dataset's rows (nullable where optional)."""
    import pyarrow as pa

    text = (
        pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
        if conversational
        else pa.string()
    )
    common = [
        ("item_id", pa.int64()),
        ("round", pa.int64()),
        ("agreement", pa.float64()),
        ("confidence", pa.float64()),
    ]
    columns: dict[str, list[tuple[str, Any]]] = {
        "preference": [
            ("prompt", text),
            ("chosen", text),
            ("rejected", text),
            ("margin", pa.float64()),
            ("n_votes", pa.int64()),
            ("chosen_model", pa.string()),
            ("rejected_model", pa.string()),
        ],
        "sft": [
            ("prompt", text),
            ("completion", text),
            ("source", pa.string()),
            ("model", pa.string()),
        ],
        "kto": [
            ("prompt", text),
            ("completion", text),
            ("label", pa.bool_()),
            ("model", pa.string()),
        ],
        "rubric": [
            ("prompt", text),
            ("completion", text),
            ("model", pa.string()),
            ("scores", pa.struct([(d, pa.float64()) for d in dimensions])),
            ("n_ratings", pa.int64()),
        ],
        "label": [
            ("prompt", text),
            ("completion", text),
            ("question", pa.string()),
            ("label", pa.string()),
            ("labels", pa.list_(pa.string())),
        ],
    }
    return pa.schema(columns[kind] + common)


class _JsonlSink:
    def __init__(self, path: Path) -> None:
        self.fh: IO[str] = path.open("w", encoding="utf-8")

    def add(self, row: dict[str, Any]) -> None:
        self.fh.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.fh.close()


class _ParquetSink:
    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.schema = schema
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.batch: list[dict[str, Any]] = []
        self.written = False

    def add(self, row: dict[str, Any]) -> None:
        self.batch.append(row)
        if len(self.batch) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self.writer.write_table(pa.Table.from_pylist(self.batch, schema=self.schema))
        self.batch = []
        self.written = True

    def close(self) -> None:
        if self.batch or not self.written:
            self._flush()
        self.writer.close()


def _rubric_dimensions(
    records: Iterable[TrainingRecord],
) -> tuple[list[TrainingRecord], list[str]]:
    """Return the records (read into a list) and every rubric dimension they score."""
    kept = list(records)
    names = {name for r in kept if isinstance(r, RubricRecord) for name in r.scores}
    return kept, sorted(names)


def write_training_dataset(
    path: Path,
    records: Iterable[TrainingRecord],
    *,
    kind: TrainingKind,
    format: TrainingFormat = "jsonl",
    filters: TrainingFilters | None = None,
    test_fraction: float = 0.1,
    seed: str = DEFAULT_SPLIT_SEED,
    conversational: bool = False,
    dimensions: Sequence[str] | None = None,
    card: CardInfo | None = None,
    created: datetime | None = None,
    on_progress: Progress | None = None,
) -> TrainingExport:
    """Filter, split by prompt and write a training dataset folder with its card.

    Args:
        path: The folder to create (an earlier dataset folder there is replaced).
        records: Records of the type `kind` needs (`PreferenceRecord` for preference...).
        kind: preference, sft, kto, rubric or label.
        format: jsonl, parquet or hf (a `datasets` folder).
        filters: Which records to keep (default: leave out flagged items).
        test_fraction: Share of prompts in the test split (0 writes an empty test split).
        seed: Changes which prompts go to test; keep it to keep splits stable.
        conversational: Write prompts and answers as message lists.
        dimensions: Rubric dimensions (rubric only; default: those in the records).
        card: Title, source and method for the dataset card.
        created: The date on the card (default: now, UTC).
        on_progress: Called with the number of rows written, every 2,000 rows.

    Returns:
        The folder, counts per split, filter counts, its sha256 and the card's text.
    """
    if format not in TRAINING_FORMATS:
        raise InvalidInput(f"unknown format {format!r}; expected one of {TRAINING_FORMATS}")
    filters = filters or TrainingFilters()
    stats = FilterStats()
    kept: Iterable[TrainingRecord] = filter_records(records, filters, stats)
    if kind == "rubric" and dimensions is None:
        kept, dimensions = _rubric_dimensions(kept)
    schema = arrow_training_schema(kind, conversational=conversational, dimensions=dimensions or ())
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".training-") as tmp_name:
        tmp = Path(tmp_name)
        files, card_stats = _write_splits(
            tmp,
            split_rows(
                kind, kept, test_fraction=test_fraction, seed=seed, conversational=conversational
            ),
            format=format,
            schema=schema,
            on_progress=on_progress,
        )
        if format == "hf":
            files = _to_datasets_folder(files, tmp)
        text = render_card(
            kind=kind,
            format=format,
            stats=card_stats,
            filters=filters.describe(),
            filtered=stats,
            info=card or CardInfo(),
            created=created or datetime.now(UTC),
            test_fraction=test_fraction,
            seed=seed,
            conversational=conversational,
        )
        (files / "README.md").write_text(text, encoding="utf-8")
        _replace(path, files)
    return TrainingExport(
        path=path,
        kind=kind,
        format=format,
        counts={s: card_stats.counts.get(s, 0) for s in SPLITS},
        filtered=stats,
        sha256=sha256_of(path),
        card=text,
    )


def _write_splits(
    tmp: Path,
    rows: Iterable[tuple[str, TrainingRecord, dict[str, Any]]],
    *,
    format: TrainingFormat,
    schema: Any,
    on_progress: Progress | None,
) -> tuple[Path, CardStats]:
    """Stream rows into one file per split under ``tmp/files``; count them for the card."""
    files = tmp / "files"
    files.mkdir()
    ext = "jsonl" if format == "jsonl" else "parquet"
    sinks: dict[str, _JsonlSink | _ParquetSink] = {
        s: _JsonlSink(files / f"{s}.{ext}")
        if format == "jsonl"
        else _ParquetSink(files / f"{s}.{ext}", schema)
        for s in SPLITS
    }
    card_stats = CardStats()
    try:
        for n, (split, record, row) in enumerate(rows, 1):
            sinks[split].add(row)
            card_stats.add(split, record, margin=_margin(record))
            if on_progress is not None and n % BATCH_ROWS == 0:
                on_progress(n)
    finally:
        for sink in sinks.values():
            sink.close()
    return files, card_stats


def _margin(record: TrainingRecord) -> float | None:
    return record.margin if isinstance(record, PreferenceRecord) else None


def _to_datasets_folder(files: Path, tmp: Path) -> Path:
    """Turn the split Parquet files into a saved `datasets.DatasetDict` folder."""
    import datasets

    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        splits = {
            s: datasets.Dataset.from_parquet(
                str(files / f"{s}.parquet"), cache_dir=str(tmp / "cache")
            )
            for s in SPLITS
        }
        target = tmp / "dataset"
        datasets.DatasetDict(splits).save_to_disk(str(target))
        del splits
    finally:
        if bars:
            datasets.enable_progress_bars()
    return target


def _replace(path: Path, built: Path) -> None:
    """Move the built folder to `path`, replacing an earlier training dataset only."""
    if path.exists():
        if not path.is_dir():
            raise InvalidInput(f"{path} is a file; choose a folder for the dataset")
        if any(path.iterdir()) and not (path / "README.md").exists():
            raise InvalidInput(f"{path} is a folder that is not a dataset; choose another path")
        shutil.rmtree(path)
    os.replace(built, path)
