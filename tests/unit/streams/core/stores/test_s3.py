"""The S3 proof store: encrypted, idempotent writes and one place that classifies failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from streams.core.clock import utc_now
from streams.core.errors import InputRejected, TransientError
from streams.core.stores.base import (
    PROOF_METADATA_KEYS,
    ProofNotFound,
    StoredProof,
    StoreMisconfigured,
)
from streams.core.stores.s3 import S3ProofStore, make_s3_client
from tests.support.s3_bodies import body_cut_off

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "credlink-proofs"
KEY = "proofs/2025/p-1.json"
PROOF = b'{"proof-id":"p-1","signature":"c2ln"}'
METADATA = {
    "proof-id": "p-1",
    "image-sha256": "ab" * 32,
    "phash": "f0e1d2c3b4a59687",
    "created-at": "2025-01-01T00:00:00Z",
    "expires-at": "2026-01-01T00:00:00Z",
}
ACCESS_KEY_ID = "AKIAEXAMPLEKEYID0001"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def offline_client(**config: Any) -> S3Client:
    """A client that is only ever stubbed, never connected."""
    return make_s3_client(None, "us-east-1", ACCESS_KEY_ID, SECRET_ACCESS_KEY, **config)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(None, "us-east-1", ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        client.create_bucket(Bucket=BUCKET)
        yield client


def version_count(s3: S3Client, key: str) -> int:
    return len(s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", []))


def test_objects_are_encrypted_with_aes256_by_default(s3: S3Client) -> None:
    S3ProofStore(s3, BUCKET).put(KEY, PROOF, METADATA)

    assert s3.head_object(Bucket=BUCKET, Key=KEY)["ServerSideEncryption"] == "AES256"


def test_kms_encryption_uses_the_configured_key(s3: S3Client) -> None:
    store = S3ProofStore(s3, BUCKET, sse="aws:kms", kms_key_id="alias/credlink-proofs")

    store.put(KEY, PROOF, METADATA)

    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == "alias/credlink-proofs"


def test_object_metadata_is_exactly_the_proof_contract(s3: S3Client) -> None:
    S3ProofStore(s3, BUCKET).put(KEY, PROOF, METADATA)

    metadata = s3.head_object(Bucket=BUCKET, Key=KEY)["Metadata"]
    assert metadata == METADATA
    assert sorted(metadata) == sorted(PROOF_METADATA_KEYS)


def test_proofs_are_stored_as_json(s3: S3Client) -> None:
    S3ProofStore(s3, BUCKET).put(KEY, PROOF, METADATA)

    assert s3.head_object(Bucket=BUCKET, Key=KEY)["ContentType"] == "application/json"


def test_put_then_get_returns_the_stored_bytes(s3: S3Client) -> None:
    store = S3ProofStore(s3, BUCKET)

    stored = store.put(KEY, PROOF, METADATA)

    assert stored == StoredProof(store=BUCKET, key=KEY, version_id=None)
    assert store.get(KEY) == PROOF


def test_identical_rewrite_returns_the_same_stored_proof_and_bytes(s3: S3Client) -> None:
    store = S3ProofStore(s3, BUCKET)
    first = store.put(KEY, PROOF, METADATA)

    second = store.put(KEY, PROOF, METADATA)

    assert second == first
    assert store.get(KEY) == PROOF


def test_identical_rewrite_adds_no_version_to_a_versioned_bucket(s3: S3Client) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    store = S3ProofStore(s3, BUCKET)
    first = store.put(KEY, PROOF, METADATA)

    second = store.put(KEY, PROOF, METADATA)

    assert first.version_id is not None
    assert second == first
    assert version_count(s3, KEY) == 1


def test_changed_bytes_are_written_as_a_new_version(s3: S3Client) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    store = S3ProofStore(s3, BUCKET)
    first = store.put(KEY, PROOF, METADATA)

    second = store.put(KEY, PROOF + b" ", METADATA)

    assert second.version_id != first.version_id
    assert version_count(s3, KEY) == 2
    assert store.get(KEY) == PROOF + b" "


def test_get_of_a_missing_key_raises_proof_not_found(s3: S3Client) -> None:
    with pytest.raises(ProofNotFound):
        S3ProofStore(s3, BUCKET).get("proofs/missing.json")


def test_exists_is_true_only_for_stored_keys(s3: S3Client) -> None:
    store = S3ProofStore(s3, BUCKET)
    store.put(KEY, PROOF, METADATA)

    assert store.exists(KEY)
    assert not store.exists("proofs/missing.json")


def test_retention_locks_new_objects_in_compliance_mode(s3: S3Client) -> None:
    s3.create_bucket(Bucket="locked-proofs", ObjectLockEnabledForBucket=True)
    store = S3ProofStore(s3, "locked-proofs", retention_days=30)

    store.put(KEY, PROOF, METADATA)

    head = s3.head_object(Bucket="locked-proofs", Key=KEY)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retained_for = head["ObjectLockRetainUntilDate"] - utc_now()
    assert timedelta(days=29) < retained_for <= timedelta(days=30)


def test_retention_on_a_bucket_without_object_lock_is_a_misconfiguration(s3: S3Client) -> None:
    store = S3ProofStore(s3, BUCKET, retention_days=30)

    with pytest.raises(StoreMisconfigured, match="PutObject"):
        store.put(KEY, PROOF, METADATA)


def test_missing_bucket_is_a_misconfiguration_not_a_rejected_input(s3: S3Client) -> None:
    store = S3ProofStore(s3, "no-such-bucket")

    with pytest.raises(StoreMisconfigured, match="NoSuchBucket") as raised:
        store.put(KEY, PROOF, METADATA)
    assert not isinstance(raised.value, InputRejected)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("SlowDown", 503),
        ("RequestTimeout", 400),
        ("Throttling", 400),
        ("", 502),
    ],
)
def test_throttling_and_server_errors_on_read_are_transient(code: str, status: int) -> None:
    client = offline_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", code, http_status_code=status)

        with pytest.raises(TransientError, match="GetObject"):
            S3ProofStore(client, BUCKET).get(KEY)


def test_server_error_on_write_is_transient() -> None:
    client = offline_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        stubber.add_client_error("put_object", "InternalError", http_status_code=500)

        with pytest.raises(TransientError, match=r"PutObject .* InternalError \(HTTP 500\)"):
            S3ProofStore(client, BUCKET).put(KEY, PROOF, METADATA)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("NoSuchBucket", 404)])
def test_permanent_refusals_are_misconfigurations(code: str, status: int) -> None:
    client = offline_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        stubber.add_client_error("put_object", code, http_status_code=status)

        with pytest.raises(StoreMisconfigured, match=code):
            S3ProofStore(client, BUCKET).put(KEY, PROOF, METADATA)


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://s3.example.invalid"),
        ConnectTimeoutError(endpoint_url="https://s3.example.invalid"),
        ReadTimeoutError(endpoint_url="https://s3.example.invalid"),
    ],
    ids=lambda failure: type(failure).__name__,
)
def test_connection_failures_are_transient(failure: Exception) -> None:
    client = offline_client(max_attempts=1)

    def fail_before_sending(**_: Any) -> None:
        raise failure

    client.meta.events.register("before-send.s3.GetObject", fail_before_sending)

    with pytest.raises(TransientError, match=type(failure).__name__):
        S3ProofStore(client, BUCKET).get(KEY)


def test_a_connection_broken_while_reading_the_body_is_transient() -> None:
    client = offline_client()
    with Stubber(client) as stubber:
        body = body_cut_off(len(PROOF))
        stubber.add_response("get_object", {"Body": body, "ContentLength": len(PROOF)})

        with pytest.raises(TransientError, match=r"GetObject .* ResponseStreamingError"):
            S3ProofStore(client, BUCKET).get(KEY)


def test_errors_and_reprs_never_show_credentials() -> None:
    client = offline_client()
    store = S3ProofStore(client, BUCKET)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_object",
            "SignatureDoesNotMatch",
            service_message=f"signed with {ACCESS_KEY_ID}",
            http_status_code=403,
        )
        with pytest.raises(StoreMisconfigured) as raised:
            store.get(KEY)

    shown = " ".join([str(raised.value), repr(raised.value), repr(store)])
    assert ACCESS_KEY_ID not in shown
    assert SECRET_ACCESS_KEY not in shown


def test_kms_key_id_without_kms_encryption_is_refused() -> None:
    with pytest.raises(ValueError, match="aws:kms"):
        S3ProofStore(offline_client(), BUCKET, sse="AES256", kms_key_id="alias/credlink-proofs")


def test_client_needs_both_halves_of_explicit_credentials_or_neither() -> None:
    with pytest.raises(ValueError, match="both") as raised:
        make_s3_client(None, "us-east-1", ACCESS_KEY_ID, None)
    assert ACCESS_KEY_ID not in str(raised.value)


def test_a_manifest_store_is_kept_as_application_c2pa_encrypted_and_locked(s3: S3Client) -> None:
    s3.create_bucket(Bucket="locked-proofs", ObjectLockEnabledForBucket=True)
    store = S3ProofStore(s3, "locked-proofs", retention_days=30)
    metadata = {**METADATA, "manifest-id": "urn:c2pa:p-1"}

    store.put("manifests/2025/p-1.c2pa", b"c2pa", metadata, content_type="application/c2pa")

    head = s3.head_object(Bucket="locked-proofs", Key="manifests/2025/p-1.c2pa")
    assert head["ContentType"] == "application/c2pa"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["Metadata"] == metadata


def test_stat_names_the_current_version_of_an_object(s3: S3Client) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    store = S3ProofStore(s3, BUCKET)
    store.put(KEY, PROOF, METADATA)
    second = store.put(KEY, PROOF + b" ", METADATA)

    described = store.stat(KEY)

    assert described is not None
    assert described.location == second
    assert described.size == len(PROOF) + 1
