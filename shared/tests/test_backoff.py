from __future__ import annotations

from shared.backoff import Backoff


def test_delays_grow_to_the_cap_and_are_spread() -> None:
    backoff = Backoff(base=0.2, cap=5.0)
    delays = [backoff.next_delay() for _ in range(60)]
    assert all(0.2 <= d <= 5.0 for d in delays)
    assert delays[0] == 0.2  # the first retry is quick
    # Bounds 0.4, 0.8, ... reach the cap: later draws go past what a fixed doubling would allow
    # early on, and two replicas (two Backoffs) do not retry in lockstep.
    assert max(delays[6:]) > 1.6
    other = Backoff(base=0.2, cap=5.0)
    assert [other.next_delay() for _ in range(60)][3:] != delays[3:]


def test_reset_brings_the_first_delay_back() -> None:
    backoff = Backoff(base=0.2, cap=5.0)
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.2
    assert backoff.next_delay() <= 0.4


def test_a_cap_below_the_base_wins() -> None:
    backoff = Backoff(base=0.2, cap=0.05)
    assert {backoff.next_delay() for _ in range(5)} == {0.05}
