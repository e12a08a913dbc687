"""What the files API reads and writes."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class FileRead(BaseModel):
    """A file's metadata; `content_type` is what its bytes are, whatever the client declared."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class FilePage(BaseModel):
    """One page of the caller's files, newest first; `next_cursor` is null on the last page."""

    items: list[FileRead]
    next_cursor: str | None
