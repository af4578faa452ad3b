"""`judgeloop pay` on a real SQLite file: terms, bonus, statements, and reconcile's exit codes."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from judgeloop.cli import app
from judgeloop.config import Settings
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.projects import get_project
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import LedgerEntry, Project, User
from tests.factories import make_item

runner = CliRunner()
WORKER = "worker@example.org"


def _run(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == code, output
    assert "Traceback" not in output
    return output


def _db(data_dir: Path) -> str:
    return Settings(data_dir=data_dir).resolved_database_url()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with an admin, a worker, and a project paying 1.50 per task."""
    data = tmp_path / "data"
    _run(data, "init", "--admin-email", "admin@example.org", "--admin-password", "admin pass 1")
    _run(data, "user", "create", WORKER, "--password", "worker pass 1")
    _run(data, "project", "create", "paid", "--preset", "response_rating")
    _run(data, "project", "member", "paid", WORKER)
    out = _run(data, "pay", "terms", "paid", "--mode", "per_task", "--rate", "1.50")
    assert "pays 1.5" in out
    return data


def _work(data_dir: Path, tasks: int) -> None:
    """The worker judges `tasks` items through the services, on the CLI's database."""
    engine = make_engine(_db(data_dir))
    with make_sessionmaker(engine)() as session:
        project = get_project(session, "paid")
        worker = session.scalars(select(User).where(User.email == WORKER)).one()
        for i in range(tasks):
            make_item(session, project=project, prompt=f"question {i}")
            assignment = lease_next_assignment(session, project=project, worker=worker)
            assert assignment is not None
            answers = [
                AnswerIn(question=q["key"], candidate=c, value=4)
                for q in project.questions
                if q["kind"] == "rating"
                for c in (["A", "B"] if q.get("per_candidate") else [""])
            ]
            data = SubmissionCreate(
                item_id=assignment.item_id,
                assignment_id=assignment.id,
                submission_key=uuid.uuid4().hex,
                answers=answers,
            )
            submit_judgment(session, worker=worker, data=data)
    engine.dispose()


def _tamper(data_dir: Path) -> None:
    """Write a bogus bonus straight into the table, behind the pay service's back."""
    engine = make_engine(_db(data_dir))
    with engine.begin() as conn:
        project_id = conn.scalar(select(Project.id).where(Project.slug == "paid"))
        worker_id = conn.scalar(select(User.id).where(User.email == WORKER))
        conn.execute(
            insert(LedgerEntry.__table__).values(
                idempotency_key="forged",
                worker_id=worker_id,
                project_id=project_id,
                kind="bonus",
                status="approved",
                amount_micros=100_000_000,
                currency="USD",
                reason="",
                source="owner",
                created_at=utcnow(),
            )
        )
    engine.dispose()


def test_reconcile_passes_then_fails_loudly_after_tampering(data_dir: Path) -> None:
    _work(data_dir, 2)
    assert "ledger reconciles" in _run(data_dir, "pay", "reconcile")
    assert "ledger reconciles" in _run(data_dir, "pay", "reconcile", "paid")
    _tamper(data_dir)
    out = _run(data_dir, "pay", "reconcile", code=1)
    assert "does NOT reconcile: 1 differences" in out
    assert "│ entry" in out  # the table names the failed check
    assert "does NOT reconcile" in _run(data_dir, "pay", "reconcile", "paid", code=1)


def test_bonus_statement_and_mark_paid(data_dir: Path, tmp_path: Path) -> None:
    _work(data_dir, 2)
    _run(data_dir, "pay", "bonus", WORKER, "paid", "0.25", "--reason", "careful work")
    assert "approved: 3.25" in _run(data_dir, "pay", "balance", WORKER)
    out_csv = tmp_path / "statements.csv"
    args = ["--from", "2020-01-01", "--to", "2100-01-01", "--out", str(out_csv)]
    assert "1 statements (3.250000 USD)" in _run(data_dir, "pay", "statement", *args)
    [row] = list(csv.DictReader(out_csv.open()))
    assert (row["worker_email"], row["entries"], row["total"]) == (WORKER, "3", "3.250000")
    _run(data_dir, "pay", "mark-paid", row["statement_id"], "--reference", "wire-42")
    assert "paid: 3.25" in _run(data_dir, "pay", "balance", WORKER, "--project", "paid")
    assert "0 statements" in _run(data_dir, "pay", "statement", *args)
    assert "ledger reconciles" in _run(data_dir, "pay", "reconcile")


def test_bad_input_is_reported_without_a_traceback(data_dir: Path) -> None:
    _run(data_dir, "pay", "terms", "paid", "--mode", "weekly", "--rate", "1", code=1)
    _run(data_dir, "pay", "terms", "paid", "--mode", "hourly", "--rate", "abc", code=1)
    _run(data_dir, "pay", "bonus", WORKER, "paid", "--reason", "no", "--", "-1", code=1)
    _run(data_dir, "pay", "mark-paid", "999", "--reference", "x", code=1)
    _run(data_dir, "pay", "adjust", WORKER, "paid", "--reason", "too much", "--", "-5", code=1)
    _work(data_dir, 1)
    _run(data_dir, "pay", "adjust", WORKER, "paid", "--reason", "half", "--", "-0.75")
    assert "approved: 0.75" in _run(data_dir, "pay", "balance", WORKER)
