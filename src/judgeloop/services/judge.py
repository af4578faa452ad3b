"""Run an LLM judge over a project's items; read its answers back for calibration.

The judge sees what people see: the project's current guidelines, its rubric, the
item's prompt and candidate answers, and every question with the shape its kind accepts
(`llm.judge_prompt`). Its reply must pass `questions.base.validate_answers`; an unusable
reply goes back to it with the errors, then the item is stored as ``unparseable``. A
model that cannot be reached after its retries gives ``failed`` (tried again by the next
run). Answers go to `JudgeAnswer` rows, never to people's judgments.

A swapped run shows the answers in reverse order (A and B exchanged) and maps the
answers back to the real keys: `position_pairs` compares the two runs, and
`prioritize_unsure_items` sends the items where they differ to people first. Runs
resume: one row per (model version, input hash, item, swapped), the hash covering all
the judge saw (parameters, guidelines, rubric, questions, prompt, candidates).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.llm.backends import ChatBackend, make_backend
from judgeloop.llm.config import EndpointConfig, canonical_hash, cost_of, item_messages, params_hash
from judgeloop.llm.judging import (
    JudgeItem,
    JudgeOutcome,
    JudgeSetup,
    answer_dicts,
    candidates_needed,
    pair_runs,
)
from judgeloop.llm.judging import JudgeRecord as JudgeRecord  # re-exported for callers
from judgeloop.llm.judging import PositionPair as PositionPair
from judgeloop.llm.retry import RetryPolicy
from judgeloop.llm.runner import BackgroundRun
from judgeloop.questions.base import QuestionSpec, RubricDimension
from judgeloop.services.items import candidates_for
from judgeloop.services.model_versions import callable_model, get_model
from judgeloop.store.models import Event, GuidelineVersion, Item, ModelVersion, Project
from judgeloop.store.models.llm import JudgeAnswer

JUDGE_PROMPT_VERSION = "judgeloop.judge.v1"


@dataclass(frozen=True)
class JudgeJob(JudgeItem):
    """One item for the judge, its input hash, and the stored answer it replaces."""

    input_hash: str = ""
    existing_id: int | None = None


@dataclass
class JudgeReport:
    """A judge run's progress and outcome.

    `skipped`: judged before (resumed); `not_ready`: too few candidates for the questions.
    """

    total: int = 0
    skipped: int = 0
    not_ready: int = 0
    done: int = 0
    ok: int = 0
    unparseable: int = 0
    failed: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    wall_s: float = 0.0

    def count(self, outcome: JudgeOutcome, cost: float) -> None:
        """Add one judged item."""
        self.done += 1
        self.calls += outcome.calls
        self.prompt_tokens += outcome.prompt_tokens
        self.completion_tokens += outcome.completion_tokens
        self.cost += cost
        status = outcome.status  # "ok", "unparseable" or "failed": a field of this report
        setattr(self, status, getattr(self, status) + 1)


def judge_setup(
    session: Session, project: Project, *, swapped: bool, with_system: bool, max_fixes: int
) -> JudgeSetup:
    """Load a project's questions, rubric and current guidelines for the judge."""
    body = session.scalar(
        select(GuidelineVersion.body).where(
            GuidelineVersion.project_id == project.id,
            GuidelineVersion.version == project.guideline_version,
        )
    )
    return JudgeSetup(
        questions=tuple(QuestionSpec.model_validate(q) for q in project.questions),
        rubric=tuple(RubricDimension.model_validate(d) for d in project.rubric),
        guidelines=body or "",
        swapped=swapped,
        with_system=with_system,
        max_fixes=max_fixes,
    )


def judge_run_hash(config: EndpointConfig, project: Project) -> str:
    """Hash what every item of a run shares: model parameters, guidelines, rubric, questions."""
    shared = [project.guideline_version, project.rubric, project.questions]
    return canonical_hash([JUDGE_PROMPT_VERSION, params_hash(config), *shared])


