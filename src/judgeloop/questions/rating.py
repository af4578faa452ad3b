"""rating: a score on a named dimension, each score level described in words (Likert)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind


class RatingConfig(BaseModel):
    """A scale from `min` to `max`; `levels` describes what each score means."""

    model_config = ConfigDict(extra="forbid")

    dimension: str = ""
    min: int = 1
    max: int = 5
    levels: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_scale(self) -> RatingConfig:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if self.max - self.min > 100:
            raise ValueError("a scale may have at most 101 points")
        outside = [k for k in self.levels if not self.min <= k <= self.max]
        if outside:
            raise ValueError(f"levels {outside} lie outside the scale {self.min}..{self.max}")
        return self


class RatingKind:
    """The rating question kind."""

    name = "rating"
    config_model: type[BaseModel] = RatingConfig

    def validate_answer(
        self,
        config: RatingConfig,
        value: Any,
        ctx: ItemContext,  # noqa: ARG002 - the QuestionKind interface
    ) -> int:
        """Accept an integer score within the scale (a whole-number float or string too)."""
        if isinstance(value, bool) or value is None:
            raise AnswerError("", f"expected a score from {config.min} to {config.max}")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise AnswerError("", f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise AnswerError("", f"{value!r} is not a number")
        if number != int(number):
            raise AnswerError("", f"{value!r} is not a whole score")
        score = int(number)
        if not config.min <= score <= config.max:
            raise AnswerError(
                "", f"score {score} is outside the scale {config.min} to {config.max}"
            )
        return score


register_kind(RatingKind())
