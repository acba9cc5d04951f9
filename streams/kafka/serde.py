"""The codec of each topic: single-object encoding, or the schema registry's framing if one is set.

Without a schema registry, events travel in Avro single-object encoding (self-describing, readable
with only the `.avsc` files); with one, in the Confluent Schema Registry framing.
"""

from __future__ import annotations

from streams.core.codecs import Codec, SchemaSet, SingleObjectCodec
from streams.settings import KafkaSettings

__all__ = ["codec_for", "command_codec_for"]


def codec_for(
    schema_name: str,
    *,
    topic: str,
    registry_url: str | None = None,
    registry_timeout_seconds: float = 5.0,
    schemas: SchemaSet | None = None,
) -> Codec:
    """The codec of schema `schema_name` (e.g. `ImageReference.SCHEMA`) for values on `topic`.

    Single-object encoding when `registry_url` is None, else the Confluent framing through the
    registry at `registry_url`, whose every request fails after `registry_timeout_seconds`
    without an answer. `schemas` defaults to the repository's `schemas/` directory.
    """
    known = schemas if schemas is not None else SchemaSet.load()
    if registry_url is None:
        return SingleObjectCodec(known, schema_name)
    # The registry's client and its OAuth libraries (about 7 MB) are loaded by the processes
    # that use a registry only, as they build their codecs.
    from streams.kafka.schema_registry import RegistryCodec, registry_client

    client = registry_client(registry_url, registry_timeout_seconds)
    return RegistryCodec(known, schema_name, client=client, topic=topic)


def command_codec_for(schema_name: str, *, topic: str, kafka: KafkaSettings) -> Codec:
    """The codec of schema `schema_name` for values on `topic`, as `kafka` sets the wire format,
    for a command: a registry outage is waited out a few seconds, then ends the command."""
    url = kafka.schema_registry_url
    codec = codec_for(
        schema_name,
        topic=topic,
        registry_url=url,
        registry_timeout_seconds=kafka.schema_registry_timeout_seconds,
    )
    if url is None:
        return codec
    from streams.kafka.schema_registry import PatientCodec

    return PatientCodec(codec, url)
