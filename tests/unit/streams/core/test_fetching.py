"""Image fetching: the allow-list is the SSRF boundary, reads are capped, retries are bounded."""

from __future__ import annotations

import dataclasses
import gzip
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from streams.core.errors import (
    FetchFailed,
    ImageTooLarge,
    InputRejected,
    TransientError,
    UriNotAllowed,
)
from streams.core.fetching import MAX_REDIRECTS, MAX_URI_LENGTH, FetchPolicy, ImageFetcher
from streams.core.stores.s3 import make_s3_client
from streams.devtools.devstack.processes import free_port
from tests.support.dripping_server import dripping_https_server
from tests.support.http_fakes import Handler, Recorder, redirects_to
from tests.support.s3_bodies import body_cut_off

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HOST = "images.example.com"
BUCKET = "credlink-images"
IMAGE = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
MAX_BYTES = 1024
POLICY = FetchPolicy(
    allowed_s3_buckets=frozenset({BUCKET}),
    allowed_https_hosts=frozenset({HOST}),
    max_bytes=MAX_BYTES,
    timeout_seconds=5.0,
    attempts=3,
    backoff_base_seconds=1.0,
)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = make_s3_client(None, "us-east-1", "testing", "testing", max_attempts=1)
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="images/cat.png", Body=IMAGE)
        yield client


def https_fetcher(
    recorder: Recorder, handler: Handler, policy: FetchPolicy = POLICY, jitter: float = 0.0
) -> ImageFetcher:
    """A fetcher for https only, whose requests and sleeps `recorder` sees."""
    return ImageFetcher(
        dataclasses.replace(policy, allowed_s3_buckets=frozenset()),
        http_client=httpx.Client(transport=recorder.transport(handler)),
        sleep=recorder.sleeps.append,
        jitter=lambda: jitter,
    )


def file_fetcher(root: Path, max_bytes: int = MAX_BYTES) -> ImageFetcher:
    return ImageFetcher(FetchPolicy(file_roots=(root,), max_bytes=max_bytes))


def image_response(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=IMAGE)


def fails_with(status: int) -> Handler:
    return lambda _: httpx.Response(status)


# --- refused before any request -------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/image.png",
        "http://169.254.169.254/latest/meta-data/",
        f"http://{HOST}/image.png",
        "ftp://images.example.com/image.png",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "data:image/png;base64,iVBORw0KGgo=",
        "/etc/passwd",
        "image.png",
    ],
)
def test_schemes_other_than_s3_file_and_https_are_refused(recorder: Recorder, uri: str) -> None:
    with pytest.raises(UriNotAllowed):
        https_fetcher(recorder, image_response).fetch(uri)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "uri",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://127.0.0.1/image.png",
        "https://[::1]/image.png",
        "https://[fd00:ec2::254]/latest/meta-data/",
    ],
)
def test_ip_literal_hosts_are_refused_unless_listed(recorder: Recorder, uri: str) -> None:
    with pytest.raises(UriNotAllowed, match="IP-literal host"):
        https_fetcher(recorder, image_response).fetch(uri)
    assert recorder.requests == []


def test_ip_literal_host_is_fetched_when_explicitly_listed(recorder: Recorder) -> None:
    policy = dataclasses.replace(POLICY, allowed_https_hosts=frozenset({"192.0.2.10"}))
    fetcher = https_fetcher(recorder, image_response, policy)

    assert fetcher.fetch("https://192.0.2.10/a.png") == IMAGE


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example.net/image.png",
        f"https://{HOST}.evil.example.net/image.png",
        f"https://evil.example.net/{HOST}/image.png",
        f"https://{HOST}./image.png",
        f"https://evil.example.net#@{HOST}/image.png",
        f"https://{HOST}:8443/image.png",
        f"https://{HOST}\\@evil.example.net/image.png",
        "https:///image.png",
        "https://",
        "https://[::1/image.png",
    ],
)
def test_https_hosts_must_match_the_allow_list_exactly(recorder: Recorder, uri: str) -> None:
    with pytest.raises(UriNotAllowed):
        https_fetcher(recorder, image_response).fetch(uri)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "uri",
    [
        f"https://user:hunter2@{HOST}/image.png",
        f"https://hunter2@{HOST}/image.png",
    ],
)
def test_userinfo_is_refused_and_never_echoed(recorder: Recorder, uri: str) -> None:
    with pytest.raises(UriNotAllowed) as raised:
        https_fetcher(recorder, image_response).fetch(uri)
    assert "hunter2" not in str(raised.value)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "uri",
    [
        f"https://{HOST}/image.png\n",
        f"https://{HOST}/ima\x00ge.png",
        f"https://{HOST}/ima ge.png",
        f"https://{HOST}/bild-\u00fc.png",
        f"https://{HOST}/" + "a" * MAX_URI_LENGTH,
    ],
)
def test_control_characters_and_overlong_uris_are_refused(recorder: Recorder, uri: str) -> None:
    with pytest.raises(UriNotAllowed) as raised:
        https_fetcher(recorder, image_response).fetch(uri)
    assert len(str(raised.value)) < 400
    assert "\n" not in str(raised.value)
    assert "\x00" not in str(raised.value)


