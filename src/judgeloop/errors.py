"""The error tree every layer raises; only web/errors.py maps it to HTTP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """One rejected input row: where it was and why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "input"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class JudgeloopError(Exception):
    """Base of all errors judgeloop reports to users; `code` is stable across releases."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(JudgeloopError):
    """The thing asked for does not exist (or the caller may not know it exists)."""

    code = "not_found"


class Conflict(JudgeloopError):
    """The request contradicts the current state (a duplicate, a closed item)."""

    code = "conflict"


class Forbidden(JudgeloopError):
    """The caller is known but may not do this."""

    code = "forbidden"


class Unauthorized(JudgeloopError):
    """The caller is not signed in or the credentials are wrong."""

    code = "unauthorized"


class LeaseExpired(JudgeloopError):
    """The assignment's lease ran out before the submission arrived."""

    code = "lease_expired"


class InvalidInput(JudgeloopError):
    """Input failed validation; `rows` says where and why (line 0 when not from a file)."""

    code = "invalid_input"

    def __init__(self, message: str, rows: list[RowError] | None = None, total: int = 0) -> None:
        super().__init__(message)
        self.rows = rows or []
        self.total = total or len(self.rows)

    def __str__(self) -> str:
        lines = [self.message] + [f"  {row}" for row in self.rows]
        if self.total > len(self.rows):
            lines.append(f"  ... and {self.total - len(self.rows)} more")
        return "\n".join(lines)
