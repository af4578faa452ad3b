"""ranking: order all candidate answers of an item from best to worst."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from judgeloop.questions.base import AnswerError, ItemContext, register_kind


class RankingConfig(BaseModel):
    """How a ranking is given.

    Attributes:
        allow_ties: Whether several candidates may share a place. When set, each place
            in the answer is a candidate key or a list of tied candidate keys.
    """

    model_config = ConfigDict(extra="forbid")

    allow_ties: bool = False


class RankingKind:
    """The ranking question kind."""

    name = "ranking"
    config_model: type[BaseModel] = RankingConfig

    def validate_answer(
        self, config: RankingConfig, value: Any, ctx: ItemContext
    ) -> list[str] | list[list[str]]:
        """Check that a ranking is a permutation of the item's candidates, best first.

        Args:
            config: The question's configuration.
            value: A list of candidate keys, best first; with ``allow_ties`` each place
                may also be a list of tied keys, e.g. ``["B", ["A", "C"]]``.
            ctx: The item being judged; the ranking must hold each of its candidate
                keys exactly once.

        Returns:
            The list of keys; with ``allow_ties``, a list of places, each a list of keys
            in the item's candidate order.

        Raises:
            AnswerError: Naming the field (``""``, the place ``"2"`` or ``"2.1"`` inside a
                tie) and why.
        """
        keys = ctx.candidate_keys
        if len(keys) < 2:
            raise AnswerError(
                "", f"a ranking needs at least 2 candidates; this item has {len(keys)}"
            )
        if not isinstance(value, list):
            raise AnswerError(
                "", f"expected a list of candidate keys, best first ({', '.join(keys)})"
            )
        places = [_place(config, item, str(i)) for i, item in enumerate(value)]
        positions: dict[str, str] = {}
        for place in places:
            for key, field in place:
                _check_key(key, field, keys, positions)
                positions[key] = field
        missing = [k for k in keys if k not in positions]
        if missing:
            raise AnswerError(
                "", f"the ranking leaves out {', '.join(missing)}; rank every candidate"
            )
        if not config.allow_ties:
            return [place[0][0] for place in places]
        order = {k: n for n, k in enumerate(keys)}
        return [sorted((key for key, _ in place), key=order.__getitem__) for place in places]


def _place(config: RankingConfig, item: Any, field: str) -> list[tuple[str, str]]:
    """Return the (key, field) pairs at one place of the ranking."""
    if isinstance(item, str):
        return [(item, field)]
    if not config.allow_ties:
        raise AnswerError(field, f"expected a candidate key, got {item!r} (ties are not allowed)")
    if not isinstance(item, list) or not item:
        raise AnswerError(field, "expected a candidate key or a non-empty list of tied keys")
    pairs: list[tuple[str, str]] = []
    for j, key in enumerate(item):
        if not isinstance(key, str):
            raise AnswerError(f"{field}.{j}", f"expected a candidate key, got {key!r}")
        pairs.append((key, f"{field}.{j}"))
    return pairs


def _check_key(key: str, field: str, keys: tuple[str, ...], positions: dict[str, str]) -> None:
    if key not in keys:
        raise AnswerError(field, f"no candidate {key!r} in this item (it has {', '.join(keys)})")
    if key in positions:
        raise AnswerError(
            field, f"candidate {key!r} is ranked twice (first at index {positions[key]})"
        )


register_kind(RankingKind())
