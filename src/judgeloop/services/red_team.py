"""Red teaming: workers attack a project's target model live and report what broke.

A red-team project (the ``red_teaming`` preset) names its target model version in
``settings["target_model"]`` and its weakness categories in ``settings["weaknesses"]``
(each ``{"key", "description"}``; without them, the options of the ``weakness``
question). A worker picks a category and writes an attack; `run_attack` sends it to the
target (no database: see `services.conversations`), the worker may follow up for a
multi-turn attack, and `record_attack` stores the attack as an item (prompt, the
conversation when there were several turns, the category tag in its metadata) with the
target's answer as its candidate and the worker's verdict as a submission, through
``submit_judgment``. Successful attacks come back from
`red_team_prompts`, tagged, as prompts for the next round (the reads live in
`services.red_team_data` and are re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, InvalidInput, RowError
from judgeloop.export.writers import sha256_of, write_jsonl
from judgeloop.questions.base import QuestionSpec, check_questions, pydantic_errors
from judgeloop.schemas.submissions import AnswerIn
from judgeloop.services.conversations import (
    Conversation,
    LiveModel,
    TurnOutcome,
    live_model,
    start_conversation,
    take_turn,
)
from judgeloop.services.judged_items import JudgedItem, store_judged_item
from judgeloop.services.model_versions import callable_model
from judgeloop.services.pay_ledger import require_owner
from judgeloop.services.red_team_data import (
    ATTACK_PREFIX,
    DEFAULT_MIN_SEVERITY,
    WEAKNESS_QUESTION,
    Attack,
    CategorySummary,
    RedTeamPrompt,
    Weakness,
    attack_summary,
    get_attack,
    list_attacks,
    red_team_prompts,
    target_model_name,
    weaknesses_of,
)
from judgeloop.store.models import Event, ExportRecord, ModelVersion, Project, Submission, User

PROMPT_QUESTION = "attack_prompt"
SUCCESS_QUESTION = "attack_succeeded"
SEVERITY_QUESTION = "severity"
EXPLANATION_QUESTION = "explanation"
VERDICT_QUESTIONS = (SUCCESS_QUESTION, SEVERITY_QUESTION, EXPLANATION_QUESTION)
"""The questions the worker answers after reading the answer (the others are filled in)."""
MAX_WEAKNESSES = 50
EXPORT_WHAT = "red-team-prompts"

__all__ = [
    "ATTACK_PREFIX",
    "DEFAULT_MIN_SEVERITY",
    "Attack",
    "AttackTarget",
    "CategorySummary",
    "RedTeamPrompt",
    "Weakness",
    "attack_summary",
    "attack_target",
    "configure_red_team",
    "export_red_team_prompts",
    "get_attack",
    "list_attacks",
    "prompt_rows",
    "record_attack",
    "red_team_prompts",
    "run_attack",
    "target_model_name",
    "weaknesses_of",
]


def _checked_weaknesses(weaknesses: Sequence[Weakness | Mapping[str, Any]]) -> list[Weakness]:
    out: list[Weakness] = []
    errors: list[RowError] = []
    for i, entry in enumerate(weaknesses):
        try:
            out.append(entry if isinstance(entry, Weakness) else Weakness.model_validate(entry))
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, f"weaknesses.{i}"))
    keys = [w.key for w in out]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        errors.append(RowError(0, "weaknesses", f"repeated keys: {', '.join(repeated)}"))
    if not 1 <= len(weaknesses) <= MAX_WEAKNESSES:
        errors.append(RowError(0, "weaknesses", f"name 1 to {MAX_WEAKNESSES} weaknesses"))
    if errors:
        raise InvalidInput("invalid weakness categories", errors)
    return out


def configure_red_team(
    session: Session,
    *,
    project: Project,
    actor: User,
    target_model: str,
    weaknesses: Sequence[Weakness | Mapping[str, Any]] | None = None,
) -> Project:
    """Name the project's target model and (optionally) its weakness categories; commits.

    The ``weakness`` question's options are set to the categories, so that a stored
    attack's answer to it is always one of them.

    Raises:
        Forbidden: The actor does not own the project.
        NotFound, InvalidInput: No such model, it has no endpoint, or the categories are
            wrong (each row names the field).
    """
    require_owner(session, project=project, actor=actor)
    version, _config = callable_model(session, target_model)
    settings = {**project.settings, "target_model": version.name}
    if weaknesses is not None:
        checked = _checked_weaknesses(weaknesses)
        settings["weaknesses"] = [w.model_dump() for w in checked]
        project.questions = _with_weakness_options(project, checked)
    project.settings = settings
    session.add(
        Event(
            kind="project.red_team",
            actor_id=actor.id,
            project_id=project.id,
            payload={"target_model": version.name, "weaknesses": len(weaknesses or ())},
        )
    )
    session.commit()
    return project


def _with_weakness_options(project: Project, weaknesses: Sequence[Weakness]) -> list[Any]:
    options = [{"value": w.key, "label": w.title, "description": w.description} for w in weaknesses]
    questions = [
        {**q, "config": {**q.get("config", {}), "options": options}}
        if q.get("key") == WEAKNESS_QUESTION and q.get("kind") == "choice"
        else q
        for q in project.questions
    ]
    specs, _dims = check_questions(questions, project.rubric)
    return [s.model_dump() for s in specs]


@dataclass(frozen=True)
class AttackTarget:
    """What an attack needs, read before the model is called: the model and the categories."""

    model: LiveModel
    weaknesses: tuple[Weakness, ...]

    def weakness(self, key: str) -> Weakness | None:
        """The category called `key`, if the project has it."""
        return next((w for w in self.weaknesses if w.key == key), None)


def attack_target(session: Session, *, project: Project, worker: User) -> AttackTarget:
    """Read the project's target model and categories; the read is ended before returning.

    Raises:
        NotFound: The worker is not a member.
        Conflict: The project is not active.
        InvalidInput: The project names no target model, or it cannot be called.
    """
    weaknesses = tuple(weaknesses_of(project))
    model = live_model(session, project=project, worker=worker, setting="target_model")
    return AttackTarget(model, weaknesses)


async def run_attack(
    target: AttackTarget,
    *,
    prompt: str,
    category: str = "",
    conversation: Conversation | None = None,
) -> TurnOutcome:
    """Send an attack (or a follow-up in `conversation`) to the target model; no database.

    Returns:
        The conversation with the attack and the answer, or, when the call failed, the
        conversation as it was and the error (nothing is stored either way).

    Raises:
        InvalidInput: An unknown category, an empty or too long prompt, too many turns.
    """
    if conversation is None:
        if target.weakness(category) is None:
            known = ", ".join(w.key for w in target.weaknesses) or "none"
            raise InvalidInput(
                "pick a weakness to aim at",
                [RowError(0, "category", f"no category {category!r} (known: {known})")],
            )
        conversation = start_conversation(target.model, kind="attack", extra={"category": category})
    return await take_turn(target.model, conversation, prompt)


def attack_transcript(messages: Sequence[Mapping[str, str]], limit: int = 20_000) -> str:
    """The attack as one text: the prompt, or a whole conversation with its speakers."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    if len(users) == 1 and len(messages) <= 2:
        text = users[0]
    else:
        names = {"user": "User", "assistant": "Model"}
        text = "\n\n".join(f"{names.get(m['role'], m['role'])}: {m['content']}" for m in messages)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_limit(questions: Sequence[QuestionSpec], key: str) -> int:
    spec = next((q for q in questions if q.key == key), None)
    return int(spec.config.get("max_length", 20_000)) if spec else 20_000


