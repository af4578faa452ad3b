"""`judgeloop serve`: migrate, then serve the web app with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from judgeloop.cli.context import state
from judgeloop.cli.db import upgrade_database
from judgeloop.config import Settings


def run_server(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Bring the database up to date and serve the app until interrupted."""
    import uvicorn

    from judgeloop.web.app import create_app

    upgrade_database(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        proxy_headers=False,
    )


def serve_cli(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the web app and the API (migrating the database first)."""
    run_server(state(ctx).settings(), host, port)
