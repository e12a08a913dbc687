"""What a GET of a file's content answers: status, byte span and headers.

Ranges and conditionals follow RFC 9110 §13-14; the disposition follows RFC 6266 with RFC 8187's
`filename*` for names that are not plain ASCII.
"""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from files_service.errors import RangeNotSatisfiable

# At most 18 digits: larger numbers are no size a file has (and int() refuses very long ones).
_SINGLE_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})", re.IGNORECASE)
_ETAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*')
# RFC 8187 attr-char: what `filename*` may carry unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


@dataclass(frozen=True)
class Download:
    """The answer to plan: 304 (no body), 200 (the whole file) or 206 (bytes [start, stop))."""

    status: int
    start: int
    stop: int
    headers: dict[str, str]


def plan_download(
    *,
    size: int,
    sha256: str,
    filename: str,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Download:
    """A matching If-None-Match wins (304); then one satisfiable range (206), an unsatisfiable
    one (416), or the whole file (200) when there is no usable Range."""
    etag = f'"{sha256}"'
    cache = {"ETag": etag, "Cache-Control": "private"}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Download(status=304, start=0, stop=0, headers=cache)
    headers = {
        **cache,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        # Opened in a browser anyway, the bytes run nothing and reach nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    span = None
    if range_header is not None and (if_range is None or if_range.strip() == etag):
        span = parse_range(range_header, size=size)
    if span is None:
        return Download(
            status=200, start=0, stop=size, headers={**headers, "Content-Length": str(size)}
        )
    start, stop = span
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    headers["Content-Length"] = str(stop - start)
    return Download(status=206, start=start, stop=stop, headers=headers)


def parse_range(header: str, *, size: int) -> tuple[int, int] | None:
    """[start, stop) of one `bytes=` range; None for anything to ignore (RFC 9110 §14.2: an
    invalid Range, another unit, or several ranges, which may be answered with the whole file).

    A valid range that starts past the end (or any range of an empty file) is RangeNotSatisfiable.
    """
    match = _SINGLE_RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        stop = int(last) + 1 if last else size
        if last and stop <= start:
            return None  # last-pos before first-pos: invalid, so ignored
    elif last:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size=size)
        start, stop = max(size - suffix, 0), size
    else:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size=size)
    return start, min(stop, size)


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (§13.1.2): W/"x" matches "x".
    if if_none_match.strip() == "*":
        return True
    candidates = (_ETAG.fullmatch(part) for part in if_none_match.split(","))
    return any(found is not None and found.group(1) == etag for found in candidates)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as UTF-8 in `filename*`."""
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\%' else "_"
        for char in unicodedata.normalize("NFKD", filename)
        if not unicodedata.combining(char)  # "é" falls back to "e", not to "e_"
    ).strip()
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{encoded}"
