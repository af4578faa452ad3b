"""Preference pairs for training: from exported datasets, TRL rows or raw HH dialogues.

No torch here. A `PreferencePair` is plain text: the prompt (a question, or a dialogue
rendered ``Human: ... / Assistant: ...``), the chosen and the rejected answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.export.readers import read_rows

HUMAN = "Human:"
ASSISTANT = "Assistant:"
_ROLES = {"user": "Human", "assistant": "Assistant", "system": "System"}


@dataclass(frozen=True)
class PreferencePair:
    """One prompt with a preferred (`chosen`) and a dispreferred (`rejected`) answer."""

    prompt: str
    chosen: str
    rejected: str
    margin: float = 0.0


def render_messages(messages: Sequence[Mapping[str, Any]]) -> str:
    """Render a conversation as HH-style text: a blank line, ``Human: ...``, and so on."""
    parts = []
    for m in messages:
        role = _ROLES.get(str(m.get("role", "user")), str(m.get("role", "user")).title())
        parts.append(f"\n\n{role}: {m.get('content', '')}")
    return "".join(parts)


def split_dialogue(dialogue: str) -> tuple[str, str]:
    """Split an HH dialogue into (prompt, last answer) at its last ``Assistant:`` turn.

    The prompt is the dialogue up to that turn (without the ``Assistant:`` marker).
    A text without the marker is all answer, with an empty prompt.
    """
    at = dialogue.rfind(f"\n\n{ASSISTANT}")
    if at < 0:
        return "", dialogue.strip()
    return dialogue[:at], dialogue[at + len(ASSISTANT) + 2 :].strip()


def last_user_turn(prompt: str) -> str:
    """Return the last human turn of an HH-style dialogue, or the whole prompt otherwise."""
    at = prompt.rfind(HUMAN)
    if at < 0:
        return prompt.strip()
    turn = prompt[at + len(HUMAN) :]
    end = turn.find(f"\n\n{ASSISTANT}")
    return (turn if end < 0 else turn[:end]).strip()


def hh_pair(row: Mapping[str, Any]) -> PreferencePair:
    """Return the pair of an HH-RLHF row ``{"chosen": dialogue, "rejected": dialogue}``."""
    prompt, chosen = split_dialogue(str(row["chosen"]))
    _, rejected = split_dialogue(str(row["rejected"]))
    return PreferencePair(prompt=prompt, chosen=chosen, rejected=rejected)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        answers = [m for m in value if isinstance(m, Mapping) and m.get("role") == "assistant"]
        if len(answers) == len(value):
            return "\n\n".join(str(m.get("content", "")) for m in answers)
        return render_messages(value)
    raise InvalidInput(f"expected text or a list of messages, got {type(value).__name__}")


def pair_from_row(row: Mapping[str, Any]) -> PreferencePair:
    """Return the pair of one preference row: TRL explicit or implicit prompt, plain or chat.

    Raises:
        InvalidInput: The row has no ``chosen``/``rejected`` columns.
    """
    if "chosen" not in row or "rejected" not in row:
        raise InvalidInput("a preference row needs 'chosen' and 'rejected' columns")
    if row.get("prompt") is None:
        if isinstance(row["chosen"], str):
            return hh_pair(row)
        chosen, rejected = list(row["chosen"]), list(row["rejected"])
        row = {"prompt": chosen[:-1], "chosen": chosen[-1:], "rejected": rejected[-1:]}
    margin = row.get("margin")
    return PreferencePair(
        prompt=_text(row["prompt"]),
        chosen=_text(row["chosen"]),
        rejected=_text(row["rejected"]),
        margin=float(margin) if margin is not None else 0.0,
    )


def _split_file(path: Path, split: str) -> Path:
    if path.is_file():
        return path
    if (path / "dataset_dict.json").exists():
        return path / split
    for name in (f"{split}.jsonl", f"{split}.jsonl.gz", f"{split}.parquet"):
        if (path / name).exists():
            return path / name
    if (path / "state.json").exists():
        return path
    raise InvalidInput(f"{path} has no {split} split (expected {split}.jsonl or .parquet)")


def load_preference_pairs(path: Path, split: str = "train") -> list[PreferencePair]:
    """Read the preference pairs of one split of an exported dataset (or a single file).

    Args:
        path: A ``.jsonl``/``.jsonl.gz``/``.parquet`` file, a folder written by
            `export.training_writers.write_training_dataset` (any format), or a
            `datasets` folder.
        split: Which split of a folder to read (``train`` or ``test``).

    Raises:
        InvalidInput: Naming the line, when a row is unreadable or not a preference.
    """
    pairs = []
    for line, row in read_rows(_split_file(path, split)):
        if not isinstance(row, dict):
            raise InvalidInput(f"line {line}: {row.reason}")
        try:
            pairs.append(pair_from_row(row))
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: {exc.message}") from None
    return pairs


def data_hash(pairs: Iterable[PreferencePair]) -> str:
    """Return a sha256 of the pairs' texts and margins, in order (for model manifests)."""
    digest = hashlib.sha256()
    for p in pairs:
        digest.update(json.dumps([p.prompt, p.chosen, p.rejected, p.margin]).encode() + b"\n")
    return digest.hexdigest()
