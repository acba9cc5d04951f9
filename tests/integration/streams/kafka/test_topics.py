"""Topic bootstrap: explicit partitions, replication and configs; idempotent."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from streams.kafka.clients import confluent_config
from streams.kafka.topics import ensure_topics, pipeline_topics
from streams.settings import Settings

pytestmark = pytest.mark.integration


def _configs(admin: AdminClient, topic: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result()
    return {key: entry.value for key, entry in entries.items()}


def _eventually_retention(admin: AdminClient, topic: str, expected: str) -> bool:
    deadline = time.monotonic() + 10
    while _configs(admin, topic)["retention.ms"] != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_pipeline_topics_are_created_with_their_partitions_and_configs(settings: Settings) -> None:
    admin = AdminClient(confluent_config(settings))
    report = ensure_topics(admin, pipeline_topics(settings))
    names = [
        settings.kafka.topic(name)
        for name in ("credentials.created", "images.dlq", "images.submitted", "proofs.created")
    ]
    assert list(report.created) == names
    metadata = admin.list_topics(timeout=10).topics
    for name in names:
        assert len(metadata[name].partitions) == settings.kafka.topic_partitions
    submitted = _configs(admin, settings.kafka.topic("images.submitted"))
    assert submitted["retention.ms"] == str(settings.kafka.submitted_retention_ms)
    assert submitted["cleanup.policy"] == "delete"
    assert _configs(admin, settings.kafka.topic("proofs.created"))["retention.ms"] == "-1"
    assert _configs(admin, settings.kafka.topic("credentials.created"))["retention.ms"] == "-1"


def test_bootstrap_is_idempotent_and_repairs_config_drift(settings: Settings) -> None:
    admin = AdminClient(confluent_config(settings))
    ensure_topics(admin, pipeline_topics(settings))
    dlq = settings.kafka.topic("images.dlq")
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        dlq,
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([resource])[resource].result()
    assert _eventually_retention(admin, dlq, "1000")

    again = ensure_topics(admin, pipeline_topics(settings))

    assert again.created == ()
    assert again.reconfigured == (dlq,)
    # Altered configs reach the broker's view a moment after the request returns.
    assert _eventually_retention(admin, dlq, str(settings.kafka.dlq_retention_ms))


def test_partition_count_of_an_existing_topic_is_never_changed(settings: Settings) -> None:
    admin = AdminClient(confluent_config(settings))
    ensure_topics(admin, pipeline_topics(settings))
    wider = settings.updated(kafka={"topic_partitions": settings.kafka.topic_partitions + 2})

    report = ensure_topics(admin, pipeline_topics(wider))

    assert len(report.warnings) == len(pipeline_topics(settings))
    assert all("left unchanged" in warning for warning in report.warnings)
    topic = admin.list_topics(timeout=10).topics[settings.kafka.topic("images.submitted")]
    assert len(topic.partitions) == settings.kafka.topic_partitions
