"""Specification of the `prove` agent: each image reference is published as a proof event or a
dead letter, and the next reference is taken only once that publication is confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from streams.core.codecs.records import ImageReference
from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor
from streams.core.retry import RetryPolicy
from streams.kafka.agents.prove import ProveAgent
from streams.kafka.serde import codec_for
from tests.support.agent_fakes import CODECS, Stream, Topic
from tests.support.event_loop import TimerLateness
from tests.support.pipeline_fakes import EVENT, InlineExecutor, MemoryStore, make_pipeline
from tests.support.schema_registry_stand_in import proxied_schema_registry
from tests.support.tcp_proxy import TcpProxy


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


async def through_an_outage(agent: ProveAgent, stream: Stream, proxy: TcpProxy) -> float:
    """Run `agent` on `stream` through a 1.5 s outage of `proxy`; the most seconds a timer on the
    event loop came late meanwhile."""
    async with TimerLateness() as lateness:
        with proxy.outage():
            proving = asyncio.create_task(agent(stream))  # type: ignore[arg-type]
            await asyncio.sleep(1.5)
        await asyncio.wait_for(proving, timeout=10)
    return lateness.worst


def test_while_the_schema_registry_is_unreachable_the_event_loop_stays_free() -> None:
    """A worker yet to fetch a reference's writer schema retries decoding it; its timers and
    endpoints run on the loop meanwhile, and the reference is proved once the registry is back."""
    quick = RetryPolicy(base_seconds=0.05, max_seconds=0.2)
    log: list[str] = []
    with (
        proxied_schema_registry() as (registry, proxy),
        ImageFetcher(FetchPolicy()) as fetcher,
        ThreadPoolExecutor(max_workers=1) as executor,
    ):
        framed = codec_for(
            ImageReference.SCHEMA, topic="submitted", registry_url=registry.url
        ).encode(EVENT.to_avro())
        processor = EventProcessor(
            pipeline=make_pipeline(MemoryStore(), fetcher),
            input_codec=codec_for(ImageReference.SCHEMA, topic="submitted", registry_url=proxy.url),
            executor=executor,
            retry=quick,
        )
        proofs, dead_letters = Topic("proofs", log), Topic("dead-letters", log)
        agent = ProveAgent(processor, CODECS, proofs, dead_letters, quick, PipelineObserver())  # type: ignore[arg-type]

        late = asyncio.run(through_an_outage(agent, Stream([framed], log), proxy))

    assert late < 0.5
    assert log == ["took offset 0", "sent b'key' to proofs", "confirmed on proofs"]
