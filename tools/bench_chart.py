"""The bench's report: a markdown table and a PNG chart of the rows `tools.bench` measured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

# The object API, not pyplot: no global state and no display backend, only a file.
from matplotlib.figure import Figure


class RowLike(Protocol):
    name: str
    value: float
    unit: str
    ratio: float | None
    goal: str
    met: bool | None
    p50_ms: float | None
    p99_ms: float | None
    errors: int | None
    cpu_us: dict[str, float]


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(rows: Sequence[RowLike]) -> list[str]:
    """The rows as a markdown table: figure, ratio, goal, latency, errors, CPU per request."""
    lines = [
        "| what | figure | ratio | goal | met | p50 ms | p99 ms | errors | CPU µs/request |",
        "|---|---:|---:|---|:-:|---:|---:|---:|---|",
    ]
    for row in rows:
        cpu = ", ".join(f"{name} {us:,.0f}" for name, us in row.cpu_us.items())
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(
            f"| {row.name} | {_number(row.value, 1 if row.value < 100 else 0)} {row.unit} "
            f"| {_number(row.ratio, 2)} | {row.goal} | {met} | {_number(row.p50_ms, 1)} "
            f"| {_number(row.p99_ms, 1)} | {_number(row.errors)} | {cpu} |"
        )
    return lines


def draw(rows: Sequence[RowLike], path: Path) -> None:
    """Requests/s and p99 of each endpoint loaded with wrk, with its ratio to the ceiling."""
    loaded = [row for row in rows if row.unit == "req/s"]
    names = [
        row.name.split(", errors")[0].replace(", 2 processes, minimal nginx", "") for row in loaded
    ]
    rates = [row.value for row in loaded]
    p99s = [row.p99_ms or 0.0 for row in loaded]
    figure = Figure(figsize=(13, 0.55 * len(loaded) + 1.6))
    left, right = figure.subplots(1, 2)
    positions = range(len(loaded))
    bars = left.barh(positions, rates, color="#4c72b0")
    left.set_yticks(list(positions), names)
    left.invert_yaxis()
    left.set_xlabel("requests/s through nginx (median of 3 runs)")
    for bar, row in zip(bars, loaded, strict=True):
        left.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {row.value:,.0f} (x{_number(row.ratio, 2)})",
            va="center",
            fontsize=8,
        )
    left.set_xlim(0, max(rates) * 1.35)
    right.barh(positions, p99s, color="#dd8452")
    right.set_yticks(list(positions), [""] * len(loaded))
    right.invert_yaxis()
    right.set_xlabel("p99 latency, ms")
    for position, value in zip(positions, p99s, strict=True):
        right.text(value, position, f" {value:,.1f}", va="center", fontsize=8)
    right.set_xlim(0, max(p99s) * 1.3 or 1)
    figure.suptitle("make bench: each endpoint ÷ a trivial FastAPI ping (x ratio)")
    figure.tight_layout()
    options: dict[str, Any] = {"dpi": 110}
    figure.savefig(path, **options)
