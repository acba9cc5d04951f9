"""Avro Single Object Encoding: self-describing events, decodable with only the `.avsc` files.

Each message is the 2-byte marker `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer schema, then the Avro binary encoding of the record (Avro specification,
"Single object encoding").
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer

from streams.core.codecs.base import Codec
from streams.core.codecs.schemas import NamedSchema, SchemaSet
from streams.core.errors import DecodeFailed

__all__ = ["HEADER_SIZE", "MARKER", "SingleObjectCodec", "frame", "unframe"]

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


def frame(fingerprint: bytes, body: bytes) -> bytes:
    """The single-object message of an Avro binary `body` written with schema `fingerprint`."""
    return MARKER + fingerprint + body


def unframe(data: bytes) -> tuple[bytes, bytes]:
    """The writer schema fingerprint and the Avro binary body of a single-object message."""
    if len(data) < HEADER_SIZE:
        raise DecodeFailed(
            f"not an Avro single-object message: {len(data)} bytes, shorter than its "
            f"{HEADER_SIZE}-byte header"
        )
    if data[: len(MARKER)] != MARKER:
        raise DecodeFailed(
            f"not an Avro single-object message: starts with {data[:2].hex()}, "
            f"expected marker {MARKER.hex()}"
        )
    return data[len(MARKER) : HEADER_SIZE], data[HEADER_SIZE:]


class SingleObjectCodec(Codec):
    """Single-object encoding of one schema, reading every version `schemas` knows of it."""

    def __init__(self, schemas: SchemaSet, name: str) -> None:
        self.schema = schemas[name]
        self._schemas = schemas

    def encode(self, record: Mapping[str, Any]) -> bytes:
        body = io.BytesIO()
        schemaless_writer(body, self.schema.parsed, record, strict_allow_default=True)
        return frame(self.schema.fingerprint, body.getvalue())

    def decode(self, data: bytes) -> dict[str, Any]:
        fingerprint, body = unframe(data)
        writer = self._read_with(fingerprint)
        stream = io.BytesIO(body)
        try:
            record = schemaless_reader(stream, writer.parsed, self.schema.parsed)
        # The body is untrusted: fastavro reports malformed input with whatever its decoding
        # step raised (EOFError, UnicodeDecodeError, OverflowError, IndexError, ...).
        except Exception as exc:
            raise DecodeFailed(
                f"malformed {self._describe(writer)} body: {type(exc).__name__}: {exc}"
            ) from exc
        if stream.tell() != len(body):
            raise DecodeFailed(
                f"malformed {self._describe(writer)} body: {len(body) - stream.tell()} bytes "
                "left over after the record"
            )
        return cast(dict[str, Any], record)

    def _read_with(self, fingerprint: bytes) -> NamedSchema:
        writer = self._schemas.writer(fingerprint)
        if writer is None:
            raise DecodeFailed(
                f"unknown writer schema fingerprint {fingerprint.hex()}: not any known version of "
                f"any schema (expected {self.schema.name}); is its .avsc file missing?"
            )
        if writer.name != self.schema.name:
            raise DecodeFailed(f"event is of schema {writer.name}, expected {self.schema.name}")
        return writer

    def _describe(self, writer: NamedSchema) -> str:
        return f"{writer.name} (writer fingerprint {writer.fingerprint.hex()})"
