"""With no Kafka broker where the settings point, a short-lived command says so in one line and
exits with status 69 within the connect timeout, instead of hanging or flooding the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.devtools.devstack.processes import free_port

CONNECT_TIMEOUT_SECONDS = 1.0
# Process start-up (imports) on a busy machine, on top of the connect timeout.
STARTUP_ALLOWANCE_SECONDS = 20.0
CREDLINK = str(Path(sys.executable).with_name("credlink"))


def run_without_broker(
    tmp_path: Path, *arguments: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {
        **os.environ,
        "CREDLINK_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "CREDLINK_KAFKA_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
    }
    started = time.monotonic()
    finished = subprocess.run(
        [CREDLINK, *arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=CONNECT_TIMEOUT_SECONDS + STARTUP_ALLOWANCE_SECONDS + 30,
        check=False,
    )
    return finished, time.monotonic() - started


@pytest.mark.parametrize(
    "arguments",
    [
        ("ingest", "dir", "images", "--tenant", "a"),
        ("proofs", "tail"),
        ("proofs", "get", "0123456789abcdef0123456789abcdef"),
        ("proofs", "export", "--output", "-"),
        ("replay", "--topic", "images.submitted", "--from-offset", "0"),
    ],
    ids=" ".join,
)
def test_a_command_needing_the_broker_fails_fast_with_one_line_naming_the_setting(
    tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    finished, elapsed = run_without_broker(tmp_path, *arguments)

    assert finished.returncode == 69, finished.stderr
    assert elapsed < CONNECT_TIMEOUT_SECONDS + STARTUP_ALLOWANCE_SECONDS
    lines = finished.stderr.splitlines()
    assert len(lines) < 5, finished.stderr
    assert "Traceback" not in finished.stderr
    assert any(
        line.startswith("error: no Kafka broker answered")
        and "CREDLINK_KAFKA_BOOTSTRAP_SERVERS" in line
        and "credlink dev up" in line
        for line in lines
    ), finished.stderr
    assert finished.stdout == ""