def test_allow_listed_host_matches_case_insensitively_on_the_default_port(
    recorder: Recorder,
) -> None:
    policy = dataclasses.replace(POLICY, allowed_https_hosts=frozenset({"Images.Example.COM"}))
    fetcher = https_fetcher(recorder, image_response, policy)

    assert fetcher.fetch("https://IMAGES.example.com:443/image.png") == IMAGE
    assert recorder.requests[0].url.host == HOST


# --- redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "http://images.example.com/image.png",
        "https://evil.example.net/image.png",
        "//169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_off_the_allow_list_is_refused(recorder: Recorder, location: str) -> None:
    with pytest.raises(UriNotAllowed, match="redirect target"):
        https_fetcher(recorder, redirects_to(location)).fetch(f"https://{HOST}/image.png")
    assert [request.url.host for request in recorder.requests] == [HOST]


def test_redirect_within_the_allow_list_is_followed(recorder: Recorder) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.png":
            return httpx.Response(301, headers={"location": "/new.png"})
        return image_response(request)

    assert https_fetcher(recorder, handler).fetch(f"https://{HOST}/old.png") == IMAGE
    assert [request.url.path for request in recorder.requests] == ["/old.png", "/new.png"]


@pytest.mark.parametrize("location", ["https:evil.example.net/x", "https://[::1/x", "https://a b/"])
def test_a_malformed_redirect_target_is_not_allowed(recorder: Recorder, location: str) -> None:
    with pytest.raises(UriNotAllowed, match="redirect target"):
        https_fetcher(recorder, redirects_to(location)).fetch(f"https://{HOST}/image.png")
    assert len(recorder.requests) == 1


def test_a_redirect_without_a_location_fails_the_fetch(recorder: Recorder) -> None:
    with pytest.raises(FetchFailed, match="without a Location"):
        https_fetcher(recorder, lambda _: httpx.Response(302)).fetch(f"https://{HOST}/image.png")


def test_redirect_chains_are_bounded(recorder: Recorder) -> None:
    with pytest.raises(FetchFailed, match="redirects"):
        https_fetcher(recorder, redirects_to("/again.png")).fetch(f"https://{HOST}/image.png")
    assert len(recorder.requests) == MAX_REDIRECTS + 1


# --- status codes, retries ----------------------------------------------------------------------


def test_transient_failure_is_retried_until_success(recorder: Recorder) -> None:
    statuses = iter([503, 502])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses, 200)
        return image_response(request) if status == 200 else httpx.Response(status)

    assert https_fetcher(recorder, handler).fetch(f"https://{HOST}/image.png") == IMAGE
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [0.5, 1.0]


def test_exhausted_retries_fail_naming_the_number_of_attempts(recorder: Recorder) -> None:
    with pytest.raises(FetchFailed, match="after 3 attempt") as raised:
        https_fetcher(recorder, fails_with(503)).fetch(f"https://{HOST}/image.png")
    assert "HTTP 503" in str(raised.value)
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [0.5, 1.0]


def test_timeouts_are_retried(recorder: Recorder) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(FetchFailed, match="ReadTimeout"):
        https_fetcher(recorder, handler).fetch(f"https://{HOST}/image.png")
    assert len(recorder.requests) == 3


def test_slow_drip_body_is_cut_off_at_the_timeout(recorder: Recorder) -> None:
    def slow_chunks() -> Iterator[bytes]:
        yield b"x"
        time.sleep(0.06)
        yield b"y"

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=slow_chunks())

    policy = dataclasses.replace(POLICY, timeout_seconds=0.05, attempts=2)
    with pytest.raises(FetchFailed, match=r"no complete answer within 0\.05 s"):
        https_fetcher(recorder, handler, policy).fetch(f"https://{HOST}/image.png")
    assert len(recorder.requests) == 2


