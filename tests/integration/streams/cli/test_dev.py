"""`credlink dev up|status|down` on a fresh stack, as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stacks import free_port

pytestmark = pytest.mark.integration

CREDLINK = str(Path(sys.executable).parent / "credlink")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CREDLINK, "dev", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_up_twice_status_and_down_tell_the_truth(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CREDLINK_DEV_HOME": str(tmp_path),
        "CREDLINK_DEV_KAFKA_PORT": str(free_port()),
        "CREDLINK_DEV_CONTROLLER_PORT": str(free_port()),
        "CREDLINK_DEV_S3_PORT": str(free_port()),
    }
    first = _run(env, "up")
    try:
        assert first.returncode == 0, first.stderr
        ready = re.search(r"ready in ([0-9.]+) s", first.stdout)
        assert ready is not None
        assert float(ready.group(1)) < 30
        assert "topics: 3 created" in first.stdout

        second = _run(env, "up")
        assert second.returncode == 0, second.stderr
        assert "kafka: already running" in second.stdout
        assert "s3: already running" in second.stdout
        assert "topics: 0 created, 3 existing, 0 reconfigured" in second.stdout

        status = _run(env, "status")
        assert status.returncode == 0
        assert status.stdout.count("answering") == 2
    finally:
        down = _run(env, "down")
    assert down.returncode == 0
    assert "stopped: kafka, s3" in down.stdout
    after = _run(env, "status")
    assert after.returncode == 1
    assert "kafka: stopped" in after.stdout
    assert "s3: stopped" in after.stdout


def test_bad_setup_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = {**os.environ, "CREDLINK_DEV_HOME": str(tmp_path), "PATH": str(tmp_path)}
    result = _run(env, "up")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: java not found")
