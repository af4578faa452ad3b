"""Train the default CPU reward model: MiniLM features and a Bradley-Terry head.

`train_reward_cpu(pairs, config=RewardCpuConfig(...))` trains in minutes on a laptop:

1. optionally (``fine_tune=True``) the encoder's top layers are fine-tuned with the
   pairwise logistic loss ``-log sigmoid(r(chosen) - r(rejected))`` on all but a
   validation share of the training prompts; the layers below are run once and
   cached, so each epoch costs a fraction of a full pass;
2. every (prompt, answer) is embedded (`learn.reward_model.compute_features`: the
   answer, and the last user turn with the answer, each pooled from several encoder
   layers);
3. the linear head is L2-regularized logistic regression on the chosen-minus-rejected
   features (`learn.linear_bt`), its strength picked by cross-validation by prompt
   over the training pairs (over the validation share when the encoder was
   fine-tuned on the rest), then refitted on all of them (``head="mlp"``: an MLP
   trained with AdamW, keeping the best validation epoch);
4. a temperature is fitted on the out-of-fold (or validation) margins, so
   P(chosen wins) is calibrated;
5. held-out pairs (``eval_pairs``) give the accuracy and calibration in the manifest.

`on_progress(stage, done, total)` reports each stage (``encode``, ``fine-tune``,
``train head``, ``evaluate``) for a progress bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.export.training import prompt_bucket, split_of
from judgeloop.learn.data import PreferencePair, data_hash
from judgeloop.learn.encoder import TextEncoder, default_encoder_version, turn_answer_text
from judgeloop.learn.linear_bt import DEFAULT_L2_GRID, choose_l2, fit_linear_bt
from judgeloop.learn.manifest import ModelManifest
from judgeloop.learn.metrics import fit_temperature, pairwise_metrics
from judgeloop.learn.reward_model import (
    DEFAULT_FEATURES,
    DEFAULT_LAYERS,
    KIND,
    CpuRewardModel,
    compute_features,
    make_head,
)

Progress = Callable[[str, int, int], None]
FORMAT = 2  # manifest ``extra.format``: 2 adds ``layers`` (absent: the last layer only)


@dataclass(frozen=True)
class RewardCpuConfig:
    """How to train the CPU reward model.

    Attributes:
        fine_tune: Fine-tune the encoder's top layers before training the head.
        features: Embeddings the head sees (`reward_model.FEATURES`); default
            ``("answer", "turn_answer")``.
        layers: Encoder layers mean-pooled into each embedding (hidden-state indices,
            0: token embeddings; ``()``: the last layer only).
        head: ``linear`` (a Bradley-Terry linear model) or ``mlp``.
        l2_grid: L2 strengths of the linear head tried by cross-validation.
        cv_folds: Folds (by prompt) of that cross-validation over the training pairs.
        hidden: Hidden units of the MLP head.
        dropout: Dropout on the MLP head's input (and hidden layer).
        epochs: MLP head training epochs (the best one on validation is kept).
        batch_size: Pairs per MLP head training step.
        learning_rate: The MLP head's AdamW learning rate.
        weight_decay: The MLP head's AdamW weight decay.
        fine_tune_epochs: Encoder fine-tuning epochs.
        fine_tune_layers: How many top encoder layers to fine-tune (0: all, slow).
        fine_tune_batch_size: Pairs per fine-tuning step.
        encoder_learning_rate: The encoder's learning rate when fine-tuning.
        max_length: Tokens per text (longer texts are cut at the end).
        validation_fraction: Share of training prompts kept out of fine-tuning (and
            of the MLP head's training) for model selection.
        use_margin: Subtract each pair's margin inside the loss (as TRL does).
        seed: Seed for initialization, shuffling and the validation split.
        encode_batch_size: Texts per encoder batch.
        name: The model's name in its manifest (and versioned folder).
    """

    fine_tune: bool = False
    features: tuple[str, ...] | None = None
    layers: tuple[int, ...] = DEFAULT_LAYERS
    head: str = "linear"
    l2_grid: tuple[float, ...] = DEFAULT_L2_GRID
    cv_folds: int = 4
    hidden: int = 256
    dropout: float = 0.0
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    fine_tune_epochs: int = 3
    fine_tune_layers: int = 2
    fine_tune_batch_size: int = 16
    encoder_learning_rate: float = 5e-5
    max_length: int = 128
    validation_fraction: float = 0.1
    use_margin: bool = False
    seed: int = 0
    encode_batch_size: int = 64
    name: str = "reward"

    def resolved_features(self) -> tuple[str, ...]:
        """Return the features the head sees."""
        return DEFAULT_FEATURES if self.features is None else tuple(self.features)


def _validation_split(
    pairs: Sequence[PreferencePair], fraction: float, seed: int
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    fit: list[PreferencePair] = []
    val: list[PreferencePair] = []
    for p in pairs:
        in_val = fraction > 0 and split_of(p.prompt, fraction, f"validation.{seed}") == "test"
        (val if in_val else fit).append(p)
    if not fit:
        fit, val = val, []
    return fit, val


class _Reporter:
    def __init__(self, on_progress: Progress | None) -> None:
        self.on_progress = on_progress

    def __call__(self, stage: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if self.on_progress is not None:
                self.on_progress(stage, done, total)

        return report


def _pair_features(
    encoder: TextEncoder, pairs: Sequence[PreferencePair], config: RewardCpuConfig, report: Any
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Return the feature matrices of the chosen and of the rejected answers."""
    prompts = [p.prompt for p in pairs]
    answers = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    x = compute_features(
        encoder,
        config.resolved_features(),
        prompts * 2,
        answers,
        batch_size=config.encode_batch_size,
        on_batch=report,
        layers=config.layers,
    )
    return x[: len(pairs)], x[len(pairs) :]


def _bt_loss(torch: Any, diff: Any, margin: Any) -> Any:
    return -torch.nn.functional.logsigmoid(diff - margin).mean()


def _fit_head(
    fit: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any] | None,
    config: RewardCpuConfig,
    report: Callable[[int, int], None],
) -> Any:
    """Train the Bradley-Terry head on feature tensors; keep the best validation epoch."""
    import torch

    xc, xr, margin = (torch.from_numpy(np.ascontiguousarray(a)) for a in fit)
    head = make_head(xc.shape[1], config.head, config.hidden, config.dropout)
    opt = torch.optim.AdamW(
        head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    vc, vr, vm = (torch.from_numpy(np.ascontiguousarray(a)) for a in (val or fit))
    best = (float("inf"), {k: v.clone() for k, v in head.state_dict().items()})
    for epoch in range(config.epochs):
        head.train()
        order = torch.randperm(len(xc), generator=generator)
        for batch in torch.split(order, config.batch_size):
            loss = _bt_loss(torch, head(xc[batch]) - head(xr[batch]), margin[batch, None])
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            val_loss = float(_bt_loss(torch, head(vc) - head(vr), vm[:, None]))
        if val_loss < best[0]:
            best = (val_loss, {k: v.clone() for k, v in head.state_dict().items()})
        report(epoch + 1, config.epochs)
    head.load_state_dict(best[1])
    head.eval()
    return head


def _fine_tune(
    encoder: TextEncoder,
    pairs: Sequence[PreferencePair],
    config: RewardCpuConfig,
    reporter: _Reporter,
) -> None:
    """Fine-tune the encoder's top layers with a linear head on ``turn_answer`` texts.

    The head only steers the fine-tuning: the model's own head is fitted afterwards on
    the tuned encoder's features.
    """
    import torch

    layers = config.fine_tune_layers if encoder.layer_count() else 0
    layers = min(layers, encoder.layer_count())
    texts = [turn_answer_text(p.prompt, a) for p in pairs for a in (p.chosen, p.rejected)]
    if layers:
        states = encoder.lower_states(
            texts, layers, batch_size=config.encode_batch_size, on_batch=_fixed(reporter, texts)
        )
    params = encoder.train_top(layers)
    head = make_head(encoder.dim, "linear", 0, 0.0)
    opt = torch.optim.AdamW(
        [
            {"params": params, "lr": config.encoder_learning_rate},
            {"params": head.parameters(), "lr": 1e-3},
        ],
        weight_decay=0.01,
    )
    n, bs = len(pairs), config.fine_tune_batch_size
    total = config.fine_tune_epochs * max(1, -(-n // bs))
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total)
    )
    generator = torch.Generator().manual_seed(config.seed)
    margins = torch.tensor([p.margin if config.use_margin else 0.0 for p in pairs])
    encoder.model.train()
    step = 0
    report = reporter("fine-tune")
    for _ in range(config.fine_tune_epochs):
        for batch in torch.split(torch.randperm(n, generator=generator), bs):
            idx = [2 * i + side for side in (0, 1) for i in batch.tolist()]
            if layers:
                emb = encoder.embed_from_lower([states[i] for i in idx], layers)
            else:
                emb = encoder.embed([texts[i] for i in idx])
            reward = head(emb).squeeze(-1)
            loss = _bt_loss(torch, reward[: len(batch)] - reward[len(batch) :], margins[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            report(step, total)
    encoder.model.eval()


def _fixed(reporter: _Reporter, texts: Sequence[str]) -> Callable[[int], None]:
    report = reporter("encode")
    return lambda done: report(done, len(texts))


def _cv_folds(pairs: Sequence[PreferencePair], config: RewardCpuConfig, val: int) -> Any:
    """Return each pair's cross-validation fold by prompt (-1 for the first `-val` pairs).

    ``val == 0``: k folds over all pairs; ``val > 0``: only the last `val` pairs (the
    validation share, after the pairs fine-tuned on) are scored, as one fold.
    """
    if val:
        return np.array([-1] * (len(pairs) - val) + [0] * val, dtype=np.int64)
    k = max(2, config.cv_folds)
    seed = f"cv.{config.seed}"
    return np.array([int(prompt_bucket(p.prompt, seed) * k) for p in pairs], dtype=np.int64)


def _linear_head(
    x: tuple[Any, Any, Any], folds: Any, config: RewardCpuConfig, report: Any
) -> tuple[Any, Any, float]:
    """Fit the linear Bradley-Terry head; return it, the out-of-fold margins, the L2."""
    import torch

    diff = (x[0] - x[1]).astype(np.float64)
    margin = x[2].astype(np.float64) if config.use_margin else None
    l2, oof = choose_l2(diff, folds, grid=config.l2_grid, margin=margin, on_step=report)
    w = fit_linear_bt(diff, l2, margin)
    head = make_head(diff.shape[1], "linear", 0, 0.0)
    with torch.no_grad():
        head[1].weight.copy_(torch.from_numpy(w).float()[None, :])
        head[1].bias.zero_()
    head.eval()
    return head, oof[~np.isnan(oof)], l2


def _encoded(
    encoder: TextEncoder,
    pairs: Sequence[PreferencePair],
    config: RewardCpuConfig,
    reporter: _Reporter,
) -> tuple[Any, Any, Any]:
    """Return the chosen and rejected feature matrices and the margins of `pairs`."""
    xc, xr = _pair_features(encoder, pairs, config, reporter("encode"))
    m = np.array([p.margin if config.use_margin else 0.0 for p in pairs], dtype=np.float32)
    return xc, xr, m


def _stack(a: tuple[Any, Any, Any], b: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]), np.concatenate([a[2], b[2]])


def train_reward_cpu(
    pairs: Sequence[PreferencePair],
    *,
    eval_pairs: Sequence[PreferencePair] = (),
    config: RewardCpuConfig | None = None,
    on_progress: Progress | None = None,
    source: str = "",
) -> CpuRewardModel:
    """Train the default CPU reward model on preference pairs.

    Args:
        pairs: Training pairs (a validation share is set aside from them by prompt
            when fine-tuning or training an MLP head).
        eval_pairs: Held-out pairs (e.g. the export's test split) for the manifest's
            accuracy and calibration; their prompts should not be in `pairs`.
        config: The training configuration (defaults: frozen MiniLM, linear head).
        on_progress: Called as ``(stage, done, total)`` while training.
        source: Where the pairs come from (an export's path or sha256), for the manifest.

    Returns:
        The trained model; ``model.save(folder)`` writes it with its manifest.
    """
    import torch

    config = config or RewardCpuConfig()
    if len(pairs) < 2:
        raise InvalidInput(f"a reward model needs at least 2 preference pairs, got {len(pairs)}")
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    reporter = _Reporter(on_progress)
    split: tuple[list[PreferencePair], list[PreferencePair]] = (list(pairs), [])
    if config.fine_tune or config.head != "linear":
        split = _validation_split(pairs, config.validation_fraction, config.seed)
    encoder = TextEncoder(max_length=config.max_length)
    if config.fine_tune:
        _fine_tune(encoder, split[0], config, reporter)
    fit_x = _encoded(encoder, split[0], config, reporter)
    val_x = _encoded(encoder, split[1], config, reporter) if split[1] else None
    raw: Any = np.zeros(0)
    l2: float | None = None
    if config.head == "linear":
        x = fit_x if val_x is None else _stack(fit_x, val_x)
        folds = _cv_folds([*split[0], *split[1]], config, len(split[1]))
        head, raw, l2 = _linear_head(x, folds, config, reporter("train head"))
    else:
        head = _fit_head(fit_x, val_x, config, reporter("train head"))
    model = CpuRewardModel(
        encoder,
        head,
        features=config.resolved_features(),
        fine_tuned=config.fine_tune,
        layers=config.layers,
    )
    if not len(raw):
        check = val_x or fit_x
        raw = model.score_features(check[0]) - model.score_features(check[1])
    model.temperature = fit_temperature(np.asarray(raw, dtype=np.float64))
    metrics: dict[str, Any] = {
        "validation": pairwise_metrics(np.asarray(raw) / model.temperature).as_dict(),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    if l2 is not None:
        metrics["l2"] = l2
    if eval_pairs:
        reporter("evaluate")(0, len(eval_pairs))
        metrics["held_out"] = model.evaluate(eval_pairs).as_dict()
        reporter("evaluate")(len(eval_pairs), len(eval_pairs))
    model.manifest = _manifest(config, pairs, split, eval_pairs, metrics, model, source)
    return model


def _manifest(
    config: RewardCpuConfig,
    pairs: Sequence[PreferencePair],
    split: tuple[Sequence[PreferencePair], Sequence[PreferencePair]],
    eval_pairs: Sequence[PreferencePair],
    metrics: dict[str, Any],
    model: CpuRewardModel,
    source: str,
) -> ModelManifest:
    """Return the manifest of a freshly trained CPU reward model."""
    return ModelManifest(
        kind=KIND,
        name=config.name,
        config=asdict(config),
        data={
            "hash": data_hash(pairs),
            "train_pairs": len(split[0]),
            "validation_pairs": len(split[1]),
            "eval_pairs": len(eval_pairs),
            "eval_hash": data_hash(eval_pairs) if eval_pairs else None,
            "source": source,
        },
        metrics=metrics,
        extra={
            "encoder": default_encoder_version(),
            "fine_tuned": config.fine_tune,
            "features": list(model.features),
            "layers": list(model.layers),
            "format": FORMAT,
            "input_dim": _input_dim(model.head),
            "temperature": model.temperature,
        },
    )


def _input_dim(head: Any) -> int:
    """Return the input size of a head (its first linear layer's)."""
    import torch

    first = next(m for m in head.modules() if isinstance(m, torch.nn.Linear))
    return int(first.in_features)
