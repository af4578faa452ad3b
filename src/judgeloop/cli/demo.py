"""`judgeloop demo`: a ready-to-use instance with sample projects built from real public data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.cli.context import console, open_session, reports_errors, state
from judgeloop.cli.db import upgrade_database
from judgeloop.config import Settings
from judgeloop.export.mapping import ColumnMapping
from judgeloop.schemas.accounts import UserCreate
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.services import accounts, projects
from judgeloop.store.models import Project, User

if TYPE_CHECKING:
    from judgeloop.services.code_runs import CodeRunReport

# Demo passwords are printed on purpose: this instance is for trying judgeloop locally.
DEMO_ACCOUNTS = [
    ("admin@demo.judgeloop.test", "admin", "Ada Admin", "demo-admin-1234"),
    ("owner@demo.judgeloop.test", "owner", "Olu Owner", "demo-owner-1234"),
    ("reviewer@demo.judgeloop.test", "reviewer", "Rae Reviewer", "demo-reviewer-1234"),
    ("worker1@demo.judgeloop.test", "worker", "Wen Worker", "demo-worker-1234"),
    ("worker2@demo.judgeloop.test", "worker", "Wim Worker", "demo-worker-1234"),
]
ALPACA_MODELS = ["gpt4", "llama-2-7b-chat-hf", "alpaca-7b"]


@dataclass
class DemoProject:
    """One sample project: a template, a sample file and how its columns map."""

    slug: str
    name: str
    preset: str
    sample: str
    mapping: dict[str, Any]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


DEMO_PROJECTS = [
    DemoProject(
        "alpaca-ab",
        "AlpacaEval: GPT-4 vs Llama-2-7B-chat",
        "ab_comparison",
        "alpaca_eval/answers.jsonl",
        {
            "prompt": "instruction",
            "answers": [f"output_{m}" for m in ALPACA_MODELS[:2]],
            "models": ALPACA_MODELS[:2],
            "id": "id",
            "metadata": ["dataset"],
        },
        "Which of two real model answers to an AlpacaEval instruction is better?",
    ),
    DemoProject(
        "alpaca-rating",
        "AlpacaEval: rate Alpaca-7B's answers",
        "response_rating",
        "alpaca_eval/answers.jsonl",
        {
            "prompt": "instruction",
            "answers": ["output_alpaca-7b"],
            "models": ["alpaca-7b"],
            "id": "id",
            "metadata": ["dataset"],
        },
        "Rate one answer on a rubric: accuracy, completeness, clarity, helpfulness, ...",
    ),
    DemoProject(
        "alpaca-ranking",
        "AlpacaEval: rank three models",
        "ranking",
        "alpaca_eval/answers.jsonl",
        {
            "prompt": "instruction",
            "answers": [f"output_{m}" for m in ALPACA_MODELS],
            "models": ALPACA_MODELS,
            "id": "id",
            "metadata": ["dataset"],
        },
        "Order three answers from best to worst.",
    ),
    DemoProject(
        "hh-dialogues",
        "HH-RLHF: which final turn is more harmless?",
        "ab_comparison",
        "hh_rlhf/dialogues.jsonl",
        {"messages": "messages", "prompt": None, "answers": ["answer_a", "answer_b"], "id": "id"},
        "Multi-turn conversations from Anthropic's HH-RLHF harmless set.",
    ),
    DemoProject(
        "humaneval-coding",
        "HumanEval: review the code",
        "coding_evaluation",
        "humaneval/problems.jsonl",
        {
            "prompt": "prompt",
            "answers": ["solution", "broken"],
            "models": ["canonical-solution", "broken-variant"],
            "id": "id",
            "metadata": ["entry_point", "test"],
        },
        "Two solutions to each HumanEval problem, the canonical one and a broken variant "
        "(shown in a random order), each run against the problem's tests in the sandbox.",
        {"settings": {"shuffle_candidates": True}, "run_code": True},
    ),
]
CODE_CONCURRENCY = 2
"""Sandbox runs at once while the demo loads (a HumanEval run takes about 40 ms)."""


def sample_path(name: str) -> Path:
    """Path of a sample file shipped inside the package."""
    return Path(str(resources.files("judgeloop") / "samples" / name))


def _ensure_user(session: Session, email: str, role: str, name: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        data = UserCreate(email=email, name=name, role=role, password=password)
        user = accounts.create_user(session, data=data)
    return user


def run_demo_code(
    session: Session,
    project: Project,
    on_progress: Callable[[CodeRunReport], None] | None = None,
) -> CodeRunReport | None:
    """Run a demo project's candidates in the sandbox (None when no sandbox can run here).

    Stored runs of unchanged code are reused, so loading the demo again runs nothing.
    """
    from judgeloop.sandbox import SandboxUnavailable
    from judgeloop.services.code_runs import run_project

    try:
        report = run_project(
            session, project=project, concurrency=CODE_CONCURRENCY, on_progress=on_progress
        )
    except SandboxUnavailable as exc:
        console.print(f"[yellow]{project.slug}: the tests did not run:[/yellow] {exc.message}")
        return None
    console.print(
        f"{project.slug}: {report.passed} of {report.done} answers pass their tests "
        f"({report.ran} run now, {report.reused} reused, {report.wall_s:.1f} s)"
    )
    return report


def load_demo(
    settings: Settings, on_code_progress: Callable[[CodeRunReport], None] | None = None
) -> list[Project]:
    """Create the demo accounts and projects (idempotent: running it twice adds nothing).

    The coding project's candidates are run against their tests in the sandbox
    (`on_code_progress` sees how far it got).
    """
    from judgeloop.services.imports import import_items

    upgrade_database(settings)
    settings.resolved_secret_key()
    with open_session(settings) as session:
        users = {role: _ensure_user(session, e, role, n, p) for e, role, n, p in DEMO_ACCOUNTS}
        workers = [
            _ensure_user(session, e, r, n, p) for e, r, n, p in DEMO_ACCOUNTS if r == "worker"
        ]
        created = []
        for demo in DEMO_PROJECTS:
            project = session.scalar(select(Project).where(Project.slug == demo.slug))
            if project is None:
                project = projects.create_project(
                    session,
                    owner=users["owner"],
                    data=ProjectCreate(
                        slug=demo.slug,
                        name=demo.name,
                        preset=demo.preset,
                        description=demo.description,
                        redundancy=2,
                    ),
                )
                project.settings = {**project.settings, **demo.extra.get("settings", {})}
            import_items(
                session,
                project=project,
                actor=users["owner"],
                path=sample_path(demo.sample),
                format="jsonl",
                mapping=ColumnMapping.model_validate(demo.mapping),
            )
            for member in [*workers, users["reviewer"]]:
                role = "reviewer" if member.role == "reviewer" else "worker"
                projects.add_member(session, project=project, user=member, role=role)
            if demo.extra.get("run_code"):
                run_demo_code(session, project, on_code_progress)
            created.append(project)
    return created


def print_logins(settings: Settings) -> None:
    """Print the demo accounts and where the app is served."""
    table = Table("role", "email", "password", title="demo logins")
    for email, role, _, password in DEMO_ACCOUNTS:
        table.add_row(role, email, password)
    console.print(table)
    console.print(f"app: http://{settings.host}:{settings.port}/   API docs: /docs")


@reports_errors
def demo_cli(
    ctx: typer.Context,
    serve: Annotated[bool, typer.Option(help="Serve the app after loading.")] = False,
    loop: Annotated[
        bool,
        typer.Option(
            help="Also run the loop: past HH-RLHF votes -> a reward model (a minute or two "
            "on the CPU) -> best-of-2 over AlpacaEval answers -> a blind round for people."
        ),
    ] = False,
) -> None:
    """Load sample projects from real public data, create demo accounts, optionally serve."""
    settings = state(ctx).settings()
    with Progress(*Progress.get_default_columns(), console=console, transient=True) as bar:
        task = bar.add_task("running the coding project's tests", total=None)

        def show(report: CodeRunReport) -> None:
            bar.update(task, total=report.total, completed=report.done)

        loaded = load_demo(settings, on_code_progress=show)
    for project in loaded:
        console.print(f"project [bold]{project.slug}[/bold]: {project.name}")
    if loop:
        from judgeloop.cli.demo_loop import run_loop

        with Progress(*Progress.get_default_columns(), console=console, transient=True) as bar:
            task = bar.add_task("training the reward model", total=None)

            def stage(name: str, done: int, total: int) -> None:
                bar.update(task, description=f"reward model: {name}", completed=done, total=total)

            workers = [e for e, role, _, _ in DEMO_ACCOUNTS if role in ("worker", "reviewer")]
            run_loop(settings, workers=workers, on_progress=stage)
    print_logins(settings)
    if serve:
        from judgeloop.cli.serve import run_server

        run_server(settings)