def test_headers_dripped_just_inside_the_read_timeout_end_the_attempt_at_its_deadline(
    tmp_path: Path,
) -> None:
    with dripping_https_server(tmp_path, pause=0.2) as (host, client):
        policy = FetchPolicy(allowed_https_hosts=frozenset({host}), timeout_seconds=1.0, attempts=1)
        fetcher = ImageFetcher(policy, http_client=client)
        outcome: list[BaseException] = []

        def fetch() -> None:
            try:
                fetcher.fetch(f"https://{host}/image.png")
            except BaseException as error:  # handed to the test thread
                outcome.append(error)

        started = time.monotonic()
        fetching = threading.Thread(target=fetch, daemon=True)
        fetching.start()
        fetching.join(timeout=10)
        elapsed = time.monotonic() - started

    assert not fetching.is_alive(), "the dripped headers held the fetch past its deadline"
    assert elapsed < 3.0
    assert len(outcome) == 1
    assert isinstance(outcome[0], FetchFailed)
    assert "no complete answer within 1 s" in str(outcome[0])


def test_backoff_doubles_with_jitter_between_half_and_all_of_it(recorder: Recorder) -> None:
    policy = dataclasses.replace(POLICY, attempts=4, backoff_base_seconds=2.0)
    fetcher = https_fetcher(recorder, fails_with(500), policy, jitter=0.5)

    with pytest.raises(FetchFailed):
        fetcher.fetch(f"https://{HOST}/image.png")
    assert recorder.sleeps == [1.5, 3.0, 6.0]


@pytest.mark.parametrize("status", [404, 403, 410, 400])
def test_permanent_http_failures_are_not_retried(recorder: Recorder, status: int) -> None:
    with pytest.raises(FetchFailed, match=f"HTTP {status}"):
        https_fetcher(recorder, fails_with(status)).fetch(f"https://{HOST}/image.png")
    assert len(recorder.requests) == 1
    assert recorder.sleeps == []


def test_failure_messages_leave_out_query_strings(recorder: Recorder) -> None:
    with pytest.raises(FetchFailed) as raised:
        https_fetcher(recorder, fails_with(404)).fetch(
            f"https://{HOST}/image.png?X-Amz-Signature=s3cr3t&token=s3cr3t#frag"
        )
    assert "s3cr3t" not in str(raised.value)
    assert f"https://{HOST}/image.png" in str(raised.value)


# --- size caps ------------------------------------------------------------------------------


def test_declared_oversize_body_is_rejected_without_reading_it(recorder: Recorder) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": str(MAX_BYTES + 1)}, content=b"")

    with pytest.raises(ImageTooLarge):
        https_fetcher(recorder, handler).fetch(f"https://{HOST}/image.png")


def test_undeclared_oversize_body_is_cut_off_while_streaming(recorder: Recorder) -> None:
    served: list[int] = []

    def endless_chunks() -> Iterator[bytes]:
        for _ in range(1000):
            served.append(1)
            yield b"x" * 512

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless_chunks())

    with pytest.raises(ImageTooLarge):
        https_fetcher(recorder, handler).fetch(f"https://{HOST}/image.png")
    assert len(served) < 10


def test_oversize_images_are_rejected_inputs_not_retried(recorder: Recorder) -> None:
    assert issubclass(ImageTooLarge, InputRejected)
    big = dataclasses.replace(POLICY, max_bytes=len(IMAGE) - 1)

    with pytest.raises(ImageTooLarge):
        https_fetcher(recorder, image_response, big).fetch(f"https://{HOST}/image.png")
    assert recorder.sleeps == []


def test_image_of_exactly_the_limit_is_accepted(recorder: Recorder) -> None:
    exact = dataclasses.replace(POLICY, max_bytes=len(IMAGE))

    assert https_fetcher(recorder, image_response, exact).fetch(f"https://{HOST}/a.png") == IMAGE


# --- s3:// ------------------------------------------------------------------------------------


def test_s3_object_in_an_allowed_bucket_is_fetched(s3: S3Client) -> None:
    assert ImageFetcher(POLICY, s3).fetch(f"s3://{BUCKET}/images/cat.png") == IMAGE


