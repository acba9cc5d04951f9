"""Specification of the `credentials` agent: each proof event is published as a credential event
(counted once) or a dead letter, and the next proof event is taken only once the publication
and the count are confirmed."""

from __future__ import annotations

import asyncio

from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.observing import PipelineObserver
from streams.core.processor import RecordProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.credentials import CredentialsAgent
from tests.support.agent_fakes import CODECS, Recorded, Stream, Topic
from tests.support.codec_samples import CREDENTIAL_ISSUED, PROOF_CREATED
from tests.support.pipeline_fakes import InlineExecutor

PROOF = CODECS.proofs.encode(PROOF_CREATED.to_avro())


def issue(proof: ProofCreated) -> CredentialIssued:
    """A credentials stage that issues the sample credential for the sample proof."""
    assert proof == PROOF_CREATED
    return CREDENTIAL_ISSUED


def run(values: list[bytes]) -> tuple[ProofTally, list[str], Topic]:
    log: list[str] = []
    recorded = Recorded(log)
    tally = ProofTally(recorded)
    credentials = Topic("credentials", log)
    agent = CredentialsAgent(
        processor=RecordProcessor(
            read=ProofCreated.from_avro,
            work=issue,
            record_name="a proof event",
            input_codec=CODECS.proofs,
            executor=InlineExecutor(),
            retry=RetryPolicy(),
        ),
        codecs=CODECS,
        credentials=credentials,  # type: ignore[arg-type]
        dead_letters=Topic("dead-letters", log),  # type: ignore[arg-type]
        recorded=recorded,  # type: ignore[arg-type]
        tally=tally,
        retry=RetryPolicy(),
        observer=PipelineObserver(),
    )
    asyncio.run(agent(Stream(values, log, topic="proofs")))  # type: ignore[arg-type]
    return tally, log, credentials


def test_a_proof_event_is_credentialed_counted_once_and_confirmed_before_the_next() -> None:
    tally, log, _ = run([PROOF, PROOF])

    assert log == [
        "took offset 0",
        "sent b'key' to credentials",
        "confirmed on credentials",
        "confirmed 1 entries",
        "took offset 1",
        "sent b'key' to credentials",
        "confirmed on credentials",
        "confirmed 1 entries",
    ]
    assert tally.by_tenant() == {CREDENTIAL_ISSUED.tenant: 1}
    assert tally.by_format() == {(CREDENTIAL_ISSUED.tenant, CREDENTIAL_ISSUED.media_type): 1}


def test_the_published_credential_event_is_the_one_the_stage_issued() -> None:
    _, _, credentials = run([PROOF])

    decoded = [CredentialIssued.from_avro(CODECS.credentials.decode(v)) for v in credentials.values]
    assert decoded == [CREDENTIAL_ISSUED]


def test_a_record_that_is_not_a_proof_event_is_dead_lettered_and_counts_nothing() -> None:
    tally, log, credentials = run([b"not a proof event"])

    assert log == ["took offset 0", "sent b'key' to dead-letters", "confirmed on dead-letters"]
    assert credentials.values == []
    assert tally.by_tenant() == {}