def plan_judging(
    session: Session,
    *,
    project_id: int,
    version: ModelVersion,
    run_hash: str,
    swapped: bool,
    redo: bool = False,
    item_ids: Sequence[int] | None = None,
    min_candidates: int = 0,
) -> tuple[list[JudgeJob], int, int]:
    """List the items still to judge; count those judged before and those not ready.

    An item is judged before when a row holds its input hash (the run's hash with the
    item's prompt and candidates): new or changed candidates make a new judgment. Items
    judged ``ok`` or ``unparseable`` are skipped unless `redo`; ``failed`` ones are
    judged again. Items with fewer than `min_candidates` candidates are not ready.
    """
    columns = (JudgeAnswer.item_id, JudgeAnswer.input_hash, JudgeAnswer.id, JudgeAnswer.status)
    rows = session.execute(
        select(*columns).where(
            JudgeAnswer.project_id == project_id,
            JudgeAnswer.model_version_id == version.id,
            JudgeAnswer.swapped.is_(swapped),
        )
    )
    stored = {(item_id, ihash): (answer_id, status) for item_id, ihash, answer_id, status in rows}
    query = select(Item.id, Item.prompt, Item.messages).where(Item.project_id == project_id)
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    items = session.execute(query.order_by(Item.id)).all()
    cands = candidates_for(session, [i for i, _, _ in items])
    jobs: list[JudgeJob] = []
    not_ready = 0
    for item_id, prompt, messages in items:
        candidates = tuple((c.key, c.text) for c, _ in cands.get(item_id, []))
        conversation = tuple(item_messages(prompt, messages)) if messages else ()
        ihash = canonical_hash([run_hash, prompt, conversation, candidates])
        found = stored.get((item_id, ihash))
        if found is not None and found[1] != "failed" and not redo:
            continue
        if len(candidates) < min_candidates:
            not_ready += 1
            continue
        existing = found[0] if found else None
        job = JudgeJob(item_id, prompt, conversation, candidates, ihash, existing)
        jobs.append(job)
    return jobs, len(items) - len(jobs) - not_ready, not_ready


@dataclass
class _Writer:
    """Stores a run's outcomes, batch by batch, and keeps its report."""

    session: Session
    project: Project
    version_id: int
    config: EndpointConfig
    swapped: bool
    report: JudgeReport
    on_progress: Callable[[JudgeReport], None] | None
    started: float

    def store(self, batch: Sequence[tuple[JudgeJob, JudgeOutcome]]) -> None:
        for job, outcome in batch:
            cost = cost_of(outcome.prompt_tokens, outcome.completion_tokens, self.config.params)
            fields = {
                "status": outcome.status,
                "answers": answer_dicts(outcome.answers),
                "raw_text": "\n\n-----\n\n".join(outcome.replies),
                "error": outcome.error,
                "attempts": outcome.calls,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens,
                "cost": cost,
                "guideline_version": self.project.guideline_version,
            }
            row = self.session.get(JudgeAnswer, job.existing_id) if job.existing_id else None
            if row is None:
                row = JudgeAnswer(
                    model_version_id=self.version_id,
                    project_id=self.project.id,
                    item_id=job.item_id,
                    input_hash=job.input_hash,
                    swapped=self.swapped,
                )
                self.session.add(row)
            for name, value in fields.items():
                setattr(row, name, value)
            self.report.count(outcome, cost)
        self.session.commit()
        self.report.wall_s = time.monotonic() - self.started
        if self.on_progress:
            self.on_progress(replace(self.report))


def judge_project(
    session: Session,
    *,
    project_id: int,
    model: str,
    swapped: bool = False,
    concurrency: int = 8,
    max_fixes: int = 2,
    retry: RetryPolicy | None = None,
    redo: bool = False,
    item_ids: Sequence[int] | None = None,
    on_progress: Callable[[JudgeReport], None] | None = None,
    backend_factory: Callable[[EndpointConfig], ChatBackend] | None = None,
) -> JudgeReport:
    """Have a registered model judge a project's items; store its answers apart.

    Args:
        session: The database session (used from this thread only).
        project_id: The project to judge.
        model: The judge's registered model version.
        swapped: Show the candidates in reverse order (position-bias run).
        concurrency: Items judged at once.
        max_fixes: Times an unusable reply is sent back with its errors.
        retry: How failed calls are retried (default `RetryPolicy()`).
        redo: Judge again items that already have an ok or unparseable answer.
        item_ids: Only these items (default: all of the project's).
        on_progress: Called after each stored batch with the report so far.
        backend_factory: Makes the judge's backend (default: `make_backend`).

    Returns:
        This run's report.
    """
    if concurrency < 1 or max_fixes < 0:
        raise InvalidInput("concurrency must be 1 or more and max_fixes 0 or more")
    started = time.monotonic()
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}")
    version, config = callable_model(session, model)
    setup = judge_setup(
        session, project, swapped=swapped, with_system=not config.system_prompt, max_fixes=max_fixes
    )
    jobs, skipped, not_ready = plan_judging(
        session, project_id=project_id, version=version, swapped=swapped, redo=redo,
        run_hash=judge_run_hash(config, project),
        item_ids=item_ids, min_candidates=candidates_needed(setup.questions),
    )  # fmt: skip
    session.commit()  # end the read before the calls (SQLite's write lock)
    report = JudgeReport(total=len(jobs), skipped=skipped, not_ready=not_ready)
    writer = _Writer(session, project, version.id, config, swapped, report, on_progress, started)
    backend = (backend_factory or (lambda c: make_backend(c, retry=retry)))(config)
    if on_progress:
        on_progress(replace(report))
    work = partial(setup.judge, backend)
    with BackgroundRun(jobs, work, concurrency=concurrency, closers=[backend.aclose]) as run:
        for batch in run.batches():
            writer.store(batch)
    report.wall_s = time.monotonic() - started
    payload = {"model": model, "swapped": swapped, "ok": report.ok, "failed": report.failed}
    payload["unparseable"] = report.unparseable
    session.add(Event(kind="judge.finished", project_id=project_id, payload=payload))
    session.commit()
    return report


