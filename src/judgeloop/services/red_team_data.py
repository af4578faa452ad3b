"""A red-team project's data: its weakness categories, its attacks, prompts for the next round.

The categories come from ``settings["weaknesses"]`` (each ``{"key", "description"}``),
else from the options of the ``weakness`` question. Attacks are items whose external id
starts with ``red-team-`` and whose metadata holds ``red_team`` (see
`services.red_team.record_attack`), each with its author's submission.
An attack whose submission a reviewer rejected counts as an attack but never as a
success, and is never handed to the next round.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import NotFound
from judgeloop.questions.base import KEY_PATTERN, check_key
from judgeloop.store.models import Candidate, Item, Project, Submission

ATTACK_PREFIX = "red-team-"
"""External ids of stored attacks start with this (then the submission key)."""
WEAKNESS_QUESTION = "weakness"
PAGE = 1000
DEFAULT_MIN_SEVERITY = 1
"""`red_team_prompts` returns every successful attack unless asked for worse ones."""


class Weakness(BaseModel):
    """A weakness category red-teamers aim at.

    Attributes:
        key: Stable identifier, the tag successful attacks carry (``prompt_injection``).
        description: What counts as this weakness, shown to workers.
        label: A short name (default: the key in words).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN)
    description: str = Field("", max_length=2000)
    label: str = Field("", max_length=200)

    @property
    def title(self) -> str:
        """The label, or the key in words (``Prompt injection``)."""
        return self.label or self.key.replace("_", " ").capitalize()


def weaknesses_of(project: Project) -> list[Weakness]:
    """The project's weakness categories: its settings, else its weakness question's options."""
    raw = project.settings.get("weaknesses")
    if isinstance(raw, list) and raw:
        out = []
        for entry in raw:
            try:
                out.append(Weakness.model_validate(entry))
            except ValidationError:
                continue  # a hand-edited setting: skip what cannot be read
        return out
    for spec in project.questions:
        if spec.get("key") == WEAKNESS_QUESTION and spec.get("kind") == "choice":
            return [
                Weakness(
                    key=o["value"],
                    label=o.get("label", ""),
                    description=o.get("description", ""),
                )
                for o in spec.get("config", {}).get("options", [])
                if isinstance(o, Mapping) and _is_key(o.get("value"))
            ]
    return []


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and check_key(value)


def target_model_name(project: Project) -> str | None:
    """The name of the project's target model version, if it names one."""
    value = project.settings.get("target_model")
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Attack:
    """One stored attack with the target's answer and the author's verdict.

    Attributes:
        item_id: The item holding the attack.
        submission_id: The author's submission.
        author_id: The worker who wrote it.
        category: The weakness it aimed at.
        prompt: The attack (the last message sent).
        messages: The conversation up to the answer, for a multi-turn attack.
        answer: The target model's answer (untrusted text).
        target_model: The model version attacked.
        succeeded: The author's verdict.
        severity: How severe the harm in the answer is.
        state: The submission's state (``submitted``, ``accepted``, ``rejected``).
        created_at: When it was stored.
    """

    item_id: int
    submission_id: int
    author_id: int
    category: str
    prompt: str
    messages: list[dict[str, str]] | None
    answer: str
    target_model: str
    succeeded: bool
    severity: int
    state: str
    created_at: datetime

    @property
    def counts_as_success(self) -> bool:
        """Whether the attack succeeded and no reviewer rejected it."""
        return self.succeeded and self.state != "rejected"


def _attack_rows(
    session: Session,
    project: Project,
    *,
    author_id: int | None = None,
    since: datetime | None = None,
    after: int = 0,
    item_id: int | None = None,
) -> Iterator[Attack]:
    """Yield the project's attacks in id order, a page at a time."""
    while True:
        query = (
            select(Item, Submission)
            .join(Submission, Submission.item_id == Item.id)
            .where(
                Item.project_id == project.id,
                Item.id > after,
                Item.external_id.startswith(ATTACK_PREFIX),
            )
            .order_by(Item.id)
            .limit(PAGE)
        )
        if author_id is not None:
            query = query.where(Submission.worker_id == author_id)
        if since is not None:
            query = query.where(Item.created_at >= since)
        if item_id is not None:
            query = query.where(Item.id == item_id)
        rows = session.execute(query).all()
        if not rows:
            return
        answers = _answers(session, [item.id for item, _ in rows])
        for item, submission in rows:
            attack = _attack(item, submission, answers.get(item.id, ""))
            if attack is not None:
                yield attack
        after = rows[-1][0].id


def _answers(session: Session, item_ids: Sequence[int]) -> dict[int, str]:
    query = select(Candidate.item_id, Candidate.text).where(
        Candidate.item_id.in_(item_ids), Candidate.key == "A"
    )
    return dict(session.execute(query).all())


def _attack(item: Item, submission: Submission, answer: str) -> Attack | None:
    meta = (item.meta or {}).get("red_team")
    if not isinstance(meta, dict):
        return None
    return Attack(
        item_id=item.id,
        submission_id=submission.id,
        author_id=submission.worker_id,
        category=str(meta.get("category", "")),
        prompt=item.prompt,
        messages=item.messages,
        answer=answer,
        target_model=str(meta.get("target_model", "")),
        succeeded=bool(meta.get("succeeded")),
        severity=int(meta.get("severity") or 0),
        state=submission.state,
        created_at=item.created_at,
    )


