"""The default CPU reward model: encoder features and a Bradley-Terry head, saved and loaded.

``reward(prompt, answer) = head(features(prompt, answer))``, and the probability that
one answer beats another is ``sigmoid((reward_a - reward_b) / temperature)`` (the
Bradley-Terry model, with a temperature fitted on validation pairs for calibration).

Features (embeddings, concatenated):

- ``answer``: the answer alone;
- ``turn_answer``: ``Human: <last user turn>``, a new line, ``Assistant: <answer>``;
- ``interaction``: the answer's embedding times the last user turn's, elementwise.

Each embedding is the mean-pooled, L2-normalized output of some encoder layers
(``layers``, hidden-state indices; default ``DEFAULT_LAYERS``: layers 2, 4 and 6 of
MiniLM's 6), concatenated. Models saved before ``layers`` existed used the last layer
only, their manifests have no ``layers`` and load as ``()`` (the last layer).

A saved model is a folder: ``manifest.json`` (kind ``judgeloop.reward_cpu.v1``),
``head.safetensors``, and ``encoder/`` when the encoder was fine-tuned (otherwise the
bundled MiniLM is used and its package version is in the manifest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.errors import InvalidInput
from judgeloop.learn.data import PreferencePair
from judgeloop.learn.encoder import TextEncoder, turn_answer_text, turn_text
from judgeloop.learn.manifest import ModelManifest, read_manifest, write_manifest
from judgeloop.learn.metrics import PairwiseMetrics, pairwise_metrics, sigmoid

KIND = "judgeloop.reward_cpu.v1"
FEATURES = ("answer", "turn_answer", "interaction")
DEFAULT_FEATURES = ("answer", "turn_answer")
DEFAULT_LAYERS = (2, 4, 6)
FloatArray = npt.NDArray[np.float32]


def feature_texts(
    features: Sequence[str], prompts: Sequence[str], answers: Sequence[str]
) -> dict[str, list[str]]:
    """Return, per embedding needed by `features`, the text of each (prompt, answer)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise InvalidInput(f"unknown reward features {unknown}; expected some of {FEATURES}")
    texts: dict[str, list[str]] = {}
    if "answer" in features or "interaction" in features:
        texts["answer"] = list(answers)
    if "turn_answer" in features:
        texts["turn_answer"] = [
            turn_answer_text(p, a) for p, a in zip(prompts, answers, strict=True)
        ]
    if "interaction" in features:
        texts["turn"] = [turn_text(p) for p in prompts]
    return texts


def compute_features(
    encoder: TextEncoder,
    features: Sequence[str],
    prompts: Sequence[str],
    answers: Sequence[str],
    *,
    batch_size: int = 64,
    on_batch: Callable[[int, int], None] | None = None,
    layers: Sequence[int] = (),
) -> FloatArray:
    """Return the (n, d) feature matrix of (prompt, answer) pairs; each text encoded once.

    `on_batch(done, total)` counts unique texts encoded so far; `layers` are the
    encoder layers pooled into each embedding (``()``: the last one).
    """
    texts = feature_texts(features, prompts, answers)
    unique = sorted({t for column in texts.values() for t in column})
    total = len(unique)

    def progress(done: int) -> None:
        if on_batch is not None:
            on_batch(done, total)

    vectors = encoder.encode(unique, batch_size=batch_size, on_batch=progress, layers=layers)
    row = {t: i for i, t in enumerate(unique)}
    emb = {name: vectors[[row[t] for t in column]] for name, column in texts.items()}
    parts = []
    for name in features:
        parts.append(emb["answer"] * emb["turn"] if name == "interaction" else emb[name])
    return np.concatenate(parts, axis=1).astype(np.float32)


def make_head(dim: int, head: str, hidden: int, dropout: float) -> Any:
    """Return the Bradley-Terry head: a linear layer or a one-hidden-layer MLP."""
    import torch

    if head == "linear":
        return torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(dim, 1))
    if head == "mlp":
        return torch.nn.Sequential(
            torch.nn.Dropout(dropout),
            torch.nn.Linear(dim, hidden),
            torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, 1),
        )
    raise InvalidInput(f"unknown head {head!r}; expected 'linear' or 'mlp'")


