"""The store layout every backend shares: where a proof's credential objects go, and how a
stored object is described without reading its bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from streams.core.stores.base import (
    CREDENTIAL_METADATA_KEYS,
    MANIFEST_CONTENT_TYPE,
    ProofStore,
    manifest_key,
    signed_image_key,
)
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.stores.s3 import S3ProofStore, make_s3_client

PROOF_ID = "0123456789abcdef0123456789abcdef"
ISSUED_AT_MS = 1_767_225_599_999  # 2025-12-31T23:59:59.999Z
KEY = manifest_key(PROOF_ID, ISSUED_AT_MS)
METADATA = {
    "proof-id": PROOF_ID,
    "image-sha256": "ab" * 32,
    "phash": "f0e1d2c3b4a59687",
    "created-at": "2026-01-02T03:04:05.006Z",
    "expires-at": "2035-12-29T23:59:59.999Z",
    "manifest-id": f"urn:c2pa:{PROOF_ID}",
    "media-type": "image/png",
    "fingerprint": "cc01" + "ab" * 32,
}


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProofStore]:
    if request.param == "filesystem":
        yield FilesystemProofStore(tmp_path / "store")
        return
    with mock_aws():
        client = make_s3_client(None, "us-east-1", "AKIAEXAMPLEKEYID0001", "secret")
        client.create_bucket(Bucket="credlink-proofs")
        client.put_bucket_versioning(
            Bucket="credlink-proofs", VersioningConfiguration={"Status": "Enabled"}
        )
        yield S3ProofStore(client, "credlink-proofs")


def test_a_manifest_store_is_kept_under_the_date_of_its_proof() -> None:
    assert manifest_key(PROOF_ID, ISSUED_AT_MS) == f"manifests/2025/12/31/{PROOF_ID}.c2pa"


def test_a_signed_image_is_kept_under_the_date_of_its_proof_with_its_extension() -> None:
    assert signed_image_key(PROOF_ID, ISSUED_AT_MS, "webp") == f"signed/2025/12/31/{PROOF_ID}.webp"


def test_a_key_for_something_that_is_no_proof_id_is_refused() -> None:
    with pytest.raises(ValueError, match="not a proof id"):
        manifest_key("../../etc/passwd", ISSUED_AT_MS)


def test_credential_metadata_is_the_proof_metadata_and_what_identifies_the_credential() -> None:
    assert sorted(CREDENTIAL_METADATA_KEYS) == sorted(METADATA)


def test_stat_describes_a_stored_object_without_its_bytes(store: ProofStore) -> None:
    location = store.put(KEY, b"manifest", METADATA, content_type=MANIFEST_CONTENT_TYPE)

    described = store.stat(KEY)

    assert described is not None
    assert described.location == location
    assert described.size == len(b"manifest")
    assert dict(described.metadata) == METADATA


def test_stat_sees_the_metadata_of_the_latest_write(store: ProofStore) -> None:
    store.put(KEY, b"first manifest", METADATA, content_type=MANIFEST_CONTENT_TYPE)
    other = {**METADATA, "manifest-id": "urn:c2pa:another"}

    store.put(KEY, b"second manifest", other, content_type=MANIFEST_CONTENT_TYPE)

    described = store.stat(KEY)
    assert described is not None
    assert described.metadata["manifest-id"] == "urn:c2pa:another"
    assert described.size == len(b"second manifest")


def test_stat_of_a_missing_key_is_none(store: ProofStore) -> None:
    assert store.stat(KEY) is None
