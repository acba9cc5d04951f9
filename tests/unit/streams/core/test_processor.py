"""Specification of `streams.core.processor`: what a consumed record turns into, with retries."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from streams.core.codecs import (
    Codec,
    ImageReference,
    ProcessingFailed,
    SchemaSet,
    SingleObjectCodec,
)
from streams.core.dead_letters import SourceMessage
from streams.core.errors import TransientError
from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.processor import DeadLettered, EventProcessor, ProcessingResult, Proved
from streams.core.retry import RetryPolicy
from streams.core.stores.base import InvalidProofKey, ProofStore, StoreMisconfigured, features_key
from tests.support.codec_samples import PROCESSING_FAILED
from tests.support.event_loop import BlockingCodec, TimerLateness
from tests.support.pipeline_fakes import EVENT, PNG, FailingStore, MemoryStore, make_pipeline

TOPIC = "images.submitted"
PARTITION = 2
OFFSET = 41
KEY = b"evt-0001"
FAILED_AT_MS = 1_718_000_100_000
RETRY = RetryPolicy(base_seconds=0.2, max_seconds=30.0)

ProcessorFor = Callable[[ProofStore], EventProcessor]


class RecordedSleeps:
    """An async `sleep` that returns at once and remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def message(value: bytes | None) -> SourceMessage:
    return SourceMessage(topic=TOPIC, partition=PARTITION, offset=OFFSET, key=KEY, value=value)


def process(processor: EventProcessor, source: SourceMessage) -> ProcessingResult:
    return asyncio.run(processor.process(source))


@pytest.fixture
def codec() -> Codec:
    return SingleObjectCodec(SchemaSet.load(), ImageReference.SCHEMA)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def processor_for(codec: Codec, sleeps: RecordedSleeps) -> Iterator[ProcessorFor]:
    """Builds processors whose pipeline writes to the given store; sleeping is recorded."""
    with ImageFetcher(FetchPolicy()) as fetcher, ThreadPoolExecutor(max_workers=1) as executor:

        def build(store: ProofStore) -> EventProcessor:
            return EventProcessor(
                pipeline=make_pipeline(store, fetcher),
                input_codec=codec,
                executor=executor,
                retry=RETRY,
                sleep=sleeps,
                clock_ms=lambda: FAILED_AT_MS,
            )

        yield build


@pytest.fixture
def encoded_event(codec: Codec) -> bytes:
    return codec.encode(EVENT.to_avro())


def test_undecodable_bytes_are_dead_lettered_at_the_decode_stage(
    processor_for: ProcessorFor, sleeps: RecordedSleeps
) -> None:
    store = MemoryStore()
    garbage = b"\x00\x01 not an avro single-object message"

    result = process(processor_for(store), message(garbage))

    assert isinstance(result, DeadLettered)
    assert result.key == KEY
    failure = result.failure
    assert (failure.stage, failure.error_class) == ("decode", "DecodeFailed")
    assert (failure.original_key, failure.original_value) == (KEY, garbage)
    assert (failure.source_topic, failure.source_partition, failure.source_offset) == (
        TOPIC,
        PARTITION,
        OFFSET,
    )
    assert (failure.attempts, failure.failed_at) == (1, FAILED_AT_MS)
    assert (failure.event_id, failure.tenant) == (None, None)
    assert sleeps.seconds == []
    assert store.objects == {}


def test_an_event_of_another_schema_is_dead_lettered_at_the_decode_stage(
    processor_for: ProcessorFor,
) -> None:
    other = SingleObjectCodec(SchemaSet.load(), ProcessingFailed.SCHEMA)

    result = process(
        processor_for(MemoryStore()), message(other.encode(PROCESSING_FAILED.to_avro()))
    )

    assert isinstance(result, DeadLettered)
    assert result.failure.stage == "decode"
    assert "ProcessingFailed" in result.failure.message


def test_a_tombstone_is_dead_lettered_at_the_decode_stage(processor_for: ProcessorFor) -> None:
    result = process(processor_for(MemoryStore()), message(None))

    assert isinstance(result, DeadLettered)
    assert (result.failure.stage, result.failure.error_class) == ("decode", "DecodeFailed")
    assert result.failure.original_value is None
    assert result.failure.original_key == KEY
    assert "tombstone" in result.failure.message


