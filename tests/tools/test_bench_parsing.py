"""The bench reads wrk's report right (rates of successful answers only, latencies in ms) and
counts CPU only while a load runs."""

from __future__ import annotations

import os
import time

from tools.bench_chart import table
from tools.bench_setup import Row
from tools.loadgen import CpuMeter, median_run, parse_wrk, percentile

REPORT = """Running 5s test @ http://127.0.0.1:8080/api/v1/todos?limit=20
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    40.12ms   10.00ms 200.00ms   90.00%
  Latency Distribution
     50%  850.00us
     75%   45.00ms
     90%   60.00ms
     99%    1.20s
  5000 requests in 5.00s, 1.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 10
  Non-2xx or 3xx responses: 990
Requests/sec:   1000.00
Transfer/sec:    200.00KB
"""


def test_a_wrk_report_counts_errors_out_of_the_rate() -> None:
    run = parse_wrk(REPORT)

    assert (run.requests, run.errors) == (5000, 1000)
    assert run.rate == 800.0
    assert (run.p50_ms, run.p99_ms) == (0.85, 1200.0)


def test_the_median_run_is_one_real_run_and_percentiles_are_nearest_rank() -> None:
    slow, mid, fast = (parse_wrk(REPORT.replace("1000.00", rate)) for rate in ("1", "2", "3"))

    assert median_run([fast, slow, mid]) is mid
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([5.0], 0.5) == 5.0


def test_the_table_marks_missed_goals() -> None:
    missed = Row(name="list", value=900.0, unit="req/s", ratio=0.2, goal=">= 0.30", met=False)

    assert table([missed])[2].startswith("| list | 900 req/s | 0.20 | >= 0.30 | **no** |")


def _burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_cpu_is_counted_only_between_start_and_pause() -> None:
    meter = CpuMeter({"me": [os.getpid()]})
    for _ in range(2):
        meter.start()
        _burn(0.1)
        meter.pause()
        _burn(0.1)  # between runs (the ceiling's turn): not this row's
    spent = meter.stop(requests=1)["me"] / 1e6
    # Clock ticks are 10 ms; twice the loads would be 0.4 s.
    assert 0.17 <= spent <= 0.26, spent
