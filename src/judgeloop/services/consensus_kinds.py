"""Consensus per question kind: judgment rows → aggregate/ estimators → results per unit.

Used by ``services.consensus`` (and ``services.adaptive`` for one item). No database
here: the rows were read by ``services.judgment_data``.

- labels (choice, code_run): the default label model (Laplace-smoothed Dawid-Skene,
  anchored on gold answers) gives a posterior per unit; another method may be named.
- ratings: the reliability-weighted mean with per-worker bias correction.
- A/B preferences: Dawid-Skene over (first better, tie, second better).
- rankings, and preferences among more than two candidates: every judgment becomes
  pairwise comparisons, fitted per item with Bradley-Terry-Davidson.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from judgeloop.aggregate.bradley_terry import bradley_terry, encode_comparisons
from judgeloop.aggregate.dawid_skene import Gold, one_coin_dawid_skene
from judgeloop.aggregate.encoding import LabelData, encode_labels
from judgeloop.aggregate.labels import DEFAULT_LABEL_METHOD, aggregate_labels, default_label_model
from judgeloop.aggregate.preferences import PREFERENCE_CLASSES, encode_preferences
from judgeloop.aggregate.ratings import rating_consensus
from judgeloop.aggregate.reliability import Thresholds, worker_reliability
from judgeloop.aggregate.results import ModelConsensus
from judgeloop.services.judgment_data import TIE, JudgmentRow, label_of, pairs_of, rating_of

RATING_METHOD = "judgeloop.rating_weighted_mean.v1"
PLAIN_RATING_METHOD = "judgeloop.rating_mean.v1"
PAIR_METHOD = "judgeloop.davidson_per_item.v1"
PREFERENCE_METHOD = "judgeloop.preference_ds.v1"
PAIR_PRIOR = 1.0
"""Precision of the Gaussian prior on per-item Bradley-Terry scores (one vote: ~0.7)."""
SPARSE_LABELS = 10
"""Workers with fewer labels on a question get the one-coin model's accuracy."""
PLAIN = frozenset({"mv", "majority", "judgeloop.majority_vote.v1"})


@dataclass
class UnitResult:
    """The consensus on one unit (an item, or an item's candidate) for one question."""

    item_id: int
    candidate_key: str
    value: Any
    confidence: float
    n_judgments: int
    method: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkerTally:
    """What one question says about one worker (summed over questions later).

    ``hits`` of ``compared`` judgments matched consensus; ``gold_correct`` of
    ``gold_total`` matched a gold answer; ``reasons`` say which thresholds they fell under.
    """

    n: int = 0
    hits: float = 0.0
    compared: float = 0.0
    gold_correct: float = 0.0
    gold_total: float = 0.0
    model_accuracy: float | None = None
    model: str = ""
    informativeness: float | None = None
    bias: float | None = None
    weight: float | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class QuestionResult:
    """The consensus on every unit of one question, and what it says of each worker."""

    units: list[UnitResult]
    workers: dict[int, WorkerTally]


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _decode(kind: str, label: str) -> Any:
    if kind == "choice" and label.startswith("["):
        return json.loads(label)
    if kind == "code_run":
        return {"verdict": label}
    return label


def label_data(
    rows: Sequence[JudgmentRow], units: dict[tuple[int, str], int], extra: Sequence[str] = ()
) -> tuple[LabelData, list[JudgmentRow]]:
    """Encode the rows that carry a label; ``extra`` labels join the classes (gold)."""
    kept = [r for r in rows if label_of(r.kind, r.value) is not None]
    labels = [str(label_of(r.kind, r.value)) for r in kept]
    classes = sorted(set(labels) | set(extra))
    data = encode_labels(
        [units[r.unit] for r in kept], [r.worker_id for r in kept], labels, classes=classes
    )
    return data, kept


