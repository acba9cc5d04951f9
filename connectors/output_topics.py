"""Reading the pipeline's output topics: proof events, credential events and dead letters,
decoded.

Every reader here is a throwaway consumer that commits nothing (see `connectors.reader`), so
reading never moves the offsets of the workers or of any downstream group. Both wire formats
are decoded: single-object encoding, or the Confluent framing when a schema registry is set.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

from connectors.reader import Record, Start, read_topic, scan_topic
from streams.core.codecs import Codec
from streams.core.codecs.records import CredentialIssued, ProcessingFailed, ProofCreated
from streams.core.errors import DecodeFailed
from streams.core.proof_signature import VerificationResult, verify_signed_proof
from streams.core.signing import KeySet
from streams.core.stores.base import ProofStore
from streams.kafka.serde import command_codec_for
from streams.kafka.topics import CREDENTIALS_CREATED, DLQ, PROOFS_CREATED
from streams.settings import Settings

__all__ = [
    "find_proof",
    "proof_events",
    "read_credentials",
    "read_dead_letters",
    "read_proofs",
    "verify_stored_proof",
]

R = TypeVar("R", ProofCreated, ProcessingFailed, CredentialIssued)

Undecodable = Callable[[Record, DecodeFailed], None]
"""Told about each record that is no proof event; the reader skips it and goes on."""


def read_proofs(settings: Settings, *, count: int, timeout: float) -> list[ProofCreated]:
    """Proof events from the start of `proofs.created`: `count` of them, or all that arrive
    within `timeout` seconds."""
    return _read(settings, PROOFS_CREATED, ProofCreated, count, timeout)


def read_credentials(settings: Settings, *, count: int, timeout: float) -> list[CredentialIssued]:
    """Credential events from the start of `credentials.created`, like `read_proofs`."""
    return _read(settings, CREDENTIALS_CREATED, CredentialIssued, count, timeout)


def read_dead_letters(settings: Settings, *, count: int, timeout: float) -> list[ProcessingFailed]:
    """Dead letters from the start of `images.dlq`, like `read_proofs`."""
    return _read(settings, DLQ, ProcessingFailed, count, timeout)


def proof_events(
    settings: Settings,
    *,
    start: Start = "beginning",
    until_time: int | None = None,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
    tenant: str | None = None,
    on_undecodable: Undecodable | None = None,
) -> Generator[ProofCreated, None, None]:
    """Proof events of `proofs.created` from `start` (of `tenant` only, if given), in order
    within each partition; `until_time`, `follow` and `stop` as in `scan_topic`: without
    `follow` the iteration ends at the end offsets captured when it starts."""
    codec = _proof_codec(settings)
    records = scan_topic(
        settings,
        settings.kafka.topic(PROOFS_CREATED),
        start=start,
        until_time=until_time,
        follow=follow,
        stop=stop,
    )
    for record in records:
        proof = _decoded(codec, record, on_undecodable)
        if proof is not None and (tenant is None or proof.tenant == tenant):
            yield proof


def find_proof(
    settings: Settings, proof_id: str, *, on_undecodable: Undecodable | None = None
) -> ProofCreated | None:
    """The proof event with id `proof_id`, or None.

    A scan of the whole topic up to its current end: fine for an operator's look-up, linear in
    the topic's size. Services that look proofs up by id use the downstream index, which
    answers in O(1). Records whose bytes do not contain the id are skipped undecoded.
    """
    codec = _proof_codec(settings)
    needle = proof_id.encode("utf-8")
    for record in scan_topic(settings, settings.kafka.topic(PROOFS_CREATED)):
        if record.value is None or needle not in record.value:
            continue
        proof = _decoded(codec, record, on_undecodable)
        if proof is not None and proof.proof_id == proof_id:
            return proof
    return None


def verify_stored_proof(
    store: ProofStore, keyset: KeySet, proof: ProofCreated
) -> tuple[bytes, VerificationResult]:
    """The signed proof an event points to, read from `store`, and the verdict on its signature.
    Raises `ProofNotFound` when the store holds nothing under the event's key."""
    envelope = store.get(proof.location.key)
    return envelope, verify_signed_proof(envelope, keyset)


def _proof_codec(settings: Settings) -> Codec:
    return command_codec_for(
        ProofCreated.SCHEMA, topic=settings.kafka.topic(PROOFS_CREATED), kafka=settings.kafka
    )


def _decoded(
    codec: Codec, record: Record, on_undecodable: Undecodable | None
) -> ProofCreated | None:
    try:
        if record.value is None:
            raise DecodeFailed("the record has no value")
        return ProofCreated.from_avro(codec.decode(record.value))
    except DecodeFailed as error:
        if on_undecodable is not None:
            on_undecodable(record, error)
        return None


def _read(settings: Settings, name: str, record: type[R], count: int, timeout: float) -> list[R]:
    topic = settings.kafka.topic(name)
    codec = command_codec_for(record.SCHEMA, topic=topic, kafka=settings.kafka)
    records = read_topic(
        settings, topic, until=lambda records: len(records) >= count, timeout=timeout
    )
    return [record.from_avro(codec.decode(r.value)) for r in records if r.value is not None]
