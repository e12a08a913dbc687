"""Operator commands of the auth service."""

import logging

from auth_service.repository import AuthRepository
from auth_service.settings import Settings
from shared.db import build_engine, build_session_factory

logger = logging.getLogger("auth_service.cli")


async def grant_admin(settings: Settings, args: list[str]) -> None:
    """Give the admin role to an account: grant-admin <username or email>."""
    if len(args) != 1:
        raise SystemExit("usage: python -m auth_service grant-admin <username or email>")
    engine = build_engine(settings)
    try:
        async with build_session_factory(engine)() as db:
            account = await AuthRepository(db).account_by_login(login=args[0])
            if account is None:
                raise SystemExit(f"no account {args[0]!r}")
            account.roles = sorted({*account.roles, "admin"})
            await db.commit()
        logger.info("admin role granted", extra={"account_id": str(account.id)})
    finally:
        await engine.dispose()
