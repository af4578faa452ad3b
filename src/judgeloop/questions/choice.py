"""choice: pick one label, or several, from a fixed list of options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind


class Option(BaseModel):
    """One option of a choice (or one label of a span question).

    Attributes:
        value: What is stored and exported, e.g. ``"refusal"``.
        label: What the worker sees, e.g. ``"Refuses to answer"``.
        description: A longer hint shown beside the label.
    """

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=500)
    description: str = ""

    @field_validator("value")
    @classmethod
    def _no_blank_edges(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError(f"option value {value!r} starts or ends with whitespace")
        return value


def check_unique_options(options: Sequence[Option], what: str = "option") -> None:
    """Raise ValueError when two options share a value.

    Args:
        options: The options to check.
        what: What the options are called in the message ("option", "label").

    Raises:
        ValueError: Naming the repeated values.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    for option in options:
        if option.value in seen:
            repeated.append(option.value)
        seen.add(option.value)
    if repeated:
        raise ValueError(f"{what} values must be unique; repeated: {', '.join(repeated)}")


def allowed_values(options: Sequence[Option]) -> str:
    """Return the option values as a comma-separated list for messages."""
    return ", ".join(o.value for o in options)


class ChoiceConfig(BaseModel):
    """A single or multiple choice among at least two options.

    Attributes:
        options: The options, in the order they are shown.
        multiple: Whether the worker may pick several options.
        min_selected: The fewest options a multiple-choice answer must pick.
        max_selected: The most options a multiple-choice answer may pick (None: all).
    """

    model_config = ConfigDict(extra="forbid")

    options: list[Option] = Field(min_length=2, max_length=500)
    multiple: bool = False
    min_selected: int = Field(1, ge=0)
    max_selected: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check_counts(self) -> ChoiceConfig:
        check_unique_options(self.options)
        if not self.multiple:
            if self.min_selected > 1 or (self.max_selected or 1) != 1:
                raise ValueError("a single choice picks exactly one option; set multiple = true")
            return self
        most = self.max_selected if self.max_selected is not None else len(self.options)
        if most > len(self.options):
            raise ValueError(f"max_selected ({most}) is more than the {len(self.options)} options")
        if self.min_selected > most:
            raise ValueError(f"min_selected ({self.min_selected}) is more than {most}")
        return self


class ChoiceKind:
    """The choice question kind."""

    name = "choice"
    config_model: type[BaseModel] = ChoiceConfig

    def validate_answer(
        self,
        config: ChoiceConfig,
        value: Any,
        ctx: ItemContext,  # noqa: ARG002 - the QuestionKind interface
    ) -> str | list[str]:
        """Check a choice answer.

        Args:
            config: The question's configuration.
            value: An option value (single choice) or a list of them (multiple).
            ctx: The item being judged (unused).

        Returns:
            The option value, or the chosen values in the order of the options.

        Raises:
            AnswerError: Naming the field (``""`` or the list index) and why.
        """
        if not config.multiple:
            if not isinstance(value, str):
                raise AnswerError("", f"choose one of {allowed_values(config.options)}")
            _check_known(config, value, "")
            return value
        if not isinstance(value, list):
            raise AnswerError("", "expected a list of option values")
        seen: dict[str, int] = {}
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise AnswerError(str(i), f"expected an option value, got {item!r}")
            _check_known(config, item, str(i))
            if item in seen:
                raise AnswerError(str(i), f"option {item!r} is chosen twice")
            seen[item] = i
        _check_count(config, len(value))
        return [o.value for o in config.options if o.value in seen]


def _check_known(config: ChoiceConfig, value: str, field: str) -> None:
    if all(o.value != value for o in config.options):
        raise AnswerError(
            field, f"unknown option {value!r} (allowed: {allowed_values(config.options)})"
        )


def _check_count(config: ChoiceConfig, count: int) -> None:
    if count < config.min_selected:
        raise AnswerError("", f"choose at least {config.min_selected} option(s); {count} chosen")
    if config.max_selected is not None and count > config.max_selected:
        raise AnswerError("", f"choose at most {config.max_selected} option(s); {count} chosen")


register_kind(ChoiceKind())
