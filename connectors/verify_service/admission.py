"""Admission control of the verify service: at most so many requests at work at once, and the
next one turned away at once rather than queued, so the uploads held in memory and the jobs
waiting for the service's threads stay bounded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Admission", "Busy"]


class Busy(Exception):
    """Every place is taken: the request is turned away, not queued."""


class Admission:
    """`limit` places, each held for the length of an `admitted()` block.

    Used from the service's event loop only, so the count needs no lock: nothing runs between
    its test and its increment.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"admission needs at least 1 place, got {limit}")
        self.limit = limit
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Places held now."""
        return self._in_flight

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a place for the block, or raise `Busy` when none is free.

        The place is given back however the block ends: returned, raised, or cancelled when
        its client went away.
        """
        if self._in_flight >= self.limit:
            raise Busy(f"all {self.limit} places are taken")
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
