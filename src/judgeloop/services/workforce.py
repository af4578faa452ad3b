"""Who may work: profiles, credential verification, eligibility and per-worker daily caps.

A project's requirements (``schemas.workforce.Requirements``) live in
``Project.settings["requirements"]``, its daily cap (submissions per worker per UTC day)
in ``Project.settings["daily_cap"]``. ``lease_block_reason`` is what the queue asks
before it leases a new task: at the cap, or no longer eligible, the worker gets none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, InvalidInput, NotFound
from judgeloop.schemas.workforce import LANGUAGE_LEVELS, ProfileUpdate, Requirements
from judgeloop.services.assessments import active_qualifications, answer_matches
from judgeloop.services.projects import member_role
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    AssessmentAttempt,
    Event,
    GoldAnswer,
    Item,
    Judgment,
    Project,
    Submission,
    Suspension,
    User,
    WorkerProfile,
)

VERIFIERS = frozenset({"admin", "owner"})
QUALITY_WINDOW = 2000
"""At most this many recent gold judgments count towards a worker's quality."""
_LEVEL_RANK = {level: rank for rank, level in enumerate(LANGUAGE_LEVELS)}


def get_profile(session: Session, *, user: User) -> WorkerProfile:
    """Return the user's profile; an empty, unsaved one when they have not written one."""
    profile = session.scalar(select(WorkerProfile).where(WorkerProfile.user_id == user.id))
    if profile is None:
        profile = WorkerProfile(
            user_id=user.id,
            skill_lanes=[],
            domains=[],
            languages=[],
            programming_languages=[],
            experience="",
            availability_hours_per_week=0,
            credentials="",
            verified=False,
        )
    return profile


def update_profile(session: Session, *, user: User, data: ProfileUpdate) -> WorkerProfile:
    """Replace the user's profile with `data`.

    Changing the credentials text of a verified profile withdraws the verification: what
    an owner verified is no longer what the profile says.
    """
    profile = get_profile(session, user=user)
    if profile.verified and data.credentials.strip() != profile.credentials:
        profile.verified, profile.verified_by, profile.verified_at = False, None, None
    profile.skill_lanes = list(data.skill_lanes)
    profile.domains = list(data.domains)
    profile.languages = [lang.model_dump() for lang in data.languages]
    profile.programming_languages = list(data.programming_languages)
    profile.experience = data.experience.strip()
    profile.availability_hours_per_week = data.availability_hours_per_week
    profile.credentials = data.credentials.strip()
    profile.updated_at = utcnow()
    session.add(profile)
    session.add(Event(kind="profile.updated", actor_id=user.id, payload={"user_id": user.id}))
    session.commit()
    return profile


def verify_credentials(
    session: Session, *, worker: User, verifier: User, verified: bool
) -> WorkerProfile:
    """Mark a worker's credentials verified (or not), recording who decided and when.

    Raises:
        Forbidden: The verifier is not an owner or admin, or verifies themselves.
        InvalidInput: The worker has written no credentials to verify.
    """
    if verifier.role not in VERIFIERS:
        raise Forbidden("only project owners and admins may verify credentials")
    if verifier.id == worker.id:
        raise Forbidden("nobody may verify their own credentials")
    profile = get_profile(session, user=worker)
    if verified and not profile.credentials.strip():
        raise InvalidInput("this worker has written no credentials to verify")
    profile.verified = verified
    profile.verified_by = verifier.id
    profile.verified_at = utcnow()
    session.add(profile)
    session.add(
        Event(
            kind="profile.verified" if verified else "profile.unverified",
            actor_id=verifier.id,
            payload={"user_id": worker.id},
        )
    )
    session.commit()
    return profile


def get_worker(session: Session, user_id: int) -> User:
    """Return the user with this id, or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def project_requirements(project: Project) -> Requirements:
    """Return the project's requirements (none stated: an empty Requirements)."""
    return Requirements.model_validate(project.settings.get("requirements") or {})


