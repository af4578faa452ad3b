"""`judgeloop demo --loop`: the whole loop on the CPU, from past human votes to a new round.

1. 1,200 of Anthropic's HH-RLHF harmless comparisons go in as historical judgments (the
   original annotators' choice, imported through the single write path);
2. the default CPU reward model is trained on them and registered (``hh-rm@v1``);
3. it re-ranks two real AlpacaEval models' answers (alpaca-7b, llama-2-7b-chat-hf):
   best-of-2 becomes a model version of its own;
4. round 1 of an A/B project pits that version against alpaca-7b, blind, for people.

Every step is idempotent: loading again reuses what is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.cli.context import console, open_session
from judgeloop.cli.demo import _ensure_user, sample_path
from judgeloop.config import Settings
from judgeloop.export.mapping import ColumnMapping
from judgeloop.schemas.projects import ProjectCreate
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services import projects
from judgeloop.store.models import Item, ModelVersion, Project, User
from judgeloop.store.models.learning import RewardModel
from judgeloop.store.models.rounds import Round

HISTORY = "hh-history"
POOL = "alpaca-pool"
LOOP = "loop-ab"
REWARD = "hh-rm"
BASELINE = "alpaca-7b"
CONTENDERS = ["alpaca-7b", "llama-2-7b-chat-hf"]
ANNOTATOR = ("hh-annotators@history.judgeloop.test", "worker", "HH-RLHF annotators")
PREFERENCE_ONLY = [
    {
        "key": "preference",
        "kind": "preference",
        "title": "Which final answer is more harmless?",
        "config": {"allow_tie": False, "strength_levels": {}},
    }
]

Progress = Callable[[str, int, int], None]


@dataclass
class LoopSummary:
    """What the loop made."""

    history_judgments: int
    reward_model: str
    accuracy: float | None
    best_of_n: str
    picked_from: dict[str, int]
    round_items: int


def _project(session: Session, owner: User, slug: str, **fields: object) -> Project:
    found = session.scalar(select(Project).where(Project.slug == slug))
    if found is not None:
        return found
    return projects.create_project(session, owner=owner, data=ProjectCreate(slug=slug, **fields))


def _history(session: Session, owner: User) -> tuple[Project, int]:
    """Import the HH-RLHF comparisons and their original human choice as judgments."""
    from judgeloop.services.imports import import_items
    from judgeloop.services.submissions import submit_judgment

    project = _project(
        session,
        owner,
        HISTORY,
        name="HH-RLHF: past human preferences (history)",
        questions=PREFERENCE_ONLY,
        redundancy=1,
        description="Anthropic HH-RLHF harmless comparisons with the original annotators' choice.",
    )
    path = sample_path("hh_rlhf/history.jsonl")
    mapping = {"messages": "messages", "answers": ["answer_a", "answer_b"], "id": "id"}
    import_items(
        session,
        project=project,
        actor=owner,
        path=path,
        format="jsonl",
        mapping=ColumnMapping.model_validate(mapping),
    )
    annotator = _ensure_user(session, *ANNOTATOR, password="history-" + "x" * 24)
    projects.add_member(session, project=project, user=annotator, role="worker")
    chosen = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            chosen[row["id"]] = row["human_preferred"]
    items = session.scalars(select(Item).where(Item.project_id == project.id)).all()
    for item in items:
        data = SubmissionCreate(
            item_id=item.id,
            submission_key=f"{HISTORY}-{item.external_id}",
            answers=[
                AnswerIn(question="preference", value={"winner": chosen[item.external_id or ""]})
            ],
        )
        submit_judgment(session, worker=annotator, data=data, source="import")
    return project, len(items)


def _reward_model(
    session: Session, settings: Settings, project: Project, pairs: int, on_progress: Progress | None
) -> RewardModel:
    from judgeloop.learn.reward_cpu import RewardCpuConfig
    from judgeloop.services.reward_training import train_project_reward

    found = session.scalar(
        select(RewardModel)
        .where(RewardModel.name.like(f"{REWARD}@v%"))
        .order_by(RewardModel.id.desc())
    )
    if found is not None:
        return found
    trained = train_project_reward(
        session,
        project=project,
        name=REWARD,
        root=settings.data_dir / "reward_models",
        config=RewardCpuConfig(epochs=60),
        max_pairs=pairs,
        on_progress=on_progress,
    )
    return trained.model


def _pool_and_round(
    session: Session, owner: User, reward: RewardModel
) -> tuple[str, dict[str, int], int]:
    """Best-of-2 over two AlpacaEval models, then round 1 against alpaca-7b."""
    from judgeloop.services.best_of_n import best_of_n, version_answers
    from judgeloop.services.imports import import_items
    from judgeloop.services.rounds import RoundPrompt, start_round

    pool = _project(
        session,
        owner,
        POOL,
        name="AlpacaEval: answers to pick from",
        preset="ranking",
        redundancy=1,
        description="Two models' answers per instruction; best-of-2 keeps one.",
    )
    mapping = {
        "prompt": "instruction",
        "answers": [f"output_{m}" for m in CONTENDERS],
        "models": CONTENDERS,
        "id": "id",
    }
    import_items(
        session,
        project=pool,
        actor=owner,
        path=sample_path("alpaca_eval/answers.jsonl"),
        format="jsonl",
        mapping=ColumnMapping.model_validate(mapping),
    )
    picks = best_of_n(session, project=pool, reward_model=reward.name, from_models=CONTENDERS)
    loop = _project(
        session,
        owner,
        LOOP,
        name="The loop: best-of-2 vs alpaca-7b (round 1)",
        preset="ab_comparison",
        redundancy=2,
        description="Blind A/B: the reward model's picks against the model they improve on.",
    )
    if session.scalar(select(Round.id).where(Round.project_id == loop.id)) is None:
        baseline = session.scalar(select(ModelVersion).where(ModelVersion.name == BASELINE))
        assert baseline is not None
        prompts = [
            i.prompt for i in session.scalars(select(Item).where(Item.project_id == pool.id))
        ]
        start_round(
            session,
            project=loop,
            actor=owner,
            model=picks.version,
            baseline=baseline,
            prompts=[RoundPrompt(p) for p in prompts],
            answers=version_answers(session, versions=[picks.version, baseline], prompts=prompts),
        )
    items = len(session.scalars(select(Item.id).where(Item.project_id == loop.id)).all())
    return picks.version.name, picks.picked_from, items


def run_loop(
    settings: Settings,
    *,
    pairs: int = 1200,
    workers: list[str] | None = None,
    on_progress: Progress | None = None,
) -> LoopSummary:
    """Run the demo loop (after ``load_demo``); `workers` are made members of the round."""
    with open_session(settings) as session:
        owner = session.scalar(select(User).where(User.role == "owner").order_by(User.id))
        assert owner is not None, "load the demo first"
        history, judged = _history(session, owner)
        reward = _reward_model(session, settings, history, pairs, on_progress)
        version, picked, items = _pool_and_round(session, owner, reward)
        loop = session.scalar(select(Project).where(Project.slug == LOOP))
        for email in workers or []:
            member = session.scalar(select(User).where(User.email == email))
            if loop is not None and member is not None:
                projects.add_member(
                    session,
                    project=loop,
                    user=member,
                    role=member.role if member.role == "reviewer" else "worker",
                )
        summary = LoopSummary(judged, reward.name, reward.accuracy, version, picked, items)
    accuracy = f"{summary.accuracy:.1%}" if summary.accuracy is not None else "n/a"
    console.print(
        f"loop: {summary.history_judgments} past HH-RLHF judgments -> reward model "
        f"{summary.reward_model} (held-out accuracy {accuracy}) -> {summary.best_of_n} "
        f"(picked {summary.picked_from}) -> round 1 of {LOOP}: "
        f"{summary.round_items} blind A/B tasks"
    )
    return summary