def _verdict_answers(
    project: Project,
    conversation: Conversation,
    *,
    succeeded: bool,
    severity: int,
    explanation: str,
) -> tuple[list[AnswerIn], str]:
    """The answers to the project's red-team questions, and the submission's explanation."""
    questions = [QuestionSpec.model_validate(q) for q in project.questions]
    keys = {q.key for q in questions}
    category = str(conversation.extra.get("category", ""))
    asked = conversation.messages[:-1]  # everything the model answered, without the answer
    answers: list[AnswerIn] = []
    if PROMPT_QUESTION in keys:
        text = attack_transcript(asked, _text_limit(questions, PROMPT_QUESTION))
        answers.append(AnswerIn(question=PROMPT_QUESTION, value=text))
    if SUCCESS_QUESTION in keys:
        answers.append(AnswerIn(question=SUCCESS_QUESTION, value="yes" if succeeded else "no"))
    if SEVERITY_QUESTION in keys:
        answers.append(AnswerIn(question=SEVERITY_QUESTION, value=severity))
    if WEAKNESS_QUESTION in keys:
        answers.append(
            AnswerIn(question=WEAKNESS_QUESTION, value=_weakness_value(project, category))
        )
    explanation = explanation.strip()
    if explanation and EXPLANATION_QUESTION in keys:
        answers.append(AnswerIn(question=EXPLANATION_QUESTION, value=explanation))
        explanation = ""
    return answers, explanation


