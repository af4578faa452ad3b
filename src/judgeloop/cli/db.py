"""`judgeloop init` and `judgeloop db upgrade|downgrade|current`."""

from __future__ import annotations

from typing import Annotated

import typer

from judgeloop.cli.context import console, open_session, reports_errors, state
from judgeloop.config import Settings
from judgeloop.store import migrate
from judgeloop.store.engine import make_engine

app = typer.Typer(
    help="Database schema: upgrade, downgrade, current revision.", no_args_is_help=True
)


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    """Create the data folder and bring the database up to `revision`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.upgrade(engine, revision)
    finally:
        engine.dispose()


@app.command("upgrade")
def upgrade_cli(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help="Revision or release (e.g. 0.1).")] = "head",
) -> None:
    """Apply migrations up to a revision (default: the newest)."""
    upgrade_database(state(ctx).settings(), to)
    console.print(f"database at revision {migrate.TAGGED_REVISIONS.get(to, to)}")


@app.command("downgrade")
def downgrade_cli(ctx: typer.Context, revision: str) -> None:
    """Revert migrations down to a revision ('base' empties the database)."""
    engine = make_engine(state(ctx).settings().resolved_database_url())
    migrate.downgrade(engine, revision)
    engine.dispose()
    console.print(f"database at revision {revision}")


@app.command("current")
def current_cli(ctx: typer.Context) -> None:
    """Print the database's revision and the newest one this judgeloop ships."""
    engine = make_engine(state(ctx).settings().resolved_database_url())
    console.print(f"current: {migrate.current_revision(engine)}  head: {migrate.head_revision()}")
    engine.dispose()


@reports_errors
def init_cli(
    ctx: typer.Context,
    admin_email: Annotated[str | None, typer.Option(help="Create this admin account.")] = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Its password (asked for when omitted).")
    ] = None,
) -> None:
    """Create the data folder, the secret key and the database; optionally an admin."""
    settings = state(ctx).settings()
    upgrade_database(settings)
    settings.resolved_secret_key()
    console.print(f"database ready: {settings.resolved_database_url()}")
    if admin_email:
        from judgeloop.schemas.accounts import UserCreate
        from judgeloop.services.accounts import create_user

        password = admin_password or typer.prompt("admin password", hide_input=True)
        with open_session(settings) as session:
            create_user(
                session,
                data=UserCreate(email=admin_email, name="Admin", role="admin", password=password),
            )
        console.print(f"admin account created: {admin_email}")
