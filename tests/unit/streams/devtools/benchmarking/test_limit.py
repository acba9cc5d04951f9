"""The compute limit's timing: the least CPU time of a few calls, whatever the wall clock."""

from __future__ import annotations

import time

from streams.devtools.benchmarking.limit import least_cpu_seconds


def test_the_least_cpu_time_of_the_repeats_is_taken_and_sleeping_costs_none() -> None:
    calls: list[int] = []

    def sleep_then_spin() -> None:
        calls.append(len(calls))
        time.sleep(0.05)
        # The first call spins longest: the least is one of the later ones.
        deadline = time.process_time() + (0.05 if len(calls) == 1 else 0.005)
        while time.process_time() < deadline:
            pass

    seconds = least_cpu_seconds(sleep_then_spin, 3)

    assert calls == [0, 1, 2]
    assert 0.004 <= seconds < 0.04
