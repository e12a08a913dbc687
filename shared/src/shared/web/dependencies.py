"""Dependencies every service uses: a database session per request, the caller's user id, ids
read from the path, and a query string read into a model."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.runtime import Runtime
from shared.web.auth import CurrentPrincipal
from shared.web.documented import documentation_only
from shared.web.state import get_runtime

Refusal = Callable[[], Exception]
M = TypeVar("M", bound=BaseModel)


async def get_session(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[AsyncSession]:
    """A session for this request; the service commits, anything uncommitted is rolled back."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def no_store(response: Response) -> None:
    """For answers with personal data or credentials: no cache keeps them (RFC 9111 5.2.2.5).

    Use as `dependencies=[Depends(no_store)]` on the route."""
    response.headers["Cache-Control"] = "no-store"


def caller_user_id(refuse: Refusal) -> Callable[..., Awaitable[uuid.UUID]]:
    """A dependency giving the caller's user id; auth sets `sub` to the account's uuid, and any
    other subject is refused with `refuse()` (each service says what such a caller lacks)."""

    async def user_id(principal: CurrentPrincipal) -> uuid.UUID:
        try:
            return uuid.UUID(principal.user_id)
        except ValueError:
            raise refuse() from None

    return user_id


def path_id(name: str, missing: Refusal) -> Callable[..., Awaitable[uuid.UUID]]:
    """A dependency reading the path's `{name}` as a uuid; a malformed one names nothing, so it
    is `missing()` (a 404), never a 422."""

    async def parse(**path: str) -> uuid.UUID:
        try:
            return uuid.UUID(path[name])
        except ValueError:
            raise missing() from None

    # FastAPI reads parameters from the signature: declare `{name}` as a path parameter.
    parameter = inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Path()]
    )
    cast(Any, parse).__signature__ = inspect.Signature([parameter])
    return parse


def query_model(model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency reading the query string into `model`: what `Annotated[model, Query()]` does,
    with the same 422 errors, in one validation.

    FastAPI looks each field up and re-inspects its annotation on every request: 60 us for the
    todos list's six filters, a tenth of its framework time. The model is still declared, for the
    OpenAPI document only (see `shared.web.documented`).
    """

    async def declared(**_parameters: Any) -> None:
        """Documents the model's fields as query parameters; never solved once the app runs."""

    async def parse(request: Request, **_documented: None) -> M:
        # As FastAPI reads a query model: the last value of a repeated name, unknown names ignored
        # (unless the model forbids them), errors located under "query".
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in errors]
            ) from None

    # Signatures built here: FastAPI reads parameters from them, and these name `model`.
    keyword = inspect.Parameter.KEYWORD_ONLY
    cast(Any, declared).__signature__ = inspect.Signature(
        [inspect.Parameter("parameters", keyword, annotation=Annotated[model, Query()])]
    )
    cast(Any, parse).__signature__ = inspect.Signature(
        [
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter(
                "documented", keyword, annotation=Annotated[None, Depends(declared)], default=None
            ),
        ]
    )
    documentation_only(declared)
    return parse
