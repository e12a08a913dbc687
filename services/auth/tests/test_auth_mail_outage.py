"""An SMTP outage delays mail and loses none (its own module: no other replica consumes here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from auth_service.models import OutgoingMail
from auth_service.settings import Settings
from shared.testing import database_sessions, eventually, free_port
from tools import mailsink

PASSWORD = "correct horse battery staple"


async def test_mail_queued_while_the_smtp_server_is_down_is_sent_when_it_is_back(
    make_settings: Callable[..., Settings], run_app: Any, tmp_path: Path, auth_database: str
) -> None:
    port = free_port()

    async def queued() -> int:
        async with database_sessions(auth_database) as sessions, sessions() as session:
            return int((await session.execute(select(func.count(OutgoingMail.id)))).scalar_one())

    async with run_app(make_settings(smtp_port=port)) as client:
        body = {"email": "outage@example.com", "username": "outage", "password": PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        await asyncio.sleep(1.5)  # deliveries fail meanwhile: the message must stay queued
        assert await queued() == 1
        with mailsink.serving(tmp_path, port):
            await eventually(
                lambda: mailsink.messages(tmp_path),
                within=40,
                message="the queued mail once SMTP is back",
            )
            await eventually(lambda: _is_zero(queued()), message="the sent mail forgotten")
        [mail] = mailsink.messages(tmp_path)
        assert mail["To"] == "outage@example.com"


async def _is_zero(count: Any) -> bool:
    return bool(await count == 0)
