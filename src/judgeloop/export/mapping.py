"""Column mappings: how one imported row (a dict) becomes an item draft.

A `ColumnMapping` names the columns that hold the prompt (or a conversation), the
candidate answers and their models, an external id, metadata and gold answers.
`row_to_item_draft` applies it to one row and returns an `ItemDraft` or the list of
what is wrong with the row; `content_hash` is the item's identity within a project.

The default mapping reads the rows that judgeloop's own items export writes::

    {"external_id": "q-17", "prompt": "...", "messages": null,
     "candidates": [{"key": "A", "text": "...", "model": "gpt4"}, ...],
     "metadata": {"domain": "math"}, "gold": null}

so exported items import again unchanged. Columns named only by default are optional;
columns named explicitly must be present in every row.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgeloop.errors import InvalidInput, RowError
from judgeloop.export.rows import (
    CandidateDraft,
    ItemDraft,
    content_hash,
    gold_answer_dicts,
    jsonable,
)
from judgeloop.questions.base import NormalizedAnswer, QuestionSpec, validate_answers

__all__ = [
    "CandidateDraft",
    "ColumnMapping",
    "ItemDraft",
    "content_hash",
    "missing_columns",
    "row_to_item_draft",
]

DEFAULT_CANDIDATE_KEYS = tuple(string.ascii_uppercase)
_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,20}$")
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "bot": "assistant"}
MAX_EXTERNAL_ID = 200
MAX_MODEL_NAME = 200


class ColumnMapping(BaseModel):
    """Which columns of an imported row hold what.

    Models come either as literal model-version names (`models`, one per answer
    column, e.g. ``["gpt4", "llama-2-7b"]``) or from columns holding the name
    (`model_columns`, e.g. ``["generator_a", "generator_b"]``); never both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str | None = Field("prompt", description="Column with the prompt text.")
    messages: str | None = Field(
        "messages", description="Column with a conversation: a list of {role, content}."
    )
    answers: list[str] = Field(
        default_factory=list, description="Columns with one answer each, in candidate order."
    )
    answers_list: str | None = Field(
        "candidates",
        description="Column with a list of answers: strings or {text, model, key} objects. "
        "Ignored when `answers` is given.",
    )
    models: list[str] = Field(
        default_factory=list, description="Literal model-version names, one per answer."
    )
    model_columns: list[str] = Field(
        default_factory=list, description="Columns holding each answer's model name."
    )
    candidate_keys: list[str] = Field(
        default_factory=list, description="Keys of the candidates in order (default A, B, C...)."
    )
    id: str | None = Field("external_id", description="Column with your id of the row.")
    metadata: list[str] = Field(
        default_factory=list, description="Columns copied into the item's metadata by name."
    )
    metadata_column: str | None = Field(
        "metadata", description="Column holding a metadata object (merged first)."
    )
    gold: str | None = Field(
        "gold",
        description="Column with gold answers: a list of {question, candidate, value, "
        "explanation} or an object {question: value} ({question: {candidate: value}}).",
    )

    @model_validator(mode="after")
    def _check(self) -> ColumnMapping:
        if not self.prompt and not self.messages:
            raise ValueError("map a prompt column or a messages column")
        if self.models and self.model_columns:
            raise ValueError("give models (names) or model_columns (columns), not both")
        if self.answers and "answers_list" in self.model_fields_set and self.answers_list:
            raise ValueError("give answers (columns) or answers_list (one column), not both")
        for name in ("models", "model_columns"):
            given = getattr(self, name)
            if self.answers and given and len(given) != len(self.answers):
                raise ValueError(f"{name} needs one entry per answer column")
        bad = [k for k in self.candidate_keys if not _KEY_RE.match(k)]
        if bad:
            raise ValueError(f"candidate keys must be 1-20 letters, digits or '_': {bad}")
        if len(set(self.candidate_keys)) != len(self.candidate_keys):
            raise ValueError("candidate keys must be unique")
        if self.answers and self.candidate_keys and len(self.candidate_keys) < len(self.answers):
            raise ValueError("candidate_keys needs one key per answer column")
        return self

    @property
    def list_column(self) -> str | None:
        """The column with a list of answers, unless answer columns are given."""
        return None if self.answers else self.answers_list

    def keys(self) -> tuple[str, ...]:
        """Candidate keys in order."""
        return tuple(self.candidate_keys) or DEFAULT_CANDIDATE_KEYS

    @cached_property
    def _required(self) -> tuple[str, ...]:
        return tuple(self.required_columns())

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """Copy the mapping (with `update` applied), dropping cached derived values."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("_required", None)
        return copy

    def required_columns(self) -> list[str]:
        """Columns every row must have: the ones named explicitly (defaults are optional).

        `metadata` columns are optional in a row (a file's header must still have them).
        """
        explicit = self.model_fields_set
        cols = [*self.answers, *self.model_columns]
        for name in ("answers_list", "id", "metadata_column", "gold"):
            value = getattr(self, name)
            if name in explicit and value and not (name == "answers_list" and self.answers):
                cols.append(value)
        prompt_set = "prompt" in explicit and self.prompt
        messages_set = "messages" in explicit and self.messages
        if prompt_set and not messages_set and self.prompt:
            cols.append(self.prompt)
        if messages_set and not prompt_set and self.messages:
            cols.append(self.messages)
        return list(dict.fromkeys(cols))


def missing_columns(columns: Sequence[str], mapping: ColumnMapping) -> list[str]:
    """Return the mapped columns a file with these `columns` lacks (for a header check)."""
    wanted = [*mapping.required_columns(), *mapping.metadata]
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    prompt_cols = [c for c in (mapping.prompt, mapping.messages) if c]
    if not any(c in columns for c in prompt_cols) and not any(c in missing for c in prompt_cols):
        missing.append(" or ".join(prompt_cols))
    return missing


def row_to_item_draft(
    row: Mapping[str, Any],
    mapping: ColumnMapping,
    *,
    questions: Sequence[QuestionSpec] = (),
    line: int = 0,
) -> ItemDraft | list[RowError]:
    """Turn one row into an item draft, or return every problem found in it.

    Args:
        row: the row, as read from the file.
        mapping: which columns hold what.
        questions: the project's questions, against which gold answers are checked.
        line: the row's line number, copied into each RowError.
    """
    missing = [c for c in mapping._required if c not in row]
    if missing:
        return [RowError(line, c, "missing column") for c in missing]
    errors: list[RowError] = []
    prompt, messages = _prompt_and_messages(row, mapping, line, errors)
    candidates = _candidates(row, mapping, line, errors)
    external_id = _external_id(row, mapping.id, line, errors)
    metadata = _metadata(row, mapping, line, errors)
    if errors:
        return errors
    draft = ItemDraft(prompt, messages, candidates, external_id, metadata)
    nul = _nul_errors(draft, line)
    if nul:
        return nul
    raw_gold = _cell(row, mapping.gold)
    if raw_gold is not None:
        gold = _gold(raw_gold, questions, draft, line, mapping.gold or "gold")
        if gold and isinstance(gold[0], RowError):
            return [g for g in gold if isinstance(g, RowError)]
        draft.gold = [g for g in gold if isinstance(g, NormalizedAnswer)]
    return draft


def _nul_errors(draft: ItemDraft, line: int) -> list[RowError]:
    """NUL characters cannot be stored in PostgreSQL text: refuse them everywhere."""
    texts = [("prompt", draft.prompt)]
    texts += [(f"answers.{c.key}", c.text) for c in draft.candidates]
    texts += [(f"messages.{i}", m["content"]) for i, m in enumerate(draft.messages or [])]
    reason = "contains a NUL character (\\x00); remove it"
    return [RowError(line, where, reason) for where, text in texts if "\x00" in text]


def _cell(row: Mapping[str, Any], column: str | None) -> Any:
    """The value of `column`, with absent, null and blank text all read as None."""
    if not column:
        return None
    value = row.get(column)
    if isinstance(value, str) and (not value or value.isspace()):
        return None
    return value


def _json_cell(value: Any, column: str, line: int, errors: list[RowError]) -> Any:
    """Decode a JSON text (CSV cells, JSON columns of Parquet files); other values pass."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        errors.append(RowError(line, column, f"not valid JSON: {exc.msg}"))
        return None


def _prompt_and_messages(
    row: Mapping[str, Any], mapping: ColumnMapping, line: int, errors: list[RowError]
) -> tuple[str, list[dict[str, str]] | None]:
    messages = None
    raw_messages = _cell(row, mapping.messages)
    if raw_messages is not None and mapping.messages:
        messages = _messages(
            _json_cell(raw_messages, mapping.messages, line, errors), mapping.messages, line, errors
        )
    prompt = _cell(row, mapping.prompt)
    if prompt is not None and not isinstance(prompt, str):
        errors.append(RowError(line, mapping.prompt or "", "expected text"))
        return "", messages
    if prompt is None and messages:
        users = [m["content"] for m in messages if m["role"] == "user"]
        prompt = users[-1] if users else messages[-1]["content"]
    if prompt is None and raw_messages is None:
        where = [c for c in (mapping.prompt, mapping.messages) if c]
        present = [c for c in where if c in row]
        reason = "empty prompt" if present else "missing column"
        errors.append(RowError(line, " or ".join(present or where), reason))
    return prompt or "", messages


def _messages(
    value: Any, column: str, line: int, errors: list[RowError]
) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        errors.append(RowError(line, column, "expected a non-empty list of {role, content}"))
        return None
    out = []
    for i, msg in enumerate(value):
        if not isinstance(msg, Mapping):
            errors.append(RowError(line, f"{column}.{i}", "expected an object {role, content}"))
            continue
        role = msg.get("role", msg.get("from"))
        content = msg.get("content", msg.get("value"))
        role = _SHAREGPT_ROLES.get(role, role) if isinstance(role, str) else role
        if not isinstance(role, str) or not role.strip():
            errors.append(RowError(line, f"{column}.{i}.role", "expected a role name"))
        elif not isinstance(content, str):
            errors.append(RowError(line, f"{column}.{i}.content", "expected text"))
        else:
            out.append({"role": role, "content": content})
    return out


def _model_for(
    row: Mapping[str, Any], mapping: ColumnMapping, index: int, line: int, errors: list[RowError]
) -> str | None:
    if index < len(mapping.models):
        return mapping.models[index] or None
    if index < len(mapping.model_columns):
        return _model_name(
            _cell(row, mapping.model_columns[index]), mapping.model_columns[index], line, errors
        )
    return None


def _model_name(value: Any, where: str, line: int, errors: list[RowError]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_MODEL_NAME:
        errors.append(
            RowError(line, where, f"expected a model name of at most {MAX_MODEL_NAME} characters")
        )
        return None
    return value.strip() or None


def _candidates(
    row: Mapping[str, Any], mapping: ColumnMapping, line: int, errors: list[RowError]
) -> list[CandidateDraft]:
    out: list[CandidateDraft] = []
    keys = mapping.keys()
    for i, column in enumerate(mapping.answers):
        text = _cell(row, column)
        if text is None:
            continue
        if not isinstance(text, str):
            errors.append(RowError(line, column, "expected text"))
            continue
        out.append(CandidateDraft(keys[i], text, _model_for(row, mapping, i, line, errors)))
    if mapping.answers and not out and not errors:
        errors.append(RowError(line, ", ".join(mapping.answers), "no answers in this row"))
    list_column = mapping.list_column
    raw = _cell(row, list_column)
    if list_column and raw is not None:
        value = _json_cell(raw, list_column, line, errors)
        out.extend(_answer_list(row, value, mapping, line, errors))
    if len({c.key for c in out}) != len(out):
        errors.append(RowError(line, list_column or "answers", "two answers have the same key"))
    return out


def _answer_list(
    row: Mapping[str, Any], value: Any, mapping: ColumnMapping, line: int, errors: list[RowError]
) -> list[CandidateDraft]:
    column = mapping.list_column or ""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(RowError(line, column, "expected a list of answers"))
        return []
    keys = mapping.keys()
    if len(value) > len(keys):
        errors.append(RowError(line, column, f"more than {len(keys)} answers; set candidate_keys"))
        return []
    out = []
    for i, entry in enumerate(value):
        where = f"{column}.{i}"
        if isinstance(entry, str):
            out.append(CandidateDraft(keys[i], entry, _model_for(row, mapping, i, line, errors)))
            continue
        if not isinstance(entry, Mapping) or not isinstance(entry.get("text"), str):
            errors.append(RowError(line, where, "expected text or an object with 'text'"))
            continue
        key = entry.get("key") or keys[i]
        if not isinstance(key, str) or not _KEY_RE.match(key):
            errors.append(RowError(line, f"{where}.key", "expected 1-20 letters, digits or '_'"))
            continue
        model = _model_name(entry.get("model"), f"{where}.model", line, errors)
        out.append(
            CandidateDraft(key, entry["text"], model or _model_for(row, mapping, i, line, errors))
        )
    return out


def _external_id(
    row: Mapping[str, Any], column: str | None, line: int, errors: list[RowError]
) -> str | None:
    value = _cell(row, column)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(RowError(line, column or "", "expected text or a whole number"))
        return None
    text = str(value).strip()
    if len(text) > MAX_EXTERNAL_ID:
        errors.append(RowError(line, column or "", f"longer than {MAX_EXTERNAL_ID} characters"))
        return None
    return text


def _metadata(
    row: Mapping[str, Any], mapping: ColumnMapping, line: int, errors: list[RowError]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    raw = _cell(row, mapping.metadata_column)
    if raw is not None and mapping.metadata_column:
        value = _json_cell(raw, mapping.metadata_column, line, errors)
        if isinstance(value, Mapping):
            out.update({str(k): jsonable(v) for k, v in value.items()})
        elif value is not None:
            errors.append(RowError(line, mapping.metadata_column, "expected an object"))
    for column in mapping.metadata:
        value = _cell(row, column)
        if value is not None:
            out[column] = jsonable(value)
    return out


def _gold(
    raw: Any, questions: Sequence[QuestionSpec], draft: ItemDraft, line: int, column: str
) -> list[NormalizedAnswer] | list[RowError]:
    errors: list[RowError] = []
    value = _json_cell(raw, column, line, errors)
    if errors:
        return errors
    if value in ([], {}):
        return []
    try:
        answers = gold_answer_dicts(value, questions)
    except ValueError as exc:
        return [RowError(line, column, str(exc))]
    optional = [q.model_copy(update={"required": False}) for q in questions]
    try:
        return validate_answers(optional, answers, draft.context())
    except InvalidInput as exc:
        return [RowError(line, f"{column}.{r.field}", r.reason) for r in exc.rows]
