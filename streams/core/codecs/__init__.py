"""Avro codecs of the pipeline's events: the `.avsc` schemas, typed records, single-object encoding.

The Confluent Schema Registry framing, which talks to a registry, is
`streams.kafka.schema_registry`; `streams.kafka.serde.codec_for` chooses between the two.
"""

from __future__ import annotations

from streams.core.codecs.base import Codec, Deserializer, Serializer
from streams.core.codecs.records import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
    ProofLocation,
    ProofWindow,
)
from streams.core.codecs.schemas import NamedSchema, SchemaSet
from streams.core.codecs.single_object import SingleObjectCodec

__all__ = [
    "Codec",
    "CredentialIssued",
    "Deserializer",
    "ImageReference",
    "NamedSchema",
    "ProcessingFailed",
    "ProofCreated",
    "ProofLocation",
    "ProofWindow",
    "SchemaSet",
    "Serializer",
    "SingleObjectCodec",
]
