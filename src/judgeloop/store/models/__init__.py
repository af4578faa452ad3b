"""All tables, imported here so Alembic and `Base.metadata` see every one."""

from judgeloop.store.models.accounts import ApiToken, User
from judgeloop.store.models.code_runs import CodeRun
from judgeloop.store.models.events import Event
from judgeloop.store.models.exports import ExportRecord, ImportRecord
from judgeloop.store.models.items import Candidate, GoldAnswer, Item, ModelVersion
from judgeloop.store.models.learning import RewardModel
from judgeloop.store.models.ledger import (
    LedgerEntry,
    PayoutStatement,
    PayoutStatementEntry,
    PayTerms,
)
from judgeloop.store.models.llm import Generation, JudgeAnswer, ModelEndpoint  # noqa: F401
from judgeloop.store.models.projects import GuidelineVersion, Project, ProjectMember
from judgeloop.store.models.quality import (
    AuditSample,
    ConsensusResult,
    Suspension,
    WorkerReliability,
)
from judgeloop.store.models.rounds import Round, RoundItem
from judgeloop.store.models.work import Assignment, Flag, Judgment, Review, Submission
from judgeloop.store.models.workforce import (
    Assessment,
    AssessmentAttempt,
    Qualification,
    WorkerProfile,
)

__all__ = [
    "ApiToken",
    "Assessment",
    "AssessmentAttempt",
    "Assignment",
    "AuditSample",
    "Candidate",
    "CodeRun",
    "ConsensusResult",
    "Event",
    "ExportRecord",
    "Flag",
    "GoldAnswer",
    "GuidelineVersion",
    "ImportRecord",
    "Item",
    "Judgment",
    "LedgerEntry",
    "ModelVersion",
    "PayTerms",
    "PayoutStatement",
    "PayoutStatementEntry",
    "Project",
    "ProjectMember",
    "Qualification",
    "Review",
    "RewardModel",
    "Round",
    "RoundItem",
    "Submission",
    "Suspension",
    "User",
    "WorkerProfile",
    "WorkerReliability",
]
