"""Fetching an event's image bytes by URI, inside an allow-list: the pipeline's SSRF boundary.

Three schemes are served: `s3://` for allow-listed buckets, `file://` below configured roots and
`https://` to allow-listed hosts. Any other URI is refused with `UriNotAllowed`. Transient failures
are retried with exponential backoff; a permanent failure raises `FetchFailed`, and so does the
last failed attempt at an https host. The last failed attempt at S3 raises `TransientError`
instead: the allow-listed buckets are the platform's own storage, so S3 being unreachable,
throttling or failing with 5xx is an outage to wait out (the event is retried until S3
answers), not a fault of the event. Error messages are safe for a dead-letter record: URIs in
them lose userinfo, query string and fragment.
"""

from __future__ import annotations

import errno
import os
import random
import re
import stat
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from ipaddress import ip_address
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import SplitResult, unquote, urlsplit

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from streams.core.attempt_deadline import AttemptDeadline
from streams.core.errors import FetchFailed, ImageTooLarge, TransientError, UriNotAllowed
from streams.core.retry import RetryPolicy, retry_call
from streams.core.stores.s3 import describe_s3_error, is_transient_s3_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["MAX_REDIRECTS", "MAX_URI_LENGTH", "FetchPolicy", "ImageFetcher"]

MAX_URI_LENGTH = 2048
MAX_REDIRECTS = 3

