"""A real `credlink serve-verify` process on a free loopback port, for the tests that speak to
the verify service over HTTP."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from streams.devtools.devstack.worker import CREDLINK
from tests.support.stacks import free_port

__all__ = ["VerifyProcess", "serving_verify", "verify_process"]


@dataclass(frozen=True)
class VerifyProcess:
    """A running `credlink serve-verify`: a client of it, its PID and its port."""

    client: httpx.Client
    pid: int
    port: int


@contextmanager
def serving_verify(env: dict[str, str], log_path: Path) -> Iterator[httpx.Client]:
    """The client of a `verify_process`."""
    with verify_process(env, log_path) as process:
        yield process.client


@contextmanager
def verify_process(env: dict[str, str], log_path: Path) -> Iterator[VerifyProcess]:
    """`credlink serve-verify` with environment `env`, logging to `log_path`, once it is
    healthy; stopped with SIGTERM by PID at the end, which it must exit 0 on."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [CREDLINK, "serve-verify", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _wait_until_healthy(client, process, log_path)
            yield VerifyProcess(client, process.pid, port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert code == 0, log_path.read_text()[-2000:]


def _wait_until_healthy(
    client: httpx.Client, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"serve-verify exited: {log_path.read_text()[-2000:]}"
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"not healthy: {log_path.read_text()[-2000:]}"
        time.sleep(0.2)
