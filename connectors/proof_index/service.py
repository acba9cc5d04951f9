"""The proof index service: `proofs.created` and `credentials.created` consumed into PostgreSQL,
at least once.

Each batch's proofs and its credentials are written in one transaction each, and its offsets
are committed only after both writes, so a crash or an outage replays records and never skips
one; replays change nothing, because the upserts are idempotent. A record that is no proof or
credential event is skipped, counted and logged: it is the producer's to fix. While the
database is unavailable the batch is retried with backoff and nothing is committed; so it is
while the schema registry is unreachable.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from connectors.proof_index.rows import (
    SourcePosition,
    check_credential_indexable,
    check_indexable,
)
from connectors.proof_index.store import ProofIndex
from streams.core.codecs.base import Codec
from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.errors import DecodeFailed, InputRejected, TransientError
from streams.core.retry import RetryPolicy, retry_call
from streams.kafka.clients import confluent_config
from streams.kafka.serde import codec_for
from streams.kafka.topics import CREDENTIALS_CREATED, PROOFS_CREATED
from streams.settings import Settings

__all__ = ["IndexStats", "ProofIndexService", "offsets_to_commit"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class IndexStats:
    """What one run of the service did."""

    consumed: int = 0
    """Records taken from the topic, indexed or skipped."""
    written: int = 0
    """Rows inserted or changed; a proof indexed before writes nothing."""
    skipped: int = 0
    """Records that are no indexable proof or credential event."""
    commits: int = 0
    """Batches whose offsets were committed."""
    retries: int = 0
    """Attempts that failed on an unavailable index (or schema registry) and were retried."""


class _Interrupted(Exception):
    """Stopped while waiting to retry: the batch in hand is neither written nor committed."""


def offsets_to_commit(positions: Iterable[SourcePosition]) -> list[TopicPartition]:
    """The offsets that mark every record at `positions` consumed: the next offset of each
    partition."""
    following: dict[tuple[str, int], int] = {}
    for position in positions:
        key = (position.topic, position.partition)
        following[key] = max(following.get(key, 0), position.offset + 1)
    return [
        TopicPartition(topic, partition, offset)
        for (topic, partition), offset in sorted(following.items())
    ]


class ProofIndexService:
    """Consumes `proofs.created` and `credentials.created` as consumer group `group_id` into
    the index at `conninfo`."""

    def __init__(
        self,
        settings: Settings,
        conninfo: str,
        group_id: str,
        *,
        batch_size: int = 500,
        poll_timeout: float = 1.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.stats = IndexStats()
        self._settings = settings
        self._group_id = group_id
        self._proofs_topic = settings.kafka.topic(PROOFS_CREATED)
        self._codecs: dict[str, Codec] = {
            topic: codec_for(
                schema,
                topic=topic,
                registry_url=settings.kafka.schema_registry_url,
                registry_timeout_seconds=settings.kafka.schema_registry_timeout_seconds,
            )
            for topic, schema in (
                (self._proofs_topic, ProofCreated.SCHEMA),
                (settings.kafka.topic(CREDENTIALS_CREATED), CredentialIssued.SCHEMA),
            )
        }
        self._index = ProofIndex(conninfo)
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout
        self._retry = retry or RetryPolicy(max_seconds=settings.worker.transient_retry_max_seconds)
        self._stopping = threading.Event()
        self._last_activity = time.monotonic()

    def stop(self) -> None:
        """End the run: the batch in hand is finished and committed first, unless the index is
        unavailable, in which case it is left for the next run."""
        self._stopping.set()

    def run(self, stop_after: int | None = None, idle_timeout: float | None = None) -> IndexStats:
        """Create the schema, then index proof events until `stop()`, SIGTERM or SIGINT; or
        after `stop_after` records; or once no record came for `idle_timeout` seconds."""
        log.info(
            "proof index: consuming %s as group %s", " and ".join(self._codecs), self._group_id
        )
        try:
            with self._stop_on_signals():
                self._with_retries(self._index.create_schema)
                consumer = Consumer(self._consumer_config())
                try:
                    consumer.subscribe(
                        list(self._codecs), on_assign=self._assigned, on_revoke=self._revoked
                    )
                    self._consume(consumer, stop_after, idle_timeout)
                finally:
                    consumer.close()
        except _Interrupted:
            log.warning(
                "proof index: stopped while retrying; the batch in hand was not committed and "
                "will be consumed again"
            )
        finally:
            self._index.close()
        log.info(
            "proof index: stopped after %d records: %d rows written, %d skipped, %d commits, "
            "%d retries",
            self.stats.consumed,
            self.stats.written,
            self.stats.skipped,
            self.stats.commits,
            self.stats.retries,
        )
        return self.stats

    def _consumer_config(self) -> dict[str, Any]:
        return confluent_config(
            self._settings,
            {
                "group.id": self._group_id,
                "client.id": "credlink-proof-index",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(
                    self._settings.worker.consumer_session_timeout_seconds * 1000
                ),
            },
        )

    def _consume(
        self, consumer: Consumer, stop_after: int | None, idle_timeout: float | None
    ) -> None:
        self._last_activity = time.monotonic()
        while not self._stopping.is_set():
            wanted = self._batch_size
            if stop_after is not None:
                wanted = min(wanted, stop_after - self.stats.consumed)
                if wanted <= 0:
                    return
            messages = [
                message
                for message in consumer.consume(wanted, self._poll_timeout)
                if not self._is_error(message)
            ]
            if messages:
                self._last_activity = time.monotonic()
                self._index_batch(consumer, messages)
            elif (
                idle_timeout is not None and time.monotonic() - self._last_activity >= idle_timeout
            ):
                log.info("proof index: idle for %.1f s", idle_timeout)
                return

    def _index_batch(self, consumer: Consumer, messages: Sequence[Message]) -> None:
        self.stats.consumed += len(messages)
        positions = [_position(message) for message in messages]
        proofs: list[ProofCreated] = []
        proof_positions: list[SourcePosition] = []
        credentials: list[CredentialIssued] = []
        credential_positions: list[SourcePosition] = []
        for message, position in zip(messages, positions, strict=True):
            try:
                event = self._with_retries(partial(self._decode, position.topic, message.value()))
            except InputRejected as error:
                self.stats.skipped += 1
                log.warning(
                    "proof index: skipping %s, not an indexable event (%d skipped so far): %s: %s",
                    position,
                    self.stats.skipped,
                    type(error).__name__,
                    error,
                )
                continue
            if isinstance(event, ProofCreated):
                proofs.append(event)
                proof_positions.append(position)
            else:
                credentials.append(event)
                credential_positions.append(position)
        self.stats.written += self._with_retries(
            lambda: self._index.upsert_many(proofs, proof_positions)
        )
        self.stats.written += self._with_retries(
            lambda: self._index.upsert_credentials(credentials, credential_positions)
        )
        self._commit(consumer, positions)

    def _decode(self, topic: str, value: bytes | None) -> ProofCreated | CredentialIssued:
        if value is None:
            raise DecodeFailed("the record has no value (a tombstone)")
        record = self._codecs[topic].decode(value)
        if topic == self._proofs_topic:
            proof = ProofCreated.from_avro(record)
            check_indexable(proof)
            return proof
        credential = CredentialIssued.from_avro(record)
        check_credential_indexable(credential)
        return credential

    def _commit(self, consumer: Consumer, positions: Iterable[SourcePosition]) -> None:
        try:
            results = consumer.commit(offsets=offsets_to_commit(positions), asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.fatal():
                raise
            # The group moved on (a rebalance, or this consumer was too long away): the new
            # owner consumes these records again, and indexing them again changes nothing.
            log.warning("proof index: offsets not committed, records will be replayed: %s", exc)
            return
        failed = [result for result in results or [] if result.error]
        if failed:
            log.warning(
                "proof index: offsets not committed, records will be replayed: %s",
                ", ".join(f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in failed),
            )
            return
        self.stats.commits += 1

    def _with_retries(self, action: Callable[[], T]) -> T:
        """`action()`, retried with backoff while it fails with a `TransientError`: the index
        (or the schema registry) unavailable."""
        failures = 0

        def retrying(error: BaseException, attempt: int, delay: float) -> None:
            nonlocal failures
            failures = attempt
            self.stats.retries += 1
            log.warning(
                "proof index: attempt %d failed, retrying in %.1f s, nothing committed "
                "meanwhile: %s",
                attempt,
                delay,
                error,
            )

        result = retry_call(
            action,
            self._retry,
            retry_on=TransientError,
            on_retry=retrying,
            sleep=self._wait_unless_stopped,
        )
        if failures:
            log.info("proof index: succeeded after %d failed attempts", failures)
        return result

    def _wait_unless_stopped(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _Interrupted

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("proof index: consumer error: %s", error)
        return True

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._last_activity = time.monotonic()
        log.info("proof index: assigned %s", _partitions(partitions))

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("proof index: revoked %s", _partitions(partitions))

    @contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """Turn SIGTERM and SIGINT into `stop()` while running in the main thread."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info(
                "proof index: %s received, finishing the current batch",
                signal.Signals(signum).name,
            )
            self.stop()

        previous = {
            number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _position(message: Message) -> SourcePosition:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"a consumed message without a topic, partition or offset: {message}")
    return SourcePosition(topic, partition, offset)


def _partitions(partitions: Iterable[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
