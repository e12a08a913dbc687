"""`make test-chaos`: the local suite (tools.chaos) under faults, one scenario per module.

The scenarios share one suite, started once, and run in the order of their modules; each prints
its figures at the end of the run (and into .state/chaos/report.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tools import chaos

FIGURES: dict[str, dict[str, object]] = {}


@pytest.fixture(scope="session")
def stack() -> Iterator[chaos.Stack]:
    started = chaos.Stack()
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """`report(**figures)`: what this scenario counted, printed at the end of the run."""

    def add(**figures: object) -> None:
        FIGURES.setdefault(request.node.name, {}).update(figures)
        path = chaos.LAYOUT.state / "report.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(FIGURES, indent=2, default=str))

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("chaos figures")
    for scenario, figures in FIGURES.items():
        terminalreporter.write_line(scenario)
        for name, value in figures.items():
            terminalreporter.write_line(f"    {name}: {value}")
