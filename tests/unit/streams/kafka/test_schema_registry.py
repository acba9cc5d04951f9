"""Specification of `streams.kafka.schema_registry`: the Confluent Schema Registry wire format."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from fastavro import schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from streams.core.codecs import ImageReference, ProofCreated, SchemaSet
from streams.core.errors import DecodeFailed, DependencyUnavailable, TransientError
from streams.core.retry import RetryPolicy
from streams.kafka.schema_registry import PatientCodec, RegistryCodec, registry_client
from streams.kafka.serde import codec_for
from tests.support.codec_samples import (
    ADDED_FIELD,
    IMAGE_REFERENCE,
    PROOF_CREATED,
    SAMPLES,
    Record,
    fresh_registry_url,
    image_reference_v2,
)
from tests.support.schema_registry_stand_in import SchemaRegistryStandIn, proxied_schema_registry
from tests.support.tcp_proxy import TcpProxy

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


@pytest.fixture
def registry() -> Iterator[tuple[SchemaRegistryStandIn, TcpProxy]]:
    with proxied_schema_registry() as served:
        yield served


TIMEOUT_SECONDS = 0.5


@pytest.mark.parametrize(
    "ask",
    [
        lambda codec, framed: codec.decode(framed),
        lambda codec, framed: codec.encode(IMAGE_REFERENCE.to_avro()),
    ],
    ids=["decode (look the writer up)", "encode (register)"],
)
def test_a_registry_that_never_answers_fails_as_transient_within_the_timeout(
    registry: tuple[SchemaRegistryStandIn, TcpProxy],
    ask: Callable[[RegistryCodec, bytes], object],
) -> None:
    stand_in, proxy = registry
    framed = codec_for(ImageReference.SCHEMA, topic=TOPIC, registry_url=stand_in.url).encode(
        IMAGE_REFERENCE.to_avro()
    )
    codec = codec_for(
        ImageReference.SCHEMA,
        topic=TOPIC,
        registry_url=proxy.url,
        registry_timeout_seconds=TIMEOUT_SECONDS,
    )

    # The stall ends before the pool waits for its thread, whatever the thread is waiting for.
    with ThreadPoolExecutor(max_workers=1) as pool, proxy.stalled():
        started = time.monotonic()
        asking = pool.submit(ask, codec, framed)  # type: ignore[arg-type]
        with pytest.raises(TransientError, match="timed out"):
            asking.result(timeout=10 * TIMEOUT_SECONDS)
        elapsed = time.monotonic() - started

    assert elapsed < 2 * TIMEOUT_SECONDS


class Unreachable(RegistryCodec):
    """A registry codec whose first `failures` calls find the registry unreachable."""

    def __init__(self, failures: int) -> None:
        super().__init__(SCHEMAS, ImageReference.SCHEMA, client=CLIENT, topic=TOPIC)
        self.failures = failures

    def decode(self, data: bytes) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise TransientError("schema registry unavailable to decode: connection refused")
        return super().decode(data)


def test_a_command_waits_out_a_registry_blip() -> None:
    sleeps: list[float] = []
    codec = PatientCodec(Unreachable(failures=2), "http://registry:8081", sleep=sleeps.append)

    assert ImageReference.from_avro(codec.decode(ENCODED_IMAGE)) == IMAGE_REFERENCE
    assert len(sleeps) == 2


def test_a_command_gives_up_on_an_outage_with_one_line_naming_the_registry() -> None:
    sleeps: list[float] = []
    codec = PatientCodec(
        Unreachable(failures=100),
        "http://user:s3cret@registry:8081",
        retry=RetryPolicy(base_seconds=1.0, max_seconds=2.0),
        attempts=4,
        sleep=sleeps.append,
    )

    with pytest.raises(DependencyUnavailable) as raised:
        codec.decode(ENCODED_IMAGE)

    message = str(raised.value)
    assert raised.value.exit_status == 69
    assert message.startswith("the schema registry at http://registry:8081 ")
    assert "CREDLINK_SCHEMA_REGISTRY_URL" in message
    assert "failed 4 attempts" in message
    assert "connection refused" in message
    assert "s3cret" not in message
    assert "\n" not in message
    assert len(sleeps) == 3
