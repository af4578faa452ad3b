"""Pydantic wire models of the JSON API, shared by the server and the Python client."""

from judgeloop.schemas.accounts import TokenCreate, TokenRead, UserCreate, UserRead
from judgeloop.schemas.items import CandidateRead, ItemPage, ItemRead
from judgeloop.schemas.projects import (
    GuidelineCreate,
    GuidelineRead,
    MemberCreate,
    MemberRead,
    ProgressRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from judgeloop.schemas.submissions import (
    AnswerIn,
    ImportReport,
    JudgmentRead,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
)

__all__ = [
    "AnswerIn",
    "CandidateRead",
    "GuidelineCreate",
    "GuidelineRead",
    "ImportReport",
    "ItemPage",
    "ItemRead",
    "JudgmentRead",
    "MemberCreate",
    "MemberRead",
    "ProgressRead",
    "ProjectCreate",
    "ProjectRead",
    "ProjectUpdate",
    "SubmissionCreate",
    "SubmissionPage",
    "SubmissionRead",
    "TokenCreate",
    "TokenRead",
    "UserCreate",
    "UserRead",
]
