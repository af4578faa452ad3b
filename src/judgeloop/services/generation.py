"""Generate candidate answers for a project's items with registered model versions.

N model versions x n samples for every item, with bounded concurrency, retries with
backoff (see `judgeloop.llm.retry`), a per-request timeout, token and cost accounting,
progress reports, and resume: each finished call is stored as a `Generation`, unique per
(model version, parameters hash, item, prompt hash, sample index), so a run that is
stopped and started again calls the model only for the keys still missing (and for
failed ones, unless told not to). Successful answers become `Candidate`s of the item
with `model_version_id` set. A call that fails after its retries is stored with its
error; the run goes on.

The calls run on an event loop in a worker thread (`llm.runner.BackgroundRun`); this
thread stores the results in batches, one commit each, while more calls are in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.llm.backends import ChatBackend, ChatReply, make_backend
from judgeloop.llm.config import (
    EndpointConfig,
    Message,
    cost_of,
    item_messages,
    params_hash,
    prompt_hash,
)
from judgeloop.llm.jobs import GenerationJob as GenerationJob  # re-exported for callers
from judgeloop.llm.jobs import GenerationReport as GenerationReport
from judgeloop.llm.jobs import sample_seed
from judgeloop.llm.retry import RetryPolicy
from judgeloop.llm.runner import BackgroundRun
from judgeloop.services.model_versions import callable_model
from judgeloop.store.models import Candidate, Event, Item, ModelVersion
from judgeloop.store.models.llm import Generation

BackendFactory = Callable[[EndpointConfig], ChatBackend]


def candidate_key(index: int) -> str:
    """Return the index-th candidate key: A..Z, then AA, AB, ..."""
    key = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        key = chr(ord("A") + rest) + key
    return key


def _items(
    session: Session, project_id: int, include_gold: bool, item_ids: Sequence[int] | None
) -> list[tuple[int, list[Message]]]:
    query = select(Item.id, Item.prompt, Item.messages).where(Item.project_id == project_id)
    if not include_gold:
        query = query.where(Item.is_gold.is_(False))
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    return [(i, item_messages(p, m)) for i, p, m in session.execute(query.order_by(Item.id))]


def _stored(
    session: Session, project_id: int, version_id: int, phash: str
) -> dict[tuple[int, str, int], tuple[int, str]]:
    """(item, prompt hash, sample) -> (generation id, status) of the stored keys."""
    rows = session.execute(
        select(
            Generation.item_id,
            Generation.prompt_hash,
            Generation.sample_index,
            Generation.id,
            Generation.status,
        ).where(
            Generation.project_id == project_id,
            Generation.model_version_id == version_id,
            Generation.params_hash == phash,
        )
    )
    return {(item, ph, sample): (gid, status) for item, ph, sample, gid, status in rows}


def plan_generation(
    session: Session,
    *,
    project_id: int,
    models: Sequence[tuple[ModelVersion, EndpointConfig]],
    samples: int = 1,
    retry_failed: bool = True,
    include_gold: bool = False,
    item_ids: Sequence[int] | None = None,
) -> tuple[list[GenerationJob], int]:
    """List the calls a run still has to make, and count the keys already done.

    Returns:
        The jobs (item by item, then model, then sample) and the number of keys skipped
        because a stored Generation holds them (failed ones count as done only when
        `retry_failed` is off).
    """
    items = _items(session, project_id, include_gold, item_ids)
    jobs: list[GenerationJob] = []
    for index, (version, config) in enumerate(models):
        phash = params_hash(config)
        stored = _stored(session, project_id, version.id, phash)
        for item_id, messages in items:
            hashed = prompt_hash(messages)
            for sample in range(samples):
                found = stored.get((item_id, hashed, sample))
                if found is not None and (found[1] == "ok" or not retry_failed):
                    continue
                job = GenerationJob(
                    item_id=item_id,
                    project_id=project_id,
                    model_version_id=version.id,
                    model=index,
                    params_hash=phash,
                    prompt_hash=hashed,
                    sample_index=sample,
                    messages=tuple(messages),
                    seed=sample_seed(config.params, sample),
                    existing_id=found[0] if found else None,
                )
                jobs.append(job)
    jobs.sort(key=lambda j: (j.item_id, j.model, j.sample_index))
    return jobs, len(items) * len(models) * samples - len(jobs)


def generate_answers(
    session: Session,
    *,
    project_id: int,
    models: Sequence[str],
    samples: int = 1,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    retry_failed: bool = True,
    include_gold: bool = False,
    item_ids: Sequence[int] | None = None,
    on_progress: Callable[[GenerationReport], None] | None = None,
    backend_factory: BackendFactory | None = None,
) -> GenerationReport:
    """Generate `samples` answers per item from each model, resuming what is done.

    Args:
        session: The database session (used from this thread only).
        project_id: The project whose items get answers.
        models: Names of registered model versions (with endpoints).
        samples: Answers per item and model (sample i uses seed + i when params has one).
        concurrency: Calls in flight at once, over all models.
        retry: How failed calls are retried (default `RetryPolicy()`).
        retry_failed: Whether keys stored as failed are tried again.
        include_gold: Whether gold items get answers too (off: their candidates are
            what their gold answers refer to).
        item_ids: Only these items (default: all of the project's).
        on_progress: Called after each stored batch with the report so far.
        backend_factory: Makes the backend of a model (default: `make_backend`).

    Returns:
        This run's report.

    Raises:
        NotFound: An unknown model. InvalidInput: A model without an endpoint, samples
            or concurrency below 1.
    """
    if samples < 1 or concurrency < 1:
        raise InvalidInput("samples and concurrency must be 1 or more")
    started = time.monotonic()
    resolved = [callable_model(session, name) for name in models]
    jobs, skipped = plan_generation(
        session, project_id=project_id, models=resolved, samples=samples,
        retry_failed=retry_failed, include_gold=include_gold, item_ids=item_ids,
    )  # fmt: skip
    session.commit()  # end the read before the calls: SQLite holds its write lock in one
    report = GenerationReport(total=len(jobs), skipped=skipped)
    factory = backend_factory or (lambda config: make_backend(config, retry=retry))
    backends = [factory(config) for _, config in resolved]
    prices = [config.params for _, config in resolved]

    async def call(job: GenerationJob) -> ChatReply:
        return await backends[job.model].complete(list(job.messages), seed=job.seed)

    if on_progress:
        on_progress(replace(report))
    closers = [b.aclose for b in backends]
    with BackgroundRun(jobs, call, concurrency=concurrency, closers=closers) as run:
        for batch in run.batches():
            store_generations(session, batch, prices=prices, report=report)
            report.wall_s = time.monotonic() - started
            if on_progress:
                on_progress(replace(report))
    report.wall_s = time.monotonic() - started
    _journal(session, project_id, models, report)
    return report


def _journal(
    session: Session, project_id: int, models: Sequence[str], report: GenerationReport
) -> None:
    payload = {
        "models": list(models),
        "ok": report.ok,
        "failed": report.failed,
        "skipped": report.skipped,
        "prompt_tokens": report.prompt_tokens,
        "completion_tokens": report.completion_tokens,
        "cost": report.cost,
    }
    session.add(Event(kind="generation.finished", project_id=project_id, payload=payload))
    session.commit()


def _generation_fields(reply: ChatReply, cost: float) -> dict[str, Any]:
    return {
        "status": "ok" if reply.ok else "failed",
        "text": reply.text,
        "error": reply.error,
        "finish_reason": reply.finish_reason,
        "attempts": reply.attempts,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "cost": cost,
        "latency_ms": int(reply.latency_s * 1000),
    }


def _next_keys(session: Session, item_ids: Iterable[int]) -> dict[int, tuple[set[str], int]]:
    """Each item's candidate keys and next position."""
    out: dict[int, tuple[set[str], int]] = {i: (set(), 0) for i in item_ids}
    if out:
        rows = session.execute(
            select(Candidate.item_id, Candidate.key, Candidate.position).where(
                Candidate.item_id.in_(list(out))
            )
        )
        for item_id, key, position in rows:
            keys, top = out[item_id]
            keys.add(key)
            out[item_id] = (keys, max(top, position + 1))
    return out


def _free_key(keys: set[str]) -> str:
    n = 0
    while candidate_key(n) in keys:
        n += 1
    return candidate_key(n)


def _candidate_rows(
    session: Session, batch: Sequence[tuple[GenerationJob, ChatReply]], oks: Sequence[int]
) -> list[dict[str, Any]]:
    """Rows for the new candidates, each under the item's next free key and position."""
    slots = _next_keys(session, {batch[i][0].item_id for i in oks})
    rows = []
    for i in oks:
        job, reply = batch[i]
        keys, position = slots[job.item_id]
        key = _free_key(keys)
        keys.add(key)
        slots[job.item_id] = (keys, position + 1)
        rows.append(
            {
                "item_id": job.item_id,
                "key": key,
                "position": position,
                "text": reply.text or "",
                "model_version_id": job.model_version_id,
            }
        )
    return rows


def _write(
    session: Session,
    batch: Sequence[tuple[GenerationJob, ChatReply]],
    prices: Sequence[dict[str, Any]],
) -> None:
    """Insert one batch's candidates and generations (bulk statements, no commit)."""
    oks = [i for i, (_, reply) in enumerate(batch) if reply.ok]
    candidate_of: dict[int, int] = {}
    if oks:
        returning = insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True)
        ids = session.scalars(returning, _candidate_rows(session, batch, oks))
        candidate_of = dict(zip(oks, ids, strict=True))
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for i, (job, reply) in enumerate(batch):
        cost = cost_of(reply.prompt_tokens, reply.completion_tokens, prices[job.model])
        fields = _generation_fields(reply, cost)
        fields["candidate_id"] = candidate_of.get(i)
        if job.existing_id is not None:
            updates.append({"id": job.existing_id, **fields})
            continue
        new.append(
            {
                "model_version_id": job.model_version_id,
                "project_id": job.project_id,
                "item_id": job.item_id,
                "params_hash": job.params_hash,
                "prompt_hash": job.prompt_hash,
                "sample_index": job.sample_index,
                **fields,
            }
        )
    if new:
        session.execute(insert(Generation), new)
    if updates:
        session.execute(update(Generation), updates)