def _gold_for(data: LabelData, gold: dict[tuple[int, str], str], units: list[Any]) -> Gold | None:
    classes = {str(c): k for k, c in enumerate(data.classes.tolist())}
    pairs = [
        (code, classes[gold[units[int(unit)]]])
        for code, unit in enumerate(data.item_ids.tolist())
        if units[int(unit)] in gold and gold[units[int(unit)]] in classes
    ]
    if not pairs:
        return None
    items, labels = zip(*pairs, strict=True)
    return Gold(np.array(items, dtype=np.intp), np.array(labels, dtype=np.intp))


def _worker_tallies(
    data: LabelData, fit: ModelConsensus, gold: Gold | None, thresholds: Thresholds
) -> dict[int, WorkerTally]:
    """Per worker: gold accuracy, leave-one-out agreement, accuracy and informativeness.

    The model's accuracy is the one-coin model's for sparse workers; ``reasons`` lists
    the thresholds the worker fell under.
    """
    rel = worker_reliability(data, gold=gold, model=fit.workers, thresholds=thresholds)
    sparse_acc = one_coin_dawid_skene(data, prior_right=2.0, prior_wrong=1.0).workers.accuracy
    out: dict[int, WorkerTally] = {}
    for w, worker_id in enumerate(data.worker_ids.tolist()):
        sparse = rel.n_labels[w] < SPARSE_LABELS
        acc = sparse_acc[w] if sparse else fit.workers.accuracy[w]
        rate = float(rel.consensus_agreement[w])
        out[int(worker_id)] = WorkerTally(
            n=int(rel.n_labels[w]),
            hits=rate * float(rel.consensus_n[w]) if math.isfinite(rate) else 0.0,
            compared=float(rel.consensus_n[w]),
            gold_correct=float(rel.gold_correct[w]),
            gold_total=float(rel.gold_total[w]),
            model_accuracy=_finite(float(acc)),
            model="judgeloop.one_coin_ds.v1" if sparse else DEFAULT_LABEL_METHOD,
            informativeness=_finite(float(rel.informativeness[w])),
            reasons=list(rel.reasons[w]),
        )
    return out


def flag_tally(tally: WorkerTally, thresholds: Thresholds) -> None:
    """Add the reasons a tally without a worker model falls under the thresholds."""
    t = thresholds
    if tally.gold_total >= t.min_gold_items:
        acc = tally.gold_correct / tally.gold_total
        if acc < t.min_gold_accuracy:
            tally.reasons.append(
                f"gold accuracy {acc:.2f} < {t.min_gold_accuracy:.2f}"
                f" over {tally.gold_total:.0f} gold items"
            )
    if tally.compared >= t.min_consensus_items:
        rate = tally.hits / tally.compared
        if rate < t.min_consensus_agreement:
            tally.reasons.append(
                f"agreement with consensus {rate:.2f} < {t.min_consensus_agreement:.2f}"
                f" over {tally.compared:.0f} judgments"
            )


def label_question(
    rows: Sequence[JudgmentRow],
    *,
    kind: str,
    units: list[tuple[int, str]],
    codes: dict[tuple[int, str], int],
    gold: dict[tuple[int, str], str],
    method: str = "default",
    thresholds: Thresholds | None = None,
) -> QuestionResult:
    """Consensus labels with their posterior, and each worker's agreement and accuracy."""
    data, _ = label_data(rows, codes, list(gold.values()))
    if not len(data):
        return QuestionResult([], {})
    known = _gold_for(data, gold, units)
    fit = default_label_model(data, gold=known)
    consensus = fit.consensus if method == "default" else aggregate_labels(data, method)
    post, classes = consensus.posteriors, [str(c) for c in consensus.classes.tolist()]
    counts = data.item_counts
    results = []
    for row, unit_code in enumerate(consensus.item_ids.tolist()):
        item_id, cand = units[int(unit_code)]
        best = int(np.argmax(post[row]))
        posterior = {c: round(float(p), 6) for c, p in zip(classes, post[row], strict=True)}
        results.append(
            UnitResult(
                item_id,
                cand,
                _decode(kind, classes[best]),
                float(post[row, best]),
                int(counts[row]),
                consensus.method,
                {"posterior": posterior},
            )
        )
    return QuestionResult(results, _worker_tallies(data, fit, known, thresholds or Thresholds()))


