"""A local SMTP server that keeps every message it receives as an .eml file (aiosmtpd).

    python -m tools.mailsink --port 8025 --dir .state/local/mail

`make run` starts one for auth's mail, and the tests read what it stored. Nothing is relayed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class SaveAsEml:
    """aiosmtpd handler: each accepted message becomes <time>-<id>.eml in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.folder / f".{name}"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def serving(folder: Path, port: int) -> Iterator[Controller]:
    """An SMTP server on 127.0.0.1:`port` for the duration of the block."""
    controller = Controller(SaveAsEml(folder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def messages(folder: Path) -> list[EmailMessage]:
    """Every stored message, oldest first."""
    parser = BytesParser(policy=policy.default)
    found = []
    for path in sorted(folder.glob("*.eml")):
        if path.name.startswith("."):
            continue  # a message still being written (pathlib's glob matches dot files too)
        message = parser.parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with serving(args.dir, args.port):
        print(f"mailsink: SMTP on 127.0.0.1:{args.port}, messages in {args.dir}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
