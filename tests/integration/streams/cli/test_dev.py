"""`credlink dev up|status|env|down` on a fresh stack, as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.searchable_dirs import searchable_temporary_directory
from tests.support.stacks import free_port

pytestmark = pytest.mark.integration

CREDLINK = str(Path(sys.executable).parent / "credlink")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CREDLINK, "dev", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture
def dev_home() -> Iterator[Path]:
    with searchable_temporary_directory("credlink-dev-") as path:
        yield path


def test_up_twice_status_env_and_down_tell_the_truth(dev_home: Path) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")},
        "CREDLINK_DEV_HOME": str(dev_home / ".credlink"),
        "CREDLINK_DEV_KAFKA_PORT": str(free_port()),
        "CREDLINK_DEV_CONTROLLER_PORT": str(free_port()),
        "CREDLINK_DEV_S3_PORT": str(free_port()),
        "CREDLINK_DEV_POSTGRES_PORT": str(free_port()),
    }
    first = _run(env, "up", "--no-worker")
    try:
        assert first.returncode == 0, first.stderr
        ready = re.search(r"ready in ([0-9.]+) s", first.stdout)
        assert ready is not None
        assert float(ready.group(1)) < 30
        created = re.search(r"topics: (\d+) created, 0 existing", first.stdout)
        assert created is not None
        assert int(created.group(1)) >= 3
        assert "postgres: started" in first.stdout
        assert "indexer: started" in first.stdout
        assert "worker:" not in first.stdout

        second = _run(env, "up", "--no-worker")
        assert second.returncode == 0, second.stderr
        for service in ("kafka", "s3", "postgres", "indexer"):
            assert f"{service}: already running" in second.stdout
        assert f"topics: 0 created, {created.group(1)} existing, 0 reconfigured" in second.stdout

        status = _run(env, "status")
        assert status.returncode == 1, "the worker is not running"
        assert status.stdout.count("answering") == 3
        assert "indexer: running" in status.stdout
        assert "worker: stopped" in status.stdout

        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in _run(env, "env").stdout.splitlines()
        )
        port = env["CREDLINK_DEV_POSTGRES_PORT"]
        assert exports["CREDLINK_INDEX_DSN"] == (
            f"'host=127.0.0.1 port={port} user=postgres dbname=credlink_index connect_timeout=5'"
        )
        assert exports["CREDLINK_KAFKA_BOOTSTRAP_SERVERS"].endswith(env["CREDLINK_DEV_KAFKA_PORT"])
        assert Path(exports["CREDLINK_KEYSET_FILE"]).is_file()
    finally:
        down = _run(env, "down")
    assert down.returncode == 0
    assert "stopped: indexer, postgres, kafka, s3" in down.stdout
    after = _run(env, "status")
    assert after.returncode == 1
    for service in ("kafka", "s3", "postgres", "indexer", "worker"):
        assert f"{service}: stopped" in after.stdout


def test_bad_setup_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = {**os.environ, "CREDLINK_DEV_HOME": str(tmp_path), "PATH": str(tmp_path)}
    result = _run(env, "up")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: java not found")
