"""Specification of `streams.core.codecs.single_object`: Avro single object encoding."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from fastavro import schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from streams.core.codecs import ImageReference, ProofCreated, SchemaSet, SingleObjectCodec
from streams.core.codecs.single_object import HEADER_SIZE, MARKER, frame, unframe
from streams.core.errors import DecodeFailed
from tests.support.codec_samples import (
    ADDED_FIELD,
    IMAGE_REFERENCE,
    PROOF_CREATED,
    SAMPLES,
    Record,
    image_reference_v2,
    write_schema_dir,
)

SCHEMAS = SchemaSet.load()
IMAGES = SingleObjectCodec(SCHEMAS, ImageReference.SCHEMA)
ENCODED_IMAGE = IMAGES.encode(IMAGE_REFERENCE.to_avro())


@pytest.mark.parametrize("record", SAMPLES, ids=lambda record: type(record).__name__)
def test_every_event_survives_a_round_trip(record: Record) -> None:
    codec = SingleObjectCodec(SCHEMAS, record.SCHEMA)

    assert type(record).from_avro(codec.decode(codec.encode(record.to_avro()))) == record


def test_message_is_marker_then_little_endian_fingerprint_then_avro_binary_body() -> None:
    body = io.BytesIO()
    schemaless_writer(body, IMAGES.schema.parsed, IMAGE_REFERENCE.to_avro())

    assert ENCODED_IMAGE[:2] == b"\xc3\x01"
    assert ENCODED_IMAGE[2:10] == IMAGES.schema.fingerprint
    assert ENCODED_IMAGE[10:] == body.getvalue()
    assert HEADER_SIZE == 10
    assert frame(IMAGES.schema.fingerprint, body.getvalue()) == ENCODED_IMAGE
    assert unframe(ENCODED_IMAGE) == (IMAGES.schema.fingerprint, body.getvalue())


def test_fields_left_out_of_a_record_take_their_schema_defaults() -> None:
    minimal = {
        "event_id": "e",
        "tenant": "t",
        "uri": "https://example.org/a.png",
        "submitted_at": 0,
    }

    decoded = IMAGES.decode(IMAGES.encode(minimal))

    assert decoded["inline_bytes"] is None
    assert decoded["attributes"] == {}


def test_a_record_with_a_field_the_schema_lacks_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="typo"):
        IMAGES.encode(IMAGE_REFERENCE.to_avro() | {"typo": "x"})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter than its 10-byte header"),
        (MARKER, "shorter than its 10-byte header"),
        (ENCODED_IMAGE[:9], "shorter than its 10-byte header"),
        (b"\xc3\x02" + ENCODED_IMAGE[2:], "expected marker c301"),
        (b"\x00\x00\x00\x00\x01" + ENCODED_IMAGE[10:], "expected marker c301"),
        (MARKER + b"\x00" * 8 + ENCODED_IMAGE[10:], "unknown writer schema fingerprint 0000"),
        (ENCODED_IMAGE[:-1], "malformed"),
        (ENCODED_IMAGE + b"\x00", "1 bytes left over"),
    ],
    ids=[
        "empty",
        "marker only",
        "short header",
        "wrong marker",
        "confluent framing",
        "unknown fingerprint",
        "truncated body",
        "trailing byte",
    ],
)
def test_bytes_that_are_not_an_event_fail_to_decode_with_the_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(DecodeFailed, match=reason):
        IMAGES.decode(data)


def test_an_event_of_another_schema_fails_to_decode() -> None:
    proof = SingleObjectCodec(SCHEMAS, ProofCreated.SCHEMA).encode(PROOF_CREATED.to_avro())

    with pytest.raises(
        DecodeFailed, match=r"event is of schema io\.credlink\.streams\.ProofCreated"
    ):
        IMAGES.decode(proof)


def test_every_truncation_of_an_event_fails_to_decode() -> None:
    for length in range(len(ENCODED_IMAGE)):
        with pytest.raises(DecodeFailed):
            IMAGES.decode(ENCODED_IMAGE[:length])


def test_a_huge_length_prefix_fails_fast_without_allocating_it() -> None:
    # event_id claims 2**62 bytes: zig-zag varint of 2**62.
    hostile = frame(IMAGES.schema.fingerprint, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01")

    with pytest.raises(DecodeFailed, match="EOFError"):
        IMAGES.decode(hostile)


def test_a_huge_map_block_count_fails_fast() -> None:
    fields_before_attributes = b"\x02e\x02t\x02u\x00\x00\x00"
    hostile = frame(
        IMAGES.schema.fingerprint,
        fields_before_attributes + b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f",
    )

    with pytest.raises(DecodeFailed):
        IMAGES.decode(hostile)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_fail_to_decode(data: bytes) -> None:
    with pytest.raises(DecodeFailed):
        IMAGES.decode(data)


@given(st.binary(max_size=512))
def test_arbitrary_body_behind_a_valid_header_decodes_or_fails_cleanly(body: bytes) -> None:
    try:
        decoded = IMAGES.decode(frame(IMAGES.schema.fingerprint, body))
    except DecodeFailed:
        return
    assert set(decoded) == {field["name"] for field in IMAGES.schema.definition["fields"]}


@given(st.integers(min_value=0, max_value=len(ENCODED_IMAGE) - 1), st.integers(0, 255))
def test_a_corrupted_byte_decodes_or_fails_cleanly(position: int, value: int) -> None:
    corrupted = bytearray(ENCODED_IMAGE)
    corrupted[position] = value
    with contextlib.suppress(DecodeFailed):
        IMAGES.decode(bytes(corrupted))


def test_new_consumer_reads_old_events_with_the_added_field_defaulted(tmp_path: Path) -> None:
    v1 = SCHEMAS[ImageReference.SCHEMA]
    new_schemas = SchemaSet.load(write_schema_dir(tmp_path, [image_reference_v2()], [v1]))

    decoded = SingleObjectCodec(new_schemas, ImageReference.SCHEMA).decode(ENCODED_IMAGE)

    assert decoded["priority"] == ADDED_FIELD["default"]
    assert decoded["event_id"] == IMAGE_REFERENCE.event_id


def test_old_consumer_holding_the_new_schema_file_reads_new_events(tmp_path: Path) -> None:
    v2 = image_reference_v2()
    new_producer = SingleObjectCodec(SchemaSet([v2]), ImageReference.SCHEMA)
    event = new_producer.encode(IMAGE_REFERENCE.to_avro() | {"priority": 9})
    old_schemas = SchemaSet.load(
        write_schema_dir(tmp_path, [SCHEMAS[ImageReference.SCHEMA]], history=[v2])
    )

    decoded = SingleObjectCodec(old_schemas, ImageReference.SCHEMA).decode(event)

    assert "priority" not in decoded
    assert ImageReference.from_avro(decoded) == IMAGE_REFERENCE


def test_old_consumer_without_the_new_schema_file_rejects_new_events_naming_the_cause() -> None:
    new_producer = SingleObjectCodec(SchemaSet([image_reference_v2()]), ImageReference.SCHEMA)
    event = new_producer.encode(IMAGE_REFERENCE.to_avro())

    with pytest.raises(DecodeFailed, match=r"unknown writer schema fingerprint .*\.avsc"):
        IMAGES.decode(event)