_MAX_S3_KEY_BYTES = 1024
_MAX_BACKOFF_SECONDS = 30.0
_MAX_URI_IN_MESSAGE = 200
_S3_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})
# Printable ASCII without space: anything else in a URI must be percent-encoded.
_URI_CHARACTERS = re.compile(r"[\x21-\x7e]*")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What may be fetched, and how hard to try. The empty defaults allow nothing."""

    allowed_s3_buckets: frozenset[str] = field(default_factory=frozenset)
    file_roots: tuple[Path, ...] = ()
    allowed_https_hosts: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = 25 * 1024 * 1024
    timeout_seconds: float = 10.0
    attempts: int = 3
    # The first retry waits half to all of this, each later one twice as long (`RetryPolicy`).
    backoff_base_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_base_seconds < 0:
            raise ValueError("backoff_base_seconds must not be negative")


# How httpx words a Location header it cannot parse (a protocol error it would otherwise retry).
_INVALID_LOCATION = "Invalid URL in location header"


class _RetryableFetchError(Exception):
    """One attempt failed in a way another attempt may not; the message is safe to show."""


class _SourceUnavailable(_RetryableFetchError):
    """One attempt failed because the image store itself is unavailable, not the image."""


def _safe_uri(uri: str) -> str:
    """`uri` fit for an error message: no userinfo, query or fragment, escaped, shortened."""
    without_query = re.split(r"[?#]", uri, maxsplit=1)[0]
    scheme, separator, rest = without_query.partition("://")
    if separator:
        authority, slash, path = rest.partition("/")
        without_query = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    escaped = without_query.encode("unicode_escape").decode("ascii")
    if len(escaped) > _MAX_URI_IN_MESSAGE:
        return escaped[:_MAX_URI_IN_MESSAGE] + "..."
    return escaped


def _check_uri_text(uri: str, what: str) -> None:
    if len(uri) > MAX_URI_LENGTH:
        raise UriNotAllowed(f"{what} is longer than {MAX_URI_LENGTH} characters: {_safe_uri(uri)}")
    if not _URI_CHARACTERS.fullmatch(uri):
        raise UriNotAllowed(
            f"{what} contains whitespace, control or non-ASCII characters (percent-encode them): "
            + _safe_uri(uri)
        )


def _split(uri: str) -> SplitResult:
    try:
        return urlsplit(uri)
    except ValueError as exc:
        raise UriNotAllowed(f"URI is malformed ({exc}): {_safe_uri(uri)}") from exc


def _is_ip_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _open_beneath(root: Path, relative: PurePosixPath) -> int:
    """A read-only descriptor of the file at `relative` under `root`, opened one component at a
    time without following a symlink.

    `relative` was resolved, so it names no symlink; one met here was swapped in since, and
    could point outside the root: the open fails (ELOOP, or ENOTDIR for a directory) instead.
    O_NONBLOCK: opening a FIFO must not hang before the caller's regular-file check.
    """
    directory_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts[:-1]:
            inner = os.open(part, directory_flags, dir_fd=directory)
            os.close(directory)
            directory = inner
        file_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        return os.open(relative.parts[-1], file_flags, dir_fd=directory)
    finally:
        os.close(directory)


class ImageFetcher:
    """Fetches image bytes for a URI that `policy` allows.

    `s3_client` is needed only when the policy allows S3 buckets; it should be made with few
    attempts of its own (see `make_s3_client`), since the fetcher retries too. Without an
    `http_client` the fetcher makes its own, which `close` releases. `sleep` and `jitter`
    (a source of floats in [0, 1)) are there for tests.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        s3_client: S3Client | None = None,
        http_client: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if policy.allowed_s3_buckets and s3_client is None:
            raise ValueError("the policy allows S3 buckets, so an S3 client is needed")
        self._policy = policy
        self._s3 = s3_client
        self._owns_http_client = http_client is None
        # No kept-alive connections: each attempt's deadline can cut only the connections it
        # opens itself (`AttemptDeadline`).
        self._http = http_client or httpx.Client(
            trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._https_hosts = frozenset(host.lower() for host in policy.allowed_https_hosts)
        self._file_roots = tuple(Path(os.path.realpath(root)) for root in policy.file_roots)
        self._sleep = sleep
        self._retry = RetryPolicy(
            base_seconds=policy.backoff_base_seconds,
            max_seconds=_MAX_BACKOFF_SECONDS,
            jitter=jitter,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP client if the fetcher made it."""
        if self._owns_http_client:
            self._http.close()

    def fetch(self, uri: str) -> bytes:
        """The bytes `uri` names, at most `policy.max_bytes` of them.

        Raises `UriNotAllowed` for a URI outside the policy, `ImageTooLarge` for an oversize
        image, `FetchFailed` when fetching failed permanently or on every attempt, and
        `TransientError` when S3 was unavailable on every attempt.
        """
        read = self._reader_for(uri)
        try:
            return retry_call(
                read,
                self._retry,
                retry_on=_RetryableFetchError,
                attempts=self._policy.attempts,
                sleep=self._sleep,
            )
        except _RetryableFetchError as exc:
            count = self._policy.attempts
            attempts = f"{count} attempt" + ("s" if count > 1 else "")
            if isinstance(exc, _SourceUnavailable):
                raise TransientError(
                    f"image store unavailable on {attempts} (last: {exc}): {_safe_uri(uri)}"
                ) from exc
            raise FetchFailed(f"gave up after {attempts} (last: {exc}): {_safe_uri(uri)}") from exc

    def _reader_for(self, uri: str) -> Callable[[], bytes]:
        """Check `uri` against the policy; return a function that makes one fetch attempt."""
        _check_uri_text(uri, "URI")
        scheme = _split(uri).scheme.lower()
        if scheme == "s3":
            bucket, key = self._s3_location(uri)
            if self._s3 is None:
                raise UriNotAllowed(f"S3 URIs are not allowed here: {_safe_uri(uri)}")
            return partial(self._read_s3, self._s3, bucket, key, _safe_uri(uri))
        if scheme == "file":
            root, relative = self._file_path(uri)
            return partial(self._read_file, root, relative, _safe_uri(uri))
        if scheme == "https":
            return partial(self._read_https, self._https_url(uri, "URI"))
        if not scheme:
            raise UriNotAllowed(f"URI has no scheme: {_safe_uri(uri)}")
        raise UriNotAllowed(
            f"scheme {scheme!r} is not allowed (only s3, file, https): {_safe_uri(uri)}"
        )

    def _s3_location(self, uri: str) -> tuple[str, str]:
        # Split by hand: an S3 key is taken literally, '?' and '#' included, as the AWS CLI does.
        bucket, _, key = uri.partition("://")[2].partition("/")
        safe = _safe_uri(uri)
        if "@" in bucket:
            raise UriNotAllowed(f"userinfo is not allowed in a URI: {safe}")
        if not bucket:
            raise UriNotAllowed(f"S3 URI has no bucket: {safe}")
        if not _S3_BUCKET_NAME.fullmatch(bucket):
            raise UriNotAllowed(f"S3 URI has an invalid bucket name: {safe}")
        if bucket not in self._policy.allowed_s3_buckets:
            raise UriNotAllowed(f"S3 bucket {bucket!r} is not on the allow-list: {safe}")
        if not key:
            raise UriNotAllowed(f"S3 URI has no object key: {safe}")
        if len(key.encode()) > _MAX_S3_KEY_BYTES:
            raise UriNotAllowed(f"S3 key is longer than {_MAX_S3_KEY_BYTES} bytes: {safe}")
        # S3 keys have no '..', but a path-style endpoint or proxy may normalise one away.
        if any(segment in (".", "..") for segment in key.split("/")):
            raise UriNotAllowed(f"S3 key has a '.' or '..' segment: {safe}")
        return bucket, key

    def _file_path(self, uri: str) -> tuple[Path, PurePosixPath]:
        """The allowed root `uri`'s file resolves under, and its path relative to that root."""
        parts = _split(uri)
        safe = _safe_uri(uri)
        if not self._file_roots:
            raise UriNotAllowed(f"file URIs are not allowed here: {safe}")
        if parts.netloc not in ("", "localhost"):
            raise UriNotAllowed(f"file URI must not name a host: {safe}")
        if parts.query or parts.fragment:
            raise UriNotAllowed(f"file URI must not have a query or fragment: {safe}")
        try:
            path = unquote(parts.path, errors="strict")
        except UnicodeDecodeError as exc:
            raise UriNotAllowed(f"file path is not percent-encoded UTF-8: {safe}") from exc
        if not path.startswith("/"):
            raise UriNotAllowed(f"file URI must have an absolute path: {safe}")
        if "\\" in path or not path.isprintable():
            raise UriNotAllowed(f"file path contains a control character or backslash: {safe}")
        if any(segment in (".", "..") for segment in path.split("/")):
            raise UriNotAllowed(f"file path has a '.' or '..' segment: {safe}")
        resolved = Path(os.path.realpath(path))
        for root in self._file_roots:
            if resolved == root:
                raise UriNotAllowed(f"file URI does not name a regular file: {safe}")
            if resolved.is_relative_to(root):
                return root, PurePosixPath(resolved.relative_to(root))
        raise UriNotAllowed(f"file is outside the allowed roots: {safe}")

    def _https_url(self, uri: str, what: str) -> httpx.URL:
        """`uri` as the URL httpx will request, if its host is allowed; `what` names it in errors.

        Checked on httpx's own parse of the URI, so the host checked is the host connected to.
        """
        safe = _safe_uri(uri)
        if "\\" in uri:
            raise UriNotAllowed(f"{what} contains a backslash: {safe}")
        try:
            url = httpx.URL(uri)
        except httpx.InvalidURL as exc:
            raise UriNotAllowed(f"{what} is not a valid URL: {safe}") from exc
        if url.scheme != "https":
            raise UriNotAllowed(f"{what} is not https: {safe}")
        if url.userinfo:
            raise UriNotAllowed(f"userinfo is not allowed in a URI: {safe}")
        if not url.host:
            raise UriNotAllowed(f"{what} has no host: {safe}")
        if url.port not in (None, 443):
            raise UriNotAllowed(f"{what} names port {url.port}; only 443 is allowed: {safe}")
        if url.host not in self._https_hosts:
            kind = "IP-literal host" if _is_ip_literal(url.host) else "host"
            raise UriNotAllowed(f"{what} {kind} {url.host!r} is not on the allow-list: {safe}")
        return url.copy_with(fragment=None)

    def _read_s3(self, client: S3Client, bucket: str, key: str, safe: str) -> bytes:
        limit = self._policy.max_bytes
        try:
            response = client.get_object(Bucket=bucket, Key=key)
            # closing(), not `with` on the body: StreamingBody's `with` yields the raw urllib3
            # stream, whose read raises urllib3's errors instead of botocore's.
            with closing(response["Body"]) as body:
                if response["ContentLength"] > limit:
                    raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
                data = body.read(limit + 1)
        except (BotoCoreError, ClientError) as exc:
            if is_transient_s3_error(exc):
                raise _SourceUnavailable(f"S3 GetObject: {describe_s3_error(exc)}") from exc
            raise FetchFailed(f"S3 GetObject failed: {describe_s3_error(exc)}: {safe}") from exc
        if len(data) > limit:
            raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
        return data

    def _read_file(self, root: Path, relative: PurePosixPath, safe: str) -> bytes:
        limit = self._policy.max_bytes
        try:
            descriptor = _open_beneath(root, relative)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UriNotAllowed(f"file path changed while it was opened: {safe}") from exc
            raise FetchFailed(f"cannot open file ({exc.strerror}): {safe}") from exc
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise UriNotAllowed(f"file URI does not name a regular file: {safe}")
            if status.st_size > limit:
                raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
            with os.fdopen(descriptor, "rb", closefd=False) as file:
                data = file.read(limit + 1)
        finally:
            os.close(descriptor)
        if len(data) > limit:
            raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
        return data

    def _read_https(self, url: httpx.URL) -> bytes:
        with AttemptDeadline(self._policy.timeout_seconds) as deadline:
            try:
                return self._follow(url, deadline)
            except _RetryableFetchError as exc:
                if deadline.expired:
                    raise _RetryableFetchError(
                        f"no complete answer within {deadline.seconds:g} s"
                    ) from exc
                raise

    def _follow(self, url: httpx.URL, deadline: AttemptDeadline) -> bytes:
        """The body `url` answers, following allowed redirects, within `deadline`."""
        for _ in range(MAX_REDIRECTS + 1):
            safe = _safe_uri(str(url))
            try:
                with self._http.stream(
                    "GET",
                    url,
                    # Compressed bodies would be inflated before the size cap could see them.
                    headers={"Accept-Encoding": "identity"},
                    follow_redirects=False,
                    timeout=self._policy.timeout_seconds,
                    extensions={"trace": deadline.trace},
                ) as response:
                    if response.is_redirect:
                        url = self._redirect_target(url, response, safe)
                        continue
                    self._check_http_status(response.status_code, safe)
                    self._check_content_encoding(response, safe)
                    return self._read_capped_body(response, safe, deadline)
            except httpx.InvalidURL as exc:
                # httpx works out a redirect's next request even when it does not follow it.
                raise UriNotAllowed(f"redirect target is not a valid URL: {safe}") from exc
            except httpx.RemoteProtocolError as exc:
                if str(exc).startswith(_INVALID_LOCATION):
                    raise UriNotAllowed(f"redirect target is not a valid URL: {safe}") from exc
                raise _RetryableFetchError(type(exc).__name__) from exc
            except httpx.TransportError as exc:
                raise _RetryableFetchError(type(exc).__name__) from exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"{type(exc).__name__}: {safe}") from exc
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects: {safe}")

    def _redirect_target(self, url: httpx.URL, response: httpx.Response, safe: str) -> httpx.URL:
        """Where a redirect from `url` points, if the policy allows it."""
        location = response.headers.get("location")
        if location is None:
            raise FetchFailed(f"HTTP {response.status_code} without a Location: {safe}")
        target = str(url.join(location))
        _check_uri_text(target, "redirect target")
        return self._https_url(target, "redirect target")

    @staticmethod
    def _check_content_encoding(response: httpx.Response, safe: str) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchFailed(f"content encoding {encoding[:32]!r} was not asked for: {safe}")

    @staticmethod
    def _check_http_status(status: int, safe: str) -> None:
        if 200 <= status < 300:
            return
        if status >= 500 or status in _RETRYABLE_HTTP_STATUSES:
            raise _RetryableFetchError(f"HTTP {status}")
        raise FetchFailed(f"HTTP {status}: {safe}")

    def _read_capped_body(
        self, response: httpx.Response, safe: str, deadline: AttemptDeadline
    ) -> bytes:
        limit = self._policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise ImageTooLarge(f"image is larger than {limit} bytes: {safe}")
            # Between chunks too: a transport without a socket to cut (a test's) keeps going.
            # `_read_https` words the error of an expired deadline.
            if deadline.expired:
                raise _RetryableFetchError("deadline passed")
        return bytes(body)
