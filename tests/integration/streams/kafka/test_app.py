"""The worker's Faust app: the internal topics it needs exist before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from streams.core.signing import generate_key_pair
from streams.kafka.app import create_app, internal_topics
from streams.kafka.clients import confluent_config
from streams.kafka.topics import ensure_topics, tenant_repartition_topic
from streams.settings import Settings

pytestmark = pytest.mark.integration


def test_every_table_changelog_and_the_repartition_topic_are_created_up_front(
    settings: Settings, tmp_path: Path
) -> None:
    generate_key_pair(tmp_path / "signing-key.pem", tmp_path / "keyset.json")
    settings = settings.updated(
        signing={"key_file": tmp_path / "signing-key.pem", "keyset_file": tmp_path / "keyset.json"},
        store={"root": tmp_path / "proofs"},
        kafka={"topic_partitions": 3},
    )
    app = create_app(settings)
    admin = AdminClient(confluent_config(settings))

    report = ensure_topics(admin, internal_topics(app, settings))

    changelogs = {f"{settings.kafka.app_id}-proofs-counted-changelog"}
    assert set(report.created) == changelogs | {tenant_repartition_topic(settings)}
    metadata = admin.list_topics(timeout=10).topics
    for name in report.created:
        assert len(metadata[name].partitions) == 3
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        policy = admin.describe_configs([resource])[resource].result()["cleanup.policy"].value
        assert policy == ("compact" if name in changelogs else "delete")