def set_requirements(
    session: Session, *, project: Project, actor: User, data: Requirements
) -> Requirements:
    """Store the project's requirements (callers authorize: owners and admins)."""
    project.settings = {**project.settings, "requirements": data.model_dump(mode="json")}
    session.add(Event(kind="project.requirements", actor_id=actor.id, project_id=project.id))
    session.commit()
    return data


def daily_cap(project: Project) -> int | None:
    """The most submissions one worker may make in the project per UTC day (None: no cap)."""
    cap = project.settings.get("daily_cap")
    return int(cap) if isinstance(cap, int) and not isinstance(cap, bool) else None


def set_daily_cap(
    session: Session, *, project: Project, actor: User, per_worker: int | None
) -> int | None:
    """Set or clear the project's per-worker daily cap (callers authorize)."""
    settings = {k: v for k, v in project.settings.items() if k != "daily_cap"}
    if per_worker is not None:
        settings["daily_cap"] = per_worker
    project.settings = settings
    session.add(
        Event(
            kind="project.daily_cap",
            actor_id=actor.id,
            project_id=project.id,
            payload={"per_worker": per_worker},
        )
    )
    session.commit()
    return per_worker


def utc_midnight(now: datetime | None = None) -> datetime:
    """The start of the current UTC day."""
    now = now or utcnow()
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


def submissions_today(
    session: Session, *, project: Project, worker: User, now: datetime | None = None
) -> int:
    """Count the worker's submissions in the project since UTC midnight."""
    count = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.worker_id == worker.id,
            Submission.project_id == project.id,
            Submission.created_at >= utc_midnight(now),
        )
    )
    return int(count or 0)


@dataclass
class Eligibility:
    """Whether a worker meets a project's requirements, and what holds them back."""

    eligible: bool
    fit: float
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Keys of the unmet requirements: ``lanes``, ``language:en``, ``qualification:x``."""


def evaluate(
    req: Requirements,
    profile: WorkerProfile | None,
    qualifications: Iterable[str],
    quality: float | None,
) -> Eligibility:
    """Check stated facts about a worker against requirements (pure: no database).

    Args:
        req: The project's requirements.
        profile: The worker's profile (None: they have written none).
        qualifications: Names of the worker's unexpired qualifications.
        quality: The worker's quality, 0..1 (None: no record yet).

    Returns:
        The verdict; `fit` is the share of stated requirements met (0.5 when none).
    """
    held = set(qualifications)
    lanes = set(profile.skill_lanes) if profile else set()
    domains = set(profile.domains) if profile else set()
    spoken = {
        str(x.get("code")): str(x.get("level")) for x in (profile.languages if profile else [])
    }
    checks: list[tuple[str, bool, str]] = []
    if req.lanes:
        ok = bool(lanes & set(req.lanes))
        checks.append(("lanes", ok, f"needs the skill lane {' or '.join(req.lanes)}"))
    if req.domains:
        ok = bool(domains & set(req.domains))
        checks.append(("domains", ok, f"needs experience in {' or '.join(req.domains)}"))
    for lang in req.languages:
        have = _LEVEL_RANK.get(spoken.get(lang.code, ""), -1)
        ok = have >= _LEVEL_RANK[lang.level]
        checks.append((f"language:{lang.code}", ok, f"needs {lang.code} at {lang.level} level"))
    for name in req.qualifications:
        checks.append((f"qualification:{name}", name in held, f"needs the qualification {name}"))
    if req.min_quality is not None:
        ok = quality is not None and quality >= req.min_quality
        yours = "no record yet" if quality is None else f"yours: {quality:.0%}"
        checks.append(("min_quality", ok, f"needs quality {req.min_quality:.0%} ({yours})"))
    if req.verified_only:
        ok = bool(profile and profile.verified)
        checks.append(("verified_only", ok, "needs verified credentials"))
    missing = [key for key, ok, _ in checks if not ok]
    fit = (len(checks) - len(missing)) / len(checks) if checks else 0.5
    reasons = [reason for _, ok, reason in checks if not ok]
    return Eligibility(eligible=not missing, fit=round(fit, 4), reasons=reasons, missing=missing)


def check_eligibility(session: Session, *, project: Project, worker: User) -> Eligibility:
    """Check one worker against the project's requirements."""
    req = project_requirements(project)
    quality = None
    if req.min_quality is not None:
        quality = worker_qualities(session, [worker.id]).get(worker.id)
    profile = session.scalar(select(WorkerProfile).where(WorkerProfile.user_id == worker.id))
    return evaluate(req, profile, active_qualifications(session, worker_id=worker.id), quality)


