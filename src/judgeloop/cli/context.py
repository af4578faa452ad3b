"""What every command shares: settings built from options, a session, error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.errors import InvalidInput, JudgeloopError, NotFound
from judgeloop.store.engine import make_engine, make_sessionmaker
from judgeloop.store.models import User

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    """Global options given before the command name."""

    data_dir: Path | None = None
    database_url: str | None = None

    def settings(self) -> Settings:
        """Build settings from the environment, overridden by the global options."""
        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        if self.database_url is not None:
            overrides["database_url"] = self.database_url
        return Settings(**overrides)


def state(ctx: typer.Context) -> CliState:
    """Return the global options of this invocation."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliState) else CliState()


@contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """Open a session on the configured database, creating the data folder if needed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print judgeloop errors as a clear message (with row errors) and exit 1, no traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            for row in exc.rows:
                err_console.print(f"  {row}", highlight=False, markup=False)
            if exc.total > len(exc.rows):
                err_console.print(f"  ... and {exc.total - len(exc.rows)} more", highlight=False)
            raise typer.Exit(1) from None
        except JudgeloopError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def acting_user(session: Session, email: str | None) -> User:
    """Return the user a command acts as: `--as EMAIL`, else the first admin."""
    if email:
        from judgeloop.services.accounts import get_user_by_email

        return get_user_by_email(session, email)
    admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    if admin is None:
        raise NotFound(
            "no admin user yet: run `judgeloop init --admin-email ...` first, or pass --as"
        )
    return admin
