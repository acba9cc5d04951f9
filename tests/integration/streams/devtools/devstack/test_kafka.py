"""The local Kafka broker: idempotent start, stop by PID, and one-line errors on bad setup."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from streams.core.errors import SetupError
from streams.devtools.devstack.kafka import LocalKafka, cluster_id, fetch_kafka
from streams.devtools.devstack.stack import LocalStack
from tests.support.stacks import stack_settings

pytestmark = pytest.mark.integration


def _kafka(home: Path) -> LocalKafka:
    return LocalStack(stack_settings(home)).kafka


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_starting_twice_is_harmless_and_stop_stops_the_broker(tmp_path: Path) -> None:
    kafka = _kafka(tmp_path)
    first = kafka.start()
    try:
        assert first.seconds_to_ready is not None
        assert first.seconds_to_ready < 30
        second = kafka.start()
        assert second.pid == first.pid
        assert second.seconds_to_ready is None
    finally:
        assert kafka.stop() is True
    assert not _alive(first.pid)
    assert kafka.running_pid() is None
    assert kafka.stop() is False


def test_stale_pid_file_does_not_block_a_start(tmp_path: Path) -> None:
    kafka = _kafka(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    kafka.pid_file.write(dead.pid)
    assert kafka.pid_file.is_stale()
    report = kafka.start()
    try:
        assert report.pid != dead.pid
        assert kafka.pid_file.read() == report.pid
    finally:
        kafka.stop()


def test_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    kafka = _kafka(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", kafka.port))
        squatter.listen()
        with pytest.raises(
            SetupError, match=rf"port {kafka.port} .* in use.*CREDLINK_DEV_KAFKA_PORT"
        ):
            kafka.start()
    assert kafka.running_pid() is None
    assert not kafka.pid_file.path.exists()


def test_corrupt_data_dir_is_reported_with_the_fix(tmp_path: Path) -> None:
    kafka = _kafka(tmp_path)
    kafka.data_dir.mkdir(parents=True)
    (kafka.data_dir / "meta.properties").write_bytes(b"\x00\xffgarbage")
    with pytest.raises(SetupError, match=r"data dir .* is corrupt.*credlink dev down --wipe"):
        kafka.start()
    assert kafka.running_pid() is None


def test_cluster_ids_are_kafka_uuids_that_no_command_line_mistakes_for_an_option() -> None:
    ids = [cluster_id() for _ in range(2000)]
    assert all(len(text) == 22 and not text.startswith("-") for text in ids)
    assert all(len(base64.urlsafe_b64decode(text + "==")) == 16 for text in ids)
    assert len(set(ids)) == len(ids)


def test_missing_maven_is_named_with_the_fix_when_kafka_is_not_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("java", "bash", "sed", "sha256sum", "cut", "dirname", "mktemp", "mkdir"):
        found = shutil.which(tool)
        assert found is not None
        (tools / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(SetupError, match=r"mvn not found: install Apache Maven"):
        fetch_kafka(tmp_path / "empty-cache")
