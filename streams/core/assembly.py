"""Builds the domain objects of a worker from the settings: fetcher, signer, store, pipeline,
and the thread pools they run on."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from streams.core.certificates import load_certificate_chain, load_trust_anchors
from streams.core.errors import SetupError
from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.memory_budget import MemoryBudget
from streams.core.observing import PipelineObserver
from streams.core.pipeline import ImageLimits, ProofPipeline
from streams.core.signing import Signer, load_private_key, load_private_key_pem
from streams.core.stores.base import ProofStore
from streams.core.stores.cache import CachedProofStore
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.stores.s3 import S3ProofStore, make_s3_client
from streams.settings import Settings

__all__ = [
    "S3Instrument",
    "WorkerPools",
    "build_credential_issuer",
    "build_credential_pipeline",
    "build_decode_budget",
    "build_fetcher",
    "build_pipeline",
    "build_signer",
    "build_store",
    "build_trust_anchors",
    "build_worker_pools",
    "load_signing_key",
    "s3_client",
]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from streams.core.content_credentials import CredentialIssuer
    from streams.core.credential_pipeline import CredentialPipeline


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


S3Instrument = Callable[["S3Client"], None]


def s3_client(
    settings: Settings,
    *,
    max_attempts: int = 3,
    pool: int = 10,
    instrument: S3Instrument | None = None,
) -> S3Client:
    try:
        client = make_s3_client(
            settings.s3.endpoint_url,
            settings.s3.region,
            _secret(settings.s3.access_key_id),
            _secret(settings.s3.secret_access_key),
            max_attempts=max_attempts,
            max_pool_connections=pool,
        )
    except ValueError as error:
        raise SetupError(f"S3 settings: {error}") from None
    if instrument is not None:
        instrument(client)
    return client


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key that signs proofs, and Content Credentials under its certificate chain."""
    if settings.signing.key_pem is not None:
        return load_private_key_pem(settings.signing.key_pem.get_secret_value())
    if settings.signing.key_file is not None:
        return load_private_key(settings.signing.key_file)
    raise SetupError(
        "no signing key: set CREDLINK_SIGNING_KEY_FILE (see `credlink keys generate`) "
        "or CREDLINK_SIGNING_KEY_PEM"
    )


def build_signer(settings: Settings) -> Signer:
    return Signer(load_signing_key(settings))


def build_credential_issuer(settings: Settings) -> CredentialIssuer:
    """The C2PA manifest signer: the signing key under CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE."""
    # The C2PA and ISCC libraries (about 7 MB) are loaded by the processes that issue
    # credentials only. Those build their issuer as they start, so a missing library still
    # stops them there.
    from streams.core.content_credentials import CredentialIssuer

    chain_file = settings.c2pa.certificate_chain_file
    if chain_file is None:
        raise SetupError(
            "no C2PA certificate chain: set CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE "
            "(`credlink keys certificate` makes a development one)"
        )
    signing_key = load_signing_key(settings)
    chain = load_certificate_chain(chain_file, signing_key.public_key())
    return CredentialIssuer(signing_key, chain)


def build_trust_anchors(settings: Settings) -> bytes | None:
    """The PEM CA certificates of CREDLINK_C2PA_TRUST_ANCHORS_FILE, if it is set."""
    path = settings.c2pa.trust_anchors_file
    return load_trust_anchors(path) if path is not None else None


def build_store(settings: Settings, instrument: S3Instrument | None = None) -> ProofStore:
    store: ProofStore
    if settings.store.backend == "s3":
        client = s3_client(
            settings, pool=max(10, settings.worker.prove_concurrency * 2), instrument=instrument
        )
        try:
            store = S3ProofStore(
                client,
                settings.s3.bucket,
                sse=settings.s3.sse,
                kms_key_id=settings.s3.kms_key_id,
                retention_days=settings.s3.object_lock_days,
            )
        except ValueError as error:
            raise SetupError(f"S3 proof store settings: {error}") from None
    else:
        store = FilesystemProofStore(settings.store.root)
    if settings.store.cache_entries:
        store = CachedProofStore(store, settings.store.cache_entries)
    return store


