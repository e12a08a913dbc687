"""Operator commands of the auth service, each a use case run once against the database."""

import argparse
import asyncio
import logging

from auth_service.service import RoleService
from auth_service.settings import Settings
from shared.db import build_engine, build_session_factory
from shared.entrypoint import Command
from shared.errors import NotFound

logger = logging.getLogger("auth_service.cli")


def grant_admin(settings: Settings, args: argparse.Namespace) -> None:
    """Give an account the admin role; it shows in the account's tokens from its next login."""
    try:
        account_id = asyncio.run(_grant(settings, login=args.login, role="admin"))
    except NotFound as exc:
        raise SystemExit(exc.detail) from None
    logger.info("admin role granted", extra={"account_id": account_id})


async def _grant(settings: Settings, *, login: str, role: str) -> str:
    engine = build_engine(settings)
    try:
        async with build_session_factory(engine)() as session:
            account = await RoleService(session=session).grant(login=login, role=role)
            return str(account.id)
    finally:
        await engine.dispose()


COMMANDS = [
    Command(
        name="grant-admin",
        help=(grant_admin.__doc__ or "").strip(),
        run=grant_admin,
        arguments=[("login", "the account's username or email")],
    )
]
