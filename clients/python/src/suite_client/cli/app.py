"""The `suite` command: the suite's API from a terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from suite_client._sync.base import DEFAULT_URL
from suite_client.cli import account
from suite_client.cli.admin import admin
from suite_client.cli.context import Cli
from suite_client.cli.files import files
from suite_client.cli.todos import todos

app = typer.Typer(
    help="The suite from the command line: log in, then manage todos and files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="SUITE_URL", help="The gateway.", show_default=True)
    ] = DEFAULT_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    ctx.obj = Cli(url=url.rstrip("/"), as_json=as_json)


app.command()(account.register)
app.command()(account.login)
app.command()(account.logout)
app.command()(account.whoami)
app.command()(account.verify)
app.command()(account.events)
app.add_typer(account.password, name="password")
app.add_typer(account.mfa, name="mfa")
app.add_typer(todos, name="todos")
app.add_typer(files, name="files")
app.add_typer(account.sessions, name="sessions")
app.add_typer(admin, name="admin")

__all__ = ["app"]
