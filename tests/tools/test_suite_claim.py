"""One suite per state folder: a second `make run` is refused and leaves the first one's servers be."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import suite


def test_a_second_suite_on_the_same_state_folder_is_refused_and_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUITE_STATE_DIR", str(tmp_path))
    layout = suite.Layout("claimed", 0)
    first, second = suite.Suite(layout, 1), suite.Suite(layout, 1)
    first._claim_state()
    manifest = layout.state / suite.MANIFEST
    manifest.write_text("{}")

    with pytest.raises(RuntimeError, match="a suite already runs from"):
        second._claim_state()
    second.stop()  # what its failed start's clean-up does

    assert manifest.exists(), "the refused suite removed the running suite's manifest"
    assert (layout.state / "suite.lock").read_text().strip().isdigit()


def test_the_state_folder_is_free_again_once_its_suite_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUITE_STATE_DIR", str(tmp_path))
    layout = suite.Layout("claimed", 0)
    first = suite.Suite(layout, 1)
    first._claim_state()
    assert first._claim is not None
    first._claim.close()  # as when its process ends, however it ends

    suite.Suite(layout, 1)._claim_state()