def _latest(
    session: Session,
    project_id: int,
    model: str | None,
    swapped: bool | None,
    item_id: int | None = None,
) -> list[tuple[JudgeAnswer, str]]:
    """The newest judge answer per (model, item, swapped), with the model's name."""
    query = (
        select(JudgeAnswer, ModelVersion.name)
        .join(ModelVersion, ModelVersion.id == JudgeAnswer.model_version_id)
        .where(JudgeAnswer.project_id == project_id)
    )
    if model is not None:
        query = query.where(JudgeAnswer.model_version_id == get_model(session, model).version.id)
    if swapped is not None:
        query = query.where(JudgeAnswer.swapped.is_(swapped))
    if item_id is not None:
        query = query.where(JudgeAnswer.item_id == item_id)
    newest: dict[tuple[int, int, bool], tuple[JudgeAnswer, str]] = {}
    for answer, name in session.execute(query.order_by(JudgeAnswer.id)):
        newest[(answer.model_version_id, answer.item_id, answer.swapped)] = (answer, name)
    return sorted(newest.values(), key=lambda pair: pair[0].id)


def judge_records(
    session: Session,
    *,
    project_id: int,
    model: str | None = None,
    swapped: bool | None = False,
    item_id: int | None = None,
) -> list[JudgeRecord]:
    """Return the judge's usable answers in a project, one record per question answered.

    Args:
        session: The database session.
        project_id: The project.
        model: Only this judge (default: every judge model).
        swapped: Only normal runs (False, the default), only swapped ones (True), or both
            (None). Only the newest run per item counts; unparseable items give nothing.
        item_id: Only this item.
    """
    return [
        JudgeRecord(
            judge_answer_id=row.id,
            item_id=row.item_id,
            model=name,
            swapped=row.swapped,
            question_key=a["question"],
            candidate_key=a["candidate"],
            kind=a["kind"],
            value=a["value"],
            explanation=a.get("explanation", ""),
        )
        for row, name in _latest(session, project_id, model, swapped, item_id)
        if row.status == "ok"
        for a in row.answers
    ]


def position_pairs(session: Session, *, project_id: int, model: str) -> list[PositionPair]:
    """Pair each answer of the normal run with the swapped run's (position bias).

    Only questions answered in both runs are paired; a preference agrees when the winner
    is the same (strength aside), any other answer when it is equal.
    """
    return pair_runs(judge_records(session, project_id=project_id, model=model, swapped=None))


def prioritize_unsure_items(
    session: Session, *, project_id: int, model: str, priority: int = 10
) -> list[int]:
    """Send people first the items where the judge disagrees with itself or is unusable.

    An item is unsure when its normal and swapped runs differ on any question, or when
    one of them is unparseable or failed. Unsure items get at least `priority` (the
    queue serves higher priorities first); the others are left as they are.

    Returns:
        The ids of the unsure items.
    """
    pairs = position_pairs(session, project_id=project_id, model=model)
    unsure = {p.item_id for p in pairs if not p.agree}
    judged: dict[int, set[bool]] = {}
    for row, _ in _latest(session, project_id, model, None):
        judged.setdefault(row.item_id, set()).add(row.swapped)
        if row.status != "ok":
            unsure.add(row.item_id)
    unsure &= {item for item, runs in judged.items() if runs == {False, True}}
    if unsure:
        session.execute(
            update(Item)
            .where(Item.id.in_(sorted(unsure)), Item.priority < priority)
            .values(priority=priority)
            .execution_options(synchronize_session=False)
        )
    payload = {"model": model, "items": len(unsure), "priority": priority}
    session.add(Event(kind="judge.prioritized", project_id=project_id, payload=payload))
    session.commit()
    return sorted(unsure)


def judge_prelabels(
    session: Session, *, project_id: int, item_id: int, model: str
) -> list[JudgeRecord]:
    """The judge's answers to one item that a reviewer may start from (pre-labels).

    With a swapped run, only the answers both runs agree on; without one, the normal
    run's answers.
    """
    records = judge_records(
        session, project_id=project_id, model=model, item_id=item_id, swapped=None
    )
    normal = [r for r in records if not r.swapped]
    if len(normal) == len(records):
        return normal
    agreed = {(p.question_key, p.candidate_key) for p in pair_runs(records) if p.agree}
    return [r for r in normal if (r.question_key, r.candidate_key) in agreed]
