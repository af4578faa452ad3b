"""`judgeloop user create|list|token`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from judgeloop.cli.context import console, open_session, reports_errors, state
from judgeloop.schemas.accounts import UserCreate
from judgeloop.services import accounts

app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)


@app.command("create")
@reports_errors
def create_cli(
    ctx: typer.Context,
    email: str,
    role: Annotated[str, typer.Option(help="admin, owner, reviewer or worker.")] = "worker",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str | None, typer.Option(help="Password (asked for when omitted).")] = None,
) -> None:
    """Create an account."""
    from pydantic import ValidationError

    from judgeloop.errors import InvalidInput
    from judgeloop.questions.base import pydantic_errors

    password = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, name=name, role=role, password=password)
    except ValidationError as exc:
        raise InvalidInput("invalid user", pydantic_errors(exc)) from None
    with open_session(state(ctx).settings()) as session:
        user = accounts.create_user(session, data=data)
    console.print(f"created {user.role} {user.email} (id {user.id})")


@app.command("list")
def list_cli(ctx: typer.Context) -> None:
    """List accounts."""
    table = Table("id", "email", "name", "role", "active")
    with open_session(state(ctx).settings()) as session:
        for user in accounts.list_users(session):
            table.add_row(str(user.id), user.email, user.name, user.role, str(user.is_active))
    console.print(table)


@app.command("token")
@reports_errors
def token_cli(
    ctx: typer.Context,
    email: str,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
) -> None:
    """Create an API token for a user and print it (it is shown only once)."""
    with open_session(state(ctx).settings()) as session:
        user = accounts.get_user_by_email(session, email)
        _, raw = accounts.create_api_token(session, user=user, name=name)
    console.print(raw, highlight=False)
