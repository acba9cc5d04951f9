"""Content Credentials through the running stack: a proving worker and a credentials worker on
the real broker and S3 endpoint.

Photographs in JPEG, PNG, WebP and AVIF are proven, then credentialed by the credentials
worker (its own consumer group on `proofs.created`); every manifest is read back from S3 with
the C2PA reader. A picture replaced after it was proven is dead-lettered, and a replayed proof
event announces the same manifest without writing (or counting) a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from connectors.output_topics import read_credentials, read_dead_letters, read_proofs
from connectors.reader import scan_topic
from streams.core.codecs.records import CredentialIssued, ProcessingFailed, ProofCreated
from streams.core.content_credentials import manifest_id_for, read_credential
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.app import credentials_app_id
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED
from tests.support.credentials import with_pixel_byte_changed
from tests.support.images import encode, photo
from tests.support.kafka_io import produce, wait_until_consumed
from tests.support.pipeline_scenarios import (
    Scenario,
    new_scenario,
    running_worker,
    tenant_counts,
    with_content_credentials,
)
from tests.support.stacks import free_port

pytestmark = pytest.mark.integration

LOCKED_BUCKET = "credlink-credentials-test"
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "AVIF": "image/avif"}
CHANGED = "evt-changed"


@dataclass
class Run:
    scenario: Scenario
    proofs: dict[str, ProofCreated]  # by event id
    credentials: list[CredentialIssued]
    failures: list[ProcessingFailed]
    images: dict[str, bytes]  # the proven bytes, by event id
    trust_anchor: bytes


def _photo_events(scenario: Scenario) -> dict[str, bytes]:
    """One photograph per format, and one that is replaced once it is proven."""
    images: dict[str, bytes] = {}
    sources = [*FORMATS, "JPEG"]
    for index, image_format in enumerate(sources):
        event_id = CHANGED if index == len(FORMATS) else f"evt-{image_format.lower()}"
        data = encode(photo(640, 480, seed=index), image_format)
        path = scenario.image_root / f"{event_id}.{image_format.lower()}"
        path.write_bytes(data)
        reference = scenario.reference(index, "acme", path.as_uri(), event_id=event_id)
        scenario.events.append((event_id.encode(), scenario.encode(reference)))
        images[event_id] = data
    return images


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("credentials")
    client = local_stack.s3.client()
    client.create_bucket(Bucket=LOCKED_BUCKET, ObjectLockEnabledForBucket=True)
    scenario = new_scenario(
        local_stack, workdir, s3={"bucket": LOCKED_BUCKET, "object_lock_days": 1}
    )
    settings, certificates = with_content_credentials(scenario.settings, workdir, embed=True)
    scenario.settings = settings
    images = _photo_events(scenario)
    with running_worker(settings, workdir, "prove"):
        produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
        proofs = {p.event_id: p for p in read_proofs(settings, count=len(images), timeout=120)}
    assert set(proofs) == set(images)
    changed = scenario.image_root / f"{CHANGED}.jpeg"
    changed.write_bytes(encode(photo(640, 480, seed=99), "JPEG"))

    credentials_settings = settings.updated(worker={"web_port": free_port()})
    with running_worker(
        credentials_settings, workdir, "credentials", options=("--credentials",)
    ) as worker:
        credentials = read_credentials(settings, count=len(FORMATS), timeout=120)
        failures = read_dead_letters(settings, count=1, timeout=60)
        assert len(credentials) == len(FORMATS), worker.log_tail()
        yield Run(
            scenario,
            proofs,
            credentials,
            failures,
            images,
            certificates.ca_certificate.read_bytes(),
        )


def _stored(run: Run, key: str) -> bytes:
    client = run.scenario.stack.s3.client()
    body: bytes = client.get_object(Bucket=LOCKED_BUCKET, Key=key)["Body"].read()
    return body


def test_every_format_gets_one_credential_of_its_proof(run: Run) -> None:
    by_event = {credential.event_id: credential for credential in run.credentials}
    assert set(by_event) == {f"evt-{image_format.lower()}" for image_format in FORMATS}
    for image_format, media_type in FORMATS.items():
        credential = by_event[f"evt-{image_format.lower()}"]
        proof = run.proofs[credential.event_id]
        assert credential.proof_id == proof.proof_id
        assert credential.manifest_id == manifest_id_for(proof.proof_id)
        assert credential.media_type == media_type
        assert credential.image_sha256 == proof.sha256
        assert credential.manifest_store.key == f"manifests/2026/01/01/{proof.proof_id}.c2pa"


def _published(run: Run, credential: CredentialIssued) -> bytes:
    """The image a credential's manifest store validates: the signed image when the manifest
    was embedded (as here), the proven bytes otherwise."""
    assert credential.signed_image is not None
    return _stored(run, credential.signed_image.key)


def test_each_stored_manifest_is_valid_and_trusted_under_the_development_ca(run: Run) -> None:
    for credential in run.credentials:
        image = _published(run, credential)
        manifest = _stored(run, credential.manifest_store.key)
        assert len(manifest) == credential.manifest_bytes

        untrusted = read_credential(image, manifest_store=manifest)
        trusted = read_credential(
            image, manifest_store=manifest, trust_anchors_pem=run.trust_anchor
        )

        assert untrusted.validation_state == "Valid", (credential.media_type, untrusted)
        assert trusted.validation_state == "Trusted", (credential.media_type, trusted)
        assert trusted.manifest_id == credential.manifest_id
        assert trusted.fingerprint == credential.fingerprint is not None
        assert trusted.link is not None
        assert trusted.link.proof_id == credential.proof_id


def test_each_signed_image_carries_its_manifest(run: Run) -> None:
    client = run.scenario.stack.s3.client()
    for credential in run.credentials:
        assert credential.signed_image is not None
        head = client.head_object(Bucket=LOCKED_BUCKET, Key=credential.signed_image.key)
        assert head["ContentType"] == credential.media_type
        reading = read_credential(_published(run, credential), trust_anchors_pem=run.trust_anchor)
        assert reading.validation_state == "Trusted", (credential.media_type, reading)
        assert reading.manifest_id == credential.manifest_id


def test_manifests_are_stored_encrypted_locked_and_with_their_metadata(run: Run) -> None:
    client = run.scenario.stack.s3.client()
    for credential in run.credentials:
        head = client.head_object(Bucket=LOCKED_BUCKET, Key=credential.manifest_store.key)
        assert head["ContentType"] == "application/c2pa"
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["Metadata"]["manifest-id"] == credential.manifest_id
        assert head["Metadata"]["proof-id"] == credential.proof_id
        assert head["Metadata"]["image-sha256"] == credential.image_sha256


def test_one_changed_byte_invalidates_the_manifest_by_its_hard_binding(run: Run) -> None:
    for credential in run.credentials:
        image = with_pixel_byte_changed(_published(run, credential))
        manifest = _stored(run, credential.manifest_store.key)

        reading = read_credential(image, manifest_store=manifest)

        assert reading.validation_state == "Invalid", credential.media_type
        assert any(code.endswith("Hash.mismatch") for code in reading.failures), reading.failures


def test_an_image_changed_after_proving_is_dead_lettered_with_its_reason(run: Run) -> None:
    (failure,) = run.failures
    assert failure.event_id == CHANGED
    assert (failure.stage, failure.error_class) == ("hash", "ImageChanged")
    assert "changed after it was proven" in failure.message
    assert failure.source_topic == run.scenario.settings.kafka.topic(PROOFS_CREATED)
    assert CHANGED not in {credential.event_id for credential in run.credentials}


def test_a_replayed_proof_event_yields_the_same_manifest_and_no_second_object(run: Run) -> None:
    settings = run.scenario.settings
    topic = settings.kafka.topic(PROOFS_CREATED)
    first = run.credentials[0]
    replayed = [
        (record.key, record.value)
        for record in scan_topic(settings, topic)
        if record.key == first.event_id.encode()
    ]
    assert len(replayed) == 1

    produce(settings, topic, replayed)
    credentials = read_credentials(settings, count=len(FORMATS) + 1, timeout=120)

    again = [credential for credential in credentials if credential.event_id == first.event_id]
    assert again == [first, first]
    client = run.scenario.stack.s3.client()
    versions = client.list_object_versions(Bucket=LOCKED_BUCKET, Prefix="manifests/")
    assert [version["Key"] for version in versions["Versions"]].count(first.manifest_store.key) == 1


def test_each_credential_is_counted_once_in_the_credentials_table(run: Run) -> None:
    settings = run.scenario.settings
    group = credentials_app_id(settings)
    wait_until_consumed(settings, group, settings.kafka.topic(PROOFS_CREATED))

    counted = tenant_counts(settings, f"{group}-credentials-counted-changelog")

    assert counted == {"acme": len(FORMATS)}  # a replayed proof event is not counted again