def rating_question(
    rows: Sequence[JudgmentRow],
    *,
    units: list[tuple[int, str]],
    codes: dict[tuple[int, str], int],
    gold: dict[tuple[int, str], Any] | None = None,
    method: str = "default",
    thresholds: Thresholds | None = None,
) -> QuestionResult:
    """Reliability-weighted, bias-corrected mean per unit, with its standard error.

    A rating agrees with consensus when it is within half a point of it.
    """
    kept = [(r, v) for r in rows if (v := rating_of(r.value)) is not None]
    if not kept:
        return QuestionResult([], {})
    plain = method in PLAIN
    unit_codes = [codes[r.unit] for r, _ in kept]
    fit = rating_consensus(
        unit_codes, [r.worker_id for r, _ in kept], [v for _, v in kept], correct_bias=not plain
    )
    n_per = np.bincount(np.searchsorted(fit.item_ids, unit_codes), minlength=len(fit.item_ids))
    centre = fit.plain_means if plain else fit.means
    name = PLAIN_RATING_METHOD if plain else RATING_METHOD
    results = []
    for i, unit_code in enumerate(fit.item_ids.tolist()):
        item_id, cand = units[int(unit_code)]
        se = float(fit.standard_errors[i])
        confidence = math.erf(0.5 / (se * math.sqrt(2))) if se > 0 else 1.0
        details = {
            "mean": float(centre[i]),
            "standard_error": se,
            "plain_mean": float(fit.plain_means[i]),
        }
        value = round(float(centre[i]), 4)
        results.append(UnitResult(item_id, cand, value, confidence, int(n_per[i]), name, details))
    means = dict(zip(fit.item_ids.tolist(), centre.tolist(), strict=True))
    workers: dict[int, WorkerTally] = {}
    for r, v in kept:
        tally = workers.setdefault(r.worker_id, WorkerTally())
        tally.n, tally.compared = tally.n + 1, tally.compared + 1
        tally.hits += float(abs(v - means[codes[r.unit]]) <= 0.5)
        expected = rating_of((gold or {}).get(r.unit))
        if expected is not None:
            tally.gold_total += 1
            tally.gold_correct += float(expected == v)
    for w, worker_id in enumerate(fit.worker_ids.tolist()):
        tally = workers[int(worker_id)]
        tally.bias = _finite(float(fit.worker_bias[w]))
        tally.weight = _finite(float(fit.worker_weight[w]))
        flag_tally(tally, thresholds or Thresholds())
    return QuestionResult(results, workers)


def ab_preference_question(
    rows: Sequence[JudgmentRow],
    *,
    candidates: dict[int, list[str]],
    gold: dict[tuple[int, str], str] | None = None,
    thresholds: Thresholds | None = None,
) -> QuestionResult:
    """Dawid-Skene over (first better, tie, second better) for two-candidate items."""
    votes = []
    for r in rows:
        keys = candidates.get(r.item_id, [])
        winner = label_of(r.kind, r.value)
        if len(keys) == 2 and winner in (keys[0], keys[1], TIE):
            votes.append((r, _outcome(keys, str(winner))))
    if not votes:
        return QuestionResult([], {})
    data = encode_preferences(
        [r.item_id for r, _ in votes], [r.worker_id for r, _ in votes], [o for _, o in votes]
    )
    known = _preference_gold(data, candidates, gold or {})
    fit = default_label_model(data, gold=known)
    post = fit.consensus.posteriors
    results = []
    for i, item_id in enumerate(data.item_ids.tolist()):
        keys, best = candidates[int(item_id)], int(np.argmax(post[i]))
        outcome = float(PREFERENCE_CLASSES[best])
        winner = keys[0] if outcome == 1.0 else keys[1] if outcome == 0.0 else TIE
        shares = {keys[0]: post[i, 0], TIE: post[i, 1], keys[1]: post[i, 2]}
        details = {
            "posterior": {k: round(float(p), 6) for k, p in shares.items()},
            "margin": float(post[i, 0] - post[i, 2]),
        }
        value = {"winner": winner, "strength": None}
        n = int(data.item_counts[i])
        confidence = float(post[i, best])
        results.append(
            UnitResult(int(item_id), "", value, confidence, n, PREFERENCE_METHOD, details)
        )
    tallies = _worker_tallies(data, fit, known, thresholds or Thresholds())
    return QuestionResult(results, tallies)


