"""Domain errors of the users service, each with a stable client-facing `code`."""

import uuid

from shared.errors import NotFound, ProblemError


class ProfileNotFound(NotFound):
    """No profile for this user: an unknown or malformed id, a deleted one, or one not created yet."""

    def __init__(self) -> None:
        super().__init__("There is no profile for this user.")


class InvalidAvatar(ProblemError):
    """An avatar must be a file the caller owns and that still exists, as far as users knows."""

    status = 422
    code = "invalid_avatar"
    title = "Invalid Avatar"

    def __init__(self, file_id: uuid.UUID) -> None:
        reason = f"{file_id} is not a file of yours"
        super().__init__(
            f"The avatar must be a file of yours: {reason}.",
            extra={
                "errors": [{"loc": ["body", "avatar_file_id"], "msg": reason, "type": self.code}]
            },
        )
