"""Request bodies: a partial update leaves out what the caller did not pass (UNSET)."""

from __future__ import annotations

import enum
import uuid
from typing import Any, Literal
from urllib.parse import quote

from pydantic_core import to_jsonable_python


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
# "Leave it as it is" in a partial update, where None means "clear it".
Unset = Literal[_Unset.UNSET]


def json_body(**fields: Any) -> dict[str, Any]:
    """The JSON object of the fields passed: datetimes, UUIDs and models made JSON's."""
    return {name: to_jsonable_python(value) for name, value in fields.items() if value is not UNSET}


def new_idempotency_key() -> str:
    """A fresh key for one logical POST; every retry of that POST sends the same one."""
    return str(uuid.uuid4())


def segment(value: uuid.UUID | str) -> str:
    """A path segment: an id the caller typed cannot reach another path."""
    return quote(str(value), safe="")


def query_value(value: Any) -> Any:
    """A query parameter as the API reads it (an ISO 8601 datetime, "true")."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return to_jsonable_python(value)
