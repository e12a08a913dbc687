"""The list's floor for `make bench`: `GET /api/v1/todos?limit=20` with no framework at all.

A bare ASGI app, served by `server_config` like every service: the caller's token checked by the
same `TokenVerifier` (with its cache of verified tokens), the same page statement on asyncpg's own
pool, the rows written with orjson. No routing, dependencies, middleware, log line, metrics or
cursor. What this answers per second, as a ratio to the ceiling, is what this machine allows the
list before any of that: the bench prints it beside the real list.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

from shared.tokens import InvalidToken, TokenVerifier, load_public_keys
from shared.web.responses import dump_rows
from shared.web.server import server_config
from todos_service.settings import Settings

# The todos service's page statement, without filters or cursor (one round trip, attachments
# aggregated in the same statement, the limit written in as the service writes it).
PAGE = """
SELECT page.id, page.title, page.description, page.priority, page.completed, page.due_at,
       page.tags,
       (SELECT coalesce(array_agg(todo_attachment.file_id ORDER BY todo_attachment.position),
                        ARRAY[]::uuid[])
          FROM todo_attachment WHERE todo_attachment.todo_id = page.id) AS attachment_ids,
       page.created_at, page.updated_at, page.version
  FROM (SELECT * FROM todo WHERE owner_id = $1
         ORDER BY created_at DESC, id DESC LIMIT 21) AS page
 ORDER BY page.created_at DESC, page.id DESC
"""
_JSON = [(b"content-type", b"application/json")]
_REFUSED = b'{"status":401}'
_UP = b'{"status":"ok"}'


class Floor:
    """The ASGI app; its pool opens at lifespan start."""

    def __init__(self, settings: Settings) -> None:
        self._dsn = settings.plain_database_url
        self._verifier = TokenVerifier(
            keys=load_public_keys(settings.jwt_public_keys),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        self._pool: asyncpg.Pool | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            self._pool = await asyncpg.create_pool(self._dsn, min_size=5, max_size=15)
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await self._pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        status, body = await self._page(scope) if scope["path"] != "/ping" else (200, _UP)
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _page(self, scope: Any) -> tuple[int, bytes]:
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        try:
            owner = uuid.UUID(self._verifier.verify(authorization.removeprefix("Bearer ")).user_id)
        except (InvalidToken, ValueError):
            return 401, _REFUSED
        assert self._pool is not None, "the lifespan has not started"
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(PAGE, owner)
        page = {"items": [dict(row) for row in rows[:20]], "next_cursor": None}
        return 200, dump_rows(page)


def serve(port: int, env_file: Path) -> None:
    """One process of the floor, on the todos service's database and keys."""
    app = Floor(Settings(_env_file=env_file))
    uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning")).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one process of the bench's bare list")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--env-file", type=Path, required=True, help="the todos service's env")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.env_file)
