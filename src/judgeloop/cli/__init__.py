"""The `judgeloop` command: thin Typer commands around service functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from judgeloop.cli import (
    aggregate,
    data,
    db,
    demo,
    models,
    pay,
    projects,
    rounds,
    serve,
    train,
    users,
)
from judgeloop.cli.calibration import judge_report_cli
from judgeloop.cli.code import app as code_app
from judgeloop.cli.context import CliState

app = typer.Typer(
    name="judgeloop",
    help="Human feedback on AI model answers: projects, imports, judgments, exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder (default: $JUDGELOOP_DATA_DIR or ./data).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (default: SQLite in the data folder).")
    ] = None,
) -> None:
    """Options shared by every command."""
    ctx.obj = CliState(data_dir=data_dir, database_url=database_url)


app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(projects.app, name="project")
app.add_typer(pay.app, name="pay")
app.add_typer(rounds.app, name="rounds")
app.add_typer(train.app, name="train")
app.add_typer(code_app, name="code")
models.register(app)
app.command("init")(db.init_cli)
app.command("serve")(serve.serve_cli)
app.command("demo")(demo.demo_cli)
app.command("import")(data.import_cli)
app.command("export")(data.export_cli)
app.command("aggregate")(aggregate.aggregate_cli)
app.command("judge-report")(judge_report_cli)


def main() -> None:
    """Entry point of the `judgeloop` console script."""
    app()
