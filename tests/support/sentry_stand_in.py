"""A Sentry stand-in: an HTTP server on loopback that accepts Sentry envelopes and keeps them,
so that tests can read what a worker would have sent to Sentry."""

from __future__ import annotations

import gzip
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Envelope", "SentryStandIn", "parse_envelope"]


@dataclass(frozen=True)
class Envelope:
    """One envelope as the server received it: the decompressed body and its parsed items."""

    project: str
    auth: str
    body: bytes
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header["type"] == "event"]


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """The header and items of a Sentry envelope: a JSON header line, then per item a JSON
    header line and a payload of `length` bytes (or up to the next newline without one)."""
    header_line, _, rest = data.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        items.append((item_header, payload))
    return json.loads(header_line), items


class SentryStandIn(ThreadingHTTPServer):
    """Accepts `POST /api/<project>/envelope/` on loopback and keeps what it received."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EnvelopeHandler)
        self.envelopes: list[Envelope] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def received(self) -> list[Envelope]:
        with self._lock:
            return list(self.envelopes)

    def keep(self, envelope: Envelope) -> None:
        with self._lock:
            self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in self.received() for event in envelope.events()]


class _EnvelopeHandler(BaseHTTPRequestHandler):
    server: SentryStandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        match = re.fullmatch(r"/api/(\d+)/envelope/", self.path)
        encoding = self.headers.get("Content-Encoding", "identity")
        if match is None or encoding not in {"gzip", "identity"}:
            self.server.rejected.append(f"{self.path} {encoding}")
            self.send_error(400)
            return
        if encoding == "gzip":
            body = gzip.decompress(body)
        header, items = parse_envelope(body)
        self.server.keep(
            Envelope(match[1], self.headers.get("X-Sentry-Auth", ""), body, header, items)
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was received, not an access log."""