def _outcome(keys: Sequence[str], winner: str) -> float:
    return 1.0 if winner == keys[0] else 0.0 if winner == keys[1] else 0.5


def _preference_gold(
    data: LabelData, candidates: dict[int, list[str]], gold: dict[tuple[int, str], str]
) -> Gold | None:
    column = {float(c): k for k, c in enumerate(PREFERENCE_CLASSES.tolist())}
    pairs = [
        (code, column[_outcome(candidates[int(item)], gold[(int(item), "")])])
        for code, item in enumerate(data.item_ids.tolist())
        if (int(item), "") in gold
    ]
    if not pairs:
        return None
    items, labels = zip(*pairs, strict=True)
    return Gold(np.array(items, dtype=np.intp), np.array(labels, dtype=np.intp))


def pair_question(
    rows: Sequence[JudgmentRow],
    *,
    kind: str,
    candidates: dict[int, list[str]],
    thresholds: Thresholds | None = None,
) -> QuestionResult:
    """Bradley-Terry-Davidson per item from the pairs each judgment implies.

    A judgment agrees with consensus by the share of its pairs ordered as consensus.
    """
    per_item: dict[int, list[tuple[JudgmentRow, str, str, float]]] = {}
    for r in rows:
        for a, b, outcome in pairs_of(r.kind, r.value, candidates.get(r.item_id, [])):
            per_item.setdefault(r.item_id, []).append((r, a, b, outcome))
    results: list[UnitResult] = []
    hits: dict[tuple[int, int], list[float]] = {}
    for item_id, pairs in sorted(per_item.items()):
        keys = candidates[item_id]
        comps = encode_comparisons(
            [p[1] for p in pairs], [p[2] for p in pairs], [p[3] for p in pairs], models=keys
        )
        fit = bradley_terry(comps, n_bootstrap=0, prior=PAIR_PRIOR)
        scores = dict(zip(keys, fit.scores.tolist(), strict=True))
        order = sorted(keys, key=lambda k: -scores[k])
        win, idx = fit.expected_win_rates(), {k: n for n, k in enumerate(keys)}
        adjacent = [win[idx[a], idx[b]] for a, b in pairwise(order)]
        value: Any = order if kind == "ranking" else {"winner": order[0], "strength": None}
        details = {"scores": {k: round(s, 6) for k, s in scores.items()}, "tie": fit.tie_strength}
        n = len({p[0].submission_id for p in pairs})
        confidence = float(np.mean(adjacent))
        results.append(UnitResult(item_id, "", value, confidence, n, PAIR_METHOD, details))
        for row, a, b, outcome in pairs:
            same = abs(scores[a] - scores[b]) < 1e-6
            agrees = (outcome == 0.5 and same) or (outcome == 1.0 and scores[a] > scores[b])
            hits.setdefault((row.worker_id, row.submission_id), []).append(float(agrees))
    workers: dict[int, WorkerTally] = {}
    for (worker_id, _), marks in hits.items():
        tally = workers.setdefault(worker_id, WorkerTally())
        tally.n, tally.compared = tally.n + 1, tally.compared + 1
        tally.hits += sum(marks) / len(marks)
    for tally in workers.values():
        flag_tally(tally, thresholds or Thresholds())
    return QuestionResult(results, workers)
