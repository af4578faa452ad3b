"""The dataset card (``README.md``) of a training dataset: counts, agreement, filters.

`CardStats` accumulates what the card reports while rows stream past; `render_card`
writes Hugging Face style markdown with a YAML header (for JSONL and Parquet folders the
header's ``configs`` tells ``datasets.load_dataset(folder)`` which file is which split).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from judgeloop.export.training import ROW_FORMAT_VERSION, TrainingRecord

if TYPE_CHECKING:
    from judgeloop.export.training import FilterStats
    from judgeloop.export.training_writers import CardInfo

_LOADERS = {
    "jsonl": 'datasets.load_dataset("{path}")',
    "parquet": 'datasets.load_dataset("{path}")',
    "hf": 'datasets.load_from_disk("{path}")',
}
_TRAINERS = {
    "preference": "`RewardTrainer`, `DPOTrainer` (and `judgeloop train reward`)",
    "sft": "`SFTTrainer` (prompt-completion)",
    "kto": "`KTOTrainer` (unpaired preferences)",
    "rubric": "regression on `scores`, or rubric-conditioned reward models",
    "label": "classifiers (`label` when single, `labels` always)",
}


@dataclass
class _Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float | None) -> None:
        if value is not None:
            self.total += value
            self.n += 1

    def text(self) -> str:
        return f"{self.total / self.n:.3f} (over {self.n} rows)" if self.n else "unknown"


@dataclass
class CardStats:
    """Counts and averages gathered row by row for the dataset card."""

    counts: Counter[str] = field(default_factory=Counter)
    agreement: _Mean = field(default_factory=_Mean)
    confidence: _Mean = field(default_factory=_Mean)
    margin: _Mean = field(default_factory=_Mean)
    guideline_versions: set[int] = field(default_factory=set)
    rounds: set[int] = field(default_factory=set)
    unique_prompts: dict[str, set[str]] = field(default_factory=dict)

    def add(self, split: str, record: TrainingRecord, *, margin: float | None = None) -> None:
        """Count one row of `split`."""
        self.counts[split] += 1
        self.agreement.add(record.agreement)
        self.confidence.add(record.confidence)
        self.margin.add(margin)
        self.guideline_versions.update(record.guideline_versions)
        if record.round is not None:
            self.rounds.add(record.round)
        self.unique_prompts.setdefault(split, set()).add(record.prompt)


def _header(format: str, kind: str, license: str | None) -> list[str]:
    lines = ["---"]
    if license:
        lines.append(f"license: {license}")
    lines += ["tags:", "- judgeloop", f"- {kind}", "- trl"]
    if format != "hf":
        ext = "jsonl" if format == "jsonl" else "parquet"
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split in ("train", "test"):
            lines += [f"  - split: {split}", f"    path: {split}.{ext}"]
    lines.append("---")
    return lines


def render_card(
    *,
    kind: str,
    format: str,
    stats: CardStats,
    filters: dict[str, Any],
    filtered: FilterStats,
    info: CardInfo,
    created: datetime,
    test_fraction: float,
    seed: str,
    conversational: bool,
) -> str:
    """Return the dataset card's markdown for a finished export."""
    from judgeloop import __version__

    prompts = {s: len(p) for s, p in stats.unique_prompts.items()}
    excluded = ", ".join(f"{reason}: {n}" for reason, n in sorted(filtered.excluded.items()))
    versions = ", ".join(str(v) for v in sorted(stats.guideline_versions)) or "unknown"
    rounds = ", ".join(str(r) for r in sorted(stats.rounds)) or "none"
    lines = _header(format, kind, info.license)
    lines += [
        f"# {info.title}",
        "",
        f"A **{kind}** dataset exported by judgeloop {__version__} on "
        f"{created.date().isoformat()} ({created.isoformat(timespec='seconds')}), "
        f"rows in `{ROW_FORMAT_VERSION}` format"
        f"{' (conversational: message lists)' if conversational else ''}.",
        f"For {_TRAINERS[kind]}.",
        "",
        "## Counts",
        "",
        "| split | rows | prompts |",
        "|---|---:|---:|",
        *(f"| {s} | {stats.counts.get(s, 0)} | {prompts.get(s, 0)} |" for s in ("train", "test")),
        "",
        "## Agreement",
        "",
        f"- mean agreement: {stats.agreement.text()}",
        f"- mean consensus confidence: {stats.confidence.text()}",
    ]
    if kind == "preference":
        lines.append(f"- mean margin: {stats.margin.text()}")
    lines += [
        "",
        "## Filters",
        "",
        f"- filters: `{json.dumps(filters, sort_keys=True)}`",
        f"- records kept: {filtered.kept}; left out: {sum(filtered.excluded.values())}"
        + (f" ({excluded})" if excluded else ""),
        "",
        "## Provenance",
        "",
        f"- source: {info.source or 'unknown'}",
        f"- consensus method: {info.method or 'unknown'}",
        f"- guideline versions: {versions}",
        f"- rounds: {rounds}",
        *(f"- {name}: {value}" for name, value in sorted(info.notes.items())),
        "",
        "## Split",
        "",
        f"By prompt: a prompt (NFKC, case-folded, whitespace collapsed) goes to `test` when "
        f"sha256(seed, prompt) falls in the first {test_fraction:.0%}; seed `{seed}`. "
        "No prompt is in both splits.",
        "",
        "## Load",
        "",
        "```python",
        "import datasets",
        f"ds = {_LOADERS[format].format(path='<this folder>')}",
        "```",
        "",
    ]
    return "\n".join(lines)
