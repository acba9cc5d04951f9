"""The Confluent Schema Registry wire format, for deployments that run a schema registry.

Each message is a zero magic byte, the 4-byte big-endian registry id of the writer schema, then
the Avro binary encoding of the record. The writer schema is registered under the subject
`<topic>-value` and fetched back by id to decode.

Encoding and decoding block while they ask the registry: a worker calls them from a thread and
retries an outage with its backoff; a command's codec (`PatientCodec`) waits a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

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
from streams.core.errors import DecodeFailed, DependencyUnavailable, TransientError
from streams.core.retry import RetryPolicy, retry_call

__all__ = ["PatientCodec", "RegistryCodec", "registry_client"]

T = TypeVar("T")

# A command waits out a registry blip (or a registry starting up): 6 attempts, about 6-12 s of
# waits between them.
_COMMAND_ATTEMPTS = 6
_COMMAND_RETRY = RetryPolicy(base_seconds=0.5, max_seconds=4.0)


@cache
def registry_client(url: str, timeout_seconds: float = 5.0) -> SchemaRegistryClient:
    """The process-wide client of the registry at `url` (`mock://...` for an in-memory one), each
    request of which fails after `timeout_seconds` without an answer.

    Shared so that its schema cache is, and so that codecs of one `mock://` URL see one registry.
    It makes one attempt per call: the client's own retries would sleep in the calling thread,
    unseen by the caller's retry loop (`streams.core.retry`), which waits without blocking an
    event loop and counts and logs every retry.
    """
    return SchemaRegistryClient.new_client(
        {"url": url, "timeout": timeout_seconds, "max.retries": 0}
    )


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
        """The framed record; a registry that cannot be reached, or does not answer within the
        client's timeout, raises `TransientError`. Blocks while it asks the registry.

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
        """The record; an unreachable or silent registry raises `TransientError`, not
        `DecodeFailed`. Blocks while it asks the registry."""
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


class PatientCodec(Codec):
    """`codec`, of the registry at `url`, as a command uses it: a registry outage
    (`TransientError`) is waited out with `retry`'s backoff for up to `attempts` attempts, then
    ends the command as `DependencyUnavailable` (one line, exit status 69).

    A command has no event loop to keep responsive, so it may sleep between attempts; it should
    not fail on a blip, nor hang on an outage.
    """

    def __init__(
        self,
        codec: Codec,
        url: str,
        *,
        retry: RetryPolicy = _COMMAND_RETRY,
        attempts: int = _COMMAND_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.schema = codec.schema
        self._codec = codec
        self._url = url
        self._retry = retry
        self._attempts = attempts
        self._sleep = sleep

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._waiting(partial(self._codec.encode, record))

    def decode(self, data: bytes) -> dict[str, Any]:
        return self._waiting(partial(self._codec.decode, data))

    def _waiting(self, call: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            return retry_call(
                call,
                self._retry,
                retry_on=TransientError,
                attempts=self._attempts,
                sleep=self._sleep,
            )
        except TransientError as error:
            raise DependencyUnavailable(
                f"the schema registry at {_without_credentials(self._url)} "
                f"(CREDLINK_SCHEMA_REGISTRY_URL) failed {self._attempts} attempts over "
                f"{time.monotonic() - started:.0f} s, the last with: {error}: start it, or set "
                "CREDLINK_SCHEMA_REGISTRY_URL to yours"
            ) from error


def _without_credentials(url: str) -> str:
    """`url` without the user name and password it may carry."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
