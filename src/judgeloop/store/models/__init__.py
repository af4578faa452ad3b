"""All tables, imported here so Alembic and `Base.metadata` see every one."""

from judgeloop.store.models.accounts import ApiToken, User
from judgeloop.store.models.events import Event
from judgeloop.store.models.exports import ExportRecord, ImportRecord
from judgeloop.store.models.items import Candidate, GoldAnswer, Item, ModelVersion
from judgeloop.store.models.ledger import (
    LedgerEntry,
    PayoutStatement,
    PayoutStatementEntry,
    PayTerms,
)
from judgeloop.store.models.projects import GuidelineVersion, Project, ProjectMember
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
    "Candidate",
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
    "Submission",
    "User",
    "WorkerProfile",
]
