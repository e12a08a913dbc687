"""A service's OpenAPI document as clients need it: every error is the one `Problem` schema under
`application/problem+json`, and each operation lists the statuses it can answer (with the
`code` values they carry).

FastAPI documents 422 as its own `{"detail": [...]}` and nothing else; the services answer every
error as an RFC 9457 problem. Routes declare their problems with `problems(...)`, and
`DocumentedApp` rewrites what FastAPI generates (422, and 401 on every operation that needs a
token) to match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from shared.web.problems import PROBLEM_JSON

PROBLEM = "Problem"
_PROBLEM_REF = {"$ref": f"#/components/schemas/{PROBLEM}"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": PROBLEM,
    "description": "An RFC 9457 problem. `code` is stable and machine-readable; quote "
    "`request_id` when reporting it. A 422 lists what is wrong in `errors`.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "examples": ["about:blank"]},
        "title": {"type": "string", "examples": ["Not Found"]},
        "status": {"type": "integer", "examples": [404]},
        "detail": {"type": "string", "examples": ["There is no such todo."]},
        "code": {"type": "string", "examples": ["not_found"]},
        "request_id": {"type": "string", "examples": ["4bf92f3577b34da6a3ce929d0e0e4736"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}

# What every operation that needs a bearer token can answer without it.
_UNAUTHORIZED_CODES = ["missing_token", "invalid_token"]
_VALIDATION_CODES = ["validation_failed"]


def problems(
    *statuses: int, codes: Mapping[int, Sequence[str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: each status answered as a problem, naming its `code` values."""
    return {status: _problem_response(status, (codes or {}).get(status, ())) for status in statuses}


def with_headers(status: int, **headers: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entry declaring the headers its `status` answer carries."""
    declared = {
        name.replace("_", "-"): {"description": text, "schema": {"type": "string"}}
        for name, text in headers.items()
    }
    return {status: {"headers": declared}}


def _problem_response(status: int, codes: Sequence[str]) -> dict[str, Any]:
    description = HTTPStatus(status).phrase
    if codes:
        description += ": " + ", ".join(f"`{code}`" for code in codes)
    media: dict[str, Any] = {"schema": _PROBLEM_REF}
    if codes:
        media["example"] = {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": HTTPStatus(status).description or HTTPStatus(status).phrase,
            "code": codes[0],
            "request_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        }
    return {"description": description, "content": {PROBLEM_JSON: media}}


class DocumentedApp(FastAPI):
    """FastAPI whose generated document tells the truth about errors (see the module docstring)."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = _with_problems(super().openapi())
        return self.openapi_schema


def _with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas[PROBLEM] = PROBLEM_SCHEMA
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses and PROBLEM_JSON not in responses["422"].get("content", {}):
                responses["422"] = _problem_response(422, _VALIDATION_CODES)
            if operation.get("security") and "401" not in responses:
                responses["401"] = _problem_response(401, _UNAUTHORIZED_CODES)
            for status, response in responses.items():
                # An error answered by a problem is never also plain JSON.
                if int(status) >= 400:
                    response.get("content", {}).pop("application/json", None)
    return document
