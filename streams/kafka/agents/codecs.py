"""The codecs of the agents' topics: image references in, proof events, credential events and
dead letters out."""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.codecs.base import Codec
from streams.core.codecs.records import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
)
from streams.kafka.serde import codec_for
from streams.kafka.topics import CREDENTIALS_CREATED, DLQ, PROOFS_CREATED, SUBMITTED
from streams.settings import Settings

__all__ = ["Codecs"]


@dataclass(frozen=True)
class Codecs:
    submitted: Codec
    proofs: Codec
    dead_letters: Codec
    credentials: Codec

    @classmethod
    def for_settings(cls, settings: Settings) -> Codecs:
        def codec(schema: str, topic: str) -> Codec:
            return codec_for(
                schema,
                topic=settings.kafka.topic(topic),
                registry_url=settings.kafka.schema_registry_url,
                registry_timeout_seconds=settings.kafka.schema_registry_timeout_seconds,
            )

        return cls(
            submitted=codec(ImageReference.SCHEMA, SUBMITTED),
            proofs=codec(ProofCreated.SCHEMA, PROOFS_CREATED),
            dead_letters=codec(ProcessingFailed.SCHEMA, DLQ),
            credentials=codec(CredentialIssued.SCHEMA, CREDENTIALS_CREATED),
        )
