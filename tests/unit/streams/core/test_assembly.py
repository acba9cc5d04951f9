"""Specification of `streams.core.assembly`: the worker's domain objects, built from settings."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from moto import mock_aws
from pydantic import SecretStr

from streams.core.assembly import (
    build_credential_issuer,
    build_pipeline,
    build_signer,
    build_store,
    build_trust_anchors,
    build_worker_pools,
)
from streams.core.certificates import write_development_certificates
from streams.core.clock import utc_now
from streams.core.content_credentials import ProofLink, iscc_fingerprint, read_credential
from streams.core.errors import ImageTooLarge, SetupError
from streams.core.proof_signature import verify_signed_proof
from streams.core.signing import KeySet, key_id
from streams.core.stores.cache import CachedProofStore
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.stores.s3 import S3ProofStore, make_s3_client
from streams.settings import Settings
from tests.support.images import encode, photo
from tests.support.pipeline_fakes import EVENT, PNG, InlineExecutor

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PEM = PRIVATE_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
REGION = "us-east-1"
BUCKET = "credlink-proofs"
ACCESS_KEY_ID = "AKIAEXAMPLEKEYID0002"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
METADATA = {
    "proof-id": "p-1",
    "image-sha256": "ab" * 32,
    "phash": "f0e1d2c3b4a59687",
    "created-at": "2025-01-01T00:00:00.000Z",
    "expires-at": "2026-01-01T00:00:00.000Z",
}


def settings(**groups: Mapping[str, object]) -> Settings:
    """Settings from `groups` only: no `.env` file, and the environment cleared by `clean_env`."""
    return Settings(_env_file=None).updated(**groups)


def key_file(path: Path, mode: int) -> Path:
    path.write_text(PEM)
    path.chmod(mode)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep `CREDLINK_*` variables of the shell running the tests out of the settings."""
    for name in list(os.environ):
        if name.startswith("CREDLINK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(None, REGION, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        client.create_bucket(Bucket=BUCKET)
        yield client


def s3_settings(tmp_path: Path, **groups: Mapping[str, object]) -> Settings:
    return settings(
        store={"backend": "s3", "root": tmp_path / "unused"},
        s3={
            "bucket": BUCKET,
            "region": REGION,
            "access_key_id": SecretStr(ACCESS_KEY_ID),
            "secret_access_key": SecretStr(SECRET_ACCESS_KEY),
        },
    ).updated(**groups)


def test_build_signer_without_a_key_names_the_setting_to_set() -> None:
    with pytest.raises(SetupError, match="CREDLINK_SIGNING_KEY_FILE"):
        build_signer(settings())


def test_build_signer_loads_the_key_from_pem_text() -> None:
    signer = build_signer(settings(signing={"key_pem": SecretStr(PEM)}))

    assert signer.key_id == key_id(PRIVATE_KEY.public_key())
    assert KeySet([PRIVATE_KEY.public_key()]).verify(signer.key_id, b"data", signer.sign(b"data"))


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_build_signer_loads_the_key_from_an_owner_only_file(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path / "signing.pem", mode)

    signer = build_signer(settings(signing={"key_file": path}))

    assert signer.key_id == key_id(PRIVATE_KEY.public_key())


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_build_signer_refuses_a_key_file_others_can_read(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path / "signing.pem", mode)

    with pytest.raises(SetupError, match="chmod 600") as refused:
        build_signer(settings(signing={"key_file": path}))

    assert PEM.splitlines()[1] not in str(refused.value)


def test_build_signer_reports_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="does not exist"):
        build_signer(settings(signing={"key_file": tmp_path / "missing.pem"}))


def test_build_credential_issuer_signs_under_the_configured_chain(tmp_path: Path) -> None:
    written = write_development_certificates(PRIVATE_KEY.public_key(), tmp_path)
    configured = settings(
        signing={"key_pem": SecretStr(PEM)},
        c2pa={
            "enabled": True,
            "certificate_chain_file": written.certificate_chain,
            "trust_anchors_file": written.ca_certificate,
        },
    )
    image = photo(64, 48, 1)

    credential = build_credential_issuer(configured).issue(
        encode(image, "PNG"),
        ProofLink("p", "t", "e"),
        embed=True,
        fingerprint=iscc_fingerprint(image),
    )

    assert credential.signed_image is not None
    reading = read_credential(
        credential.signed_image, trust_anchors_pem=build_trust_anchors(configured)
    )
    assert reading.validation_state == "Trusted"


