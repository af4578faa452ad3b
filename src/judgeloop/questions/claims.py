"""claims: split an answer into claims and give each a verdict, with a source."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind
from judgeloop.questions.spans import check_range, int_offset

CLAIM_FIELDS = ("claim", "verdict", "source", "note", "start", "end")
MAX_CLAIM = 2000
MAX_NOTE = 5000
MAX_URL = 2000
# Controls, spaces and the characters that could break out of an HTML attribute or that no
# browser-typed URL needs unescaped.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\"<>\\`]")


class ClaimsConfig(BaseModel):
    """Which verdicts a claim may get and which of them need a source.

    Attributes:
        verdicts: The verdicts a claim may get.
        require_source_for: Verdicts that need a source URL.
        target: The text the claims come from (``start``/``end`` point into it).
        max_claims: The most claims one answer may list.
    """

    model_config = ConfigDict(extra="forbid")

    verdicts: list[str] = Field(
        default_factory=lambda: ["supported", "refuted", "not_enough_info"], min_length=1
    )
    require_source_for: list[str] = Field(default_factory=lambda: ["supported", "refuted"])
    target: str = Field("A", min_length=1)
    max_claims: int = Field(100, ge=1, le=10_000)

    @field_validator("verdicts")
    @classmethod
    def _check_verdicts(cls, verdicts: list[str]) -> list[str]:
        if any(not v.strip() for v in verdicts):
            raise ValueError("a verdict may not be empty")
        if len(set(verdicts)) != len(verdicts):
            raise ValueError("verdicts must be unique")
        return verdicts

    @model_validator(mode="after")
    def _check_sources(self) -> ClaimsConfig:
        unknown = [v for v in self.require_source_for if v not in self.verdicts]
        if unknown:
            raise ValueError(f"require_source_for names unknown verdicts: {', '.join(unknown)}")
        return self


def check_url(url: str) -> str | None:
    """Tell why `url` is not a safe http(s) link, or return None when it is.

    Only absolute ``http://`` and ``https://`` URLs with a host are accepted, so that
    a source rendered as a link later can never be ``javascript:``, ``data:`` or
    anything else a browser would run.
    """
    if len(url) > MAX_URL:
        return f"the URL is {len(url)} characters long; at most {MAX_URL} are allowed"
    bad = _BAD_URL_CHARS.search(url)
    if bad:
        return f"the URL contains {bad.group()!r}; percent-encode it or remove it"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http:// and https:// links are accepted as sources"
    if not host:
        return "the URL has no host"
    return None


class ClaimsKind:
    """The claims question kind."""

    name = "claims"
    config_model: type[BaseModel] = ClaimsConfig

    def validate_answer(
        self, config: ClaimsConfig, value: Any, ctx: ItemContext
    ) -> list[dict[str, Any]]:
        """Check a list of claims with verdicts.

        Args:
            config: The question's configuration.
            value: A list of ``{"claim", "verdict", "source"?, "note"?, "start"?,
                "end"?}``; ``start``/``end`` locate the claim in ``ctx.texts[target]``.
            ctx: The item being judged.

        Returns:
            The claims in the given order, each with all six fields (stripped text,
            ``""`` for no source or note, None for no offsets).

        Raises:
            AnswerError: Naming the field, e.g. ``"0.source"``, and why.
        """
        if not isinstance(value, list):
            raise AnswerError("", "expected a list of claims")
        if not value:
            raise AnswerError("", "list at least one claim")
        if len(value) > config.max_claims:
            raise AnswerError("", f"at most {config.max_claims} claims; got {len(value)}")
        return [_check_claim(config, item, i, ctx) for i, item in enumerate(value)]


def _check_claim(config: ClaimsConfig, item: Any, i: int, ctx: ItemContext) -> dict[str, Any]:
    where = f"claim {i}"
    if not isinstance(item, Mapping):
        raise AnswerError(str(i), f"{where}: expected {{claim, verdict, source}}")
    extra = sorted(str(k) for k in item if k not in CLAIM_FIELDS)
    if extra:
        raise AnswerError(f"{i}.{extra[0]}", f"{where}: unknown field {extra[0]!r}")
    claim = _text(item.get("claim"), f"{i}.claim", where, MAX_CLAIM)
    if not claim:
        raise AnswerError(f"{i}.claim", f"{where}: the claim is empty")
    verdict = item.get("verdict")
    if not isinstance(verdict, str) or verdict not in config.verdicts:
        raise AnswerError(
            f"{i}.verdict",
            f"{where}: unknown verdict {verdict!r} (allowed: {', '.join(config.verdicts)})",
        )
    source = _text(item.get("source"), f"{i}.source", where, MAX_URL)
    if source:
        reason = check_url(source)
        if reason:
            raise AnswerError(f"{i}.source", f"{where}: {reason}")
    elif verdict in config.require_source_for:
        raise AnswerError(f"{i}.source", f"{where}: a source URL is required for {verdict!r}")
    note = _text(item.get("note"), f"{i}.note", where, MAX_NOTE)
    start, end = _offsets(config, item, i, ctx)
    return {
        "claim": claim,
        "verdict": verdict,
        "source": source,
        "note": note,
        "start": start,
        "end": end,
    }


def _text(value: Any, field: str, where: str, most: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AnswerError(field, f"{where}: expected text, got {value!r}")
    if "\x00" in value:
        raise AnswerError(field, f"{where}: contains a NUL character (\\x00)")
    text = value.strip()
    if len(text) > most:
        raise AnswerError(
            field, f"{where}: {len(text)} characters long; at most {most} are allowed"
        )
    return text


def _offsets(
    config: ClaimsConfig, item: Mapping[str, Any], i: int, ctx: ItemContext
) -> tuple[int | None, int | None]:
    raw_start, raw_end = item.get("start"), item.get("end")
    if raw_start is None and raw_end is None:
        return None, None
    where = f"claim {i}"
    if raw_start is None or raw_end is None:
        missing = "start" if raw_start is None else "end"
        raise AnswerError(f"{i}.{missing}", f"{where}: give both start and end, or neither")
    start = int_offset(raw_start, f"{i}.start", where)
    end = int_offset(raw_end, f"{i}.end", where)
    text = ctx.texts.get(config.target)
    if text is None:
        raise AnswerError(
            f"{i}.start", f"{where}: this item has no text {config.target!r} to point into"
        )
    check_range(start, end, text, str(i), where)
    return start, end


register_kind(ClaimsKind())
