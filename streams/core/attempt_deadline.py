"""One wall-clock deadline around a whole HTTP attempt: connecting, TLS, headers, body.

httpx's timeout bounds each read, not the attempt: a server that drips its headers a byte at a
time, just inside the read timeout, holds a fetch for as long as it likes. `AttemptDeadline`
watches the connections the attempt opens (through httpcore's `trace` request extension) and,
when the deadline passes, shuts them down: the read that is waiting ends with an error at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

__all__ = ["AttemptDeadline"]

# The trace events of httpcore that hand over a connection's network stream.
_NEW_STREAM_EVENTS = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})


class AttemptDeadline:
    """`seconds` from entering the block; pass `trace` as the request's `trace` extension.

    Only connections opened during the block can be cut, so the client should not reuse pooled
    connections (`httpx.Limits(max_keepalive_connections=0)`).
    """

    def __init__(self, seconds: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._now = now
        self._ends = now() + seconds
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self._fired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def seconds(self) -> float:
        return self._seconds

    @property
    def expired(self) -> bool:
        return self._fired or self._now() >= self._ends

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace callback: remembers each network stream the attempt opens."""
        if event not in _NEW_STREAM_EVENTS:
            return
        stream = info.get("return_value")
        if stream is None:
            return
        with self._lock:
            self._streams.append(stream)
            fired = self._fired
        if fired:
            _cut(stream)

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            streams = list(self._streams)
        for stream in streams:
            _cut(stream)


def _cut(stream: Any) -> None:
    """Shut the stream's socket down under its TLS layer, which wakes a thread reading it."""
    sock = stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            # socket.socket's own shutdown, not SSLSocket's, which would drop its TLS state
            # under a thread that is still reading.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
