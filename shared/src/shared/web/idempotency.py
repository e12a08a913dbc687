"""The Idempotency-Key header on a POST route: answer a repeat from the stored response, or
claim the key for this request's transaction and store the response once its effect committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Table

from shared.idempotency import (
    IdempotencyRecords,
    Replayed,
    StoredResponse,
    checked_key,
    fingerprint,
)
from shared.web.dependencies import SessionDep

# Headers of the first answer that a replay repeats.
REPEATED_HEADERS = ("location", "etag")


class IdempotentRequest:
    """A POST that may carry an Idempotency-Key (without one, both steps do nothing)."""

    def __init__(self, *, request: Request, key: str | None, records: IdempotencyRecords) -> None:
        self._request = request
        self._key = checked_key(key) if key is not None else None
        self._records = records
        self._scope = ""

    async def replay(
        self, *, scope: str, body: BaseModel, secret: frozenset[str] = frozenset()
    ) -> JSONResponse | None:
        """The stored answer if this key was used for this very request; else the key is claimed
        (committed with the use case's effect) and None is returned. Fields named in `secret`
        stay out of the stored fingerprint (a fast hash of a password must not sit in a table)."""
        if self._key is None:
            return None
        self._scope = scope
        content = body.model_dump_json(exclude=set(secret))
        request = fingerprint(self._request.method, self._request.url.path, content)
        stored = await self._records.claim(scope=scope, key=self._key, request=request)
        return _replay(stored) if stored is not None else None

    def claim_later(self, *, scope: str) -> Callable[[str], Awaitable[None]] | None:
        """For a use case that learns what its request is only as it runs (an upload's bytes):
        a claim it calls with that, inside the transaction that records its effect. When the key
        already has an answer, the claim raises Replayed; `answer(replayed)` turns it into the
        response. None without a key."""
        key = self._key
        if key is None:
            return None
        self._scope = scope

        async def claim(content: str) -> None:
            request = fingerprint(self._request.method, self._request.url.path, content)
            stored = await self._records.claim(scope=scope, key=key, request=request)
            if stored is not None:
                raise Replayed(stored)

        return claim

    @staticmethod
    def answer(replayed: Replayed) -> JSONResponse:
        """The stored response a Replayed carries, marked as a replay."""
        return _replay(replayed.stored)

    async def remember(self, *, status: int, body: Any, headers: Mapping[str, str]) -> None:
        """Store the answer under the claimed key, once the use case has committed."""
        if self._key is None:
            return
        kept = {name: value for name, value in headers.items() if name.lower() in REPEATED_HEADERS}
        response = StoredResponse(status=status, body=jsonable_encoder(body), headers=kept)
        await self._records.store(scope=self._scope, key=self._key, response=response)
        await self._records.commit()


def _replay(stored: StoredResponse) -> JSONResponse:
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        headers={**stored.headers, "Idempotent-Replayed": "true"},
    )


def idempotency_for(table: Table) -> Callable[..., Awaitable[IdempotentRequest]]:
    """A dependency reading the route's Idempotency-Key, kept in the service's `table`."""

    async def dependency(
        request: Request,
        session: SessionDep,
        key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="Repeat the POST with the same key and body to get the first "
                "answer again, not a second effect (kept 24 h; at most 255 characters).",
            ),
        ] = None,
    ) -> IdempotentRequest:
        records = IdempotencyRecords(session=session, table=table)
        return IdempotentRequest(request=request, key=key, records=records)

    return dependency
