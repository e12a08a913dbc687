"""RFC 9457 problem details for every error path: domain errors, HTTP errors, validation, crashes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import database_unavailable
from shared.errors import ProblemError
from shared.logs import request_id_var

PROBLEM_JSON = "application/problem+json"
OVERLOAD_RETRY_AFTER_SECONDS = 1
# About what a PostgreSQL restart takes; readiness already takes the replica out meanwhile.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
logger = logging.getLogger("shared.problems")

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_response(
    *,
    status: int,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build an `application/problem+json` response carrying `code` and the request id."""
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
        "code": code or _CODES_BY_STATUS.get(status, "error"),
        "request_id": request_id_var.get(),
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers or None,
        **exc.extra,
    )


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        status=exc.status_code,
        detail=str(exc.detail) if exc.detail else None,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    return problem_response(
        status=422,
        detail="The request is not valid; see `errors`.",
        errors=errors,
    )


async def _on_pool_timeout(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PoolTimeout)
    # Load, not a fault: every database connection of this replica stayed busy for the whole
    # wait. 503 with Retry-After tells the client when to come back (the gateway passes it on
    # rather than count it against the replica's health).
    logger.warning("database pool exhausted; answering 503")
    return problem_response(
        status=503,
        code="overloaded",
        detail="This service is busy; retry shortly.",
        headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)},
    )


def unexpected_error_response(exc: Exception, *, method: str, path: str) -> JSONResponse:
    """The answer to an exception nothing handled: 503 `unavailable` with Retry-After when the
    database cannot be reached (a restart, not a bug), else a 500 that reveals nothing."""
    if database_unavailable(exc):
        # One line, no traceback: every request during a restart ends here.
        logger.warning(
            "database unavailable on %s %s; answering 503: %r", method, path, str(exc)[:300] or exc
        )
        return problem_response(
            status=503,
            code="unavailable",
            detail="The service cannot reach its database; retry shortly.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
        )
    logger.error("unhandled error on %s %s", method, path, exc_info=exc)
    return problem_response(status=500, detail="An unexpected error occurred.")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer domain, HTTP and validation errors as problem+json (crashes and database outages:
    RequestContextMiddleware); a replica out of database connections answers 503 `overloaded`."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(PoolTimeout, _on_pool_timeout)
