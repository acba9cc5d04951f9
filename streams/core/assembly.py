"""Builds the domain objects of a worker from the settings: fetcher, signer, store, pipeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

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
    "build_decode_budget",
    "build_fetcher",
    "build_pipeline",
    "build_signer",
    "build_store",
    "s3_client",
]

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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
            settings.s3_endpoint_url,
            settings.s3_region,
            _secret(settings.s3_access_key_id),
            _secret(settings.s3_secret_access_key),
            max_attempts=max_attempts,
            max_pool_connections=pool,
        )
    except ValueError as error:
        raise SetupError(f"S3 settings: {error}") from None
    if instrument is not None:
        instrument(client)
    return client


def build_signer(settings: Settings) -> Signer:
    if settings.signing_key_pem is not None:
        return Signer(load_private_key_pem(settings.signing_key_pem.get_secret_value()))
    if settings.signing_key_file is not None:
        return Signer(load_private_key(settings.signing_key_file))
    raise SetupError(
        "no signing key: set CREDLINK_SIGNING_KEY_FILE (see `credlink keys generate`) "
        "or CREDLINK_SIGNING_KEY_PEM"
    )


def build_store(settings: Settings, instrument: S3Instrument | None = None) -> ProofStore:
    store: ProofStore
    if settings.proof_store == "s3":
        client = s3_client(
            settings, pool=max(10, settings.prove_concurrency * 2), instrument=instrument
        )
        try:
            store = S3ProofStore(
                client, settings.s3_bucket, sse=settings.s3_sse, kms_key_id=settings.s3_kms_key_id
            )
        except ValueError as error:
            raise SetupError(f"S3 proof store settings: {error}") from None
    else:
        store = FilesystemProofStore(settings.proof_store_root)
    if settings.proof_cache_entries:
        store = CachedProofStore(store, settings.proof_cache_entries)
    return store


def build_fetcher(settings: Settings, instrument: S3Instrument | None = None) -> ImageFetcher:
    """The image fetcher inside the settings' allow-lists and limits."""
    policy = FetchPolicy(
        allowed_s3_buckets=settings.fetch_allowed_buckets,
        file_roots=settings.fetch_file_roots,
        allowed_https_hosts=settings.fetch_allowed_hosts,
        max_bytes=settings.max_image_bytes,
        timeout_seconds=settings.fetch_timeout_seconds,
        attempts=settings.fetch_attempts,
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
    observer: PipelineObserver | None = None,
    instrument: S3Instrument | None = None,
) -> ProofPipeline:
    return ProofPipeline(
        fetcher=build_fetcher(settings, instrument),
        signer=build_signer(settings),
        store=build_store(settings, instrument),
        limits=ImageLimits(settings.max_image_bytes, settings.max_image_pixels),
        key_prefix=settings.proof_key_prefix,
        retention_days=settings.proof_retention_days,
        observer=observer,
        decode_budget=build_decode_budget(settings),
    )


def build_decode_budget(settings: Settings) -> MemoryBudget:
    """The budget of decoded-picture memory one process shares between its decodes."""
    return MemoryBudget(settings.decode_memory_mb * 1024 * 1024)
