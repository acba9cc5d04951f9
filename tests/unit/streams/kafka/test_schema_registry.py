"""Specification of `streams.kafka.schema_registry`: the Confluent Schema Registry wire format."""

from __future__ import annotations

import io
from typing import Any, NoReturn

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from fastavro import schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from streams.core.codecs import ImageReference, ProofCreated, SchemaSet
from streams.core.errors import DecodeFailed, TransientError
from streams.kafka.schema_registry import RegistryCodec, registry_client
from tests.support.codec_samples import (
    ADDED_FIELD,
    IMAGE_REFERENCE,
    PROOF_CREATED,
    SAMPLES,
    Record,
    fresh_registry_url,
    image_reference_v2,
)

SCHEMAS = SchemaSet.load()
TOPIC = "images.submitted"
CLIENT = registry_client(fresh_registry_url())
IMAGES = RegistryCodec(SCHEMAS, ImageReference.SCHEMA, client=CLIENT, topic=TOPIC)
ENCODED_IMAGE = IMAGES.encode(IMAGE_REFERENCE.to_avro())


def fail_with(error: Exception) -> Any:
    def fail(*args: object, **kwargs: object) -> NoReturn:
        raise error

    return fail


@pytest.mark.parametrize("record", SAMPLES, ids=lambda record: type(record).__name__)
def test_every_event_survives_a_round_trip(record: Record) -> None:
    codec = RegistryCodec(
        SCHEMAS, record.SCHEMA, client=registry_client(fresh_registry_url()), topic="events"
    )

    assert type(record).from_avro(codec.decode(codec.encode(record.to_avro()))) == record


def test_message_is_magic_byte_then_big_endian_schema_id_then_avro_binary_body() -> None:
    body = io.BytesIO()
    schemaless_writer(body, IMAGES.schema.parsed, IMAGE_REFERENCE.to_avro())
    registered = CLIENT.get_latest_version(f"{TOPIC}-value")

    assert ENCODED_IMAGE[0] == 0
    assert int.from_bytes(ENCODED_IMAGE[1:5], "big") == registered.schema_id
    assert ENCODED_IMAGE[5:] == body.getvalue()


def test_the_registered_schema_is_the_avsc_file() -> None:
    registered = CLIENT.get_latest_version(f"{TOPIC}-value")

    assert registered.schema.schema_str == IMAGES.schema.to_json()


def test_a_record_with_a_field_the_schema_lacks_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="typo"):
        IMAGES.encode(IMAGE_REFERENCE.to_avro() | {"typo": "x"})


def test_registry_clients_are_shared_per_url() -> None:
    url = fresh_registry_url()

    assert registry_client(url) is registry_client(url)
    assert registry_client(url) is not registry_client(fresh_registry_url())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "data framing"),
        (b"\x00\x00\x00", "data framing"),
        (b"\x07" + ENCODED_IMAGE[1:], "Invalid magic byte"),
        (b"\xc3\x01" + ENCODED_IMAGE[1:], "Invalid magic byte"),
        (b"\x00\x00\x00\x03\xe7" + ENCODED_IMAGE[5:], "writer schema id unknown"),
        (ENCODED_IMAGE[:-1], "EOFError"),
    ],
    ids=[
        "empty",
        "short",
        "wrong magic byte",
        "single-object framing",
        "unknown schema id",
        "truncated body",
    ],
)
def test_bytes_that_are_not_an_event_fail_to_decode_with_the_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(DecodeFailed, match=reason):
        IMAGES.decode(data)


def test_an_event_of_another_schema_fails_to_decode() -> None:
    proofs = RegistryCodec(SCHEMAS, ProofCreated.SCHEMA, client=CLIENT, topic="proofs.created")
    proof = proofs.encode(PROOF_CREATED.to_avro())

    with pytest.raises(DecodeFailed, match="SchemaResolutionError"):
        IMAGES.decode(proof)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_fail_cleanly(data: bytes) -> None:
    try:
        decoded = IMAGES.decode(data)
    except DecodeFailed:
        return
    assert set(decoded) == {field["name"] for field in IMAGES.schema.definition["fields"]}


def test_new_consumer_reads_old_events_with_the_added_field_defaulted() -> None:
    client = registry_client(fresh_registry_url())
    old_producer = RegistryCodec(SCHEMAS, ImageReference.SCHEMA, client=client, topic=TOPIC)
    new_consumer = RegistryCodec(
        SchemaSet([image_reference_v2()]), ImageReference.SCHEMA, client=client, topic=TOPIC
    )

    decoded = new_consumer.decode(old_producer.encode(IMAGE_REFERENCE.to_avro()))

    assert decoded["priority"] == ADDED_FIELD["default"]
    assert decoded["event_id"] == IMAGE_REFERENCE.event_id


def test_old_consumer_reads_new_events_without_holding_the_new_schema() -> None:
    client = registry_client(fresh_registry_url())
    new_producer = RegistryCodec(
        SchemaSet([image_reference_v2()]), ImageReference.SCHEMA, client=client, topic=TOPIC
    )
    old_consumer = RegistryCodec(SCHEMAS, ImageReference.SCHEMA, client=client, topic=TOPIC)

    decoded = old_consumer.decode(new_producer.encode(IMAGE_REFERENCE.to_avro() | {"priority": 9}))

    assert "priority" not in decoded
    assert ImageReference.from_avro(decoded) == IMAGE_REFERENCE


@pytest.mark.parametrize(
    "outage",
    [
        httpx.ConnectError("connection refused"),
        SchemaRegistryError(503, 50302, "Service Unavailable"),
    ],
    ids=["unreachable", "503"],
)
def test_a_registry_outage_while_decoding_is_transient_not_a_bad_event(
    monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    monkeypatch.setattr(CLIENT, "get_schema", fail_with(outage))

    with pytest.raises(TransientError):
        IMAGES.decode(ENCODED_IMAGE)


@pytest.mark.parametrize(
    "outage",
    [
        httpx.ConnectError("connection refused"),
        SchemaRegistryError(503, 50302, "Service Unavailable"),
        SchemaRegistryError(429, 42901, "Too Many Requests"),
    ],
    ids=["unreachable", "503", "429"],
)
def test_a_registry_outage_while_registering_is_transient(
    monkeypatch: pytest.MonkeyPatch, outage: Exception
) -> None:
    client = SchemaRegistryClient.new_client({"url": fresh_registry_url()})
    monkeypatch.setattr(client, "register_schema_full_response", fail_with(outage))
    codec = RegistryCodec(SCHEMAS, ImageReference.SCHEMA, client=client, topic=TOPIC)

    with pytest.raises(TransientError):
        codec.encode(IMAGE_REFERENCE.to_avro())


def test_a_schema_the_registry_refuses_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    client = SchemaRegistryClient.new_client({"url": fresh_registry_url()})
    incompatible = SchemaRegistryError(409, 409, "Schema being registered is incompatible")
    monkeypatch.setattr(client, "register_schema_full_response", fail_with(incompatible))
    codec = RegistryCodec(SCHEMAS, ImageReference.SCHEMA, client=client, topic=TOPIC)

    with pytest.raises(SchemaRegistryError, match="incompatible"):
        codec.encode(IMAGE_REFERENCE.to_avro())