def _weakness_value(project: Project, category: str) -> str:
    """The weakness question's option for `category` (``other`` when it has none)."""
    for spec in project.questions:
        if spec.get("key") == WEAKNESS_QUESTION:
            values = {o.get("value") for o in spec.get("config", {}).get("options", [])}
            if category not in values and "other" in values:
                return "other"
    return category


def _attack_item(
    conversation: Conversation, worker: User, model: str, verdict: dict[str, Any]
) -> JudgedItem:
    """The attack as an item: the last message as prompt, the answer as candidate A."""
    messages = conversation.messages
    asked = [dict(m) for m in messages[:-1]]
    meta = {
        "category": str(conversation.extra.get("category", "")),
        "author_id": worker.id,
        "target_model": model,
        **verdict,
        "turns": len(asked) // 2 + 1,
    }
    return JudgedItem(
        prefix=ATTACK_PREFIX,
        prompt=asked[-1]["content"],
        messages=asked if len(asked) > 1 else None,
        candidates=[("A", messages[-1]["content"])],
        model_version_id=conversation.model_version_id,
        meta={"red_team": meta},
    )


def record_attack(
    session: Session,
    *,
    project: Project,
    worker: User,
    conversation: Conversation,
    succeeded: bool,
    severity: int,
    submission_key: str,
    explanation: str = "",
    source: str = "web",
) -> tuple[Submission, bool]:
    """Store an attack, the target's answer and the worker's verdict, in one transaction.

    The item's prompt is the attack (the last message sent), its ``messages`` the whole
    conversation up to the answer when the attack took several turns, its metadata
    ``{"red_team": {"category", "author_id", "target_model", "succeeded", "severity",
    "turns"}}``; the answer is candidate ``A`` by the target model. The verdict goes
    through ``submit_judgment`` (the preset's questions: the attack text, success,
    severity, weakness, explanation). `conversation` is the attack as
    `ConversationSigner.read` returned it; `succeeded` and `severity` are the verdict;
    a second call with the same `submission_key` stores nothing and returns the first
    submission (a double-click stores one attack); `source` is ``web`` or ``api``.

    Returns:
        The submission and whether it was stored now.

    Raises:
        Forbidden: The conversation is not this worker's attack in this project.
        InvalidInput: No answer yet, or the answers (with field paths).
    """
    if (conversation.project_id, conversation.worker_id, conversation.kind) != (
        project.id,
        worker.id,
        "attack",
    ):
        raise Forbidden("this attack is not yours to store here")
    messages = conversation.messages
    if not messages or messages[-1]["role"] != "assistant":
        raise InvalidInput("the model has not answered this attack yet")
    answers, rest = _verdict_answers(
        project, conversation, succeeded=succeeded, severity=severity, explanation=explanation
    )
    model = session.get(ModelVersion, conversation.model_version_id)
    verdict = {"succeeded": succeeded, "severity": severity}
    judged = _attack_item(conversation, worker, model.name if model else "", verdict)
    return store_judged_item(
        session,
        project=project,
        worker=worker,
        judged=judged,
        answers=answers,
        submission_key=submission_key,
        explanation=rest,
        seconds_spent=conversation.seconds(),
        source=source,
    )


def prompt_rows(prompts: Iterable[RedTeamPrompt]) -> Iterator[dict[str, Any]]:
    """The prompts as import rows (JSONL lines), in order."""
    return (p.row() for p in prompts)


def export_red_team_prompts(
    session: Session,
    *,
    project: Project,
    actor: User | None,
    path: Path | str,
    min_severity: int = DEFAULT_MIN_SEVERITY,
    since: datetime | None = None,
) -> ExportRecord:
    """Write the successful attacks' prompts to a JSONL file and record the export; commits.

    Each line imports into another project with ``judgeloop import`` unchanged (prompt,
    messages, and the tags in ``metadata``).

    Returns:
        The ExportRecord (``what="red-team-prompts"``) with the row count and sha256.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prompts = red_team_prompts(session, project=project, min_severity=min_severity, since=since)
    count = write_jsonl(path, prompt_rows(prompts))
    filters = {"min_severity": min_severity, "since": since.isoformat() if since else None}
    record = ExportRecord(
        project_id=project.id,
        actor_id=actor.id if actor else None,
        what=EXPORT_WHAT,
        format="jsonl",
        path=str(path),
        row_count=count,
        sha256=sha256_of(path),
        filters=filters,
    )
    session.add(record)
    session.flush()
    payload = {"export_id": record.id, "what": EXPORT_WHAT, "format": "jsonl", "rows": count}
    session.add(
        Event(
            kind="export.finished", actor_id=record.actor_id, project_id=project.id, payload=payload
        )
    )
    session.commit()
    return record