def test_build_credential_issuer_without_a_chain_names_the_setting_to_set() -> None:
    enabled = settings(signing={"key_pem": SecretStr(PEM)}, c2pa={"enabled": True})
    with pytest.raises(SetupError, match="CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE"):
        build_credential_issuer(enabled)


def test_build_credential_issuer_reports_a_missing_chain_file(tmp_path: Path) -> None:
    missing = settings(
        signing={"key_pem": SecretStr(PEM)},
        c2pa={"enabled": True, "certificate_chain_file": tmp_path / "chain.pem"},
    )
    with pytest.raises(SetupError, match=r"chain file .*chain\.pem does not exist"):
        build_credential_issuer(missing)


def test_build_credential_issuer_refuses_a_chain_of_another_key(tmp_path: Path) -> None:
    written = write_development_certificates(Ed25519PrivateKey.generate().public_key(), tmp_path)
    mismatched = settings(
        signing={"key_pem": SecretStr(PEM)},
        c2pa={"enabled": True, "certificate_chain_file": written.certificate_chain},
    )
    with pytest.raises(SetupError, match="not the signing key") as refused:
        build_credential_issuer(mismatched)
    assert PEM.splitlines()[1] not in str(refused.value)


def test_build_trust_anchors_is_none_unless_a_file_is_set() -> None:
    assert build_trust_anchors(settings()) is None


def test_build_store_defaults_to_a_cached_filesystem_store(tmp_path: Path) -> None:
    store = build_store(settings(store={"root": tmp_path / "proofs"}))

    store.put("proofs/p-1.json", b"{}", METADATA)

    assert isinstance(store, CachedProofStore)
    assert "FilesystemProofStore" in repr(store)
    assert (tmp_path / "proofs" / "objects" / "proofs" / "p-1.json").read_bytes() == b"{}"


def test_build_store_without_cache_entries_is_the_bare_filesystem_store(tmp_path: Path) -> None:
    store = build_store(settings(store={"root": tmp_path / "proofs", "cache_entries": 0}))

    assert isinstance(store, FilesystemProofStore)


def test_build_store_for_s3_writes_to_the_configured_bucket(tmp_path: Path, s3: S3Client) -> None:
    store = build_store(s3_settings(tmp_path, store={"cache_entries": 0}))

    stored = store.put("proofs/p-1.json", b"{}", METADATA)

    assert isinstance(store, S3ProofStore)
    assert stored.store == BUCKET
    head = s3.head_object(Bucket=BUCKET, Key="proofs/p-1.json")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == METADATA
    assert not (tmp_path / "unused").exists()


def test_build_store_for_s3_is_cached_by_default(tmp_path: Path, s3: S3Client) -> None:
    store = build_store(s3_settings(tmp_path))

    assert isinstance(store, CachedProofStore)
    assert f"S3ProofStore(bucket={BUCKET!r}" in repr(store)