@pytest.mark.parametrize(
    "uri",
    [
        "s3://other-bucket/images/cat.png",
        "s3:///images/cat.png",
        f"s3://{BUCKET}",
        f"s3://{BUCKET}/",
        f"s3://user@{BUCKET}/images/cat.png",
        f"s3://{BUCKET}:9000/images/cat.png",
        f"s3://{BUCKET}/images/../secrets/key.png",
    ],
)
def test_s3_uris_outside_the_allow_list_are_refused(s3: S3Client, uri: str) -> None:
    with pytest.raises(UriNotAllowed):
        ImageFetcher(POLICY, s3).fetch(uri)


def test_s3_oversize_object_is_rejected(s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="images/huge.png", Body=b"x" * (MAX_BYTES + 1))

    with pytest.raises(ImageTooLarge):
        ImageFetcher(POLICY, s3).fetch(f"s3://{BUCKET}/images/huge.png")


def test_s3_missing_key_fails_without_retrying(s3: S3Client, recorder: Recorder) -> None:
    fetcher = ImageFetcher(POLICY, s3, sleep=recorder.sleeps.append)

    with pytest.raises(FetchFailed, match="NoSuchKey"):
        fetcher.fetch(f"s3://{BUCKET}/images/missing.png")
    assert recorder.sleeps == []


def test_s3_throttling_is_retried_then_is_an_outage_to_wait_out_not_a_bad_event(
    recorder: Recorder,
) -> None:
    client = make_s3_client(None, "us-east-1", "testing", "testing", max_attempts=1)
    fetcher = ImageFetcher(POLICY, client, sleep=recorder.sleeps.append, jitter=lambda: 0.0)
    with Stubber(client) as stubber:
        for _ in range(POLICY.attempts):
            stubber.add_client_error("get_object", "SlowDown", http_status_code=503)

        with pytest.raises(TransientError, match=r"unavailable on 3 attempts.*SlowDown") as raised:
            fetcher.fetch(f"s3://{BUCKET}/images/cat.png")
        stubber.assert_no_pending_responses()
    assert not isinstance(raised.value, InputRejected)
    assert recorder.sleeps == [0.5, 1.0]


def test_an_s3_connection_broken_mid_body_is_an_outage_to_wait_out(recorder: Recorder) -> None:
    client = make_s3_client(None, "us-east-1", "testing", "testing", max_attempts=1)
    fetcher = ImageFetcher(POLICY, client, sleep=recorder.sleeps.append, jitter=lambda: 0.0)
    with Stubber(client) as stubber:
        for _ in range(POLICY.attempts):
            body = body_cut_off(len(IMAGE))
            stubber.add_response("get_object", {"Body": body, "ContentLength": len(IMAGE)})

        with pytest.raises(TransientError, match="ResponseStreamingError"):
            fetcher.fetch(f"s3://{BUCKET}/images/cat.png")
    assert len(recorder.sleeps) == POLICY.attempts - 1


def test_an_unreachable_s3_endpoint_is_an_outage_to_wait_out(recorder: Recorder) -> None:
    client = make_s3_client(
        f"http://127.0.0.1:{free_port()}", "us-east-1", "testing", "testing", max_attempts=1
    )
    fetcher = ImageFetcher(POLICY, client, sleep=recorder.sleeps.append, jitter=lambda: 0.0)

    with pytest.raises(TransientError, match="EndpointConnectionError"):
        fetcher.fetch(f"s3://{BUCKET}/images/cat.png")
    assert len(recorder.sleeps) == POLICY.attempts - 1


def test_policy_allowing_buckets_needs_an_s3_client() -> None:
    with pytest.raises(ValueError, match="S3 client"):
        ImageFetcher(POLICY)


# --- file:// ----------------------------------------------------------------------------------


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "cat.png").write_bytes(IMAGE)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    return root


def test_file_below_a_root_is_fetched(image_root: Path) -> None:
    assert file_fetcher(image_root).fetch(f"file://{image_root}/cat.png") == IMAGE


def test_file_outside_the_roots_is_refused(image_root: Path) -> None:
    with pytest.raises(UriNotAllowed, match="outside the allowed roots"):
        file_fetcher(image_root).fetch("file:///etc/passwd")


