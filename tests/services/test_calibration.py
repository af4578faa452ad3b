"""calibration_report: people and an LLM judge (the fake server) answer the same items.

Each item has a right answer (its text contains "correct") and a wrong one; on half the
items the right one is the longer (the longer one always contains "indeed"). Three
workers prefer and rate the right answer, except the third, who is wrong on every
fourth item. Judges: one that agrees with people, one that always picks the answer
shown first, one that always picks the longer answer. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from judgeloop.aggregate.agreement import Estimate
from judgeloop.cli import app
from judgeloop.errors import NotFound
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.calibration import CalibrationReport, calibration_report, report_dict
from judgeloop.services.judge import judge_project
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import Item, Project, User
from tests.factories import join, make_item, make_project, make_user
from tests.llm.fake_judge import fake_judge
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.fixtures import (  # noqa: F401 - fixtures
    fake_server_fixture,
    fake_server_session_fixture,
    register_fake,
)

RUBRIC = [
    {"key": "helpfulness", "name": "Helpfulness", "levels": {1: "Useless", 5: "Perfect"}},
]
QUESTIONS: list[dict[str, Any]] = [
    {"key": "better", "kind": "preference", "title": "Which is better?", "config": {}},
    *(
        {
            "key": key,
            "kind": "rating",
            "title": title,
            "per_candidate": True,
            "config": {"dimension": "helpfulness", "min": 1, "max": 5},
        }
        for key, title in (("helpful", "How helpful?"), ("useful", "How useful?"))
    ),
]
SHORT_RIGHT, LONG_WRONG = "Canberra, correct.", "Sydney is the capital, indeed, I am sure of it."
LONG_RIGHT, SHORT_WRONG = "Canberra is the capital, indeed; correct and checked twice.", "Perth."
N_ITEMS = 12
BOOT = 300


@dataclass
class World:
    """The project, its items, each item's right candidate key, and the workers."""

    project: Project
    items: list[Item]
    right: dict[int, str]
    workers: list[User]


def _answers(right: str, wrong: str) -> list[AnswerIn]:
    out = [AnswerIn(question="better", value={"winner": right, "strength": 2})]
    for key in ("helpful", "useful"):
        out += [AnswerIn(question=key, candidate=right, value=5)]
        out += [AnswerIn(question=key, candidate=wrong, value=1)]
    return out


def make_calibration_world(session: Session, n_items: int = N_ITEMS) -> World:
    """A project judged by three workers (see the module docstring)."""
    project = make_project(session, questions=QUESTIONS, rubric=RUBRIC, redundancy=3)
    workers = [join(session, project, make_user(session)) for _ in range(3)]
    items, right = [], {}
    for i in range(n_items):
        right_first = i % 2 == 0
        pair = (LONG_RIGHT, SHORT_WRONG) if i % 4 in (0, 3) else (SHORT_RIGHT, LONG_WRONG)
        texts = pair if right_first else pair[::-1]
        item = make_item(
            session, project=project, prompt=f"Capital of Australia? ({i})", answers=texts
        )
        items.append(item)
        right[item.id] = "A" if right_first else "B"
    for n, worker in enumerate(workers):
        for i, item in enumerate(items):
            good = right[item.id]
            bad = "B" if good == "A" else "A"
            if n == 2 and i % 4 == 0:
                good, bad = bad, good
            data = SubmissionCreate(
                item_id=item.id, submission_key=uuid.uuid4().hex, answers=_answers(good, bad)
            )
            submit_judgment(session, worker=worker, data=data)
    return World(project, items, right, workers)


def run_judge(session: Session, server: FakeOpenAI, world: World, **judge: Any) -> str:
    """Register a judge on the fake server; run it normally and with the answers swapped."""
    server.state.responder = fake_judge(**judge)
    model = register_fake(session, server)
    for swapped in (False, True):
        report = judge_project(session, project_id=world.project.id, model=model, swapped=swapped)
        assert report.ok == len(world.items)
    return model


def estimates(report: CalibrationReport) -> list[Estimate]:
    """Every estimate in the report."""
    found: list[Estimate] = []

    def walk(value: Any) -> None:
        if isinstance(value, Estimate):
            found.append(value)
        elif is_dataclass(value):
            for f in fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(report)
    return found


def assert_brackets(report: CalibrationReport) -> None:
    """Every finite estimate lies within its interval."""
    for est in estimates(report):
        if math.isfinite(est.value):
            assert est.ci_low <= est.value + 1e-9 and est.value <= est.ci_high + 1e-9, est


