"""Domain errors of the todos service, each with a stable client-facing `code`."""

import uuid
from collections.abc import Sequence

from shared.errors import Forbidden, NotFound, PreconditionFailed, ProblemError


class TodoNotFound(NotFound):
    """No such todo for this caller: unknown, malformed, deleted, or another user's (never 403)."""

    def __init__(self) -> None:
        super().__init__("There is no such todo.")


class VersionMismatch(PreconditionFailed):
    """`If-Match` names a version the todo no longer has: someone changed it meanwhile."""

    def __init__(self) -> None:
        super().__init__("The todo has changed since the given ETag; fetch it again.")


class NotAUser(Forbidden):
    """The token's subject is not a user id (auth sets `sub` to the account's uuid)."""

    def __init__(self) -> None:
        super().__init__("Only user accounts have todos.")


class InvalidAttachment(ProblemError):
    """Attachments must be files the caller owns and that still exist, as far as todos knows."""

    status = 422
    code = "invalid_attachment"
    title = "Invalid Attachment"

    def __init__(self, *, file_ids: Sequence[uuid.UUID], positions: Sequence[int]) -> None:
        names = ", ".join(str(file_id) for file_id in file_ids)
        super().__init__(
            f"These attachments are not files of yours: {names}.",
            extra={
                "errors": [
                    {
                        "loc": ["body", "attachment_ids", str(position)],
                        "msg": f"{file_id} is not a file of yours",
                        "type": "invalid_attachment",
                    }
                    for file_id, position in zip(file_ids, positions, strict=True)
                ]
            },
        )
