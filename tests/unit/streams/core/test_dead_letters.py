"""Specification of `streams.core.dead_letters`: what a dead letter says about a failed record."""

from __future__ import annotations

import pytest

from streams.core.codecs import ProcessingFailed, SchemaSet, SingleObjectCodec
from streams.core.dead_letters import MAX_MESSAGE_CHARS, SourceMessage, dead_letter
from streams.core.errors import (
    DecodeFailed,
    FetchFailed,
    ImageRejected,
    ImageTooLarge,
    InputRejected,
    InvalidEvent,
    TransientError,
    UnexpectedFailure,
    UriNotAllowed,
)
from streams.core.observing import Stage
from streams.core.stores.base import InvalidProofKey, StoreMisconfigured
from tests.support.codec_samples import IMAGE_REFERENCE

FAILED_AT_MS = 1_718_000_100_000
SOURCE = SourceMessage(
    topic="images.submitted", partition=5, offset=2**40, key=b"evt-0001", value=b"\xc3\x01 bytes"
)


class StagedButNotRejected(Exception):
    """An error that happens to have a `stage`, without being an `InputRejected`."""

    stage = "hash"


def test_the_original_record_is_kept_byte_for_byte_with_where_it_came_from() -> None:
    failure = dead_letter(SOURCE, DecodeFailed("bad"), attempts=3, failed_at_ms=FAILED_AT_MS)

    assert (failure.original_key, failure.original_value) == (SOURCE.key, SOURCE.value)
    assert (failure.source_topic, failure.source_partition, failure.source_offset) == (
        "images.submitted",
        5,
        2**40,
    )
    assert (failure.attempts, failure.failed_at) == (3, FAILED_AT_MS)


def test_a_record_without_key_or_value_keeps_both_absent() -> None:
    tombstone = SourceMessage(topic="images.submitted", partition=0, offset=0, key=None, value=None)

    failure = dead_letter(tombstone, DecodeFailed("tombstone"), attempts=1, failed_at_ms=0)

    assert (failure.original_key, failure.original_value) == (None, None)


@pytest.mark.parametrize(
    ("error", "stage"),
    [
        (DecodeFailed("x"), "decode"),
        (InvalidEvent("x"), "validate"),
        (InputRejected("x"), "validate"),
        (UriNotAllowed("x"), "fetch"),
        (FetchFailed("x"), "fetch"),
        (ImageRejected("x"), "hash"),
        (ImageTooLarge("x"), "hash"),
        (InvalidProofKey("x"), "store"),
        (UnexpectedFailure(Stage.SIGN, ValueError("x")), "sign"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_the_stage_is_taken_from_the_error_type(error: InputRejected, stage: str) -> None:
    failure = dead_letter(SOURCE, error, attempts=1, failed_at_ms=FAILED_AT_MS)

    assert failure.stage == stage
    assert failure.error_class == type(error).__name__


@pytest.mark.parametrize(
    "error",
    [
        TransientError("x"),
        StoreMisconfigured("x"),
        RuntimeError("x"),
        StagedButNotRejected("x"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_that_are_not_rejected_input_have_the_stage_process(error: Exception) -> None:
    failure = dead_letter(SOURCE, error, attempts=1, failed_at_ms=FAILED_AT_MS)

    assert failure.stage == "process"
    assert failure.error_class == type(error).__name__


def test_a_long_message_is_truncated_to_the_limit() -> None:
    reason = "é" * (MAX_MESSAGE_CHARS * 3)

    failure = dead_letter(SOURCE, ImageRejected(reason), attempts=1, failed_at_ms=FAILED_AT_MS)

    assert failure.message == reason[:MAX_MESSAGE_CHARS]


def test_a_message_at_the_limit_is_kept_whole() -> None:
    reason = "x" * MAX_MESSAGE_CHARS

    failure = dead_letter(SOURCE, ImageRejected(reason), attempts=1, failed_at_ms=FAILED_AT_MS)

    assert failure.message == reason


def test_an_error_without_a_message_is_described_by_its_class() -> None:
    failure = dead_letter(SOURCE, FetchFailed(), attempts=1, failed_at_ms=FAILED_AT_MS)

    assert failure.message == "FetchFailed"


def test_a_decoded_event_lends_its_id_and_tenant() -> None:
    failure = dead_letter(
        SOURCE, ImageRejected("x"), attempts=1, failed_at_ms=FAILED_AT_MS, event=IMAGE_REFERENCE
    )

    assert (failure.event_id, failure.tenant) == (IMAGE_REFERENCE.event_id, IMAGE_REFERENCE.tenant)


def test_without_a_decoded_event_id_and_tenant_are_absent() -> None:
    failure = dead_letter(SOURCE, DecodeFailed("x"), attempts=1, failed_at_ms=FAILED_AT_MS)

    assert (failure.event_id, failure.tenant) == (None, None)


def test_a_dead_letter_is_a_valid_processing_failed_record() -> None:
    codec = SingleObjectCodec(SchemaSet.load(), ProcessingFailed.SCHEMA)
    failure = dead_letter(
        SOURCE,
        UnexpectedFailure(Stage.STORE, RuntimeError("☠" * 5000)),
        attempts=7,
        failed_at_ms=FAILED_AT_MS,
        event=IMAGE_REFERENCE,
    )

    assert ProcessingFailed.from_avro(codec.decode(codec.encode(failure.to_avro()))) == failure
