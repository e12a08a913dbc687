"""Entity tags of todos: a todo's ETag is its version, as a strong tag (`"3"`).

The version alone is enough: an ETag is only ever compared for the one todo it came from.
"""

from collections.abc import Set


def etag(version: int) -> str:
    """The strong ETag of this version of a todo."""
    return f'"{version}"'


def parse_if_match(header: str | None) -> Set[int] | None:
    """The versions an `If-Match` accepts; None (no header, or `*`) accepts any existing todo.

    If-Match uses the strong comparison (RFC 9110 13.1.1), so `W/"3"` never matches, and a
    header that names no version of ours is a precondition that cannot hold (an empty set).
    """
    if header is None:
        return None
    tags = {tag.strip() for tag in header.split(",")}
    if "*" in tags:
        return None
    return {version for tag in tags if (version := _version(tag)) is not None}


def _version(tag: str) -> int | None:
    # Strong comparison is character for character: `"03"` is not the tag of version 3.
    inner = tag[1:-1]
    if not (0 < len(inner) <= 18 and inner.isascii() and inner.isdigit()):
        return None
    version = int(inner)
    return version if etag(version) == tag else None