def list_attacks(
    session: Session,
    *,
    project: Project,
    author_id: int | None = None,
    category: str | None = None,
    succeeded: bool | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Attack]:
    """Return a page of the project's attacks, oldest first (item ids above `after`).

    Args:
        session: Database session.
        project: The red-team project.
        author_id: Only this worker's attacks (callers pass the worker's own id unless
            the caller may read every submission).
        category: Only attacks on this weakness.
        succeeded: Only successful (True) or failed (False) attacks.
        after: Keyset paging: the last item id of the previous page.
        limit: At most this many (1 to 1,000).

    Returns:
        The attacks; filters are applied before the limit.
    """
    limit = max(1, min(limit, PAGE))
    out: list[Attack] = []
    for attack in _attack_rows(session, project, author_id=author_id, after=after):
        if category is not None and attack.category != category:
            continue
        if succeeded is not None and attack.succeeded != succeeded:
            continue
        out.append(attack)
        if len(out) >= limit:
            break
    return out


def get_attack(session: Session, *, project: Project, item_id: int) -> Attack:
    """Return the project's attack stored as item `item_id`.

    Raises:
        NotFound: The project has no such attack.
    """
    found = next(_attack_rows(session, project, item_id=item_id), None)
    if found is None:
        raise NotFound(f"no attack {item_id} in project {project.slug}")
    return found


@dataclass
class CategorySummary:
    """How the attacks on one weakness went.

    Attributes:
        key: The category.
        label: Its name.
        description: What it covers.
        attacks: Attacks made.
        succeeded: Successful attacks (not rejected by a reviewer).
        severity_sum: Sum of the successful attacks' severities.
        max_severity: The worst successful attack's severity (0 when none).
    """

    key: str
    label: str
    description: str = ""
    attacks: int = 0
    succeeded: int = 0
    severity_sum: int = 0
    max_severity: int = 0

    @property
    def success_rate(self) -> float | None:
        """Successful attacks over attacks (None before the first attack)."""
        return self.succeeded / self.attacks if self.attacks else None

    @property
    def mean_severity(self) -> float | None:
        """The successful attacks' mean severity (None when none succeeded)."""
        return self.severity_sum / self.succeeded if self.succeeded else None


def attack_summary(session: Session, *, project: Project) -> list[CategorySummary]:
    """Return each weakness category's attacks, successes and severity, in the project's order.

    Categories the project no longer lists but that attacks used come last.
    """
    summaries = {
        w.key: CategorySummary(w.key, w.title, w.description) for w in weaknesses_of(project)
    }
    for attack in _attack_rows(session, project):
        key = attack.category
        entry = summaries.setdefault(key, CategorySummary(key, Weakness(key=_safe(key)).title))
        entry.attacks += 1
        if attack.counts_as_success:
            entry.succeeded += 1
            entry.severity_sum += attack.severity
            entry.max_severity = max(entry.max_severity, attack.severity)
    return list(summaries.values())


def _safe(key: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in key.lower())[:64]
    return cleaned if cleaned[:1].isalpha() else "other"


@dataclass(frozen=True)
class RedTeamPrompt:
    """A successful attack as a prompt for the next round, tagged with its weakness.

    ``RoundPrompt(p.prompt, p.source, p.tag, p.messages)`` makes a round prompt of it.

    Attributes:
        prompt: The attack (the last message sent).
        messages: The conversation up to the answer, for a multi-turn attack (None else).
        category: The weakness it exposed.
        severity: How severe the failure was.
        item_id: The attack's item.
        author_id: The worker who found it.
        target_model: The model version it broke.
        created_at: When it was stored.
        source: Always ``red_team``.
    """

    prompt: str
    messages: list[dict[str, str]] | None
    category: str
    severity: int
    item_id: int
    author_id: int
    target_model: str
    created_at: datetime
    source: str = "red_team"

    @property
    def tag(self) -> str:
        """The tag the prompt carries into the next round: its weakness category."""
        return self.category

    def row(self) -> dict[str, Any]:
        """The prompt as a JSONL row for the next round.

        ``judgeloop import`` reads it with the default mapping (the tags go to the
        item's metadata); ``judgeloop rounds start --prompts`` reads its ``prompt``,
        ``source`` and ``tag``.
        """
        return {
            "external_id": f"red-team-item-{self.item_id}",
            "prompt": self.prompt,
            "messages": self.messages,
            "source": self.source,
            "tag": self.tag,
            "metadata": {
                "source": self.source,
                "category": self.category,
                "severity": self.severity,
                "red_team": {
                    "item_id": self.item_id,
                    "author_id": self.author_id,
                    "target_model": self.target_model,
                    "created_at": self.created_at.isoformat(),
                },
            },
        }


def red_team_prompts(
    session: Session,
    *,
    project: Project,
    min_severity: int = DEFAULT_MIN_SEVERITY,
    since: datetime | None = None,
) -> list[RedTeamPrompt]:
    """Return the successful attacks' prompts, oldest first, each tagged with its category.

    Args:
        session: Database session.
        project: The red-team project.
        min_severity: Only attacks at least this severe.
        since: Only attacks stored at or after this time (the previous round's start).

    Returns:
        One prompt per successful attack that no reviewer rejected.
    """
    return [
        RedTeamPrompt(
            prompt=a.prompt,
            messages=a.messages,
            category=a.category,
            severity=a.severity,
            item_id=a.item_id,
            author_id=a.author_id,
            target_model=a.target_model,
            created_at=a.created_at,
        )
        for a in _attack_rows(session, project, since=since)
        if a.counts_as_success and a.severity >= min_severity
    ]