class CpuRewardModel:
    """A trained reward model: scores answers, compares pairs, saves and loads itself."""

    def __init__(
        self,
        encoder: TextEncoder,
        head: Any,
        *,
        features: Sequence[str],
        temperature: float = 1.0,
        manifest: ModelManifest | None = None,
        fine_tuned: bool = False,
        layers: Sequence[int] = (),
    ) -> None:
        """Wrap an encoder and a head (use `train_reward_cpu` or `load` to get one)."""
        self.encoder = encoder
        self.head = head
        self.features = tuple(features)
        self.layers = tuple(int(i) for i in layers)
        self.temperature = float(temperature)
        self.manifest = manifest or ModelManifest(kind=KIND)
        self.fine_tuned = fine_tuned

    def score_features(self, x: FloatArray) -> FloatArray:
        """Return the rewards of precomputed feature rows."""
        import torch

        self.head.eval()
        with torch.inference_mode():
            out: FloatArray = self.head(torch.from_numpy(x)).squeeze(-1).float().numpy()
        return out

    def score(
        self, prompts: Sequence[str], answers: Sequence[str], *, batch_size: int = 64
    ) -> FloatArray:
        """Return the reward of each answer to its prompt (higher is better)."""
        if len(prompts) != len(answers):
            raise ValueError("score() needs one prompt per answer")
        if not answers:
            return np.zeros(0, dtype=np.float32)
        x = compute_features(
            self.encoder, self.features, prompts, answers, batch_size=batch_size, layers=self.layers
        )
        return self.score_features(x)

    def margins(self, pairs: Sequence[PreferencePair]) -> FloatArray:
        """Return (reward(chosen) - reward(rejected)) / temperature for each pair."""
        prompts = [p.prompt for p in pairs]
        scores = self.score(prompts * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs])
        n = len(pairs)
        out: FloatArray = (scores[:n] - scores[n:]) / self.temperature
        return out

    def prob_chosen(self, pairs: Sequence[PreferencePair]) -> FloatArray:
        """Return P(chosen beats rejected) for each pair (Bradley-Terry, calibrated)."""
        return sigmoid(self.margins(pairs).astype(np.float64)).astype(np.float32)

    def evaluate(self, pairs: Sequence[PreferencePair]) -> PairwiseMetrics:
        """Return pairwise accuracy and calibration on `pairs` (held-out ones, please)."""
        return pairwise_metrics(self.margins(pairs).astype(np.float64))

    def save(self, path: Path) -> Path:
        """Save the model into the folder `path` (manifest, head, fine-tuned encoder)."""
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(path / "head.safetensors"))
        if self.fine_tuned:
            self.encoder.save(path / "encoder")
        write_manifest(path, self.manifest)
        return path

    @classmethod
    def load(cls, path: Path) -> CpuRewardModel:
        """Load a model saved by `save` (offline; the encoder is bundled or in the folder)."""
        from safetensors.torch import load_file

        manifest = read_manifest(path)
        if manifest.kind != KIND:
            raise InvalidInput(f"{path} holds a {manifest.kind} model, not {KIND}")
        extra, config = manifest.extra, manifest.config
        fine_tuned = bool(extra.get("fine_tuned"))
        encoder = TextEncoder(
            path / "encoder" if fine_tuned else None, max_length=int(config["max_length"])
        )
        features = tuple(extra["features"])
        head = make_head(int(extra["input_dim"]), config["head"], int(config["hidden"]), 0.0)
        head.load_state_dict(load_file(str(path / "head.safetensors")))
        head.eval()
        return cls(
            encoder,
            head,
            features=features,
            temperature=float(extra.get("temperature", 1.0)),
            manifest=manifest,
            fine_tuned=fine_tuned,
            layers=tuple(extra.get("layers") or ()),
        )