def store_generations(
    session: Session,
    batch: Sequence[tuple[GenerationJob, ChatReply]],
    *,
    prices: Sequence[dict[str, Any]],
    report: GenerationReport,
) -> None:
    """Store one batch of finished calls in one commit, and count them into `report`.

    When the batch clashes with rows another run stored meanwhile (the same key, or a
    candidate key), it is stored call by call and the clashing calls are dropped.
    """
    try:
        _write(session, batch, prices)
        session.commit()
        stored = list(batch)
    except IntegrityError:
        session.rollback()
        stored = []
        for pair in batch:
            try:
                _write(session, [pair], prices)
                session.commit()
                stored.append(pair)
            except IntegrityError:
                session.rollback()
    stored_ids = {id(pair) for pair in stored}
    for pair in batch:
        job, reply = pair
        cost = cost_of(reply.prompt_tokens, reply.completion_tokens, prices[job.model])
        report.count(reply, cost, stored=id(pair) in stored_ids)


@dataclass(frozen=True)
class GenerationTotals:
    """Stored generations of one model version in a project, all runs together."""

    model: str
    ok: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    cost: float


def generation_totals(session: Session, *, project_id: int) -> list[GenerationTotals]:
    """Count a project's stored generations per model: ok, failed, tokens, cost."""
    rows = session.execute(
        select(
            ModelVersion.name,
            Generation.status,
            func.count(),
            func.coalesce(func.sum(Generation.prompt_tokens), 0),
            func.coalesce(func.sum(Generation.completion_tokens), 0),
            func.coalesce(func.sum(Generation.cost), 0.0),
        )
        .join(ModelVersion, ModelVersion.id == Generation.model_version_id)
        .where(Generation.project_id == project_id)
        .group_by(ModelVersion.name, Generation.status)
    )
    totals: dict[str, list[Any]] = {}
    for name, status, count, p_tokens, c_tokens, cost in rows:
        entry = totals.setdefault(name, [0, 0, 0, 0, 0.0])
        entry[0 if status == "ok" else 1] += int(count)
        entry[2] += int(p_tokens)
        entry[3] += int(c_tokens)
        entry[4] += float(cost)
    return [GenerationTotals(name, *values) for name, values in sorted(totals.items())]


def list_generations(
    session: Session,
    *,
    project_id: int,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Generation]:
    """Return a page of a project's stored generations (optionally only ok or failed)."""
    query = select(Generation).where(Generation.project_id == project_id, Generation.id > after)
    if status is not None:
        query = query.where(Generation.status == status)
    return list(session.scalars(query.order_by(Generation.id).limit(max(1, min(limit, 1000)))))
