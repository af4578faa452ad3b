"""Rounds on SQLite and PostgreSQL: freeze, blind A/B items, the round report, the leaderboard."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.round_report import leaderboard, leaderboard_svg, round_report
from judgeloop.services.rounds import (
    RoundPrompt,
    assert_round_open,
    freeze_round,
    round_item_ids,
    start_round,
)
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Candidate, Item, ModelVersion, Project, User
from tests.factories import join, make_project, make_user


def _versions(session: Session) -> tuple[ModelVersion, ModelVersion, ModelVersion]:
    tag = uuid.uuid4().hex[:6]
    v1 = ModelVersion(name=f"v1-{tag}")
    session.add(v1)
    session.flush()
    v2 = ModelVersion(name=f"v2-{tag}", parent_id=v1.id)
    session.add(v2)
    session.flush()
    v3 = ModelVersion(name=f"v3-{tag}", parent_id=v2.id)
    session.add(v3)
    session.commit()
    return v1, v2, v3


def _ab_project(session: Session) -> tuple[Project, User]:
    owner = make_user(session, role="owner")
    project = make_project(
        session, owner=owner, redundancy=2, preset="ab_comparison", questions=[], rubric=[]
    )
    return project, owner


def _prompts(n: int, red: int = 0) -> list[RoundPrompt]:
    fresh = [RoundPrompt(prompt=f"Question {i}?") for i in range(n)]
    return fresh + [
        RoundPrompt(prompt=f"Attack {i}", source="red_team", tag="jailbreak") for i in range(red)
    ]


def _answers(prompts: list[RoundPrompt], *versions: ModelVersion) -> dict[tuple[int, str], str]:
    return {(v.id, p.prompt): f"{v.name} says {p.prompt}" for p in prompts for v in versions}


def _judge_all(
    session: Session, project: Project, workers: list[User], prefer: ModelVersion
) -> None:
    """Each worker prefers `prefer`'s answer wherever it is shown, rating it 5 and the other 2."""
    for worker in workers:
        while (a := lease_next_assignment(session, project=project, worker=worker)) is not None:
            cands = session.scalars(select(Candidate).where(Candidate.item_id == a.item_id)).all()
            good = next(c.key for c in cands if c.model_version_id == prefer.id)
            answers = [
                AnswerIn(
                    question="preference",
                    value={"winner": good, "strength": 2},
                    explanation="clearer and more accurate",
                )
            ]
            for c in cands:
                for dim in ("helpfulness", "accuracy", "instruction_following", "safety"):
                    score = 5 if c.key == good else 2
                    answers.append(AnswerIn(question=dim, candidate=c.key, value=score))
            data = SubmissionCreate(
                item_id=a.item_id,
                assignment_id=a.id,
                submission_key=uuid.uuid4().hex,
                answers=answers,
                explanation="clearer",
            )
            submit_judgment(session, worker=worker, data=data)


def test_a_round_makes_blind_ab_items_with_random_sides(session: Session) -> None:
    project, owner = _ab_project(session)
    v1, v2, _ = _versions(session)
    prompts = _prompts(40, red=4)
    started = start_round(
        session,
        project=project,
        actor=owner,
        model=v2,
        prompts=prompts,
        answers=_answers(prompts, v1, v2),
    )
    assert started.round.number == 1 and started.created == 44
    assert started.round.baseline_version_id == v1.id  # the parent, as no round came before
    # Both sides are used: the new version is not always A.
    assert started.sides["new_first"] > 5 and started.sides["new_second"] > 5
    ids = round_item_ids(session, started.round)
    items = session.scalars(select(Item).where(Item.id.in_(ids))).all()
    assert {i.meta["source"] for i in items} == {"fresh", "red_team"}
    assert all(i.meta["tag"] == "jailbreak" for i in items if i.meta["source"] == "red_team")
    again = start_round(
        session,
        project=project,
        actor=owner,
        model=v2,
        baseline=v1,
        prompts=prompts,
        answers=_answers(prompts, v1, v2),
    )
    assert again.created == 0 and again.duplicates == 44 and again.frozen_previous == 1


