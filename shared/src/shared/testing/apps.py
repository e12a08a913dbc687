"""The app in-process: an httpx client over ASGI, its lifespan, pages, problem+json checks."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar, cast

import httpx
from fastapi import FastAPI

from shared.runtime import Runtime
from shared.testing.waiting import eventually
from shared.web.problems import PROBLEM_JSON
from shared.web.state import process_state

C = TypeVar("C")


@contextlib.asynccontextmanager
async def asgi_client(
    app: FastAPI,
    *,
    base_url: str = "http://test",
    client: tuple[str, int] = ("127.0.0.1", 123),
    raise_app_exceptions: bool = True,
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling `app` in-process; running its lifespan is the caller's part."""
    transport = httpx.ASGITransport(
        app=app, client=client, raise_app_exceptions=raise_app_exceptions
    )
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


@contextlib.asynccontextmanager
async def running(
    app: FastAPI, *, ready_within: float | None = None, **client: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan behind `asgi_client`; with `ready_within`, once it reports ready."""
    async with app.router.lifespan_context(app), asgi_client(app, **client) as http:
        if ready_within is not None:

            async def ready() -> bool:
                return (await http.get("/health/readiness")).status_code == 200

            await eventually(ready, within=ready_within, message="the app never became ready")
        yield http


async def all_pages(
    client: httpx.AsyncClient, path: str, *, headers: dict[str, str], **params: Any
) -> list[list[dict[str, Any]]]:
    """Follow `next_cursor` from the first page to the last; every page must answer 200."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code", "request_id"} <= body.keys(), body
    assert (body["status"], body["code"]) == (status, code), body
    assert body["type"] == "about:blank", body
    assert body["title"] and body["detail"], body
    return body


def runtime_of(app: FastAPI) -> Runtime:
    """The runtime of an app whose lifespan is running."""
    runtime = process_state(app).runtime
    assert runtime is not None, "the app's lifespan is not running"
    return runtime


def components_of(app: FastAPI, kind: type[C]) -> C:
    """The components of an app whose lifespan is running, as the service's type."""
    components = process_state(app).components
    assert isinstance(components, kind), f"not {kind.__name__}: {components!r}"
    return components


@contextlib.contextmanager
def replaced_components(app: FastAPI, **changes: Any) -> Iterator[None]:
    """Run with some of the app's components replaced (a test's storage, tighter limits)."""
    state = process_state(app)
    original = state.components
    state.components = dataclasses.replace(cast(Any, original), **changes)
    try:
        yield
    finally:
        state.components = original
