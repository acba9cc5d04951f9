"""How long the event loop was held: a timer ticking on it comes late by as much as a blocking
call kept the loop from running it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from streams.core.codecs.base import Codec

__all__ = ["BlockingCodec", "TimerLateness"]


class TimerLateness:
    """While in use (`async with`), a timer ticks every `interval` seconds on the running loop;
    `worst` is the most seconds a tick came late, a tick still due at the end included."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.worst = 0.0
        self._due = 0.0
        self._ticking: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TimerLateness:
        self._due = asyncio.get_running_loop().time() + self.interval
        self._ticking = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._note(asyncio.get_running_loop().time())
        assert self._ticking is not None
        self._ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticking

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._due - loop.time()))
            now = loop.time()
            self._note(now)
            self._due = now + self.interval

    def _note(self, now: float) -> None:
        self.worst = max(self.worst, now - self._due)


class BlockingCodec(Codec):
    """`codec`, whose every call first blocks its thread for `seconds`, as a call waiting on a
    schema registry does."""

    def __init__(self, codec: Codec, seconds: float) -> None:
        self.schema = codec.schema
        self._codec = codec
        self._seconds = seconds

    def encode(self, record: Mapping[str, Any]) -> bytes:
        time.sleep(self._seconds)
        return self._codec.encode(record)

    def decode(self, data: bytes) -> dict[str, Any]:
        time.sleep(self._seconds)
        return self._codec.decode(data)
