"""What the users API reads and writes."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Empty strings are refused: null is the one way to clear a field. A display name is trimmed first,
# so one of only spaces is empty too.
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_storable),
]
Bio = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_storable)]


class ProfileRead(BaseModel):
    """The owner's (or an admin's) view of a profile."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    username: str
    display_name: str | None
    bio: str | None
    avatar_file_id: uuid.UUID | None
    email_verified: bool
    created_at: datetime
    updated_at: datetime


class PublicProfileRead(BaseModel):
    """What any signed-in user may see of another: no email."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None
    bio: str | None
    avatar_file_id: uuid.UUID | None
    created_at: datetime


class ProfileUpdate(BaseModel):
    """A partial update: only the fields sent change, and null clears a field."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    bio: Bio | None = None
    avatar_file_id: uuid.UUID | None = None


class ProfilePage(BaseModel):
    """One page of profiles, newest first; `next_cursor` is null on the last page."""

    items: list[ProfileRead]
    next_cursor: str | None
