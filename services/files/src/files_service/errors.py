"""Domain errors of the files service, each with a stable client-facing `code`."""

from shared.errors import Forbidden, NotFound, ProblemError


class FileNotFound(NotFound):
    """No such file for this caller: unknown, malformed, deleted, or another user's (never 403)."""

    def __init__(self) -> None:
        super().__init__("There is no such file.")


class NotAFileOwner(Forbidden):
    """The token's subject is not a user account (auth sets `sub` to the account's uuid)."""

    def __init__(self) -> None:
        super().__init__("This subject cannot own files.")


class FileTooLarge(ProblemError):
    status = 413
    code = "file_too_large"
    title = "Content Too Large"


class QuotaExceeded(ProblemError):
    status = 413
    code = "quota_exceeded"
    title = "Content Too Large"


class FieldsTooLarge(ProblemError):
    """The form's other fields (ignored) exceed their small allowance."""

    status = 413
    code = "fields_too_large"
    title = "Content Too Large"


class NotMultipart(ProblemError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class MalformedMultipart(ProblemError):
    status = 400
    code = "malformed_multipart"
    title = "Bad Request"


class MissingFile(ProblemError):
    status = 422
    code = "missing_file"
    title = "Unprocessable Content"


class TooManyFiles(ProblemError):
    status = 422
    code = "too_many_files"
    title = "Unprocessable Content"


class UploadInterrupted(ProblemError):
    """The client stopped sending before the body ended; nothing of the upload is kept."""

    status = 400
    code = "upload_interrupted"
    title = "Bad Request"


class RangeNotSatisfiable(ProblemError):
    status = 416
    code = "range_not_satisfiable"
    title = "Range Not Satisfiable"

    def __init__(self, *, size: int) -> None:
        super().__init__(
            "The range does not overlap the file.", headers={"Content-Range": f"bytes */{size}"}
        )
