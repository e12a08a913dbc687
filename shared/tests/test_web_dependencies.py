"""The shared route dependencies: the caller's user id, ids read from the path, query models."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field

from shared.errors import Forbidden, NotFound
from shared.testing import asgi_client, assert_problem
from shared.tokens import Principal
from shared.web.auth import current_principal
from shared.web.dependencies import caller_user_id, path_id, query_model
from shared.web.documented import serve_without_documentation_only
from shared.web.problems import install_problem_handlers


class NotAThing(NotFound):
    def __init__(self) -> None:
        super().__init__("There is no such thing.")


class NotAPerson(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only people have things.")


SUBJECT = {"sub": str(uuid.UUID(int=1))}


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    SUBJECT["sub"] = str(uuid.UUID(int=1))
    app.dependency_overrides[current_principal] = lambda: Principal(
        user_id=SUBJECT["sub"], roles=frozenset(), session_id=None, token_id=None, expires_at=0
    )

    @app.get("/things/{thing_id}")
    async def read_thing(
        thing_id: Annotated[uuid.UUID, Depends(path_id("thing_id", NotAThing))],
        owner: Annotated[uuid.UUID, Depends(caller_user_id(NotAPerson))],
    ) -> dict[str, str]:
        return {"thing": str(thing_id), "owner": str(owner)}

    return app


async def get(app: FastAPI, path: str) -> httpx.Response:
    async with asgi_client(app) as client:
        return await client.get(path)


async def test_ids_come_through_as_uuids(app: FastAPI) -> None:
    thing = uuid.uuid4()
    response = await get(app, f"/things/{thing}")
    assert response.json() == {"thing": str(thing), "owner": str(uuid.UUID(int=1))}


async def test_a_malformed_path_id_names_nothing(app: FastAPI) -> None:
    assert_problem(await get(app, "/things/not-a-uuid"), 404, "not_found")


async def test_a_subject_that_is_no_user_id_is_refused_as_the_service_says(app: FastAPI) -> None:
    SUBJECT["sub"] = "service-account"
    assert_problem(await get(app, f"/things/{uuid.uuid4()}"), 403, "forbidden")


def test_the_path_parameter_is_declared_in_openapi(app: FastAPI) -> None:
    parameters = app.openapi()["paths"]["/things/{thing_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [("thing_id", "path")]


class Listing(BaseModel):
    done: bool | None = None
    kind: Literal["a", "b"] | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


def listing_app() -> FastAPI:
    """The same model read by FastAPI (`/declared`) and by `query_model` (`/parsed`)."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/declared")
    async def declared(query: Annotated[Listing, Query()]) -> dict[str, Any]:
        return query.model_dump()

    @app.get("/parsed")
    async def parsed(query: Annotated[Listing, Depends(query_model(Listing))]) -> dict[str, Any]:
        return query.model_dump()

    serve_without_documentation_only(app)
    return app


@pytest.mark.parametrize(
    "query",
    [
        "",
        "done=true&kind=a&limit=5&cursor=x",
        "done=0&limit=100",
        "limit=1&limit=7",  # the last of a repeated name
        "unknown=1&limit=3",
        "limit=0",
        "limit=many&done=perhaps&kind=c",
        "kind=",
        "cursor=&done=",
    ],
)
async def test_a_query_model_reads_as_fastapi_reads_it(query: str) -> None:
    app = listing_app()
    async with asgi_client(app) as client:
        by_fastapi = await client.get(f"/declared?{query}")
        by_us = await client.get(f"/parsed?{query}")
    assert by_us.status_code == by_fastapi.status_code
    assert by_us.headers["content-type"] == by_fastapi.headers["content-type"]
    if by_us.status_code == 422:
        assert_problem(by_us, 422, "validation_failed")
        assert by_us.json()["errors"] == by_fastapi.json()["errors"]
    else:
        assert by_us.json() == by_fastapi.json()


def test_a_query_model_is_documented_as_fastapi_documents_it() -> None:
    operations = listing_app().openapi()["paths"]
    documented = operations["/parsed"]["get"]["parameters"]
    assert documented == operations["/declared"]["get"]["parameters"]
    assert [parameter["name"] for parameter in documented] == ["done", "kind", "limit", "cursor"]
