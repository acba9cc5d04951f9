"""faust-streaming (on aiokafka) works against the Apache Kafka 4 broker: agent, table, sink."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.reader import read_topic
from streams.devtools.devstack.processes import stop_pid
from streams.kafka.clients import confluent_config
from streams.settings import Settings

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("faust_smoke_worker.py")


def _consume(
    settings: Settings, topic: str, count: int, timeout: float
) -> list[tuple[bytes, bytes]]:
    records = read_topic(settings, topic, until=lambda got: len(got) >= count, timeout=timeout)
    return [(record.key or b"", record.value or b"") for record in records]


def test_faust_agent_consumes_any_compression_writes_a_table_and_sends(
    settings: Settings, tmp_path: Path
) -> None:
    app_id = f"smoke-{uuid.uuid4().hex[:8]}"
    source, sink = settings.kafka.topic("smoke.in"), settings.kafka.topic("smoke.out")
    admin = AdminClient(confluent_config(settings))
    for future in admin.create_topics([NewTopic(source, 1, 1), NewTopic(sink, 1, 1)]).values():
        future.result()
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), settings.kafka.bootstrap_servers, app_id, source, sink],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        # Upstream producers compress as they like; every codec Kafka has must be readable.
        for index in range(10):
            codec = ("none", "gzip", "snappy", "lz4", "zstd")[index % 5]
            producer = Producer(confluent_config(settings, {"compression.type": codec}))
            producer.produce(source, key=f"k{index % 2}".encode(), value=f"hello {index}".encode())
            assert producer.flush(10) == 0

        forwarded = _consume(settings, sink, 10, timeout=90)
        changelog = _consume(settings, f"{app_id}-counts-changelog", 10, timeout=30)
    finally:
        stop_pid(worker.pid, timeout=30)
        log.close()

    assert len(forwarded) == 10, (tmp_path / "worker.log").read_text()[-3000:]
    assert sorted(value for _, value in forwarded if value.startswith(b"HELLO 9")) == [b"HELLO 9|5"]
    assert {key for key, _ in forwarded} == {b"k0", b"k1"}
    final_counts = {key: value for key, value in changelog}
    assert final_counts == {b'"k0"': b"5", b'"k1"': b"5"}
