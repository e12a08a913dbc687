"""JSON answers encoded straight from plain values, such as database rows: no model in between."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi.responses import JSONResponse


def _as_text(value: Any) -> str:
    # asyncpg's UUID subclasses uuid.UUID, which orjson writes only as the exact type.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RowsJSONResponse(JSONResponse):
    """JSON of dicts, lists, strings, numbers, UUIDs and aware datetimes, written as pydantic
    writes them (UTC as `Z`, microseconds only when there are some).

    For read paths whose rows the database schema already guarantees: validating each row into a
    model and dumping it again cost the todos list a fifth of its CPU. The route still declares
    its `response_model`, so the OpenAPI document is unchanged.
    """

    def render(self, content: Any) -> bytes:
        return dump_rows(content)


def dump_rows(content: Any) -> bytes:
    """`content` as JSON, written as `RowsJSONResponse` writes it."""
    return orjson.dumps(content, default=_as_text, option=orjson.OPT_UTC_Z)
