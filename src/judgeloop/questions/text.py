"""text: free text written by the worker: an explanation, a rewrite, an ideal answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind

TextMode = Literal["explanation", "rewrite", "ideal_answer", "prompt", "translation", "free"]
MAX_TEXT = 1_000_000


class TextConfig(BaseModel):
    """What the text is for and how long it may be.

    Attributes:
        mode: What the worker writes; ``rewrite`` starts from a candidate's text.
        min_length: The fewest characters (after stripping surrounding whitespace).
        max_length: The most characters.
        source: The candidate key a rewrite starts from; ``""`` means the first one.
    """

    model_config = ConfigDict(extra="forbid")

    mode: TextMode = "free"
    min_length: int = Field(1, ge=0)
    max_length: int = Field(20_000, ge=1, le=MAX_TEXT)
    source: str = ""

    @model_validator(mode="after")
    def _check_lengths(self) -> TextConfig:
        if self.min_length > self.max_length:
            raise ValueError(
                f"min_length ({self.min_length}) is more than max_length ({self.max_length})"
            )
        if self.source and self.mode != "rewrite":
            raise ValueError("source applies only to mode 'rewrite'")
        return self


class TextKind:
    """The text question kind."""

    name = "text"
    config_model: type[BaseModel] = TextConfig

    def validate_answer(self, config: TextConfig, value: Any, ctx: ItemContext) -> str:
        r"""Check a written text.

        Args:
            config: The question's configuration.
            value: The text. Surrounding whitespace is stripped and line endings become
                ``\n`` before the length is counted.
            ctx: The item being judged; a rewrite is compared with its source text.

        Returns:
            The stripped text.

        Raises:
            AnswerError: With field ``""``, saying why (length, NUL character, or a
                rewrite identical to its source).
        """
        if not isinstance(value, str):
            raise AnswerError("", "expected text")
        if "\x00" in value:
            raise AnswerError("", "the text contains a NUL character (\\x00); remove it")
        text = _clean(value)
        if len(text) < config.min_length:
            if not text:
                raise AnswerError("", "the text is empty")
            raise AnswerError(
                "",
                f"the text is {len(text)} characters long; at least {config.min_length} are needed",
            )
        if len(text) > config.max_length:
            raise AnswerError(
                "",
                f"the text is {len(text)} characters long; at most {config.max_length} are allowed",
            )
        if config.mode == "rewrite":
            _check_changed(config, text, ctx)
        return text


def rewrite_source(config: TextConfig, ctx: ItemContext) -> str:
    """Return the candidate key a rewrite starts from ("" when the item has none)."""
    if config.source:
        return config.source
    return ctx.candidate_keys[0] if ctx.candidate_keys else ""


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _canonical(text: str) -> str:
    return "\n".join(line.rstrip() for line in _clean(text).split("\n"))


def _check_changed(config: TextConfig, text: str, ctx: ItemContext) -> None:
    source = rewrite_source(config, ctx)
    original = ctx.texts.get(source) if source else None
    if original is not None and _canonical(original) == _canonical(text):
        raise AnswerError(
            "",
            f"the rewrite is identical to candidate {source}'s answer; "
            "correct what is wrong with it",
        )


register_kind(TextKind())