def test_a_valid_event_becomes_a_stored_proof(
    processor_for: ProcessorFor, encoded_event: bytes, sleeps: RecordedSleeps
) -> None:
    store = MemoryStore()

    result = process(processor_for(store), message(encoded_event))

    assert isinstance(result, Proved)
    assert result.key == KEY
    proof = result.proof
    assert (proof.event_id, proof.tenant) == (EVENT.event_id, EVENT.tenant)
    assert proof.sha256 == hashlib.sha256(PNG).hexdigest()
    assert list(store.objects) == [
        features_key(proof.proof_id, proof.issued_at),
        proof.location.key,
    ]
    assert sleeps.seconds == []


@pytest.mark.parametrize(
    "error",
    [TransientError("S3 PutObject failed: SlowDown (HTTP 503)"), StoreMisconfigured("no bucket")],
    ids=["transient", "misconfigured"],
)
def test_store_failures_are_retried_with_backoff_until_they_succeed(
    processor_for: ProcessorFor, encoded_event: bytes, sleeps: RecordedSleeps, error: Exception
) -> None:
    store = FailingStore(error, error)

    result = process(processor_for(store), message(encoded_event))

    assert isinstance(result, Proved)
    assert result.proof.location.key in store.objects
    assert features_key(result.proof.proof_id, result.proof.issued_at) in store.objects
    assert len(sleeps.seconds) == 2
    first, second = sleeps.seconds
    assert 0.1 <= first <= 0.2
    assert 0.2 <= second <= 0.4


def test_a_retried_event_is_proved_as_if_it_had_succeeded_at_once(
    processor_for: ProcessorFor, encoded_event: bytes
) -> None:
    at_once = process(processor_for(MemoryStore()), message(encoded_event))
    after_retries = process(
        processor_for(FailingStore(TransientError("timeout"))), message(encoded_event)
    )

    assert after_retries == at_once


@pytest.mark.parametrize(
    ("event", "stage", "error_class"),
    [
        (replace(EVENT, tenant=" acme"), "validate", "InvalidEvent"),
        (
            replace(EVENT, uri="ftp://example.com/cat.png", inline_bytes=None),
            "fetch",
            "UriNotAllowed",
        ),
        (replace(EVENT, inline_bytes=b"GIF89a but truncated"), "hash", "ImageRejected"),
    ],
    ids=["validate", "fetch", "hash"],
)
def test_an_event_the_pipeline_rejects_is_dead_lettered_with_its_identity(
    processor_for: ProcessorFor,
    codec: Codec,
    sleeps: RecordedSleeps,
    event: ImageReference,
    stage: str,
    error_class: str,
) -> None:
    value = codec.encode(event.to_avro())

    result = process(processor_for(MemoryStore()), message(value))

    assert isinstance(result, DeadLettered)
    failure = result.failure
    assert (failure.stage, failure.error_class) == (stage, error_class)
    assert (failure.event_id, failure.tenant) == (event.event_id, event.tenant)
    assert (failure.original_key, failure.original_value) == (KEY, value)
    assert failure.attempts == 1
    assert sleeps.seconds == []


def test_attempts_of_a_dead_letter_count_the_retries_before_it(
    processor_for: ProcessorFor, encoded_event: bytes, sleeps: RecordedSleeps
) -> None:
    store = FailingStore(TransientError("timeout"), InvalidProofKey("key collides"))

    result = process(processor_for(store), message(encoded_event))

    assert isinstance(result, DeadLettered)
    assert (result.failure.stage, result.failure.attempts) == ("store", 2)
    assert len(sleeps.seconds) == 1


def test_an_unexpected_pipeline_error_is_dead_lettered_not_raised(
    processor_for: ProcessorFor, encoded_event: bytes
) -> None:
    result = process(
        processor_for(FailingStore(RuntimeError("disk on fire"))), message(encoded_event)
    )

    assert isinstance(result, DeadLettered)
    assert (result.failure.stage, result.failure.error_class) == ("store", "UnexpectedFailure")
    assert "RuntimeError" in result.failure.message


def test_a_decoding_that_blocks_leaves_the_event_loop_free(
    codec: Codec, encoded_event: bytes
) -> None:
    """As one waiting on a schema registry does: the worker's timers and endpoints run on the
    loop meanwhile."""
    with ImageFetcher(FetchPolicy()) as fetcher, ThreadPoolExecutor(max_workers=1) as executor:
        processor = EventProcessor(
            pipeline=make_pipeline(MemoryStore(), fetcher),
            input_codec=BlockingCodec(codec, seconds=1.0),
            executor=executor,
            retry=RETRY,
        )

        async def watched() -> tuple[ProcessingResult, float]:
            async with TimerLateness() as lateness:
                result = await processor.process(message(encoded_event))
            return result, lateness.worst

        result, late = asyncio.run(watched())

    assert isinstance(result, Proved)
    assert late < 0.5
