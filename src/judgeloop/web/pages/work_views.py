"""What the task page shows: the item (prompt, turns, candidates) and each question's slots.

Pure functions over stored rows; no database access. ``_item.html`` renders an
``ItemView`` and is shared with the reviewer's page; ``questions/<kind>.html`` render
one ``SlotView`` of a ``QuestionView`` each.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from markupsafe import Markup

from judgeloop.errors import RowError
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.code_run_jobs import candidate_code
from judgeloop.store.models import Candidate, Item
from judgeloop.web.forms import error_label, explanation_name, slot_name
from judgeloop.web.pages.templating import TEMPLATES_DIR
from judgeloop.web.render import render_markdown

KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool"})
SIDE_BY_SIDE_MAX = 2
"""Items with up to this many candidates start side by side (A/B); more start stacked."""
NUMBER_INPUT_POINTS = 12
"""A rating scale with at least this many points gets a number box instead of radios."""
WIDGET_SCRIPTS = {"ranking": "ranking", "spans": "spans", "claims": "claims", "text": "diff"}
"""Question kind -> the script in ``static/widgets/`` its widget needs."""

OWNER_TEXT_CACHE = 512
"""How many rendered owner texts (guidelines, question help) a process keeps."""

_INDEX_WORD = re.compile(r"\b(claim|span) (\d+)\b")


@lru_cache(maxsize=OWNER_TEXT_CACHE)
def owner_markdown(text: str) -> Markup:
    """Render Markdown an owner wrote (guidelines, question help), cached by its text.

    The same few texts appear on every task of a project, so they are rendered once per
    process; model answers and prompts differ per item and are not cached.
    """
    return render_markdown(text)


@dataclass(frozen=True)
class CandidateView:
    """One candidate answer as the worker sees it.

    Attributes:
        key: The stored key (what the form sends), e.g. ``"B"``.
        letter: The letter it is shown under (position on the page), e.g. ``"A"``.
        text: The answer (untrusted Markdown).
        model: The model behind it, or None when the project hides it.
    """

    key: str
    letter: str
    text: str
    model: str | None = None

    @property
    def label(self) -> str:
        """``Answer A``: how the page names this candidate."""
        return f"Answer {self.letter}"

    def code(self) -> str:
        """The code in the answer, as the sandbox runs it: fenced blocks joined, or the text."""
        return candidate_code(self.text).strip("\n")


@dataclass(frozen=True)
class TurnView:
    """One turn of a multi-turn prompt; `role_class` is set only for the known roles."""

    role: str
    content: str
    role_class: str = ""


@dataclass(frozen=True)
class ItemView:
    """The prompt (or conversation) and the candidates, in the order shown."""

    prompt: str
    turns: list[TurnView]
    candidates: list[CandidateView]
    stored_keys: tuple[str, ...] = ()
    """The candidate keys in stored order (what answer validation calls the first one)."""

    @property
    def side_by_side(self) -> bool:
        """Whether the candidates start side by side (two of them) rather than stacked."""
        return 1 < len(self.candidates) <= SIDE_BY_SIDE_MAX

    def candidate(self, key: str) -> CandidateView | None:
        """The candidate stored under `key`, if the item has one."""
        return next((c for c in self.candidates if c.key == key), None)

    def text_of(self, target: str) -> str | None:
        """The text a span or claim may point into: ``prompt`` or a candidate key."""
        if target == "prompt":
            return self.prompt
        cand = self.candidate(target)
        return cand.text if cand else None

    def label_of(self, target: str) -> str:
        """How the page names a target: ``the prompt`` or ``Answer A``."""
        cand = self.candidate(target)
        return cand.label if cand else "the prompt"


def _letter(position: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[position] if position < len(letters) else str(position + 1)


def _turns(messages: Any) -> list[TurnView]:
    if not isinstance(messages, list):
        return []
    turns = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role") or "message")[:40]
        content = message.get("content")
        text = content if isinstance(content, str) else "" if content is None else str(content)
        turns.append(TurnView(role, text, role if role in KNOWN_ROLES else ""))
    return turns


def build_item_view(
    item: Item,
    candidates: Sequence[tuple[Candidate, str | None]],
    *,
    show_models: bool,
    shuffle_seed: int | None = None,
) -> ItemView:
    """Build what the page shows of an item.

    Args:
        item: The item.
        candidates: Its candidates in stored order, each with its model's name.
        show_models: Whether model names may be shown (never when the project hides them).
        shuffle_seed: Shuffle the candidates with this seed (the assignment's id, so a
            reload shows the same order); None keeps the stored order.

    Returns:
        The item view; candidate letters follow the order shown.
    """
    order = list(candidates)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    views = [
        CandidateView(cand.key, _letter(i), cand.text, model if show_models else None)
        for i, (cand, model) in enumerate(order)
    ]
    keys = tuple(cand.key for cand, _ in candidates)
    return ItemView(item.prompt, _turns(item.messages), views, keys)


@dataclass(frozen=True)
class SlotView:
    """One answer to give: a question, or a per-candidate question for one candidate."""

    name: str
    dom_id: str
    legend: str
    candidate: CandidateView | None
    errors: list[str] = field(default_factory=list)
    explanation_name: str = ""
    explanation_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QuestionView:
    """One question of the project, with the slots it is answered in."""

    spec: QuestionSpec
    config: Any
    slots: list[SlotView]
    template: str | None
    levels: list[tuple[int, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The question's key."""
        return self.spec.key

    @property
    def kind(self) -> str:
        """The question's kind."""
        return self.spec.kind

    @property
    def help_html(self) -> Markup:
        """The question's help, rendered (safe) Markdown."""
        return owner_markdown(self.spec.help)

    def source_key(self, item: ItemView) -> str:
        """The candidate a rewrite starts from ('' for other questions, or no candidate)."""
        if self.spec.kind != "text" or self.config.mode != "rewrite":
            return ""
        return rewrite_source(self, item)

    @property
    def number_input(self) -> bool:
        """Whether a rating scale is long enough to be typed rather than picked."""
        if self.spec.kind != "rating":
            return False
        return int(self.config.max) - int(self.config.min) + 1 >= NUMBER_INPUT_POINTS


