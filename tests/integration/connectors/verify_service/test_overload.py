"""The verify service under more uploads than it admits, and clients that drip their requests: a
real `credlink serve-verify` on loopback admitting 2 requests at once, with 1.5 s header and body
timeouts, verifying against a real PostgreSQL proof index."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from streams.devtools.benchmarking.processes import peak_rss_bytes, rss_bytes
from streams.devtools.samples import camera_jpeg
from tests.integration.connectors.verify_service.conftest import Deployment
from tests.support.verify_service import VerifyProcess, verify_process

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
MAX_IN_FLIGHT = 2
CLIENTS = 4 * MAX_IN_FLIGHT
UPLOADS_PER_CLIENT = 3
TIMEOUT_SECONDS = 1.5
# aiohttp reads and drops what a client still sends after its answer for this long, then closes.
LINGERING_SECONDS = 10
SLACK_SECONDS = 1.5
# A 12-megapixel camera JPEG of 2.4 MB. An admitted upload of it holds about three times its
# size at its peak (measured: 13-16 MiB for two): the form's chunks while they are joined, then
# the joined bytes beside the draft-scaled decode. Admitting all eight clients at once peaked at
# 38-43 MiB.
PICTURE = camera_jpeg(4000, 3000, 41)
PER_REQUEST_BYTES = 3 * len(PICTURE)
# Threads' stacks, the allocator's arenas and the answers on their way out.
MARGIN_BYTES = 12 * MIB


@pytest.fixture(scope="module")
def service(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VerifyProcess]:
    limited = replace(
        deployment,
        settings=deployment.settings.updated(
            verify={
                "max_in_flight": MAX_IN_FLIGHT,
                "max_request_bytes": 4 * len(PICTURE),
                "header_timeout_seconds": TIMEOUT_SECONDS,
                "body_timeout_seconds": TIMEOUT_SECONDS,
            }
        ),
    )
    log_path = tmp_path_factory.mktemp("overload") / "serve-verify.log"
    with verify_process(limited.env(), log_path) as process:
        yield process


def upload(client: httpx.Client, deployment: Deployment) -> httpx.Response:
    return client.post(
        "/v1/verify",
        files={"image": ("photo.jpg", PICTURE)},
        headers={"Authorization": f"Bearer {deployment.tokens['acme']}"},
    )


def test_uploads_beyond_the_limit_are_turned_away_with_503_in_bounded_memory(
    service: VerifyProcess, deployment: Deployment
) -> None:
    # The first verification pays for lazy imports and first-use tables: not the load's cost.
    assert upload(service.client, deployment).status_code == 200
    baseline = rss_bytes(service.pid)
    Path(f"/proc/{service.pid}/clear_refs").write_text("5")  # VmHWM starts again from now
    start = threading.Barrier(CLIENTS)

    def uploads() -> list[httpx.Response]:
        with httpx.Client(base_url=str(service.client.base_url), timeout=30) as client:
            start.wait()
            # A connection reset or a crashed service raises here and fails the test.
            return [upload(client, deployment) for _ in range(UPLOADS_PER_CLIENT)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        batches = list(pool.map(lambda _: uploads(), range(CLIENTS)))
    added = peak_rss_bytes(service.pid) - baseline

    answers = [answer for batch in batches for answer in batch]
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) == {200, 503}, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["Retry-After"] == "1"
            assert answer.json()["error"] == "busy"
    assert added < MAX_IN_FLIGHT * PER_REQUEST_BYTES + MARGIN_BYTES, f"{added / MIB:.0f} MiB"
    assert upload(service.client, deployment).status_code == 200
    assert service.client.get("/healthz").status_code == 200


@dataclass(frozen=True)
class Dripped:
    """What a dripping client got: the service's answer, and when it came and when the
    connection was closed, in seconds from the client's first byte."""

    answer: bytes
    answered_after: float | None
    closed_after: float


def drip(port: int, head: bytes, tail: bytes, *, pause: float = 0.1) -> Dripped:
    """Send `head` at once and then `tail` a byte every `pause` seconds, until the service
    closes the connection (or 30 s pass)."""
    answer, answered_after = b"", None
    with socket.create_connection(("127.0.0.1", port)) as connection:
        started = time.monotonic()
        connection.sendall(head)
        connection.settimeout(pause)
        for byte in tail:
            if time.monotonic() - started > 30:
                break
            try:
                connection.sendall(bytes([byte]))
                received = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset by the service
                break
            if not received:
                break
            answer += received
            answered_after = answered_after or time.monotonic() - started
        return Dripped(answer, answered_after, time.monotonic() - started)


def test_clients_dripping_headers_or_a_body_are_cut_off_while_others_are_answered(
    service: VerifyProcess, deployment: Deployment
) -> None:
    head = (
        "POST /v1/verify HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {deployment.tokens['acme']}\r\n"
        "Content-Type: image/jpeg\r\n"
    )
    with ThreadPoolExecutor(2) as pool:
        headers = pool.submit(drip, service.port, head.encode(), b"X-Drip: " + b"a" * 1000)
        body = pool.submit(
            drip, service.port, f"{head}Content-Length: 100000\r\n\r\n".encode(), bytes(100000)
        )
        time.sleep(TIMEOUT_SECONDS / 2)
        meanwhile = service.client.post(
            "/v1/verify",
            content=deployment.image("acme").read_bytes(),
            headers={
                "Authorization": f"Bearer {deployment.tokens['acme']}",
                "Content-Type": "image/jpeg",
            },
        )
        slow_headers, slow_body = headers.result(), body.result()

    assert meanwhile.status_code == 200, meanwhile.text
    assert meanwhile.json()["outcome"] == "verified_exact"
    assert slow_headers.answer == b""
    assert slow_headers.closed_after < TIMEOUT_SECONDS + SLACK_SECONDS
    assert slow_body.answer.startswith(b"HTTP/1.1 408 "), slow_body.answer[:200]
    assert b'"error": "request_timeout"' in slow_body.answer
    assert slow_body.answered_after is not None
    assert slow_body.answered_after < TIMEOUT_SECONDS + SLACK_SECONDS
    assert slow_body.closed_after < TIMEOUT_SECONDS + LINGERING_SECONDS + SLACK_SECONDS
