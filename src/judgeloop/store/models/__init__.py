"""All tables, imported here so Alembic and `Base.metadata` see every one."""

from judgeloop.store.models.accounts import ApiToken, User
from judgeloop.store.models.events import Event
from judgeloop.store.models.exports import ExportRecord, ImportRecord
from judgeloop.store.models.items import Candidate, GoldAnswer, Item, ModelVersion
from judgeloop.store.models.projects import GuidelineVersion, Project, ProjectMember
from judgeloop.store.models.work import Assignment, Flag, Judgment, Review, Submission

__all__ = [
    "ApiToken",
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
    "ModelVersion",
    "Project",
    "ProjectMember",
    "Review",
    "Submission",
    "User",
]
