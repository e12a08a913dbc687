"""Byte counting for uploads and downloads, so a caller can draw a progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

# Called with the bytes moved since the last call.
Progress = Callable[[int], None]


class CountingReader:
    """A whole binary file that reports every read to `progress`; httpx streams uploads by
    reading it in chunks, and sizes them with fileno() or seek()/tell()."""

    def __init__(self, file: BinaryIO, progress: Progress | None) -> None:
        self._file = file
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        if self._progress is not None and chunk:
            self._progress(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()
