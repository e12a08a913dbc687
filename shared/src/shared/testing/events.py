"""Events other services would publish, as the services' own tests need them."""

from __future__ import annotations

import uuid

from shared.contracts import FileUploaded


def file_uploaded(file_id: uuid.UUID, owner_id: uuid.UUID) -> FileUploaded:
    """The `file.uploaded` of a small text file; only the ids matter to its consumers."""
    return FileUploaded(
        file_id=file_id,
        owner_id=owner_id,
        filename="notes.txt",
        content_type="text/plain",
        size=12,
        sha256="0" * 64,
    )
