"""`make run` keeps each server's log bounded: one generation kept, the server writing on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.suite import Process


def test_a_log_past_its_limit_is_kept_once_and_started_again(tmp_path: Path) -> None:
    log = tmp_path / "nginx.log"
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read(); print('after', flush=True)"],
        stdin=subprocess.PIPE,
        stdout=log.open("ab"),
    )
    log.write_bytes(b"x" * 100)
    process = Process("nginx", writer, log)

    process.keep_log_small(limit=50)
    writer.communicate(b"")

    assert (tmp_path / "nginx.log.1").read_bytes() == b"x" * 100
    # Appending, the server goes on at the new end: no hole of 100 NUL bytes.
    assert log.read_bytes() == b"after\n"


def test_a_log_within_its_limit_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "todos-1.log"
    log.write_bytes(b"y" * 10)
    process = Process("todos-1", subprocess.Popen([sys.executable, "-c", "pass"]), log)
    process.popen.wait()

    process.keep_log_small(limit=50)

    assert log.read_bytes() == b"y" * 10
    assert not (tmp_path / "todos-1.log.1").exists()
