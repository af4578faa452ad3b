"""Pure aggregation, agreement and quality-control computations (numpy/scipy, no I/O).

Arrays in, arrays and dataclasses out; nothing here touches the database. See
docs/aggregation.md for the methods and when to use which.
"""

from judgeloop.aggregate.agreement import (
    AgreementReport,
    Estimate,
    PreferenceAgreement,
    agreement_report,
    fleiss_kappa,
    pairwise_agreement,
    preference_agreement,
)
from judgeloop.aggregate.alpha import krippendorff_alpha, value_counts
from judgeloop.aggregate.behaviour import (
    copied_explanations,
    pasted_from_answer,
    retest_consistency,
    share_by_group,
    straight_lining,
    too_fast,
)
from judgeloop.aggregate.bradley_terry import (
    BradleyTerryResult,
    Comparisons,
    bradley_terry,
    encode_comparisons,
    win_rate_matrix,
)
from judgeloop.aggregate.dawid_skene import (
    Gold,
    dawid_skene,
    one_coin_dawid_skene,
    posteriors_from_accuracy,
)
from judgeloop.aggregate.encoding import LabelData, encode_ids, encode_labels
from judgeloop.aggregate.glad import glad
from judgeloop.aggregate.labels import (
    DEFAULT_LABEL_METHOD,
    LABEL_AGGREGATORS,
    aggregate_labels,
    default_label_model,
)
from judgeloop.aggregate.majority import majority_vote, wawa
from judgeloop.aggregate.preferences import (
    PreferenceConsensus,
    RankingPairs,
    encode_preferences,
    preference_consensus,
    ranking_pairs,
)
from judgeloop.aggregate.ratings import RatingConsensus, rating_consensus
from judgeloop.aggregate.redundancy import (
    RedundancyDecision,
    ReplayResult,
    StoppingRule,
    redundancy_decision,
    replay_adaptive,
)
from judgeloop.aggregate.reliability import (
    Thresholds,
    WorkerReliability,
    consensus_agreement,
    gold_accuracy,
    worker_reliability,
)
from judgeloop.aggregate.results import LabelConsensus, ModelConsensus, WorkerModel
from judgeloop.aggregate.similarity import containment, near_copies
from judgeloop.aggregate.winrate import WinRate, win_rate

__all__ = [
    "DEFAULT_LABEL_METHOD",
    "LABEL_AGGREGATORS",
    "AgreementReport",
    "BradleyTerryResult",
    "Comparisons",
    "Estimate",
    "Gold",
    "LabelConsensus",
    "LabelData",
    "ModelConsensus",
    "PreferenceAgreement",
    "PreferenceConsensus",
    "RankingPairs",
    "RatingConsensus",
    "RedundancyDecision",
    "ReplayResult",
    "StoppingRule",
    "Thresholds",
    "WinRate",
    "WorkerModel",
    "WorkerReliability",
    "aggregate_labels",
    "agreement_report",
    "bradley_terry",
    "consensus_agreement",
    "containment",
    "copied_explanations",
    "dawid_skene",
    "default_label_model",
    "encode_comparisons",
    "encode_ids",
    "encode_labels",
    "encode_preferences",
    "fleiss_kappa",
    "glad",
    "gold_accuracy",
    "krippendorff_alpha",
    "majority_vote",
    "near_copies",
    "one_coin_dawid_skene",
    "pairwise_agreement",
    "pasted_from_answer",
    "posteriors_from_accuracy",
    "preference_agreement",
    "preference_consensus",
    "ranking_pairs",
    "rating_consensus",
    "redundancy_decision",
    "replay_adaptive",
    "retest_consistency",
    "share_by_group",
    "straight_lining",
    "too_fast",
    "value_counts",
    "wawa",
    "win_rate",
    "win_rate_matrix",
    "worker_reliability",
]
