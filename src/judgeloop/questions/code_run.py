"""code_run: the worker's verdict on a candidate's code, backed by a sandboxed test run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind


class CodeRunConfig(BaseModel):
    """How the candidate code is run and which verdicts the worker may give.

    Attributes:
        language: The language of the candidate code, e.g. ``"python"``.
        tests: Test code the sandbox runs against the candidate code.
        entry_point: The function or command the tests call.
        timeout_s: Seconds one run may take.
        verdicts: The verdicts the worker may give.
    """

    model_config = ConfigDict(extra="forbid")

    language: str = Field("python", pattern=r"^[a-z][a-z0-9_+#.-]{0,31}$")
    tests: str = ""
    entry_point: str = ""
    timeout_s: float = Field(10, gt=0, le=600)
    verdicts: list[str] = Field(
        default_factory=lambda: ["correct", "partially_correct", "incorrect"], min_length=1
    )

    @field_validator("verdicts")
    @classmethod
    def _check_verdicts(cls, verdicts: list[str]) -> list[str]:
        if any(not v.strip() for v in verdicts):
            raise ValueError("a verdict may not be empty")
        if len(set(verdicts)) != len(verdicts):
            raise ValueError("verdicts must be unique")
        return verdicts


class CodeRunKind:
    """The code_run question kind."""

    name = "code_run"
    config_model: type[BaseModel] = CodeRunConfig

    def validate_answer(
        self,
        config: CodeRunConfig,
        value: Any,
        ctx: ItemContext,  # noqa: ARG002 - the QuestionKind interface
    ) -> dict[str, Any]:
        """Check the worker's verdict on the code.

        Args:
            config: The question's configuration.
            value: ``{"verdict": str, "run_id": int | None}``, or a bare verdict string.
                ``run_id`` names the sandbox run the worker looked at.
            ctx: The item being judged (unused).

        Returns:
            ``{"verdict": ..., "run_id": ...}``.

        Raises:
            AnswerError: Naming the field (``verdict``, ``run_id`` or ``""``) and why.
        """
        if isinstance(value, str):
            value = {"verdict": value}
        if not isinstance(value, Mapping):
            raise AnswerError("", 'expected {"verdict": ..., "run_id": ...}')
        extra = sorted(str(k) for k in value if k not in ("verdict", "run_id"))
        if extra:
            raise AnswerError(extra[0], "unknown field (expected verdict and run_id)")
        verdict = value.get("verdict")
        if not isinstance(verdict, str) or verdict not in config.verdicts:
            raise AnswerError(
                "verdict",
                f"unknown verdict {verdict!r} (allowed: {', '.join(config.verdicts)})",
            )
        run_id = value.get("run_id")
        if run_id is not None and (
            isinstance(run_id, bool) or not isinstance(run_id, int) or run_id < 1
        ):
            raise AnswerError(
                "run_id", f"expected the id of a run (a positive integer), got {run_id!r}"
            )
        return {"verdict": verdict, "run_id": run_id}


register_kind(CodeRunKind())
