"""Specification of `streams.kafka.serde`: one call picks the wire format, and a command's codec
waits out a registry outage."""

from __future__ import annotations

from pathlib import Path

from streams.core.codecs import ImageReference, ProcessingFailed, SchemaSet, SingleObjectCodec
from streams.kafka.schema_registry import PatientCodec, RegistryCodec
from streams.kafka.serde import codec_for, command_codec_for
from streams.settings import Settings
from tests.support.codec_samples import (
    IMAGE_REFERENCE,
    fresh_registry_url,
    image_reference_v2,
    write_schema_dir,
)


def test_without_a_registry_events_use_single_object_encoding() -> None:
    codec = codec_for(ImageReference.SCHEMA, topic="images.submitted")

    assert isinstance(codec, SingleObjectCodec)
    assert codec.schema.name == ImageReference.SCHEMA
    assert codec.encode(IMAGE_REFERENCE.to_avro())[:2] == b"\xc3\x01"


def test_with_a_registry_events_use_the_confluent_framing() -> None:
    codec = codec_for(
        ProcessingFailed.SCHEMA, topic="images.dlq", registry_url=fresh_registry_url()
    )

    assert isinstance(codec, RegistryCodec)
    assert codec.schema.name == ProcessingFailed.SCHEMA


def test_codecs_of_one_registry_url_share_one_registry() -> None:
    url = fresh_registry_url()
    producer = codec_for(ImageReference.SCHEMA, topic="images.submitted", registry_url=url)
    consumer = codec_for(ImageReference.SCHEMA, topic="images.submitted", registry_url=url)

    decoded = consumer.decode(producer.encode(IMAGE_REFERENCE.to_avro()))

    assert ImageReference.from_avro(decoded) == IMAGE_REFERENCE


def test_schemas_can_come_from_another_directory(tmp_path: Path) -> None:
    v2 = image_reference_v2()
    schemas = SchemaSet.load(write_schema_dir(tmp_path, [v2], []))

    codec = codec_for(ImageReference.SCHEMA, topic="images.submitted", schemas=schemas)

    assert codec.schema == v2


def test_a_command_waits_out_an_outage_of_its_registry() -> None:
    settings = Settings(_env_file=None).updated(kafka={"schema_registry_url": fresh_registry_url()})

    codec = command_codec_for(ImageReference.SCHEMA, topic="images.submitted", kafka=settings.kafka)

    assert isinstance(codec, PatientCodec)
    assert ImageReference.from_avro(codec.decode(codec.encode(IMAGE_REFERENCE.to_avro()))) == (
        IMAGE_REFERENCE
    )


def test_a_command_without_a_registry_uses_single_object_encoding() -> None:
    kafka = Settings(_env_file=None).kafka

    codec = command_codec_for(ImageReference.SCHEMA, topic="images.submitted", kafka=kafka)

    assert isinstance(codec, SingleObjectCodec)
