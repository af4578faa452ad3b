"""Model folders: a ``manifest.json`` describing what was trained on what, and versions.

Every model judgeloop trains (CPU reward model, TRL reward model, DPO policy) is a
folder with a manifest: its kind (``judgeloop.reward_cpu.v1``...), name and version,
the training configuration, the data (hash, counts, source export) and the held-out
metrics. `next_version_dir` gives ``<root>/<name>/v<N>`` folders, one per training run.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput

MANIFEST_NAME = "manifest.json"
_VERSION_DIR = re.compile(r"^v(\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelManifest:
    """What a saved model is and how it was made.

    Attributes:
        kind: The model format and version (``judgeloop.reward_cpu.v1``...).
        name: The model's name (a project slug, "reward", ...).
        version: The version number within the name (0 when not versioned).
        created_at: ISO 8601 time of saving, UTC.
        judgeloop_version: The judgeloop release that trained it.
        config: The training configuration, as plain values.
        data: ``{"hash", "train_pairs", "eval_pairs", "source"}`` and the like.
        metrics: Held-out metrics (pairwise accuracy, ECE, Brier...).
        extra: Anything else the kind needs to load the model (encoder, temperature).
    """

    kind: str
    name: str = "reward"
    version: int = 0
    created_at: str = ""
    judgeloop_version: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def now_iso() -> str:
    """Return the current UTC time as ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_manifest(path: Path, manifest: ModelManifest) -> Path:
    """Write ``manifest.json`` into the folder `path` (created if needed); returns its path."""
    from judgeloop import __version__

    path.mkdir(parents=True, exist_ok=True)
    values = asdict(manifest)
    values["created_at"] = values["created_at"] or now_iso()
    values["judgeloop_version"] = values["judgeloop_version"] or __version__
    target = path / MANIFEST_NAME
    tmp = target.with_name(MANIFEST_NAME + ".part")
    tmp.write_text(json.dumps(values, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, target)
    return target


def read_manifest(path: Path) -> ModelManifest:
    """Read the manifest of the model folder `path`.

    Raises:
        InvalidInput: The folder has no readable manifest.
    """
    target = path / MANIFEST_NAME
    try:
        values = json.loads(target.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path} is not a judgeloop model folder ({exc})") from None
    known = set(ModelManifest.__dataclass_fields__)
    return ModelManifest(**{k: v for k, v in values.items() if k in known})


def model_versions(root: Path, name: str) -> list[int]:
    """Return the versions saved under ``<root>/<name>``, in increasing order."""
    folder = root / name
    if not folder.is_dir():
        return []
    found = (_VERSION_DIR.match(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def next_version_dir(root: Path, name: str) -> tuple[Path, int]:
    """Create and return ``<root>/<name>/v<N>`` with N one more than the latest version.

    Raises:
        InvalidInput: `name` is not a plain folder name.
    """
    if not _NAME.match(name):
        raise InvalidInput(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
    while True:
        versions = model_versions(root, name)
        version = (versions[-1] if versions else 0) + 1
        path = root / name / f"v{version}"
        try:
            path.mkdir(parents=True)
        except FileExistsError:  # another run took this version meanwhile
            continue
        return path, version
