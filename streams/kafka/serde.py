"""The codec of each topic: single-object encoding, or the schema registry's framing if one is set.

Without a schema registry, events travel in Avro single-object encoding (self-describing, readable
with only the `.avsc` files); with one, in the Confluent Schema Registry framing.
"""

from __future__ import annotations

from streams.core.codecs import Codec, SchemaSet, SingleObjectCodec
from streams.kafka.schema_registry import RegistryCodec, registry_client

__all__ = ["codec_for"]


def codec_for(
    schema_name: str,
    *,
    topic: str,
    registry_url: str | None = None,
    schemas: SchemaSet | None = None,
) -> Codec:
    """The codec of schema `schema_name` (e.g. `ImageReference.SCHEMA`) for values on `topic`.

    Single-object encoding when `registry_url` is None, else the Confluent framing through the
    registry at `registry_url`. `schemas` defaults to the repository's `schemas/` directory.
    """
    known = schemas if schemas is not None else SchemaSet.load()
    if registry_url is None:
        return SingleObjectCodec(known, schema_name)
    return RegistryCodec(known, schema_name, client=registry_client(registry_url), topic=topic)