def test_a_judge_that_agrees_with_people_reaches_the_ceiling(
    session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session)
    model = run_judge(session, fake_server, world, prefer="correct")
    report = calibration_report(session, project=world.project, judge_model=model, n_bootstrap=BOOT)
    assert report.runs.normal_ok == report.runs.swapped_ok == report.runs.paired_items == N_ITEMS
    rows = {(r.key, r.variant): r for r in report.questions}
    assert set(rows) == {
        ("better", ""),
        ("helpful", ""),
        ("useful", ""),
        ("helpfulness", "dimension"),
    }
    better = rows[("better", "")].agreement
    assert better.n_units == N_ITEMS and better.n_judgments == 3 * N_ITEMS
    assert better.exact.value == 1.0 and better.alpha.value == pytest.approx(1.0)
    # The judge sides with the majority; the third worker is wrong on 3 of 12 items.
    assert better.pairwise.value == pytest.approx(33 / 36)
    assert better.human_pairwise.value == pytest.approx(30 / 36)
    assert 0.0 < better.human_alpha.value < 1.0
    assert better.pairwise_gap.value > 0
    helpful = rows[("helpful", "")]
    assert helpful.level == "ordinal" and helpful.dimension == "helpfulness"
    assert helpful.agreement.n_units == 2 * N_ITEMS
    assert helpful.agreement.exact.value == 1.0
    assert helpful.agreement.alpha.value == pytest.approx(1.0)
    assert helpful.agreement.mean_abs_error.value == pytest.approx(6 * (4 / 3) / 24)
    pooled = rows[("helpfulness", "dimension")].agreement
    assert pooled.n_units == 4 * N_ITEMS and pooled.exact.value == 1.0
    (position,) = [p for p in report.position if p.key == "better"]
    assert position.n_items == N_ITEMS and position.flip_rate.value == 0.0
    assert position.first_share is not None and position.first_share.value == 0.5
    assert all(p.flip_rate.value == 0.0 for p in report.position)
    (length,) = report.length_preference
    assert length.judge.value == pytest.approx(0.5) and length.n_judge == N_ITEMS
    assert_brackets(report)


def test_a_judge_that_picks_the_first_answer_shown_flips_on_every_swap(
    session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session)
    model = run_judge(session, fake_server, world, biased=True)
    report = calibration_report(session, project=world.project, judge_model=model, n_bootstrap=BOOT)
    position = {p.key: p for p in report.position}
    better = position["better"]
    assert better.n_pairs == N_ITEMS and better.n_decisive == 2 * N_ITEMS
    assert better.flip_rate.value == 1.0 and better.flip_rate.ci_low == 1.0
    assert better.first_share is not None and better.first_share.value == 1.0
    assert position["helpful"].flip_rate.value == 1.0 and position["helpful"].first_share is None
    # Against people it is right only where the right answer came first (half the items).
    agreement = {r.key: r.agreement for r in report.questions}["better"]
    assert agreement.exact.value == pytest.approx(0.5)
    assert agreement.alpha.value < 0.5 < agreement.human_alpha.value
    assert_brackets(report)


def test_a_judge_that_picks_the_longer_answer_shows_length_bias(
    session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session)
    model = run_judge(session, fake_server, world, prefer="indeed")
    report = calibration_report(session, project=world.project, judge_model=model, n_bootstrap=BOOT)
    (length,) = report.length_preference
    assert length.n_items == N_ITEMS and length.n_judge == N_ITEMS and length.n_human == 36
    assert length.judge.value == 1.0
    assert length.humans.value == pytest.approx(0.5, abs=0.1)
    assert length.difference.value > 0.4 and length.difference.ci_low > 0
    ratings = {r.key: r for r in report.length_rating}
    helpful = ratings["helpful"]
    assert helpful.n_judge == 2 * N_ITEMS and helpful.n_human == 6 * N_ITEMS
    assert helpful.judge.value > 0.7 and helpful.judge.ci_low > 0.3
    assert abs(helpful.humans.value) < 0.3
    assert helpful.dimension == "helpfulness"
    # Position bias is nil: the longer answer is the longer whichever comes first.
    assert {p.key: p for p in report.position}["better"].flip_rate.value == 0.0
    assert_brackets(report)


def test_the_report_is_empty_before_the_judge_runs_and_json_ready(
    session: Session, fake_server: FakeOpenAI
) -> None:
    world = make_calibration_world(session, n_items=2)
    model = register_fake(session, fake_server)
    report = calibration_report(session, project=world.project, judge_model=model)
    assert report.runs.normal_ok == 0 and not report.questions and not report.position
    assert report_dict(report)["runs"]["paired_items"] == 0
    with pytest.raises(NotFound):
        calibration_report(session, project=world.project, judge_model="no-such-judge")
    fake_server.state.responder = fake_judge()
    judge_project(session, project_id=world.project.id, model=model)
    data = report_dict(calibration_report(session, project=world.project, judge_model=model))
    assert data["position"] == []  # no swapped run yet
    better = next(q for q in data["questions"] if q["key"] == "better")
    assert better["agreement"]["exact"]["value"] == 1.0
    assert better["agreement"]["mean_abs_error"]["value"] is None  # nominal: no distance


def test_the_cli_prints_the_report_and_its_json(
    tmp_path: Path, sqlite_template: Path, fake_server: FakeOpenAI
) -> None:
    db = tmp_path / "cli.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        with make_sessionmaker(engine)() as session:
            world = make_calibration_world(session, n_items=4)
            model = run_judge(session, fake_server, world, biased=True)
            slug = world.project.slug
    finally:
        engine.dispose()
    base = ["--data-dir", str(tmp_path / "data"), "--database-url", f"sqlite:///{db}"]
    args = [*base, "judge-report", slug, "--model", model, "--bootstrap", "50"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 items judged, 4 swapped, 4 both ways" in result.output
    assert "Position bias" in result.output and "100%" in result.output
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["position"][0]["flip_rate"]["value"] == 1.0
    missing = CliRunner().invoke(app, [*base, "judge-report", slug, "--model", "nobody"])
    assert missing.exit_code != 0 and "nobody" in missing.output
