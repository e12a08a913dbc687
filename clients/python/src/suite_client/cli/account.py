"""Logging in and out, the current account, and its sessions."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer

from suite_client.cli import output
from suite_client.cli.columns import EVENT_COLUMNS, SESSION_COLUMNS
from suite_client.cli.context import JsonOption, cli_of
from suite_client.models import Me, SessionRead
from suite_client.problem import ProblemError

sessions = typer.Typer(help="The account's sessions (one per login).", no_args_is_help=True)
password = typer.Typer(help="Change, forget and reset your password.", no_args_is_help=True)
mfa = typer.Typer(help="Two-factor sign-in with an authenticator app.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]

ME_COLUMNS: list[output.Column] = [
    ("id", lambda me: me.id),
    ("username", lambda me: me.username),
    ("email", lambda me: me.email),
    ("roles", lambda me: me.roles),
]


def _password(from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def register(
    ctx: typer.Context,
    username: Annotated[str, typer.Option(prompt=True)],
    email: Annotated[str, typer.Option(prompt=True)],
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account (then `suite login`)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        account = client.auth_register(
            email=email, username=username, password=_password(password_stdin, confirm=True)
        )
    output.show(account, ME_COLUMNS[:3], as_json=cli.json(as_json))


def login(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Username or email.")],
    password_stdin: PasswordStdin = False,
    code: Annotated[
        str | None, typer.Option(help="The authenticator's code, if two-factor sign-in is on.")
    ] = None,
) -> None:
    """Log in; the tokens are kept in your config directory (mode 0600)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        try:
            client.auth_login(username=username, password=_password(password_stdin))
        except ProblemError as error:
            if error.code != "mfa_required":
                raise
            second = code or str(typer.prompt("Authenticator code (or a recovery code)"))
            client.auth_login_mfa(mfa_token=str(error.extras["mfa_token"]), code=second)
        me = client.auth_me()
    output.stdout.print(f"Logged in to {cli.url} as [bold]{me.username}[/].")


def logout(ctx: typer.Context) -> None:
    """End this session everywhere and forget its tokens."""
    cli = cli_of(ctx)
    with cli.client() as client:
        if client.credentials.access_token is None:
            output.stdout.print("Not logged in.")
            return
        client.auth_logout()
    output.stdout.print("Logged out.")


def whoami(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The account you are logged in as."""
    cli = cli_of(ctx)
    with cli.client() as client:
        me: Me = client.auth_me()
    output.show(me, ME_COLUMNS, as_json=cli.json(as_json))


@sessions.command("list")
def sessions_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every session of the account; `current` is this one."""
    cli = cli_of(ctx)
    with cli.client() as client:
        found: list[SessionRead] = client.auth_sessions_list()
    output.show(found, SESSION_COLUMNS, as_json=cli.json(as_json))


@sessions.command("revoke")
def sessions_revoke(ctx: typer.Context, session_id: uuid.UUID, as_json: JsonOption = False) -> None:
    """End one session (refused by every service within a second)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_sessions_revoke(session_id)
    output.done(f"Session {session_id} revoked.", as_json=cli.json(as_json))


def verify(
    ctx: typer.Context,
    code: Annotated[
        str | None, typer.Argument(help="The code from the mail; without it, mail a new one.")
    ] = None,
) -> None:
    """Verify your email address (or, without a code, ask for a new verification mail)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        if code is None:
            client.auth_verify_request()
            output.stdout.print("A verification mail is on its way.")
            return
        client.auth_verify(token=code)
    output.stdout.print("Email address verified.")


@password.command("change")
def password_change(ctx: typer.Context) -> None:
    """Change your password (your other sessions end)."""
    cli = cli_of(ctx)
    current = str(typer.prompt("Current password", hide_input=True))
    new = str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))
    with cli.client() as client:
        client.auth_change_password(current_password=current, new_password=new)
    output.stdout.print("Password changed.")


@password.command("forgot")
def password_forgot(ctx: typer.Context, email: str) -> None:
    """Mail a reset link to EMAIL, if it has an account."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_password_forgot(email=email)
    output.stdout.print(f"If {email} has an account, a reset mail is on its way.")


@password.command("reset")
def password_reset(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The code from the reset mail.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Choose a new password with the code from the reset mail; every session ends."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.auth_password_reset(token=code, new_password=_password(password_stdin, confirm=True))
    output.stdout.print("Password reset: log in with the new one.")


def events(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Your security log: logins, password changes, ended sessions."""
    cli = cli_of(ctx)
    with cli.client() as client:
        page = client.auth_events_list(limit=50)
    output.show(page.items, EVENT_COLUMNS[:3] + EVENT_COLUMNS[4:], as_json=cli.json(as_json))


@mfa.command("setup")
def mfa_setup(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """A new secret for your authenticator app (then `suite mfa enable CODE`)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        setup = client.auth_mfa_totp_setup()
    if cli.json(as_json):
        output.show(setup, [], as_json=True)
        return
    output.stdout.print(f"Secret: [bold]{setup.secret}[/]\nURI:    {setup.otpauth_uri}")
    output.stdout.print("Add it to your authenticator, then run `suite mfa enable CODE`.")


@mfa.command("enable")
def mfa_enable(ctx: typer.Context, code: str, as_json: JsonOption = False) -> None:
    """Turn two-factor sign-in on; prints 10 recovery codes (shown only now: keep them)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        codes = client.auth_mfa_totp_enable(code=code)
    if cli.json(as_json):
        output.show(codes, [], as_json=True)
        return
    output.stdout.print("Two-factor sign-in is on. Recovery codes (each works once):")
    for recovery in codes.recovery_codes:
        output.stdout.print(f"  {recovery}")


@mfa.command("disable")
def mfa_disable(ctx: typer.Context) -> None:
    """Turn two-factor sign-in off (your password and a code are asked for)."""
    cli = cli_of(ctx)
    current = str(typer.prompt("Password", hide_input=True))
    code = str(typer.prompt("Authenticator code (or a recovery code)"))
    with cli.client() as client:
        client.auth_mfa_totp_disable(password=current, code=code)
    output.stdout.print("Two-factor sign-in is off.")