def test_report_win_rate_dimensions_and_freeze(session: Session) -> None:
    project, owner = _ab_project(session)
    v1, v2, v3 = _versions(session)
    prompts = _prompts(12)
    r1 = start_round(
        session,
        project=project,
        actor=owner,
        model=v2,
        prompts=prompts,
        answers=_answers(prompts, v1, v2),
    ).round
    workers = [join(session, project, make_user(session)) for _ in range(2)]
    _judge_all(session, project, workers, prefer=v2)
    report = round_report(
        session, round_=r1, scorer=lambda prompt, answer: float(answer.startswith("v2"))
    )
    assert report.human.win_rate == 100.0 and report.human.n == 24 and report.human.items == 12
    assert report.human.low is not None and report.human.low <= 100.0
    helpful = next(d for d in report.dimensions if d.question == "helpfulness")
    assert helpful.new_mean == 5.0 and helpful.baseline_mean == 2.0 and helpful.delta == 3.0
    assert report.reward_model_accuracy == 1.0 and report.reward_model_pairs == 12
    # The next round freezes this one: its items close and writes to them are refused.
    more = _prompts(6)
    r2 = start_round(
        session,
        project=project,
        actor=owner,
        model=v3,
        prompts=[RoundPrompt(prompt=f"New {p.prompt}") for p in more],
        answers={
            (v.id, f"New {p.prompt}"): f"{v.name}: {p.prompt}" for p in more for v in (v2, v3)
        },
    ).round
    assert r2.baseline_version_id == v2.id
    session.refresh(r1)
    assert r1.state == "frozen" and r1.summary["human"]["win_rate"] == 100.0
    first_item = round_item_ids(session, r1)[0]
    with pytest.raises(Conflict):
        assert_round_open(session, item_id=first_item)
    assert freeze_round(session, round_=r1).state == "frozen"  # twice is harmless
    _judge_all(session, project, workers, prefer=v2)  # people prefer the older version now
    board = leaderboard(session, project=project)
    assert board.models and board.scores[board.models.index(v2.name)] == max(board.scores)
    assert [r.human.win_rate for r in board.rounds] == [100.0, 0.0]
    assert leaderboard_svg(board).lstrip().startswith(b"<?xml")


def test_bad_rounds_are_refused(session: Session) -> None:
    project, owner = _ab_project(session)
    v1, v2, _ = _versions(session)
    prompts = _prompts(3)
    answers = _answers(prompts, v1, v2)
    del answers[(v1.id, prompts[1].prompt)]
    with pytest.raises(InvalidInput) as missing:
        start_round(
            session, project=project, actor=owner, model=v2, prompts=prompts, answers=answers
        )
    assert [(r.line, r.field) for r in missing.value.rows] == [(2, "answer")]
    with pytest.raises(InvalidInput):
        start_round(
            session,
            project=project,
            actor=owner,
            model=v2,
            prompts=[RoundPrompt(prompt=" ")],
            answers={},
        )
    with pytest.raises(InvalidInput):
        start_round(
            session, project=project, actor=owner, model=v1, prompts=prompts, answers=answers
        )
    stranger = make_user(session, role="owner")
    with pytest.raises(Forbidden):
        start_round(
            session,
            project=project,
            actor=stranger,
            model=v2,
            prompts=prompts,
            answers=_answers(prompts, v1, v2),
        )


def test_frozen_round_refuses_writes_and_explanations_are_enforced(session: Session) -> None:
    project, owner = _ab_project(session)  # the A/B template asks for an explanation
    v1, v2, _ = _versions(session)
    prompts = _prompts(2)
    r1 = start_round(
        session,
        project=project,
        actor=owner,
        model=v2,
        prompts=prompts,
        answers=_answers(prompts, v1, v2),
    ).round
    worker = join(session, project, make_user(session))
    lease = lease_next_assignment(session, project=project, worker=worker)
    assert lease is not None
    answers = [AnswerIn(question="preference", value={"winner": "A", "strength": 1})]
    answers += [
        AnswerIn(question=d, candidate=c, value=3)
        for d in ("helpfulness", "accuracy", "instruction_following", "safety")
        for c in "AB"
    ]
    data = SubmissionCreate(
        item_id=lease.item_id,
        assignment_id=lease.id,
        submission_key=uuid.uuid4().hex,
        answers=answers,
    )
    with pytest.raises(InvalidInput) as missing:
        submit_judgment(session, worker=worker, data=data)
    assert [r.field for r in missing.value.rows] == ["explanation"]
    freeze_round(session, round_=r1, actor=owner)
    explained = data.model_copy(update={"explanation": "A is right"})
    with pytest.raises(Conflict):
        submit_judgment(session, worker=worker, data=explained)
    other = join(session, project, make_user(session))
    assert lease_next_assignment(session, project=project, worker=other) is None  # items closed
