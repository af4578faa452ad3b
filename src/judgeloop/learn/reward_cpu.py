"""Train the default CPU reward model: MiniLM features and a Bradley-Terry head.

`train_reward_cpu(pairs, config=RewardCpuConfig(...))` trains in minutes on a laptop:

1. a validation split is set aside from the training pairs, by prompt;
2. optionally (``fine_tune=True``) the encoder's top layers are fine-tuned with the
   pairwise logistic loss ``-log sigmoid(r(chosen) - r(rejected))``; the layers below
   are run once and cached, so each epoch costs a fraction of a full pass;
3. every (prompt, answer) is embedded (`learn.reward_model.compute_features`) and the
   head is trained with the same loss, keeping the epoch with the best validation loss;
4. a temperature is fitted on the validation pairs, so P(chosen wins) is calibrated;
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
from judgeloop.export.training import split_of
from judgeloop.learn.data import PreferencePair, data_hash
from judgeloop.learn.encoder import TextEncoder, default_encoder_version, turn_answer_text
from judgeloop.learn.manifest import ModelManifest
from judgeloop.learn.metrics import fit_temperature, pairwise_metrics
from judgeloop.learn.reward_model import FEATURES, KIND, CpuRewardModel, compute_features, make_head

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RewardCpuConfig:
    """How to train the CPU reward model.

    Attributes:
        fine_tune: Fine-tune the encoder's top layers before training the head.
        features: Embeddings the head sees (`reward_model.FEATURES`); default: all of
            them for a frozen encoder, ``("turn_answer",)`` when fine-tuning (then the
            head trained along with the encoder is kept as it is).
        head: ``linear`` (a Bradley-Terry linear model) or ``mlp``.
        hidden: Hidden units of the MLP head.
        dropout: Dropout on the head's input (and hidden layer).
        epochs: Head training epochs (the best one on validation is kept).
        batch_size: Pairs per head training step.
        learning_rate: The head's AdamW learning rate.
        weight_decay: The head's AdamW weight decay.
        fine_tune_epochs: Encoder fine-tuning epochs.
        fine_tune_layers: How many top encoder layers to fine-tune (0: all, slow).
        fine_tune_batch_size: Pairs per fine-tuning step.
        encoder_learning_rate: The encoder's learning rate when fine-tuning.
        max_length: Tokens per text (longer texts are cut at the end).
        validation_fraction: Share of training prompts kept for model selection.
        use_margin: Subtract each pair's margin inside the loss (as TRL does).
        seed: Seed for initialization, shuffling and the validation split.
        encode_batch_size: Texts per encoder batch.
        name: The model's name in its manifest (and versioned folder).
    """

    fine_tune: bool = False
    features: tuple[str, ...] | None = None
    head: str = "linear"
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
        """Return the features the head sees (the default depends on `fine_tune`)."""
        if self.features is not None:
            return tuple(self.features)
        return ("turn_answer",) if self.fine_tune else FEATURES


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
) -> Any:
    """Fine-tune the encoder's top layers with a linear head on ``turn_answer`` texts.

    Returns the head, as a `make_head` linear head (reused when the features are just
    ``turn_answer``).
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
    head.eval()
    return head


def _fixed(reporter: _Reporter, texts: Sequence[str]) -> Callable[[int], None]:
    report = reporter("encode")
    return lambda done: report(done, len(texts))


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
        pairs: Training pairs (a validation share is set aside from them by prompt).
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
    fit, val = _validation_split(pairs, config.validation_fraction, config.seed)
    encoder = TextEncoder(max_length=config.max_length)
    features = config.resolved_features()
    tuned_head = _fine_tune(encoder, fit, config, reporter) if config.fine_tune else None

    def encoded(ps: Sequence[PreferencePair]) -> tuple[Any, Any, Any]:
        xc, xr = _pair_features(encoder, ps, config, reporter("encode"))
        m = np.array([p.margin if config.use_margin else 0.0 for p in ps], dtype=np.float32)
        return xc, xr, m

    val_x = encoded(val) if val else None
    if tuned_head is not None and features == ("turn_answer",) and config.head == "linear":
        head, check = tuned_head, val_x or encoded(fit)
    else:
        fit_x = encoded(fit)
        head, check = _fit_head(fit_x, val_x, config, reporter("train head")), val_x or fit_x
    model = CpuRewardModel(encoder, head, features=features, fine_tuned=config.fine_tune)
    raw = (model.score_features(check[0]) - model.score_features(check[1])).astype(np.float64)
    model.temperature = fit_temperature(raw)
    metrics: dict[str, Any] = {
        "validation": pairwise_metrics(raw / model.temperature).as_dict(),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    if eval_pairs:
        reporter("evaluate")(0, len(eval_pairs))
        metrics["held_out"] = model.evaluate(eval_pairs).as_dict()
        reporter("evaluate")(len(eval_pairs), len(eval_pairs))
    model.manifest = _manifest(config, pairs, (fit, val), eval_pairs, metrics, model, source)
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
            "input_dim": _input_dim(model.head),
            "temperature": model.temperature,
        },
    )


def _input_dim(head: Any) -> int:
    """Return the input size of a head (its first linear layer's)."""
    import torch

    first = next(m for m in head.modules() if isinstance(m, torch.nn.Linear))
    return int(first.in_features)