def test_build_store_for_s3_locks_each_proof_for_the_configured_days(
    tmp_path: Path, s3: S3Client
) -> None:
    s3.create_bucket(Bucket="locked-proofs", ObjectLockEnabledForBucket=True)
    store = build_store(
        s3_settings(
            tmp_path,
            s3={"bucket": "locked-proofs", "object_lock_days": 30},
            store={"cache_entries": 0},
        )
    )

    store.put("proofs/p-1.json", b"{}", METADATA)

    head = s3.head_object(Bucket="locked-proofs", Key="proofs/p-1.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    locked_for = head["ObjectLockRetainUntilDate"] - utc_now()
    assert timedelta(days=29) < locked_for <= timedelta(days=30)


def test_build_store_for_s3_locks_nothing_unless_configured(tmp_path: Path, s3: S3Client) -> None:
    build_store(s3_settings(tmp_path)).put("proofs/p-1.json", b"{}", METADATA)

    assert "ObjectLockMode" not in s3.head_object(Bucket=BUCKET, Key="proofs/p-1.json")


def test_build_pipeline_proves_with_the_configured_key_prefix_and_store(tmp_path: Path) -> None:
    pipeline = build_pipeline(
        settings(
            signing={"key_pem": SecretStr(PEM)},
            store={"root": tmp_path / "proofs", "key_prefix": "tenant-proofs/"},
        ),
        InlineExecutor(),
    )

    proof = pipeline.prove(EVENT)

    assert proof.location.key == f"tenant-proofs/2024/06/10/{proof.proof_id}.json"
    assert proof.sha256 == hashlib.sha256(PNG).hexdigest()
    stored = (tmp_path / "proofs" / "objects" / proof.location.key).read_bytes()
    assert verify_signed_proof(stored, KeySet([PRIVATE_KEY.public_key()])).is_valid


def test_build_pipeline_bounds_images_by_the_configured_size(tmp_path: Path) -> None:
    pipeline = build_pipeline(
        settings(
            signing={"key_pem": SecretStr(PEM)},
            store={"root": tmp_path / "proofs"},
            fetch={"max_image_bytes": len(PNG) - 1},
        ),
        InlineExecutor(),
    )

    with pytest.raises(ImageTooLarge):
        pipeline.prove(EVENT)


def test_build_pipeline_without_a_signing_key_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="CREDLINK_SIGNING_KEY_FILE"):
        build_pipeline(settings(store={"root": tmp_path / "proofs"}), InlineExecutor())


def test_secrets_in_the_settings_never_show_in_the_built_objects(
    tmp_path: Path, s3: S3Client
) -> None:
    configured = s3_settings(
        tmp_path,
        signing={"key_pem": SecretStr(PEM)},
        fetch={"allowed_buckets": frozenset({"uploads"})},
    )
    built: list[object] = [
        build_signer(configured),
        build_store(configured),
        build_pipeline(configured, InlineExecutor()),
    ]
    secrets = [
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        PEM,
        *PEM.splitlines()[1:-1],
        PRIVATE_KEY.private_bytes_raw().hex(),
    ]

    for thing in built:
        shown = repr(thing) + str(thing)
        for secret in secrets:
            assert secret not in shown


def thread_names_of_calls_running_at_once(pool: ThreadPoolExecutor, calls: int) -> set[str]:
    """The threads of `pool` running `calls` calls that each wait until all of them run."""
    together = threading.Barrier(calls, timeout=10)

    def meet(_: int) -> str:
        together.wait()
        return threading.current_thread().name

    return set(pool.map(meet, range(calls)))


def test_the_worker_proves_on_as_many_named_threads_as_configured() -> None:
    with build_worker_pools(settings(worker={"prove_concurrency": 3})) as pools:
        names = thread_names_of_calls_running_at_once(pools.prove, 3)

    assert len(names) == 3
    assert all(name.startswith("prove_") for name in names)


def test_the_worker_hashes_on_one_named_thread_per_usable_core() -> None:
    cores = len(os.sched_getaffinity(0))
    with build_worker_pools(settings()) as pools:
        names = thread_names_of_calls_running_at_once(pools.hashing, cores)

    assert len(names) == cores
    assert all(name.startswith("hash_") for name in names)


def test_leaving_the_worker_pools_shuts_both_down() -> None:
    with build_worker_pools(settings()) as pools:
        pass

    for pool in (pools.prove, pools.hashing):
        with pytest.raises(RuntimeError, match="shutdown"):
            pool.submit(print)


def test_a_proof_in_flight_when_the_pools_shut_down_still_hashes() -> None:
    release = threading.Event()

    def prove() -> int:
        release.wait(10)
        return pools.hashing.submit(len, b"picture").result()

    with build_worker_pools(settings()) as pools:
        in_flight = pools.prove.submit(prove)
        # Released once the shutdown waits for it.
        threading.Timer(0.2, release.set).start()

    assert in_flight.result() == len(b"picture")
