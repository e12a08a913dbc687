"""Domain errors of the users service, each with a stable client-facing `code`."""

from shared.errors import NotFound


class ProfileNotFound(NotFound):
    """No profile for this user: an unknown or malformed id, a deleted one, or one not created yet."""

    def __init__(self) -> None:
        super().__init__("There is no profile for this user.")