def dom_id(name: str) -> str:
    """An HTML id made from a form name (``a.q.A`` -> ``a-q-A``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)


@cache
def widget_template(kind: str) -> str | None:
    """The widget template of a question kind, or None when there is none (an extension)."""
    path = f"questions/{kind}.html"
    return path if (TEMPLATES_DIR / path).is_file() else None


def _message(kind: str, reason: str) -> str:
    """A message as the page shows it: a capital first, claims and spans numbered from 1."""
    if kind in ("claims", "spans"):
        reason = _INDEX_WORD.sub(lambda m: f"{m.group(1).title()} {int(m.group(2)) + 1}", reason)
    return reason[:1].upper() + reason[1:]


def _slot_errors(rows: Sequence[RowError], label: str, kind: str) -> tuple[list[str], list[str]]:
    """Split the rows about one answer into (value messages, explanation messages)."""
    values: list[str] = []
    explanations: list[str] = []
    for row in rows:
        if row.field == f"{label}.explanation":
            explanations.append(_message("", row.reason))
        elif row.field == label or row.field.startswith(label + "."):
            values.append(_message(kind, row.reason))
    return values, explanations


def _levels(spec: QuestionSpec, config: Any) -> list[tuple[int, str]]:
    if spec.kind != "rating":
        return []
    described: dict[int, str] = {int(k): str(v) for k, v in config.levels.items()}
    return [(score, described.get(score, "")) for score in range(config.min, config.max + 1)]


def _slot(spec: QuestionSpec, cand: CandidateView | None, rows: Sequence[RowError]) -> SlotView:
    key = cand.key if cand else ""
    name = slot_name(spec.key, key)
    errors, explanation_errors = _slot_errors(rows, error_label(spec.key, key), spec.kind)
    return SlotView(
        name=name,
        dom_id=dom_id(name),
        legend=spec.title + (f" ({cand.label})" if cand else ""),
        candidate=cand,
        errors=errors,
        explanation_name=explanation_name(spec.key, key),
        explanation_errors=explanation_errors,
    )


def build_question_views(
    questions: Sequence[QuestionSpec], item: ItemView, rows: Sequence[RowError] = ()
) -> list[QuestionView]:
    """Build the questions block: each question with its slots and their messages.

    Args:
        questions: The project's questions, in order.
        item: The item as shown (per-candidate questions follow its candidate order).
        rows: Problems from the last post, with ``submit_judgment``'s field paths.

    Returns:
        One view per question.
    """
    views = []
    for spec in questions:
        config = spec.parsed_config()
        cands: list[CandidateView | None] = list(item.candidates) if spec.per_candidate else [None]
        views.append(
            QuestionView(
                spec=spec,
                config=config,
                slots=[_slot(spec, cand, rows) for cand in cands],
                template=widget_template(spec.kind),
                levels=_levels(spec, config),
            )
        )
    return views


@dataclass(frozen=True)
class ProblemView:
    """One line of the problem summary at the top of a rejected form."""

    target: str
    where: str
    message: str


def problem_summary(
    questions: Sequence[QuestionView], rows: Sequence[RowError]
) -> list[ProblemView]:
    """List every problem once, each linking to the place on the page it is about.

    Args:
        questions: The questions as shown.
        rows: Problems from the last post.

    Returns:
        The summary lines, in the order of the page.
    """
    out: list[ProblemView] = []
    for question in questions:
        for slot in question.slots:
            where = slot.legend
            out += [ProblemView(slot.dom_id, where, m) for m in slot.errors]
            target = slot.dom_id + "-why"
            out += [ProblemView(target, where, m) for m in slot.explanation_errors]
    claimed = {f"answers.{q.key}" for q in questions}
    for row in rows:
        if row.field == "explanation":
            out.append(ProblemView("explanation", "Your explanation", _message("", row.reason)))
        elif ".".join(row.field.split(".")[:2]) not in claimed:
            where = row.field or "The form"
            out.append(ProblemView("task-form", where, _message("", row.reason)))
    return out


def widget_scripts(questions: Sequence[QuestionView]) -> list[str]:
    """The widget scripts (``static/widgets/<name>.js``) the page's questions need."""
    names = {WIDGET_SCRIPTS[q.kind] for q in questions if q.kind in WIDGET_SCRIPTS}
    return sorted(names)


def text_sources(questions: Sequence[QuestionView], item: ItemView) -> dict[str, str]:
    """The raw texts widgets point into (spans targets, rewrite sources), by target key."""
    texts: dict[str, str] = {}
    for question in questions:
        targets: list[str] = []
        if question.kind == "spans":
            targets = list(question.config.targets)
        elif question.kind == "text" and question.config.mode == "rewrite":
            targets = [rewrite_source(question, item)]
        for target in targets:
            text = item.text_of(target)
            if text is not None:
                texts[target] = text
    return texts


def rewrite_source(question: QuestionView, item: ItemView) -> str:
    """The candidate key a rewrite question starts from ('' when the item has none)."""
    source = str(question.config.source or "")
    if source:
        return source
    return item.stored_keys[0] if item.stored_keys else ""
