"""The proof store on S3 or an S3-compatible endpoint, and the boto3 client it is built with.

Objects are written with server-side encryption, the caller's content type (`application/json`
for proofs) and the metadata map the caller passes (see `streams.core.stores.base` for the keys
the pipeline uses).
Failures are translated once, here: throttling, 5xx and lost connections become
`TransientError`; everything else the store refuses becomes `StoreMisconfigured`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

from streams.core.clock import utc_now
from streams.core.errors import TransientError
from streams.core.stores.base import (
    ProofNotFound,
    ProofStore,
    StoredObject,
    StoredProof,
    StoreMisconfigured,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PutObjectRequestTypeDef

__all__ = [
    "S3ProofStore",
    "ServerSideEncryption",
    "describe_s3_error",
    "is_missing_s3_object",
    "is_transient_s3_error",
    "make_s3_client",
]

ServerSideEncryption = Literal["AES256", "aws:kms"]

_TRANSIENT_ERROR_CODES = frozenset(
    {
        "InternalError",
        "RequestLimitExceeded",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
    }
)
# GetObject names a missing key `NoSuchKey`; HeadObject has no body, so only the status is left.
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_transient_s3_error(exc: Exception) -> bool:
    """Whether a boto3 failure may succeed on retry: throttling, 5xx, lost or slow connections."""
    if isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError):
        return True
    if isinstance(exc, ClientError):
        status = _http_status(exc)
        return _error_code(exc) in _TRANSIENT_ERROR_CODES or status == 429 or status >= 500
    return False


def is_missing_s3_object(exc: ClientError) -> bool:
    """Whether a boto3 failure says the object (not the bucket) does not exist."""
    return _error_code(exc) in _MISSING_OBJECT_CODES


def describe_s3_error(exc: Exception) -> str:
    """The error code and HTTP status, or the exception type.

    Safe for logs and dead-letter records: the server's message and the endpoint URL are left
    out, so nothing about credentials or request signing can leak through it.
    """
    if isinstance(exc, ClientError):
        return f"{_error_code(exc) or 'error'} (HTTP {_http_status(exc)})"
    return type(exc).__name__


def make_s3_client(
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    *,
    max_pool_connections: int = 10,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 3,
) -> S3Client:
    """An S3 client with bounded timeouts and botocore's standard retry mode.

    No credentials means boto3's default chain (environment, profile, instance role).
    `max_attempts` counts the first try; callers that retry on their own should keep it low.
    """
    if (access_key_id is None) != (secret_access_key is None):
        raise ValueError("set both the S3 access key id and the secret access key, or neither")
    # boto3 takes about 10 MB once imported: a worker whose proofs and images are on local
    # files never builds a client, and never holds it.
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        # Virtual-host addressing needs DNS for `<bucket>.<endpoint>`, which local S3 servers
        # (moto, MinIO) do not have.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


class S3ProofStore(ProofStore):
    """Proofs as encrypted objects in one bucket.

    `retention_days` puts each new object under an S3 Object Lock in compliance mode for that
    many days (the bucket must have Object Lock enabled). An identical rewrite of an existing
    object is skipped, so replays add no versions; two workers racing on the same new key may
    still both write it.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        sse: ServerSideEncryption = "AES256",
        kms_key_id: str | None = None,
        retention_days: int | None = None,
    ) -> None:
        if kms_key_id is not None and sse != "aws:kms":
            raise ValueError("kms_key_id needs sse='aws:kms'")
        if retention_days is not None and retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self._client = client
        self._bucket = bucket
        self._sse: ServerSideEncryption = sse
        self._kms_key_id = kms_key_id
        self._retention_days = retention_days

    def __repr__(self) -> str:
        return f"S3ProofStore(bucket={self._bucket!r}, sse={self._sse!r})"

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        existing = self._stored_if_identical(key, data)
        if existing is not None:
            return existing
        request: PutObjectRequestTypeDef = {
            "Bucket": self._bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": dict(metadata),
            "ServerSideEncryption": self._sse,
        }
        if self._kms_key_id is not None:
            request["SSEKMSKeyId"] = self._kms_key_id
        if self._retention_days is not None:
            request["ObjectLockMode"] = "COMPLIANCE"
            request["ObjectLockRetainUntilDate"] = utc_now() + timedelta(days=self._retention_days)
        with self._translated_errors("PutObject", key):
            response = self._client.put_object(**request)
        return StoredProof(store=self._bucket, key=key, version_id=response.get("VersionId"))

    def _get(self, key: str) -> bytes:
        with self._translated_errors("GetObject", key):
            try:
                response = self._client.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if is_missing_s3_object(exc):
                    raise ProofNotFound(key) from exc
                raise
            with closing(response["Body"]) as body:
                return body.read()

    def _exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def _stat(self, key: str) -> StoredObject | None:
        with self._translated_errors("HeadObject", key):
            try:
                head = self._client.head_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if is_missing_s3_object(exc):
                    return None
                raise
        return StoredObject(
            location=StoredProof(store=self._bucket, key=key, version_id=head.get("VersionId")),
            size=head["ContentLength"],
            metadata=head["Metadata"],
        )

    def _stored_if_identical(self, key: str, data: bytes) -> StoredProof | None:
        """The current object under `key` if it holds exactly `data`, else None.

        Compares bytes, not ETags: with SSE-KMS an ETag is not a digest of the content.
        """
        with self._translated_errors("GetObject", key):
            try:
                response = self._client.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if is_missing_s3_object(exc):
                    return None
                raise
            with closing(response["Body"]) as body:
                if response["ContentLength"] != len(data) or body.read() != data:
                    return None
        return StoredProof(store=self._bucket, key=key, version_id=response.get("VersionId"))

    @contextmanager
    def _translated_errors(self, operation: str, key: str) -> Iterator[None]:
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            where = f"s3://{self._bucket}/{key}"
            message = f"S3 {operation} of {where} failed: {describe_s3_error(exc)}"
            if is_transient_s3_error(exc):
                raise TransientError(message) from exc
            raise StoreMisconfigured(message) from exc
