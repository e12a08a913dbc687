"""The name a file is stored under: never a path, never a control character, never too long."""

import re
import unicodedata

MAX_FILENAME_BYTES = 255
_MAX_EXTENSION_BYTES = 32
FALLBACK = "file"

# Bidirectional overrides and marks make "evil\u202egnp.exe" display as "evilexe.png".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def sanitize_filename(raw: str) -> str:
    """The basename only (either slash), NFC, without control characters, trimmed, at most
    255 bytes of UTF-8 keeping the extension; nothing left (or only dots) is "file"."""
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        char for char in name if unicodedata.category(char) != "Cc" and char not in _BIDI_CONTROLS
    ).strip()
    if not name.strip("."):
        return FALLBACK
    return _shorten(name)


def _shorten(name: str) -> str:
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > _MAX_EXTENSION_BYTES:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = MAX_FILENAME_BYTES - len(suffix.encode())
    # Cut on a character boundary: a partial UTF-8 sequence at the end is dropped.
    stem = stem.encode()[:room].decode(errors="ignore").rstrip()
    return unicodedata.normalize("NFC", stem + suffix)
