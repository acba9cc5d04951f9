"""The wrappers of Apache Kafka's console tools behave like the upstream scripts."""

from __future__ import annotations

import subprocess

import pytest

from streams.settings import Settings
from tests.support.paths import DEPLOY_LOCAL_BIN

pytestmark = pytest.mark.integration

BIN = DEPLOY_LOCAL_BIN


def _tool(name: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_console_producer_lines_are_printed_by_console_consumer(settings: Settings) -> None:
    bootstrap = settings.kafka.bootstrap_servers
    topic = settings.kafka.topic("console")
    created = _tool(
        "kafka-topics",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        topic,
        "--partitions",
        "1",
        "--replication-factor",
        "1",
    )
    assert created.returncode == 0, created.stderr
    assert f"Created topic {topic}." in created.stdout

    produced = _tool(
        "kafka-console-producer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
        stdin="img-1:first line\nimg-2:second line\n",
    )
    assert produced.returncode == 0, produced.stderr

    consumed = _tool(
        "kafka-console-consumer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "2",
        "--timeout-ms",
        "30000",
        "--property",
        "print.key=true",
        "--property",
        "key.separator=:",
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["img-1:first line", "img-2:second line"]
