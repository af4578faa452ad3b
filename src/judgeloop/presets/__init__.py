"""Task templates (presets): question compositions, rubrics and guidelines, kept as data.

Each template is one TOML file in this folder (``ab_comparison.toml``, ...), named after
the preset. `list_presets` and `get_preset` load them once and hand out copies, so a
caller may change what it gets without touching the cache.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judgeloop.errors import InvalidInput, NotFound, RowError
from judgeloop.questions.base import (
    KEY_PATTERN,
    QuestionSpec,
    RubricDimension,
    check_questions,
    pydantic_errors,
)

PRESET_DIR = Path(__file__).parent
TASK_TYPES = ("rating", "comparison", "ranking", "labeling", "writing", "red_teaming")
"""What a preset's main output is: rubric scores, preferences, an order, labels, texts
written by workers, or adversarial prompts."""
SETTINGS = {
    "require_explanation": "Every submission must carry a written explanation.",
    "shuffle_candidates": "Show the candidate answers in a random order on each task.",
    "content_warning": "Warn workers that the task may show disturbing content.",
}
"""The settings a preset may set, and what each means."""


class Preset(BaseModel):
    """A task template: the questions a task asks, its rubric and its guidelines.

    Attributes:
        name: Stable identifier, the TOML file's name, e.g. ``"ab_comparison"``.
        title: Human name, e.g. ``"A/B comparison"``.
        task_type: What the main output is; one of `TASK_TYPES`.
        description: One or two sentences on what the template is for.
        min_candidates: The fewest candidate answers an item needs.
        max_candidates: The most candidate answers an item may have (None: no limit).
        questions: `QuestionSpec` dicts, in the order they are asked.
        rubric: `RubricDimension` dicts that rating questions refer to.
        guidelines: Markdown instructions for workers, with at least one worked example.
        settings: Project settings the template starts with; keys from `SETTINGS`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=KEY_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    task_type: str
    description: str = Field(min_length=1)
    min_candidates: int = Field(ge=0)
    max_candidates: int | None = Field(None, ge=1)
    questions: list[dict[str, Any]] = Field(min_length=1)
    rubric: list[dict[str, Any]] = Field(default_factory=list)
    guidelines: str = Field(min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Preset:
        if self.task_type not in TASK_TYPES:
            raise ValueError(
                f"unknown task_type {self.task_type!r} (known: {', '.join(TASK_TYPES)})"
            )
        unknown = sorted(set(self.settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown settings {unknown} (known: {', '.join(SETTINGS)})")
        if self.max_candidates is not None and self.max_candidates < self.min_candidates:
            raise ValueError(
                f"max_candidates ({self.max_candidates}) is less than "
                f"min_candidates ({self.min_candidates})"
            )
        try:
            check_questions(self.questions, self.rubric)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return self

    def checked(self) -> tuple[list[QuestionSpec], list[RubricDimension]]:
        """Return the questions and rubric as typed models, rating levels filled in.

        Returns:
            The `QuestionSpec`s and `RubricDimension`s, as `check_questions` gives them.
        """
        return check_questions(self.questions, self.rubric)


def load_preset_file(path: Path) -> Preset:
    """Read one preset from a TOML file.

    Args:
        path: The TOML file.

    Returns:
        The preset.

    Raises:
        InvalidInput: When the file is not valid TOML or not a valid preset; each row
            names the wrong field.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path.name}: not valid TOML", [RowError(0, "", str(exc))]) from None
    if data.get("name") != path.stem:
        raise InvalidInput(
            f"{path.name}: invalid preset",
            [RowError(0, "name", f"must be {path.stem!r}, the file's name")],
        )
    try:
        return Preset.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{path.name}: invalid preset", pydantic_errors(exc)) from None


@functools.cache
def _presets() -> dict[str, Preset]:
    return {p.stem: load_preset_file(p) for p in sorted(PRESET_DIR.glob("*.toml"))}


def list_presets() -> list[Preset]:
    """Return every built-in preset, sorted by name.

    Returns:
        Copies of the presets; changing them does not change later results.
    """
    return [p.model_copy(deep=True) for p in _presets().values()]


def get_preset(name: str) -> Preset:
    """Return the built-in preset called `name`.

    Args:
        name: The preset's name, e.g. ``"ab_comparison"``.

    Returns:
        A copy of the preset.

    Raises:
        NotFound: When there is no such preset; the message lists the known names.
    """
    presets = _presets()
    if name not in presets:
        raise NotFound(f"no preset {name!r} (known: {', '.join(presets)})")
    return presets[name].model_copy(deep=True)


def preset_names() -> list[str]:
    """Return the names of all built-in presets, sorted."""
    return list(_presets())
