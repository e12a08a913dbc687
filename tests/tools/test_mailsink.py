"""The mail sink's reader sees whole messages only."""

from __future__ import annotations

from pathlib import Path

from tools import mailsink


def test_a_message_still_being_written_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "1-a.eml").write_bytes(b"To: someone@example.com\r\nSubject: whole\r\n\r\nhi\r\n")
    # What SaveAsEml writes before its rename: readers must not take it (it may vanish mid-read).
    (tmp_path / ".2-b.eml").write_bytes(b"To: someone@example.com\r\nSubj")

    found = mailsink.messages(tmp_path)

    assert [m["Subject"] for m in found] == ["whole"]
