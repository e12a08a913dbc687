"""What the todos API reads and writes."""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")

MAX_TAGS = 20
MAX_ATTACHMENTS = 20


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _iso_text(value: Any) -> Any:
    # Lax mode would read a number (or a string of digits, as in a query) as a Unix time; the
    # contract is an ISO 8601 string.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date-time with a UTC offset")
    return value


def _no_default(schema: dict[str, Any]) -> None:
    # "Absent" is not a value a client can send: the schema shows no default of null.
    schema.pop("default", None)


def _distinct(values: Sequence[T]) -> list[T]:
    """The first occurrence of each value, in order."""
    return list(dict.fromkeys(values))


Priority = Literal["low", "medium", "high"]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_storable),
]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_storable)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
    AfterValidator(_storable),
]
# The limit counts what was sent, before duplicates are dropped.
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_distinct)]
AttachmentIds = Annotated[
    list[uuid.UUID], Field(max_length=MAX_ATTACHMENTS), AfterValidator(_distinct)
]
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class TodoCreate(BaseModel):
    """A new todo; only the title is required."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    priority: Priority = "medium"
    due_at: Moment | None = None
    tags: Tags = Field(default_factory=list)
    attachment_ids: AttachmentIds = Field(default_factory=list)


class TodoUpdate(BaseModel):
    """A partial update: only the fields sent change; null clears `description` and `due_at`."""

    model_config = ConfigDict(extra="forbid")

    # Optional but never null: the schema leaves `null` out where the validator refuses it.
    title: Title | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    description: Description | None = None
    priority: Priority | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    completed: StrictBool | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )
    due_at: Moment | None = None
    tags: Tags | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    attachment_ids: AttachmentIds | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )

    @field_validator("title", "priority", "completed", "tags", "attachment_ids")
    @classmethod
    def _not_null(cls, value: T | None) -> T:
        # Runs only for values sent (defaults are not validated): these fields cannot be cleared.
        if value is None:
            raise ValueError("may not be null")
        return value


class TodoRead(BaseModel):
    """A todo as its owner sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    priority: Priority
    completed: bool
    due_at: datetime | None
    tags: list[str]
    attachment_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    version: int


# A todo as a listing reads it: `TodoRead`'s fields as the database holds them, no model built
# (`shared.web.responses.RowsJSONResponse` writes them as `TodoRead` would).
TodoRow = Mapping[str, Any]


class TodoListParams(BaseModel):
    """The query of a listing: its filters, page size and cursor."""

    completed: bool | None = None
    priority: Priority | None = None
    tag: Tag | None = None
    due_before: Moment | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None

    def filters(self) -> "TodoFilters":
        """The filters of this query (what a cursor is bound to)."""
        return TodoFilters(
            completed=self.completed,
            priority=self.priority,
            tag=self.tag,
            due_before=self.due_before,
        )


@dataclass(frozen=True)
class TodoFilters:
    """What a listing keeps; every filter given must hold (None: not filtered)."""

    completed: bool | None = None
    priority: Priority | None = None
    tag: str | None = None
    due_before: datetime | None = None


class TodoPage(BaseModel):
    """One page of todos, newest first; `next_cursor` is null on the last page."""

    items: list[TodoRead]
    next_cursor: str | None
