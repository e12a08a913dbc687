"""Request ids are kept or replaced, one JSON access line per request, probes stay quiet."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.errors import NotFound
from shared.logs import JsonFormatter, configure_logging
from shared.testing import asgi_client
from shared.web.health import HealthState, health_router
from shared.web.middleware import RequestContextMiddleware
from shared.web.problems import install_problem_handlers

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


class Lines(logging.Handler):
    """Formats at emit time, while the request's context variables are still set."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter(service="svc", replica="r-1"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    health = HealthState()
    app.include_router(health_router(lambda _request: health))

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        if item_id == 0:
            raise NotFound("no such item")
        return {"id": item_id}

    @app.get("/seen-id")
    async def read_seen_id(request: Request) -> dict[str, str | None]:
        raw = dict(request.scope["headers"]).get(b"x-request-id")
        return {"seen": raw.decode() if raw is not None else None}

    return app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(build_app()) as c:
        yield c


@pytest.fixture
def access_log() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("shared.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@pytest.mark.parametrize(
    "incoming",
    ["abc-123", "A.b_C-9", "x" * 128, "0f1e2d3c4b5a69788796a5b4c3d2e1f0"],
)
async def test_valid_request_id_is_kept(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/items/1", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["x" * 129, "y" * 300, "has space", "new\nline", "semi;colon", "slash/id", "", "café"],
)
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/seen-id", headers=[(b"X-Request-ID", incoming.encode())])
    assert response.json() == {"seen": incoming}  # it did reach the app
    echoed = response.headers.get_list("x-request-id")
    assert len(echoed) == 1
    assert GENERATED_ID.fullmatch(echoed[0])


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/items/1")
    second = await client.get("/items/1")
    ids = [r.headers["x-request-id"] for r in (first, second)]
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        ("/items/42", "/items/{item_id}", 200),
        ("/items/0", "/items/{item_id}", 404),
        ("/items/abc", "/items/{item_id}", 422),
        ("/no/such/path", "unmatched", 404),
    ],
)
async def test_one_json_access_line_per_request(
    client: httpx.AsyncClient, access_log: Lines, path: str, route: str, status: int
) -> None:
    response = await client.get(path, headers={"X-Request-ID": "req-log-1"})
    assert response.status_code == status
    [entry] = access_log.entries()
    assert entry["msg"] == "request"
    assert entry["method"] == "GET"
    assert entry["route"] == route
    assert entry["status"] == status
    assert isinstance(entry["duration_ms"], int | float)
    assert entry["duration_ms"] >= 0
    assert entry["request_id"] == "req-log-1"
    assert (entry["service"], entry["replica"], entry["level"]) == ("svc", "r-1", "info")
    assert path not in json.dumps(entry)  # the template, never the raw path


@pytest.mark.parametrize("path", ["/health/liveness", "/health/readiness"])
async def test_health_probes_are_not_logged(
    client: httpx.AsyncClient, access_log: Lines, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert access_log.lines == []


def test_json_formatter_writes_one_object_per_line() -> None:
    formatter = JsonFormatter(service="todos", replica="pod-7")
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "some.logger", logging.WARNING, __file__, 1, "multi\nline %s", ("msg",), exc_info
    )
    record.order_id = "o-1"
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["msg"] == "multi\nline msg"
    assert (entry["service"], entry["replica"]) == ("todos", "pod-7")
    assert entry["order_id"] == "o-1"
    assert "ValueError" in entry["exc"]
    assert datetime.fromisoformat(entry["ts"]).utcoffset() is not None


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled)
    try:
        yield
    finally:
        root.handlers[:], level, disabled = saved
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = disabled


def test_configure_logging_prints_json_lines_on_stdout(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service="todos", replica="pod-7", level="debug")
    logging.getLogger("anything").info("hello %s", "world")
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("uvicorn.access").info("dropped: the middleware logs requests")
    lines = capsys.readouterr().out.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["msg"] for e in entries] == ["hello world", "from uvicorn"]
    assert all({"ts", "level", "service", "replica", "msg"} <= e.keys() for e in entries)
    assert {(e["service"], e["replica"]) for e in entries} == {("todos", "pod-7")}
