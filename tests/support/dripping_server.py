"""An https server on loopback that answers a byte at a time, each just inside a read timeout,
and an httpx client that reaches it under any host name: for whole-attempt fetch deadlines."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION as SocketOption

from tests.support.tls import make_pki

__all__ = ["dripping_https_server"]

HOST = "localhost"  # the name the test CA's server certificate carries


class _ToLoopbackPort(httpcore.SyncBackend):
    """Connects every host name to one loopback port."""

    def __init__(self, port: int) -> None:
        self._port = port

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        return super().connect_tcp("127.0.0.1", self._port, timeout, local_address, socket_options)


@contextmanager
def dripping_https_server(workdir: Path, pause: float) -> Iterator[tuple[str, httpx.Client]]:
    """(the host to fetch from, a client trusting the server) while a server on a free loopback
    port sends an endless status line and headers, one byte every `pause` seconds."""
    pki = make_pki(workdir / "pki", client_key_password="unused")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(pki.broker_keystore_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def drip(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            tls = server_context.wrap_socket(connection, server_side=True)
            tls.recv(65536)  # the request
            answer = b"HTTP/1.1 200 OK\r\n" + b"X-Drip: " + b"a" * 60000
            for byte in answer:
                if stop.wait(pause):
                    return
                tls.sendall(bytes([byte]))

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    client_context = ssl.create_default_context(cafile=str(pki.ca_file))
    transport = httpx.HTTPTransport(verify=client_context)
    # httpx has no public way to choose a transport's network backend.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=client_context,
        max_keepalive_connections=0,
        network_backend=_ToLoopbackPort(listener.getsockname()[1]),
    )
    client = httpx.Client(transport=transport, trust_env=False)
    try:
        yield HOST, client
    finally:
        stop.set()
        client.close()
        listener.close()
        acceptor.join(timeout=5)
