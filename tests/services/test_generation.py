"""generate_answers against the fake OpenAI-compatible server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, NotFound
from judgeloop.llm.backends import ChatReply
from judgeloop.services.generation import (
    GenerationReport,
    candidate_key,
    generate_answers,
    generation_totals,
    list_generations,
    plan_generation,
    store_generations,
)
from judgeloop.services.model_versions import callable_model
from judgeloop.store.models import Candidate, Item, ModelVersion, Project
from judgeloop.store.models.llm import Generation
from tests.factories import make_item, make_project
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    fast_backends,
    register_fake,
)


def _project(session: Session, prompts: list[str]) -> tuple[Project, list[Item]]:
    project = make_project(session, redundancy=1)
    items = [make_item(session, project=project, prompt=p, answers=()) for p in prompts]
    return project, items


def _candidates(session: Session, item_id: int) -> list[Candidate]:
    return list(
        session.scalars(
            select(Candidate).where(Candidate.item_id == item_id).order_by(Candidate.position)
        )
    )


def test_candidate_keys_run_a_to_z_then_aa() -> None:
    assert [candidate_key(i) for i in (0, 1, 25, 26, 27, 51, 52)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
    ]


def test_every_item_gets_each_models_samples_as_candidates(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, items = _project(session, ["What is 2+2?", "Name a prime.", "Say hi."])
    prices = {"price_per_1k_prompt": 1.0, "price_per_1k_completion": 2.0, "seed": 7}
    m1 = register_fake(session, fake_server, params={"temperature": 0.7, **prices})
    m2 = register_fake(session, fake_server, params={"max_tokens": 50}, system_prompt="Be brief.")
    seen: list[GenerationReport] = []
    report = generate_answers(
        session,
        project_id=project.id,
        models=[m1, m2],
        samples=2,
        concurrency=4,
        on_progress=seen.append,
        backend_factory=fast_backends,
    )
    assert (report.total, report.ok, report.failed, report.skipped) == (12, 12, 0, 0)
    assert report.requests == 12 == fake_server.state.requests
    assert seen[0].done == 0 and seen[-1].done == 12
    for item in items:
        cands = _candidates(session, item.id)
        assert [c.key for c in cands] == ["A", "B", "C", "D"]
        assert all(c.model_version_id is not None for c in cands)
        assert all(item.prompt[:20] in c.text for c in cands)
    # Sample i of a model with a seed is asked with seed + i, so its samples differ.
    seeds = sorted(b.get("seed") for b in fake_server.state.bodies if "seed" in b)
    assert seeds == [7, 7, 7, 8, 8, 8]
    gen = session.scalars(select(Generation).where(Generation.prompt_tokens > 0)).first()
    assert gen is not None and gen.completion_tokens > 0
    rows = list_generations(session, project_id=project.id)
    assert len(rows) == 12 and all(r.status == "ok" and r.candidate_id for r in rows)
    totals = {t.model: t for t in generation_totals(session, project_id=project.id)}
    assert totals[m1].ok == 6 and totals[m1].cost == pytest.approx(
        (totals[m1].prompt_tokens * 1.0 + totals[m1].completion_tokens * 2.0) / 1000
    )
    assert totals[m2].cost == 0.0
    assert report.cost == pytest.approx(totals[m1].cost)
    system = [b["messages"][0] for b in fake_server.state.bodies if b.get("max_tokens") == 50]
    assert system and all(m == {"role": "system", "content": "Be brief."} for m in system)


def test_a_second_run_calls_nothing_again(session: Session, fake_server: FakeOpenAI) -> None:
    project, _ = _project(session, [f"prompt {i}" for i in range(5)])
    model = register_fake(session, fake_server)
    generate_answers(session, project_id=project.id, models=[model], samples=2)
    assert fake_server.state.requests == 10
    again = generate_answers(session, project_id=project.id, models=[model], samples=3)
    assert (again.total, again.skipped, again.ok) == (5, 10, 5)
    assert fake_server.state.requests == 15
    count = session.scalar(select(func.count()).where(Generation.project_id == project.id))
    assert count == 15


def test_rate_limits_server_errors_and_bad_bodies_are_retried(
    session: Session, fake_server: FakeOpenAI
) -> None:
    prompts = ["[[429x2]] limited", "[[500x2]] flaky", "[[badjson]] garbled", "plain"]
    project, items = _project(session, prompts)
    model = register_fake(session, fake_server)
    report = generate_answers(
        session, project_id=project.id, models=[model], backend_factory=fast_backends
    )
    assert (report.ok, report.failed) == (4, 0)
    assert report.requests == 3 + 3 + 2 + 1
    assert fake_server.state.statuses[429] == 2 and fake_server.state.statuses[500] == 2
    by_item = {g.item_id: g for g in list_generations(session, project_id=project.id)}
    assert [by_item[i.id].attempts for i in items] == [3, 3, 2, 1]


def test_retry_after_is_respected(session: Session, fake_server: FakeOpenAI) -> None:
    project, _ = _project(session, ["[[429x1:0.4]] wait for me"])
    model = register_fake(session, fake_server)
    generate_answers(session, project_id=project.id, models=[model], backend_factory=fast_backends)
    (gen,) = list_generations(session, project_id=project.id)
    assert gen.status == "ok" and gen.attempts == 2
    assert gen.latency_ms >= 400  # the fast policy alone would wait 10 ms


def test_failures_are_stored_and_the_run_goes_on(session: Session, fake_server: FakeOpenAI) -> None:
    prompts = ["[[always500]] down", "[[400]] bad request", "[[slow:1]] too slow", "fine"]
    project, items = _project(session, prompts)
    model = register_fake(session, fake_server, timeout_s=0.2)
    report = generate_answers(
        session, project_id=project.id, models=[model], backend_factory=fast_backends
    )
    assert (report.ok, report.failed) == (1, 3)
    by_item = {g.item_id: g for g in list_generations(session, project_id=project.id)}
    down, bad, slow, fine = (by_item[i.id] for i in items)
    assert down.status == "failed" and "HTTP 500" in (down.error or "") and down.attempts == 4
    assert bad.status == "failed" and "HTTP 400" in (bad.error or "") and bad.attempts == 1
    assert slow.status == "failed" and "timed out" in (slow.error or "")
    assert fine.status == "ok" and fine.candidate_id is not None
    assert [len(_candidates(session, i.id)) for i in items] == [0, 0, 0, 1]
    # A later run tries the failed keys again (unless told not to), never the done one.
    before = fake_server.state.requests
    skip = generate_answers(session, project_id=project.id, models=[model], retry_failed=False)
    assert (skip.total, skip.skipped) == (0, 4) and fake_server.state.requests == before
    retry = generate_answers(
        session, project_id=project.id, models=[model], backend_factory=fast_backends
    )
    assert (retry.total, retry.skipped, retry.failed) == (3, 1, 3)
    assert session.scalar(select(func.count()).where(Generation.project_id == project.id)) == 4


def _settle(server: FakeOpenAI) -> None:
    """Wait until requests sent before a cancel have all reached the server."""
    seen = -1
    while seen != server.state.requests:
        seen = server.state.requests
        time.sleep(0.2)


def test_a_cancelled_run_resumes_without_repeating_stored_calls(
    session: Session, fake_server: FakeOpenAI
) -> None:
    n = 60
    fake_server.state.latency = 0.03
    project, _ = _project(session, [f"question number {i}" for i in range(n)])
    model = register_fake(session, fake_server)

    def stop_early(report: GenerationReport) -> None:
        if report.done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_answers(
            session, project_id=project.id, models=[model], concurrency=3, on_progress=stop_early
        )
    stored = {
        g.item_id for g in list_generations(session, project_id=project.id) if g.status == "ok"
    }
    assert 6 <= len(stored) < n
    _settle(fake_server)
    first_prompts = set(fake_server.state.prompts)
    fake_server.state.reset()
    report = generate_answers(session, project_id=project.id, models=[model], concurrency=3)
    assert report.skipped == len(stored)
    assert fake_server.state.requests == n - len(stored) == report.ok
    stored_prompts = {
        session.get(Item, i).prompt  # type: ignore[union-attr]
        for i in stored
    }
    assert not stored_prompts & set(fake_server.state.prompts)
    assert first_prompts | set(fake_server.state.prompts) == {
        f"question number {i}" for i in range(n)
    }
    per_item = session.execute(
        select(Candidate.item_id, func.count())
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.project_id == project.id)
        .group_by(Candidate.item_id)
    ).all()
    assert len(per_item) == n and all(count == 1 for _, count in per_item)


def test_gold_items_are_left_alone_unless_asked(session: Session, fake_server: FakeOpenAI) -> None:
    project = make_project(session, redundancy=1)
    make_item(session, project=project, prompt="gold", answers=("4",), is_gold=True)
    make_item(session, project=project, prompt="normal", answers=())
    model = register_fake(session, fake_server)
    assert generate_answers(session, project_id=project.id, models=[model]).ok == 1
    both = generate_answers(session, project_id=project.id, models=[model], include_gold=True)
    assert (both.ok, both.skipped) == (1, 1)
    assert fake_server.state.bodies[-1]["messages"][-1]["content"] == "gold"


def test_models_must_exist_and_have_an_endpoint(session: Session) -> None:
    project, _ = _project(session, ["x"])
    with pytest.raises(NotFound):
        generate_answers(session, project_id=project.id, models=["nope"])
    session.add(ModelVersion(name="imported-only"))
    session.commit()
    with pytest.raises(InvalidInput, match="no endpoint"):
        generate_answers(session, project_id=project.id, models=["imported-only"])
    with pytest.raises(InvalidInput):
        generate_answers(session, project_id=project.id, models=["imported-only"], samples=0)


def test_a_batch_that_clashes_with_another_run_is_stored_call_by_call(
    session: Session, fake_server: FakeOpenAI
) -> None:
    project, items = _project(session, ["one", "two", "three"])
    model = register_fake(session, fake_server)
    version, config = callable_model(session, model)
    jobs, _ = plan_generation(session, project_id=project.id, models=[(version, config)])
    # Another run stores the second key first (its answer becomes candidate A).
    generate_answers(session, project_id=project.id, models=[model], item_ids=[items[1].id])
    report = GenerationReport(total=3)
    batch = [(job, ChatReply(text=f"late {job.item_id}", attempts=1)) for job in jobs]
    store_generations(session, batch, prices=[{}], report=report)
    assert (report.ok, report.skipped, report.done) == (2, 1, 3)
    (kept,) = _candidates(session, items[1].id)
    assert kept.text.startswith("answer-")  # the other run's answer, not "late ..."
    assert [c.text for c in _candidates(session, items[0].id)] == [f"late {items[0].id}"]
    assert session.scalar(select(func.count()).where(Generation.project_id == project.id)) == 3


def test_a_conversation_is_sent_as_its_messages(session: Session, fake_server: FakeOpenAI) -> None:
    project, (item,) = _project(session, ["and then?"])
    convo = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and then?"},
    ]
    item.messages = convo
    session.commit()
    model = register_fake(session, fake_server, system_prompt="Be kind.")
    generate_answers(session, project_id=project.id, models=[model])
    (body,) = fake_server.state.bodies
    assert body["messages"] == [{"role": "system", "content": "Be kind."}, *convo]
