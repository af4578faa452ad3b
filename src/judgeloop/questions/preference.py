"""preference: which candidate answer is better (A/B), by how much, or a tie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind

TIE = "tie"
DEFAULT_STRENGTHS = {1: "slightly better", 2: "better", 3: "much better"}


class PreferenceConfig(BaseModel):
    """A pairwise (or N-way) preference.

    Attributes:
        allow_tie: Whether the worker may answer "tie".
        strength_levels: Strength -> what it means; empty means no strength is asked.
    """

    model_config = ConfigDict(extra="forbid")

    allow_tie: bool = True
    strength_levels: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_STRENGTHS))

    @field_validator("strength_levels")
    @classmethod
    def _check_levels(cls, levels: dict[int, str]) -> dict[int, str]:
        bad = [k for k in levels if k < 1]
        if bad:
            raise ValueError(f"strength levels must be 1 or more; got {bad}")
        blank = [k for k, text in levels.items() if not text.strip()]
        if blank:
            raise ValueError(f"strength levels {blank} have no description")
        return dict(sorted(levels.items()))


class PreferenceKind:
    """The preference question kind."""

    name = "preference"
    config_model: type[BaseModel] = PreferenceConfig

    def validate_answer(
        self, config: PreferenceConfig, value: Any, ctx: ItemContext
    ) -> dict[str, Any]:
        """Check a preference answer.

        Args:
            config: The question's configuration.
            value: ``{"winner": "A" | "B" | ... | "tie", "strength": int | None}``, or a
                bare winner string when the question asks no strength.
            ctx: The item being judged; its candidate keys are the possible winners.

        Returns:
            ``{"winner": ..., "strength": ...}``.

        Raises:
            AnswerError: Naming the field (``winner``, ``strength`` or ``""``) and why.
        """
        keys = ctx.candidate_keys
        if len(keys) < 2:
            raise AnswerError(
                "", f"a preference needs at least 2 candidates; this item has {len(keys)}"
            )
        if isinstance(value, str):
            if config.strength_levels:
                raise AnswerError(
                    "",
                    'expected {"winner": ..., "strength": ...}; a bare winner is accepted '
                    "only when no strength is asked",
                )
            value = {"winner": value}
        if not isinstance(value, Mapping):
            raise AnswerError("", 'expected {"winner": ..., "strength": ...}')
        extra = sorted(str(k) for k in value if k not in ("winner", "strength"))
        if extra:
            raise AnswerError(extra[0], "unknown field (expected winner and strength)")
        winner = _check_winner(config, value.get("winner"), keys)
        strength = _check_strength(config, winner, value.get("strength"))
        return {"winner": winner, "strength": strength}


def _check_winner(config: PreferenceConfig, winner: Any, keys: tuple[str, ...]) -> str:
    choices = ", ".join(keys) + (f" or {TIE!r}" if config.allow_tie else "")
    if not isinstance(winner, str) or not winner:
        raise AnswerError("winner", f"name the better candidate: {choices}")
    if winner == TIE and TIE not in keys:
        if not config.allow_tie:
            raise AnswerError("winner", f"a tie is not allowed here; choose one of {choices}")
        return winner
    if winner not in keys:
        raise AnswerError(
            "winner", f"no candidate {winner!r} in this item (it has {', '.join(keys)})"
        )
    return winner


def _check_strength(config: PreferenceConfig, winner: str, strength: Any) -> int | None:
    levels = config.strength_levels
    if strength is None or strength == "":
        if winner != TIE and levels:
            raise AnswerError("strength", f"choose how much better: {_describe(levels)}")
        return None
    if winner == TIE:
        raise AnswerError("strength", "a tie has no strength; leave it empty")
    if not levels:
        raise AnswerError("strength", "this question asks no strength; leave it empty")
    number = _as_int(strength)
    if number is None or number not in levels:
        raise AnswerError("strength", f"{strength!r} is not a strength level ({_describe(levels)})")
    return number


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _describe(levels: Mapping[int, str]) -> str:
    return ", ".join(f"{k} ({text})" for k, text in levels.items())


register_kind(PreferenceKind())
