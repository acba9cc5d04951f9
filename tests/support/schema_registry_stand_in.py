"""A schema registry stand-in: an HTTP server on loopback that keeps registered schemas in memory,
answering the two calls confluent-kafka's Avro serializer and deserializer make."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.support.tcp_proxy import TcpProxy

__all__ = ["SchemaRegistryStandIn", "proxied_schema_registry", "serving_schema_registry"]

# The registry's own error codes, which its clients read from the body.
_SUBJECT_NOT_FOUND = 40401
_SCHEMA_NOT_FOUND = 40403


class SchemaRegistryStandIn(ThreadingHTTPServer):
    """Answers `POST /subjects/<subject>/versions` (register: `{"id": N}`) and
    `GET /schemas/ids/<id>` (`{"schema": "..."}`) on loopback.

    As in the real registry, ids are global: one schema registered under two subjects has one id.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RegistryHandler)
        self._lock = threading.Lock()
        self._schemas: list[dict[str, Any]] = []  # id N is at index N - 1
        self._subjects: set[str] = set()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """The id of `schema` (`schema`, `schemaType`, `references` as the client sends them),
        registered under `subject`."""
        with self._lock:
            if schema in self._schemas:
                schema_id = self._schemas.index(schema) + 1
            else:
                self._schemas.append(schema)
                schema_id = len(self._schemas)
            self._subjects.add(subject)
            return schema_id

    def schema(self, schema_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._schemas[schema_id - 1] if 0 < schema_id <= len(self._schemas) else None

    def subjects(self) -> set[str]:
        """The subjects schemas were registered under."""
        with self._lock:
            return set(self._subjects)


@contextmanager
def serving_schema_registry() -> Iterator[SchemaRegistryStandIn]:
    """A stand-in answering in a thread of its own until the block ends."""
    server = SchemaRegistryStandIn()
    serving = threading.Thread(target=server.serve_forever, name="schema-registry", daemon=True)
    serving.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=5)


@contextmanager
def proxied_schema_registry() -> Iterator[tuple[SchemaRegistryStandIn, TcpProxy]]:
    """A stand-in, and a proxy in front of it for the client under test to cut off: on a port
    of its own, so that a client of its URL has nothing cached."""
    with serving_schema_registry() as registry:
        proxy = TcpProxy(registry.port)
        try:
            yield registry, proxy
        finally:
            proxy.close()


class _RegistryHandler(BaseHTTPRequestHandler):
    server: SchemaRegistryStandIn

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        match = re.fullmatch(r"/subjects/([^/]+)/versions", urlsplit(self.path).path)
        if match is None:
            self._answer(HTTPStatus.NOT_FOUND, _error(_SUBJECT_NOT_FOUND, "no such endpoint"))
            return
        # The registry stores AVRO, the default type, without naming it.
        schema = {key: value for key, value in body.items() if value not in (None, [], "AVRO")}
        self._answer(HTTPStatus.OK, {"id": self.server.register(unquote(match[1]), schema)})

    def do_GET(self) -> None:
        match = re.fullmatch(r"/schemas/ids/(\d+)", urlsplit(self.path).path)
        schema = self.server.schema(int(match[1])) if match is not None else None
        if schema is None:
            self._answer(HTTPStatus.NOT_FOUND, _error(_SCHEMA_NOT_FOUND, "Schema not found"))
            return
        self._answer(HTTPStatus.OK, schema)

    def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was registered, not an access log."""


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error_code": code, "message": message}
