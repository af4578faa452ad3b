"""judge_project against the fake server playing a judge, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.services.judge import (
    judge_prelabels,
    judge_project,
    judge_records,
    position_pairs,
    prioritize_unsure_items,
)
from judgeloop.store.models import Candidate, Item, Judgment, Project, Submission
from judgeloop.store.models.llm import JudgeAnswer
from tests.factories import make_item, make_project
from tests.llm.fake_judge import fake_judge, judge_prompt_of, shown_answers
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    fast_backends,
    register_fake,
)

GOOD, BAD = "Canberra is correct.", "Sydney, I think."


def _ab_project(session: Session, n: int = 3, good_first: tuple[bool, ...] = ()) -> Project:
    project = make_project(session, preset="ab_comparison", questions=[], redundancy=1)
    for i in range(n):
        first = good_first[i] if i < len(good_first) else i % 2 == 0
        answers = (GOOD, BAD) if first else (BAD, GOOD)
        make_item(session, project=project, prompt=f"Capital of Australia? ({i})", answers=answers)
    return project


def _items(session: Session, project: Project) -> list[Item]:
    query = select(Item).where(Item.project_id == project.id).order_by(Item.id)
    return list(session.scalars(query))


def _good_key(session: Session, item: Item) -> str:
    from judgeloop.services.items import candidates_for

    return next(c.key for c, _ in candidates_for(session, [item.id])[item.id] if c.text == GOOD)


def test_the_judge_sees_what_people_see_and_answers_in_the_schemas(
    session: Session, fake_server: FakeOpenAI
) -> None:
    fake_server.state.responder = fake_judge()
    project = _ab_project(session)
    model = register_fake(session, fake_server, params={"price_per_1k": 1.0})
    report = judge_project(session, project_id=project.id, model=model, concurrency=2)
    assert (report.total, report.ok, report.unparseable, report.failed) == (3, 3, 0, 0)
    assert report.calls == 3 and report.cost > 0
    prompt = judge_prompt_of(fake_server.state.bodies[0])
    for needed in (
        "Canberra",  # the guidelines' worked example
        "Extremely helpful: it fully meets the need",  # a rubric level
        "## Answer A",
        "## Answer B",
        "`preference`: Which answer is better?",
        "Reply with one JSON object",
    ):
        assert needed in prompt
    records = judge_records(session, project_id=project.id, model=model)
    for item in _items(session, project):
        prefs = [r for r in records if r.item_id == item.id and r.question_key == "preference"]
        assert [r.value for r in prefs] == [{"winner": _good_key(session, item), "strength": 2}]
        ratings = {
            r.candidate_key: r.value
            for r in records
            if r.item_id == item.id and r.question_key == "helpfulness"
        }
        good = _good_key(session, item)
        assert ratings == {good: 5, "AB".replace(good, ""): 1}
    # Judge answers are kept apart from people's judgments.
    people = select(func.count()).select_from(Judgment).join(Submission)
    assert session.scalar(people.where(Submission.project_id == project.id)) == 0
    judged = select(func.count()).where(JudgeAnswer.project_id == project.id)
    assert session.scalar(judged) == 3


def test_a_swapped_run_shows_b_first_and_maps_answers_back(
    session: Session, fake_server: FakeOpenAI
) -> None:
    fake_server.state.responder = fake_judge()
    project = _ab_project(session, n=2, good_first=(True, False))
    model = register_fake(session, fake_server)
    judge_project(session, project_id=project.id, model=model)
    fake_server.state.reset()
    swapped = judge_project(session, project_id=project.id, model=model, swapped=True)
    assert swapped.ok == 2
    first = _items(session, project)[0]
    bodies = [b for b in fake_server.state.bodies if "(0)" in judge_prompt_of(b)]
    assert shown_answers(judge_prompt_of(bodies[0])) == {"A": BAD, "B": GOOD}
    pairs = position_pairs(session, project_id=project.id, model=model)
    assert pairs and all(p.agree for p in pairs)
    pref = next(p for p in pairs if p.item_id == first.id and p.question_key == "preference")
    assert pref.normal["winner"] == pref.swapped["winner"] == "A"
    assert judge_prelabels(session, project_id=project.id, item_id=first.id, model=model)
    assert prioritize_unsure_items(session, project_id=project.id, model=model) == []


def test_a_position_biased_judge_is_caught_and_its_items_go_first(
    session: Session, fake_server: FakeOpenAI
) -> None:
    fake_server.state.responder = fake_judge(biased=True)
    project = _ab_project(session, n=3)
    model = register_fake(session, fake_server)
    judge_project(session, project_id=project.id, model=model)
    judge_project(session, project_id=project.id, model=model, swapped=True)
    pairs = [
        p
        for p in position_pairs(session, project_id=project.id, model=model)
        if p.question_key == "preference"
    ]
    assert len(pairs) == 3 and not any(p.agree for p in pairs)
    items = _items(session, project)
    assert judge_prelabels(session, project_id=project.id, item_id=items[0].id, model=model) == []
    unsure = prioritize_unsure_items(session, project_id=project.id, model=model, priority=7)
    assert unsure == [i.id for i in items]
    for item in items:
        session.refresh(item)
        assert item.priority == 7


def _fixing_judge(seen: list[dict[str, Any]]) -> Any:
    good = fake_judge()

    def respond(body: dict[str, Any]) -> str:
        seen.append(body)
        last = body["messages"][-1]["content"]
        if "could not be used" in last:
            return "```json\n" + good(body) + "\n```"
        reply = json.loads(good(body))
        reply["answers"][0]["value"] = {"winner": "C", "strength": 2}
        return json.dumps(reply)

    return respond


def test_an_invalid_reply_goes_back_with_the_errors(
    session: Session, fake_server: FakeOpenAI
) -> None:
    seen: list[dict[str, Any]] = []
    fake_server.state.responder = _fixing_judge(seen)
    project = _ab_project(session, n=1)
    model = register_fake(session, fake_server)
    report = judge_project(session, project_id=project.id, model=model)
    assert (report.ok, report.calls) == (1, 2)
    fix = seen[1]["messages"]
    assert fix[-2]["role"] == "assistant" and '"C"' in fix[-2]["content"]
    assert "answers.preference.value.winner" in fix[-1]["content"]
    assert "no candidate 'C'" in fix[-1]["content"]
    (row,) = session.scalars(select(JudgeAnswer).where(JudgeAnswer.project_id == project.id))
    assert row.status == "ok" and row.attempts == 2 and "-----" in row.raw_text


def test_a_judge_that_never_answers_properly_is_recorded_as_unparseable(
    session: Session, fake_server: FakeOpenAI
) -> None:
    fake_server.state.responder = lambda body: "I think A is better."
    project = _ab_project(session, n=2)
    model = register_fake(session, fake_server)
    report = judge_project(session, project_id=project.id, model=model, max_fixes=1)
    assert (report.ok, report.unparseable, report.calls) == (0, 2, 4)
    rows = list(session.scalars(select(JudgeAnswer).where(JudgeAnswer.project_id == project.id)))
    assert all(r.status == "unparseable" and "not valid JSON" in (r.error or "") for r in rows)
    assert all(r.raw_text.count("I think A is better.") == 2 for r in rows)
    assert judge_records(session, project_id=project.id, model=model) == []
    again = judge_project(session, project_id=project.id, model=model)
    assert (again.total, again.skipped) == (0, 2)
    fake_server.state.responder = fake_judge()
    redo = judge_project(session, project_id=project.id, model=model, redo=True)
    assert redo.ok == 2
    assert session.scalar(select(func.count()).where(JudgeAnswer.project_id == project.id)) == 2


def test_an_unreachable_judge_fails_without_crashing_and_is_retried_later(
    session: Session, fake_server: FakeOpenAI
) -> None:
    fake_server.state.responder = fake_judge()
    project = make_project(session, preset="ab_comparison", questions=[], redundancy=1)
    make_item(session, project=project, prompt="[[always500]] down", answers=(GOOD, BAD))
    make_item(session, project=project, prompt="[[500x1]] [[badjson]] flaky", answers=(GOOD, BAD))
    model = register_fake(session, fake_server)
    report = judge_project(
        session, project_id=project.id, model=model, backend_factory=fast_backends
    )
    assert (report.ok, report.failed) == (1, 1)
    failed = session.scalar(select(JudgeAnswer).where(JudgeAnswer.status == "failed"))
    assert failed is not None and "HTTP 500" in (failed.error or "")
    again = judge_project(
        session, project_id=project.id, model=model, backend_factory=fast_backends
    )
    assert (again.total, again.skipped, again.failed) == (1, 1, 1)


def test_items_with_too_few_answers_are_not_sent(session: Session, fake_server: FakeOpenAI) -> None:
    fake_server.state.responder = fake_judge()
    project = _ab_project(session, n=1)
    make_item(session, project=project, prompt="only one answer", answers=(GOOD,))
    model = register_fake(session, fake_server)
    report = judge_project(session, project_id=project.id, model=model)
    assert (report.total, report.ok, report.not_ready) == (1, 1, 1)
    assert fake_server.state.requests == 1


@pytest.mark.parametrize("preset", ["response_rating", "ranking", "safety_review"])
def test_the_judge_answers_other_templates(
    session: Session, fake_server: FakeOpenAI, preset: str
) -> None:
    fake_server.state.responder = fake_judge()
    project = make_project(session, preset=preset, questions=[], redundancy=1)
    from judgeloop.presets import get_preset

    n = get_preset(preset).min_candidates or 1
    answers = (GOOD, BAD, "Perth.", "Melbourne.")[: max(n, 1)]
    make_item(session, project=project, prompt="Capital of Australia?", answers=answers)
    model = register_fake(session, fake_server)
    report = judge_project(session, project_id=project.id, model=model)
    row = session.scalar(select(JudgeAnswer).where(JudgeAnswer.project_id == project.id))
    assert report.ok == 1, row.error if row else None


def test_changed_answers_are_judged_again(session: Session, fake_server: FakeOpenAI) -> None:
    fake_server.state.responder = fake_judge()
    project = _ab_project(session, n=2, good_first=(True, True))
    model = register_fake(session, fake_server)
    assert judge_project(session, project_id=project.id, model=model).ok == 2
    first, _ = _items(session, project)
    cands = session.scalars(select(Candidate).where(Candidate.item_id == first.id)).all()
    a = next(c for c in cands if c.key == "A")
    b = next(c for c in cands if c.key == "B")
    a.text, b.text = BAD, GOOD  # the item's answers changed (swapped texts)
    session.commit()
    again = judge_project(session, project_id=project.id, model=model)
    assert (again.total, again.skipped, again.ok) == (1, 1, 1)
    (pref,) = [
        r
        for r in judge_records(session, project_id=project.id, model=model, item_id=first.id)
        if r.question_key == "preference"
    ]
    assert pref.value["winner"] == "B"
    assert session.scalar(select(func.count()).select_from(JudgeAnswer)) == 3
