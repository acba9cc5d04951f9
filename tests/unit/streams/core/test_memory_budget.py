"""Specification of `streams.core.memory_budget`: reservations wait until they fit, in order, and
one larger than the whole budget still gets its turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from streams.core.memory_budget import MemoryBudget

WAIT = 5.0  # seconds a test waits for something that should happen at once


class Holder:
    """A thread that reserves `amount` and holds it until released."""

    def __init__(self, budget: MemoryBudget, amount: int, log: list[str], name: str) -> None:
        self.granted = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(budget, amount, log, name))
        self.thread.start()

    def _run(self, budget: MemoryBudget, amount: int, log: list[str], name: str) -> None:
        with budget.reserve(amount):
            log.append(name)
            self.granted.set()
            self.release.wait(WAIT)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_reservations_that_fit_together_are_held_at_once() -> None:
    budget, log = MemoryBudget(100), list[str]()
    first, second = Holder(budget, 60, log, "first"), Holder(budget, 40, log, "second")

    assert first.granted.wait(WAIT)
    assert second.granted.wait(WAIT)
    assert budget.held == 100
    first.finish()
    second.finish()
    assert budget.held == 0


def test_a_reservation_that_does_not_fit_waits_for_a_release() -> None:
    budget, log = MemoryBudget(100), list[str]()
    first = Holder(budget, 60, log, "first")
    assert first.granted.wait(WAIT)
    second = Holder(budget, 50, log, "second")

    assert not second.granted.wait(0.2)
    first.finish()
    assert second.granted.wait(WAIT)
    second.finish()


def test_a_reservation_larger_than_the_budget_is_granted_alone() -> None:
    budget, log = MemoryBudget(100), list[str]()
    small = Holder(budget, 10, log, "small")
    assert small.granted.wait(WAIT)
    huge = Holder(budget, 500, log, "huge")

    assert not huge.granted.wait(0.2)
    small.finish()
    assert huge.granted.wait(WAIT)
    assert budget.held == 500
    huge.finish()


def test_reservations_are_granted_in_the_order_asked_so_a_large_one_is_not_starved() -> None:
    budget, log = MemoryBudget(100), list[str]()
    first = Holder(budget, 30, log, "first")
    assert first.granted.wait(WAIT)
    large = Holder(budget, 90, log, "large")
    assert eventually(lambda: budget.waiting == 1)
    small = Holder(budget, 10, log, "small")  # would fit next to `first`, but `large` asked first

    assert not small.granted.wait(0.2)
    first.finish()
    assert large.granted.wait(WAIT)
    large.finish()
    assert small.granted.wait(WAIT)
    small.finish()
    assert log == ["first", "large", "small"]


def test_a_failure_inside_the_block_gives_the_bytes_back() -> None:
    budget = MemoryBudget(100)

    with pytest.raises(RuntimeError), budget.reserve(80):
        raise RuntimeError("decoder failed")

    assert budget.held == 0


def test_a_budget_needs_at_least_one_byte() -> None:
    with pytest.raises(ValueError, match="at least 1 byte"):
        MemoryBudget(0)
