"""A budget of bytes that threads reserve before a memory-hungry step, first come first served.

Decoding a picture holds many bytes per pixel for a moment (docs/hashing.md); a worker that
decoded as many pictures at once as it has threads could be killed for its memory by a burst of
large ones, and then again by the same events once restarted. Reservations are granted in the
order they are asked for, each once it fits next to those held; one larger than the whole
budget is granted when nothing else is held, so every reservation is granted eventually.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MemoryBudget"]


class MemoryBudget:
    """`capacity` bytes shared by the threads that `reserve()` them."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a memory budget needs at least 1 byte, got {capacity}")
        self.capacity = capacity
        self._held = 0
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        """Bytes reserved now."""
        with self._changed:
            return self._held

    @property
    def waiting(self) -> int:
        """Reservations asked for and not granted yet."""
        with self._changed:
            return len(self._queue)

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold `amount` bytes of the budget for the block, waiting until they fit."""
        amount = max(amount, 0)
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] is ticket and self._fits(amount))
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may fit too, or be first now
            self._held += amount
        try:
            yield
        finally:
            with self._changed:
                self._held -= amount
                self._changed.notify_all()

    def _fits(self, amount: int) -> bool:
        return self._held == 0 or self._held + amount <= self.capacity
