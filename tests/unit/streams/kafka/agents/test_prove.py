"""Specification of the `prove` agent: each image reference is published as a proof event or a
dead letter, and the next reference is taken only once that publication is confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor
from streams.core.retry import RetryPolicy
from streams.kafka.agents.prove import ProveAgent
from tests.support.agent_fakes import CODECS, Stream, Topic
from tests.support.pipeline_fakes import EVENT, InlineExecutor, MemoryStore, make_pipeline


@pytest.fixture
def processor() -> Iterator[EventProcessor]:
    with ImageFetcher(FetchPolicy()) as fetcher:
        yield EventProcessor(
            pipeline=make_pipeline(MemoryStore(), fetcher),
            input_codec=CODECS.submitted,
            executor=InlineExecutor(),
            retry=RetryPolicy(),
        )


def run(processor: EventProcessor, values: list[bytes]) -> list[str]:
    log: list[str] = []
    agent = ProveAgent(
        processor=processor,
        codecs=CODECS,
        proofs=Topic("proofs", log),  # type: ignore[arg-type]
        dead_letters=Topic("dead-letters", log),  # type: ignore[arg-type]
        retry=RetryPolicy(),
        observer=PipelineObserver(),
    )
    asyncio.run(agent(Stream(values, log)))  # type: ignore[arg-type]
    return log


def test_a_reference_is_proved_and_the_next_taken_only_after_the_broker_confirms(
    processor: EventProcessor,
) -> None:
    proved = CODECS.submitted.encode(EVENT.to_avro())

    log = run(processor, [proved, proved])

    assert log == [
        "took offset 0",
        "sent b'key' to proofs",
        "confirmed on proofs",
        "took offset 1",
        "sent b'key' to proofs",
        "confirmed on proofs",
    ]


def test_a_reference_that_cannot_be_read_is_dead_lettered_under_its_key(
    processor: EventProcessor,
) -> None:
    log = run(processor, [b"not an image reference"])

    assert log == ["took offset 0", "sent b'key' to dead-letters", "confirmed on dead-letters"]
