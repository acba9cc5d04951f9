"""A loopback TCP proxy that can cut its clients off: an endpoint outage, for fault tests.

The endpoint behind it keeps running (moto holds its state in memory and would lose it on a
restart); during an `outage` the proxy resets every open connection and every new one, as a
crashed or unreachable server would, and while `stalled` it accepts connections but forwards
nothing, as a server that hangs would.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["TcpProxy"]

_BUFFER = 65536


def _reset(sock: socket.socket) -> None:
    """Close `sock` with a TCP reset rather than an orderly shutdown; `SHUT_RD` first wakes a
    thread blocked reading it (closing alone would leave that thread blocked)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    sock.close()


class TcpProxy:
    """Forwards connections on a free loopback port to `target_port` on the loopback."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._down = threading.Event()
        self._stalled = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: set[socket.socket] = set()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Reset every open connection and refuse new ones until the block ends."""
        self._down.set()
        self._reset_open()
        try:
            yield
        finally:
            self._down.clear()

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """Accept new connections but forward nothing on them, nor answer, until the block ends;
        then reset them."""
        self._stalled.set()
        try:
            yield
        finally:
            self._stalled.clear()
            with self._lock:
                held, self._held = self._held, set()
            for sock in held:
                _reset(sock)

    def close(self) -> None:
        self._closed.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        self._reset_open()

    def _reset_open(self) -> None:
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _reset(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._down.is_set():
                _reset(client)
                continue
            if self._stalled.is_set():
                with self._lock:
                    self._held.add(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_BUFFER):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            source.close()
            sink.close()
