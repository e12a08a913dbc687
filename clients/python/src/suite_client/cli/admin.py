"""`suite admin`: what only admins may do."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from suite_client._sync.admin import EventType
from suite_client.cli import output
from suite_client.cli.columns import EVENT_COLUMNS, SESSION_COLUMNS
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


UserId = Annotated[uuid.UUID, typer.Argument(help="The account's id (from `suite admin users`).")]


@admin.command("events")
def events(
    ctx: typer.Context,
    user: Annotated[uuid.UUID | None, typer.Option(help="Only this account's.")] = None,
    kind: Annotated[EventType | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The security log of every account, newest first."""
    cli = cli_of(ctx)
    with cli.client() as client:
        page = client.auth_admin_events_list(user_id=user, type=kind, limit=limit)
    output.show(page.items, EVENT_COLUMNS, as_json=cli.json(as_json))


@admin.command("disable")
def disable(ctx: typer.Context, user_id: UserId, as_json: JsonOption = False) -> None:
    """Stop an account from logging in and end its sessions everywhere."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_admin_disable(user_id)
    output.done(f"Account {user_id} disabled.", as_json=cli.json(as_json))


@admin.command("enable")
def enable(ctx: typer.Context, user_id: UserId, as_json: JsonOption = False) -> None:
    """Let a disabled account log in again."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_admin_enable(user_id)
    output.done(f"Account {user_id} enabled.", as_json=cli.json(as_json))


@admin.command("sessions")
def sessions(ctx: typer.Context, user_id: UserId, as_json: JsonOption = False) -> None:
    """An account's live sessions."""
    cli = cli_of(ctx)
    with cli.client() as client:
        found = client.auth_admin_sessions_list(user_id)
    output.show(found, SESSION_COLUMNS, as_json=cli.json(as_json))


@admin.command("end-session")
def end_session(
    ctx: typer.Context, user_id: UserId, session_id: uuid.UUID, as_json: JsonOption = False
) -> None:
    """End one session of an account, everywhere within a second."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_admin_sessions_revoke(user_id, session_id)
    output.done(f"Session {session_id} ended.", as_json=cli.json(as_json))


@admin.command("grant")
def grant(ctx: typer.Context, user_id: UserId, as_json: JsonOption = False) -> None:
    """Make an account an admin (from its next login)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_admin_grant_admin(user_id)
    output.done(f"Account {user_id} is an admin.", as_json=cli.json(as_json))


@admin.command("revoke")
def revoke(ctx: typer.Context, user_id: UserId, as_json: JsonOption = False) -> None:
    """Take the admin role from an account (the last admin keeps it)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_admin_revoke_admin(user_id)
    output.done(f"Account {user_id} is no longer an admin.", as_json=cli.json(as_json))
