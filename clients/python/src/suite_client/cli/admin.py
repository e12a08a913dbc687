"""`suite admin`: what only admins may do."""

from __future__ import annotations

from typing import Annotated

import typer

from suite_client.cli import output
from suite_client.cli.context import JsonOption, cli_of

admin = typer.Typer(help="Administration (admins only).", no_args_is_help=True)

COLUMNS: list[output.Column] = [
    ("id", lambda p: p.id),
    ("username", lambda p: p.username),
    ("email", lambda p: p.email),
    ("name", lambda p: p.display_name),
    ("joined", lambda p: f"{p.created_at:%Y-%m-%d %H:%M}"),
]


@admin.command("users")
def users(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Where the last page ended.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every account's profile, newest first."""
    cli = cli_of(ctx)
    with cli.client() as client:
        page = client.users_list(limit=limit, cursor=cursor)
    output.show(page.items, COLUMNS, as_json=cli.json(as_json))
    if page.next_cursor and not cli.json(as_json):
        output.stderr.print(f"more: --cursor {page.next_cursor}")
