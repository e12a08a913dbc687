"""The `file` part of a multipart/form-data body (RFC 7578), read while the body arrives.

Nothing is spooled: each chunk of the request goes through python-multipart's streaming parser and
the file's bytes come out as they are parsed, so memory stays flat whatever the upload's size.
"""

from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from files_service.errors import (
    FieldsTooLarge,
    MalformedMultipart,
    MissingFile,
    NotMultipart,
    TooManyFiles,
)

FILE_FIELD = "file"
MAX_PARTS = 32
# Other fields are read and ignored; together they may carry at most this much.
MAX_OTHER_FIELDS_BYTES = 64 * 1024


class FormFile:
    """The one `file` part of a form: `start()` reads up to its content, `chunks()` yields it.

    Other fields are ignored; a second `file` part is TooManyFiles. The body is read to its closing
    boundary before `chunks()` ends, so a truncated body is MalformedMultipart, never a short file.
    """

    def __init__(self, *, content_type: str | None, body: AsyncIterator[bytes]) -> None:
        self._body = body
        self._parser = MultipartParser(
            _boundary(content_type),
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )
        self.filename = ""
        """The name the client sent (not yet sanitised); "" if it sent none."""
        self._parts = 0
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._in_file = False
        self._found = False
        self._ended = False
        self._other_bytes = 0
        self._pending: list[bytes] = []

    async def start(self) -> None:
        """Read until the `file` part's content begins; MissingFile if the form has none."""
        while not self._found:
            if not await self._feed():
                raise MissingFile(f"The form has no `{FILE_FIELD}` field.")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive, then the rest of the body up to its closing boundary."""
        while True:
            pending, self._pending = self._pending, []
            for chunk in pending:
                yield chunk
            if not await self._feed():
                return

    async def _feed(self) -> bool:
        """Parse the next chunk of the body; False once the body has ended (properly)."""
        chunk = b""
        while not chunk:
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                if not self._ended:
                    raise MalformedMultipart("The body ends before its closing boundary.") from None
                return False
        try:
            self._parser.write(chunk)
        except FormParserError:
            raise MalformedMultipart("The body is not valid multipart/form-data.") from None
        return True

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise MalformedMultipart(f"A form may have at most {MAX_PARTS} parts.")
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        # Decoded as latin-1, every byte survives parsing; the name is then read as UTF-8.
        disposition = self._headers.get("content-disposition", b"").decode("latin-1")
        kind, params = parse_options_header(disposition)
        if kind != b"form-data":
            raise MalformedMultipart("Each part needs `Content-Disposition: form-data`.")
        if params.get(b"name") != FILE_FIELD.encode():
            return
        if self._found:
            raise TooManyFiles(f"Send one file per request, in the `{FILE_FIELD}` field.")
        self._found = self._in_file = True
        self.filename = _text(params.get(b"filename", b""))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])
            return
        self._other_bytes += end - start
        if self._other_bytes > MAX_OTHER_FIELDS_BYTES:
            raise FieldsTooLarge(
                f"Fields besides `{FILE_FIELD}` may carry {MAX_OTHER_FIELDS_BYTES} bytes in all."
            )

    def _on_part_end(self) -> None:
        self._in_file = False

    def _on_end(self) -> None:
        self._ended = True


def _boundary(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise NotMultipart("Send the file as multipart/form-data.")
    boundary = params.get(b"boundary", b"")
    # RFC 2046 §5.1.1: 1 to 70 characters.
    if not 0 < len(boundary) <= 70:
        raise MalformedMultipart("The multipart/form-data content type needs a boundary.")
    return boundary


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")
