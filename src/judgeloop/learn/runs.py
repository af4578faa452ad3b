"""One call from an exported preference dataset to a saved, versioned reward model.

What ``judgeloop train reward --data <folder>`` and the learning service need: read the
export's train and test splits, train the CPU reward model (held-out metrics from the
test split), and save it as ``<models_root>/<name>/v<N>`` with its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from judgeloop.errors import InvalidInput
from judgeloop.learn.data import PreferencePair, load_preference_pairs
from judgeloop.learn.manifest import ModelManifest, next_version_dir, read_manifest
from judgeloop.learn.reward_cpu import Progress, RewardCpuConfig, train_reward_cpu


@dataclass(frozen=True)
class SavedModel:
    """A model saved in a versioned folder.

    Attributes:
        path: ``<models_root>/<name>/v<version>``.
        version: The version number.
        manifest: Its manifest (data, config, held-out metrics).
    """

    path: Path
    version: int
    manifest: ModelManifest


def _split(dataset: Path, split: str) -> list[PreferencePair]:
    try:
        return load_preference_pairs(dataset, split)
    except InvalidInput:
        if split == "test" and dataset.is_dir():
            return []  # an export without a test split: no held-out metrics
        raise


def train_reward_from_dataset(
    dataset: Path,
    models_root: Path,
    *,
    config: RewardCpuConfig | None = None,
    on_progress: Progress | None = None,
    source: str = "",
) -> SavedModel:
    """Train the CPU reward model on an exported dataset and save the next version.

    Args:
        dataset: A preference export folder (any format) or a single file (then no
            held-out split: the manifest has validation metrics only).
        models_root: Where versioned model folders live.
        config: The training configuration; its ``name`` names the model folder.
        on_progress: Called as ``(stage, done, total)``.
        source: Recorded as the data source (e.g. the ExportRecord's sha256); default:
            the dataset's path.
    """
    config = config or RewardCpuConfig()
    train = load_preference_pairs(dataset, "train")
    test = _split(dataset, "test") if dataset.is_dir() else []
    model = train_reward_cpu(
        train,
        eval_pairs=test,
        config=config,
        on_progress=on_progress,
        source=source or str(dataset),
    )
    path, version = next_version_dir(models_root, config.name)
    model.manifest = replace(model.manifest, version=version)
    model.save(path)
    return SavedModel(path=path, version=version, manifest=read_manifest(path))
