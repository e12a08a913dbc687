"""A file's content type, from its first bytes only: what the client declared is never trusted."""

import codecs

import filetype

SNIFF_BYTES = 8192
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"

# Text has no NUL and few control characters; these are the ones plain text does use.
_TEXT_CONTROLS = frozenset("\t\n\r\f\b\x1b")


def detect_content_type(head: bytes, *, whole: bool) -> str:
    """Magic numbers first (images, archives, media, documents); else UTF-8 text; else binary.

    `whole` says the head is the entire file, so a cut multi-byte character at its end is an error.
    An empty file is binary: nothing shows it is text.
    """
    if not head:
        return BINARY
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    return TEXT if _looks_like_text(head, whole=whole) else BINARY


def _looks_like_text(head: bytes, *, whole: bool) -> bool:
    # Incremental, so a multi-byte character cut where the head ends is not an error.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return not any(ord(char) < 32 and char not in _TEXT_CONTROLS for char in text) and (
        "\x7f" not in text
    )