def lease_block_reason(session: Session, *, project: Project, worker: User) -> str | None:
    """Say why the worker may take no new task in this project now, or return None.

    Three things stop new leases: a suspension from the project (``services.qc``; the
    owner's written reason is shown), the project's daily cap (counted since UTC
    midnight) and, for members with the worker role, no longer meeting the project's
    requirements (a qualification expired, the requirements changed). Costs one indexed
    query when the project states no cap and no requirements.
    """
    suspension = session.scalar(
        select(Suspension.reason)
        .where(
            Suspension.project_id == project.id,
            Suspension.worker_id == worker.id,
            Suspension.lifted_at.is_(None),
        )
        .limit(1)
    )
    if suspension is not None:
        return f"you are suspended (the owner's reason: “{suspension}”)"
    cap = daily_cap(project)
    if cap is not None and submissions_today(session, project=project, worker=worker) >= cap:
        return f"you have done this project's daily cap of {cap} tasks; come back after 00:00 UTC"
    if not project.settings.get("requirements"):
        return None
    if member_role(session, project=project, user=worker) != "worker":
        return None
    verdict = check_eligibility(session, project=project, worker=worker)
    if not verdict.eligible:
        return "you no longer meet this project's requirements: " + "; ".join(verdict.reasons)
    return None


def worker_qualities(session: Session, worker_ids: Sequence[int]) -> dict[int, float]:
    """Each worker's quality: the share of known-answer questions they got right.

    Known answers come from gold items met in real work (their recent judgments, up to
    ``QUALITY_WINDOW``) and from finished assessment attempts. Workers with no scored
    answer yet are left out of the result.
    """
    right: dict[int, int] = {}
    total: dict[int, int] = {}

    def count(worker_id: int, ok: bool | None) -> None:
        if ok is not None:
            total[worker_id] = total.get(worker_id, 0) + 1
            right[worker_id] = right.get(worker_id, 0) + int(ok)

    for worker_id, kind, given, expected in _gold_judgments(session, worker_ids):
        count(worker_id, answer_matches(kind, expected, given))
    attempts = select(AssessmentAttempt.worker_id, AssessmentAttempt.results).where(
        AssessmentAttempt.worker_id.in_(worker_ids), AssessmentAttempt.finished_at.is_not(None)
    )
    for worker_id, results in session.execute(attempts):
        for result in results or []:
            count(worker_id, _correct(result))
    return {w: right[w] / total[w] for w in total}


def _correct(result: Mapping[str, Any]) -> bool | None:
    value = result.get("correct")
    return value if isinstance(value, bool) else None


def _gold_judgments(session: Session, worker_ids: Sequence[int]) -> list[tuple[int, str, Any, Any]]:
    if not worker_ids:
        return []
    query = (
        select(Submission.worker_id, Judgment.kind, Judgment.value, GoldAnswer.value)
        .join(Item, and_(Item.id == Submission.item_id, Item.is_gold.is_(True)))
        .join(Judgment, Judgment.submission_id == Submission.id)
        .join(
            GoldAnswer,
            and_(
                GoldAnswer.item_id == Submission.item_id,
                GoldAnswer.question_key == Judgment.question_key,
                GoldAnswer.candidate_key == Judgment.candidate_key,
            ),
        )
        .where(Submission.worker_id.in_(worker_ids))
        .order_by(Submission.id.desc())
        .limit(QUALITY_WINDOW * max(1, len(worker_ids)))
    )
    return [(w, k, given, expected) for w, k, given, expected in session.execute(query)]
