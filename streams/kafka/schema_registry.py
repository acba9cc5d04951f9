"""The Confluent Schema Registry wire format, for deployments that run a schema registry.

Each message is a zero magic byte, the 4-byte big-endian registry id of the writer schema, then
the Avro binary encoding of the record. The writer schema is registered under the subject
`<topic>-value` and fetched back by id to decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    SchemaRegistryError,
    prefix_schema_id_serializer,
    topic_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer

# The HTTP client the registry client itself uses (httpx2, or httpx where that is missing), so
# that its transport errors are the ones caught here.
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import OAuthTokenError
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.core.codecs.base import Codec
from streams.core.codecs.schemas import SchemaSet
from streams.core.errors import DecodeFailed, TransientError

__all__ = ["RegistryCodec", "registry_client"]


@cache
def registry_client(url: str) -> SchemaRegistryClient:
    """The process-wide client of the registry at `url` (`mock://...` for an in-memory one).

    Shared so that its schema cache is, and so that codecs of one `mock://` URL see one registry.
    """
    return SchemaRegistryClient.new_client({"url": url})


def _is_transient(error: SchemaRegistryError) -> bool:
    status = error.http_status_code
    return status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR


class RegistryCodec(Codec):
    """Confluent-framed Avro of one schema, as the value of messages on `topic`."""

    def __init__(
        self, schemas: SchemaSet, name: str, *, client: SchemaRegistryClient, topic: str
    ) -> None:
        self.schema = schemas[name]
        self._context = SerializationContext(topic, MessageField.VALUE)
        self._serializer = AvroSerializer(
            client,
            self.schema.to_json(),
            conf={
                "subject.name.strategy": topic_subject_name_strategy,
                # The codec interface carries no message headers, so the schema id must travel
                # in the payload prefix (the classic Confluent framing).
                "schema.id.serializer": prefix_schema_id_serializer,
                "validate.strict.allow.default": True,
            },
        )
        self._deserializer = AvroDeserializer(
            client,
            self.schema.to_json(),
            conf={"subject.name.strategy": topic_subject_name_strategy},
        )

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """The framed record; a registry that cannot be reached raises `TransientError`.

        A schema the registry refuses (e.g. incompatible with the subject's) raises its
        `SchemaRegistryError`: a deployment error, not a transient one.
        """
        try:
            data = self._serializer(dict(record), self._context)
        except (httpx.TransportError, OAuthTokenError) as exc:
            raise TransientError(f"schema registry unavailable to register: {exc}") from exc
        except SchemaRegistryError as exc:
            if _is_transient(exc):
                raise TransientError(f"schema registry failed to register: {exc}") from exc
            raise
        return cast(bytes, data)

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record; an unreachable registry raises `TransientError`, not `DecodeFailed`."""
        try:
            record = self._deserializer(data, self._context)
        except (httpx.TransportError, OAuthTokenError) as exc:
            raise TransientError(f"schema registry unavailable to decode: {exc}") from exc
        except SchemaRegistryError as exc:
            if exc.http_status_code == httpx.codes.NOT_FOUND:
                raise DecodeFailed(
                    f"undecodable {self.schema.name} in Confluent framing: writer schema id "
                    f"unknown to the registry ({exc})"
                ) from exc
            raise TransientError(f"schema registry failed to look up the writer: {exc}") from exc
        # The bytes are untrusted: framing errors and fastavro's reports of a malformed body
        # come as whatever the failing step raised (SerializationError, struct.error, EOFError,
        # SchemaResolutionError, ...).
        except Exception as exc:
            raise DecodeFailed(
                f"undecodable {self.schema.name} in Confluent framing: {type(exc).__name__}: {exc}"
            ) from exc
        return cast(dict[str, Any], record)
