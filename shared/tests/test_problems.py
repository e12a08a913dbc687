"""Every error path answers RFC 9457 problem+json carrying `code` and the request id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from shared.errors import Conflict
from shared.testing import asgi_client, assert_problem
from shared.web.middleware import RequestContextMiddleware
from shared.web.problems import install_problem_handlers

SECRET_PASSWORD = "hunter2-Zq9"
CRASH_MESSAGE = "db password is s3cr3t at 10.0.0.7"


class ItemLocked(Conflict):
    code = "item_locked"
    title = "Item Locked"


class SignUp(BaseModel):
    email: str
    password: str = Field(min_length=20)
    age: int


def build_app() -> FastAPI:
    # The same order as create_service_app: handlers first, then the request-context middleware.
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        raise ItemLocked(
            f"item {item_id} is being edited",
            headers={"Retry-After": "7"},
            extra={"locked_by": "user-9"},
        )

    @app.post("/signups")
    async def create_signup(body: SignUp) -> dict[str, str]:
        return {"email": body.email}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(CRASH_MESSAGE)

    return app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(build_app(), raise_app_exceptions=False) as c:
        yield c


async def test_domain_error_keeps_status_code_detail_headers_and_extra(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/items/3", headers={"X-Request-ID": "req-domain"})
    body = assert_problem(response, 409, "item_locked")
    assert body["title"] == "Item Locked"
    assert body["detail"] == "item 3 is being edited"
    assert body["locked_by"] == "user-9"
    assert response.headers["retry-after"] == "7"
    assert body["request_id"] == response.headers["x-request-id"] == "req-domain"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/items/3", 405, "method_not_allowed"),
        ("GET", "/items/not-a-number", 422, "validation_failed"),
    ],
)
async def test_framework_errors_are_problems(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await client.request(method, path)
    body = assert_problem(response, status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 405:
        assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("content", "locs", "types"),
    [
        (
            b'{"email": "a@example.com", "password": "' + SECRET_PASSWORD.encode() + b'"}',
            [["body", "password"], ["body", "age"]],
            ["string_too_short", "missing"],
        ),
        (b'{"email": "a@example.com", "password": "' + SECRET_PASSWORD.encode(), None, None),
        (b"", [["body"]], ["missing"]),
    ],
    ids=["invalid-fields", "malformed-json", "empty-body"],
)
async def test_invalid_body_is_422_with_errors_and_never_echoes_input(
    client: httpx.AsyncClient, content: bytes, locs: list[list[str]] | None, types: list[str] | None
) -> None:
    response = await client.post(
        "/signups", content=content, headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_failed")
    errors = body["errors"]
    assert errors
    assert all(set(error) == {"loc", "msg", "type"} for error in errors), errors
    if locs is not None:
        assert sorted(e["loc"] for e in errors) == sorted(locs)
        assert sorted(e["type"] for e in errors) == sorted(types or [])
    else:
        assert [e["type"] for e in errors] == ["json_invalid"]
    assert SECRET_PASSWORD not in response.text
    assert "hunter2" not in response.text


async def test_crash_is_a_500_problem_that_hides_the_exception(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/crash")
    assert_problem(response, 500, "internal_error")
    assert CRASH_MESSAGE not in response.text
    assert "RuntimeError" not in response.text
    assert any(CRASH_MESSAGE in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_crash_problem_carries_the_request_id_of_its_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/crash", headers={"X-Request-ID": "req-crash"})
    assert response.status_code == 500
    assert response.headers.get("x-request-id") == "req-crash"
    assert response.json()["request_id"] == "req-crash"