def build_fetcher(settings: Settings, instrument: S3Instrument | None = None) -> ImageFetcher:
    """The image fetcher inside the settings' allow-lists and limits."""
    policy = FetchPolicy(
        allowed_s3_buckets=settings.fetch.allowed_buckets,
        file_roots=settings.fetch.file_roots,
        allowed_https_hosts=settings.fetch.allowed_hosts,
        max_bytes=settings.fetch.max_image_bytes,
        timeout_seconds=settings.fetch.timeout_seconds,
        attempts=settings.fetch.attempts,
    )
    # The fetcher retries on its own, so its S3 client makes one attempt per call.
    fetch_client = (
        s3_client(settings, max_attempts=1, instrument=instrument)
        if policy.allowed_s3_buckets
        else None
    )
    return ImageFetcher(policy, fetch_client)


def build_pipeline(
    settings: Settings,
    hashing: Executor,
    observer: PipelineObserver | None = None,
    instrument: S3Instrument | None = None,
) -> ProofPipeline:
    """The proof pipeline of the settings, decoding and hashing pictures on `hashing`."""
    return ProofPipeline(
        fetcher=build_fetcher(settings, instrument),
        signer=build_signer(settings),
        store=build_store(settings, instrument),
        limits=ImageLimits(settings.fetch.max_image_bytes, settings.fetch.max_image_pixels),
        key_prefix=settings.store.key_prefix,
        retention_days=settings.store.retention_days,
        hashing=hashing,
        observer=observer,
        decode_budget=build_decode_budget(settings),
    )


def build_credential_pipeline(
    settings: Settings,
    hashing: Executor,
    observer: PipelineObserver | None = None,
    instrument: S3Instrument | None = None,
) -> CredentialPipeline:
    """The credentials stage of the settings: the proof pipeline's fetcher, limits and store,
    decoding pictures on `hashing`."""
    # Imports the C2PA library too: see `build_credential_issuer`.
    from streams.core.credential_pipeline import CredentialPipeline

    return CredentialPipeline(
        fetcher=build_fetcher(settings, instrument),
        issuer=build_credential_issuer(settings),
        store=build_store(settings, instrument),
        limits=ImageLimits(settings.fetch.max_image_bytes, settings.fetch.max_image_pixels),
        retention_days=settings.store.retention_days,
        embed=settings.c2pa.embed,
        hashing=hashing,
        observer=observer,
        decode_budget=build_decode_budget(settings),
    )


def build_decode_budget(settings: Settings) -> MemoryBudget:
    """The budget of decoded-picture memory one process shares between its decodes."""
    return MemoryBudget(settings.worker.decode_memory_mb * 1024 * 1024)


@dataclass(frozen=True)
class WorkerPools:
    """The threads of a worker: `prove` runs the pipeline of one event per thread, `hashing`
    decodes and hashes the pictures of all of them. Leaving the context shuts both down."""

    prove: ThreadPoolExecutor
    hashing: ThreadPoolExecutor

    def __enter__(self) -> WorkerPools:
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Each waits for its calls in flight. A prove thread waits on the hashing pool: that
        # pool stops last, so no prove thread finds it gone.
        self.prove.shutdown()
        self.hashing.shutdown()


def build_worker_pools(settings: Settings) -> WorkerPools:
    """`CREDLINK_PROVE_CONCURRENCY` prove threads and one hashing thread per usable core."""
    return WorkerPools(
        prove=ThreadPoolExecutor(settings.worker.prove_concurrency, thread_name_prefix="prove"),
        # Decoding is CPU-bound and holds the whole decoded picture: more decodes at once than
        # cores add memory and cache contention, not throughput. Few, dedicated threads also
        # keep the freed picture buffers in few malloc arenas instead of one per calling thread.
        hashing=ThreadPoolExecutor(len(os.sched_getaffinity(0)), thread_name_prefix="hash"),
    )
