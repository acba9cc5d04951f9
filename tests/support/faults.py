"""Fault runs on the real stack: what went in, what came out, and how long recovery took.

A fault scenario proves a set of events, injects its fault mid-stream, waits until every event
has its proof, and records a `FaultRun`; `figures_table` renders the runs as the Markdown table
the README quotes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from connectors.output_topics import read_dead_letters
from connectors.reader import Record, read_topic, scan_topic
from streams.core.codecs.records import ProofCreated
from streams.kafka.clients import confluent_config
from streams.kafka.serde import codec_for
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED, tenant_repartition_topic
from streams.settings import Settings
from tests.support.kafka_io import wait_until_consumed
from tests.support.pipeline_scenarios import tenant_counts

__all__ = [
    "FaultRun",
    "PublishedProof",
    "figures_table",
    "measure_run",
    "proofs_until_every_event_is_proved",
    "wait_until",
    "where_lost_events_are",
]


@dataclass(frozen=True)
class PublishedProof:
    """A proof event as read from the topic, with the time the worker published it."""

    proof: ProofCreated
    published_ms: int


def proofs_until_every_event_is_proved(
    settings: Settings, event_ids: set[str], timeout: float
) -> list[PublishedProof]:
    """Every proof event on the topic, read until each of `event_ids` has one (or `timeout`)."""
    codec = codec_for(
        ProofCreated.SCHEMA,
        topic=settings.kafka.topic(PROOFS_CREATED),
        registry_url=settings.kafka.schema_registry_url,
    )
    decoded: list[PublishedProof] = []

    def proved_all(records: list[Record]) -> bool:
        for record in records[len(decoded) :]:
            proof = ProofCreated.from_avro(codec.decode(record.value or b""))
            decoded.append(PublishedProof(proof, record.timestamp_ms))
        return {published.proof.event_id for published in decoded} >= event_ids

    records = read_topic(
        settings, settings.kafka.topic(PROOFS_CREATED), until=proved_all, timeout=timeout
    )
    proved_all(records)
    return decoded


@dataclass(frozen=True)
class FaultRun:
    """One scenario's figures. `proved_before_fault` counts events proved before the fault
    began (fewer than `events_in`: it hit mid-stream); `lost` counts events with neither a proof
    nor a dead letter; `duplicates` counts proof events beyond the first for the same proof."""

    scenario: str
    events_in: int
    proved_before_fault: int
    proofs_out: int
    dlq: int
    lost: int
    duplicates: int
    recovery_seconds: float
    tables_match: bool
    duplicates_identical: bool = True
    lost_events: frozenset[str] = frozenset()
    dead_letter_reasons: tuple[str, ...] = ()

    def cells(self) -> tuple[str, ...]:
        return (
            self.scenario,
            str(self.events_in),
            str(self.proved_before_fault),
            str(self.proofs_out),
            str(self.dlq),
            str(self.lost),
            str(self.duplicates),
            f"{self.recovery_seconds:.1f} s",
            "yes" if self.tables_match else "NO",
        )


_HEADER = (
    "scenario",
    "events in",
    "proved before fault",
    "proofs out",
    "DLQ",
    "lost",
    "duplicates",
    "recovery time",
    "tables = proofs",
)


def figures_table(runs: list[FaultRun]) -> str:
    """The runs as a Markdown table, one row per scenario."""
    rows = [_HEADER, *(run.cells() for run in runs)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADER))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def measure_run(
    scenario: str,
    settings: Settings,
    event_ids: list[str],
    fault: tuple[float, float],
    timeout: float = 180.0,
) -> FaultRun:
    """Wait until every event of `event_ids` is proved (or `timeout`), then count the outputs,
    the dead letters and the proofs the tables hold. `fault` is when the fault began and ended
    (`time.time()`s); recovery lasts from its end to the last proof event published."""
    fault_started, fault_ended = fault
    published = proofs_until_every_event_is_proved(settings, set(event_ids), timeout)
    dead_letters = read_dead_letters(settings, count=len(event_ids), timeout=3)
    proved = {item.proof.event_id for item in published}
    dead = {failure.original_key.decode() for failure in dead_letters if failure.original_key}
    copies = Counter(item.proof.proof_id for item in published)
    first = {item.proof.proof_id: item.proof for item in reversed(published)}
    last_ms = max((item.published_ms for item in published), default=0)
    early = {item.proof.event_id for item in published if item.published_ms / 1000 < fault_started}
    wait_until_consumed(settings, settings.kafka.app_id, tenant_repartition_topic(settings))
    return FaultRun(
        scenario=scenario,
        events_in=len(event_ids),
        proved_before_fault=len(early),
        proofs_out=len(published),
        dlq=len(dead_letters),
        dead_letter_reasons=tuple(
            f"{failure.event_id}: {failure.stage}: {failure.error_class}: {failure.message}"
            for failure in dead_letters
        ),
        lost=len(set(event_ids) - proved - dead),
        lost_events=frozenset(set(event_ids) - proved - dead),
        duplicates=sum(count - 1 for count in copies.values()),
        recovery_seconds=max(0.0, last_ms / 1000 - fault_ended),
        tables_match=sum(tenant_counts(settings).values()) == len(copies),
        duplicates_identical=all(item.proof == first[item.proof.proof_id] for item in published),
    )


def wait_until(what: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll `check()` until it holds; fail, saying `what` was awaited, after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def where_lost_events_are(settings: Settings, lost: set[str]) -> str:
    """Where the input records of `lost` events sit next to the group's committed offsets: a
    record below its partition's committed offset was skipped, one at or above it is still
    to be processed."""
    topic = settings.kafka.topic(SUBMITTED)
    positions = {
        record.key.decode(): (record.partition, record.offset)
        for record in scan_topic(settings, topic)
        if record.key is not None and record.key.decode() in lost
    }
    consumer = Consumer(confluent_config(settings, {"group.id": settings.kafka.app_id}))
    try:
        partitions = sorted({partition for partition, _ in positions.values()})
        committed = {
            tp.partition: tp.offset
            for tp in consumer.committed(
                [TopicPartition(topic, partition) for partition in partitions], timeout=10
            )
        }
    finally:
        consumer.close()
    lines = [
        f"{event_id}: partition {partition} offset {offset}, committed {committed[partition]}"
        f" ({'skipped' if offset < committed[partition] else 'not yet processed'})"
        for event_id, (partition, offset) in sorted(positions.items())
    ]
    return "\n".join(lines)