@pytest.mark.parametrize(
    "suffix",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/./cat.png",
        "/cat.png%00.txt",
        "/%ff.png",
    ],
)
def test_path_traversal_is_refused(image_root: Path, suffix: str) -> None:
    with pytest.raises(UriNotAllowed):
        file_fetcher(image_root).fetch(f"file://{image_root}{suffix}")


def test_symlink_escaping_the_root_is_refused(image_root: Path) -> None:
    (image_root / "escape.png").symlink_to(image_root.parent / "secret.txt")

    with pytest.raises(UriNotAllowed, match="outside the allowed roots"):
        file_fetcher(image_root).fetch(f"file://{image_root}/escape.png")


@pytest.mark.parametrize("swapped", ["a directory on the path", "the file itself"])
def test_a_symlink_swapped_in_after_the_path_was_resolved_is_not_followed(
    image_root: Path, monkeypatch: pytest.MonkeyPatch, swapped: str
) -> None:
    outside = image_root.parent / "outside"
    outside.mkdir()
    (outside / "cat.png").write_bytes(b"secret")
    if swapped == "a directory on the path":
        (image_root / "album").symlink_to(outside)
        uri = f"file://{image_root}/album/cat.png"
    else:
        (image_root / "swapped.png").symlink_to(outside / "cat.png")
        uri = f"file://{image_root}/swapped.png"
    # Resolution saw real directories and files: the symlinks appeared right after it.
    monkeypatch.setattr(os.path, "realpath", lambda path: str(path))

    with pytest.raises(UriNotAllowed, match="changed while it was opened"):
        file_fetcher(image_root).fetch(uri)


def test_a_file_uri_naming_the_root_itself_is_refused(image_root: Path) -> None:
    with pytest.raises(UriNotAllowed, match="not name a regular file"):
        file_fetcher(image_root).fetch(f"file://{image_root}")


def test_symlink_staying_inside_the_root_is_followed(image_root: Path) -> None:
    (image_root / "alias.png").symlink_to(image_root / "cat.png")

    assert file_fetcher(image_root).fetch(f"file://{image_root}/alias.png") == IMAGE


@pytest.mark.parametrize(
    "uri_for",
    [
        lambda root: f"file://evil.example.net{root}/cat.png",
        lambda root: f"file://{root}/cat.png?x=1",
        lambda root: "file://",
    ],
)
def test_file_uris_with_a_host_or_query_are_refused(
    image_root: Path, uri_for: Callable[[Path], str]
) -> None:
    with pytest.raises(UriNotAllowed):
        file_fetcher(image_root).fetch(uri_for(image_root))


def test_only_regular_files_are_read(image_root: Path) -> None:
    os.mkfifo(image_root / "pipe.png")
    (image_root / "directory.png").mkdir()

    with pytest.raises(UriNotAllowed, match="regular file"):
        file_fetcher(image_root).fetch(f"file://{image_root}/pipe.png")
    with pytest.raises(UriNotAllowed, match="regular file"):
        file_fetcher(image_root).fetch(f"file://{image_root}/directory.png")


def test_oversize_file_is_rejected(image_root: Path) -> None:
    with pytest.raises(ImageTooLarge):
        file_fetcher(image_root, max_bytes=len(IMAGE) - 1).fetch(f"file://{image_root}/cat.png")


def test_missing_file_fails_permanently(image_root: Path) -> None:
    with pytest.raises(FetchFailed, match="cannot open"):
        file_fetcher(image_root).fetch(f"file://{image_root}/missing.png")


def test_file_uris_are_refused_without_configured_roots(image_root: Path) -> None:
    with pytest.raises(UriNotAllowed, match="file URIs are not allowed"):
        ImageFetcher(FetchPolicy()).fetch(f"file://{image_root}/cat.png")


# --- content encoding ---------------------------------------------------------------------------


def test_the_fetcher_asks_for_the_bytes_as_they_are(recorder: Recorder) -> None:
    assert https_fetcher(recorder, image_response).fetch(f"https://{HOST}/image.png") == IMAGE
    assert recorder.requests[0].headers["accept-encoding"] == "identity"


def test_a_compressed_body_is_refused_before_it_is_inflated(recorder: Recorder) -> None:
    # 64 KiB of gzip that would inflate to 64 MiB, past any image size limit.
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=bomb)

    with pytest.raises(FetchFailed, match="content encoding 'gzip' was not asked for"):
        https_fetcher(recorder, handler).fetch(f"https://{HOST}/image.png")
