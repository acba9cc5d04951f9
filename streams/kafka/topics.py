"""The pipeline's topics and their idempotent creation with Kafka's AdminClient."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from streams.settings import Settings

__all__ = [
    "CREDENTIALS_CREATED",
    "DLQ",
    "PROOFS_CREATED",
    "SUBMITTED",
    "TopicReport",
    "TopicSpec",
    "ensure_topics",
    "pipeline_topics",
    "tenant_repartition_topic",
]

SUBMITTED = "images.submitted"
PROOFS_CREATED = "proofs.created"
DLQ = "images.dlq"
CREDENTIALS_CREATED = "credentials.created"


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the pipeline needs it."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicReport:
    """What `ensure_topics` found and did, per topic name."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    reconfigured: tuple[str, ...]
    warnings: tuple[str, ...]


def tenant_repartition_topic(settings: Settings) -> str:
    """The internal topic the `count` agent re-keys proof events into, by tenant."""
    return f"{settings.kafka.app_id}-{settings.kafka.topic(PROOFS_CREATED)}-by-tenant-repartition"


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic of the pipeline, with explicit partitions, replication and configs."""
    common = {"min.insync.replicas": str(min(2, settings.kafka.topic_replication_factor))}

    def spec(name: str, config: Mapping[str, str]) -> TopicSpec:
        return TopicSpec(
            name=settings.kafka.topic(name),
            partitions=settings.kafka.topic_partitions,
            replication_factor=settings.kafka.topic_replication_factor,
            config={**common, **config},
        )

    return [
        spec(
            SUBMITTED,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(settings.kafka.submitted_retention_ms),
            },
        ),
        spec(
            PROOFS_CREATED,
            {"cleanup.policy": "delete", "retention.ms": str(settings.kafka.proofs_retention_ms)},
        ),
        spec(
            DLQ, {"cleanup.policy": "delete", "retention.ms": str(settings.kafka.dlq_retention_ms)}
        ),
        # A credential event lives as long as the proof event it answers.
        spec(
            CREDENTIALS_CREATED,
            {"cleanup.policy": "delete", "retention.ms": str(settings.kafka.proofs_retention_ms)},
        ),
    ]


def ensure_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], timeout: float = 30.0
) -> TopicReport:
    """Create missing topics and bring the configs of existing ones in line. Idempotent.

    Partition counts of existing topics are never changed (that would move keys between
    partitions and break per-image ordering); a difference is reported as a warning.
    """
    specs = list(specs)
    existing_meta = admin.list_topics(timeout=timeout).topics
    missing = [spec for spec in specs if spec.name not in existing_meta]
    created: list[str] = []
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=spec.replication_factor,
                    config=dict(spec.config),
                )
                for spec in missing
            ],
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    _wait_until_visible(admin, created, timeout)
    present = [spec for spec in specs if spec.name in existing_meta]
    warnings: list[str] = []
    reconfigured: list[str] = []
    for spec in present:
        partitions = len(existing_meta[spec.name].partitions)
        if partitions != spec.partitions:
            warnings.append(
                f"{spec.name} has {partitions} partitions, settings ask for {spec.partitions}; "
                "left unchanged"
            )
    drifted = _drifted(admin, present, timeout)
    if drifted:
        resources = [
            ConfigResource(
                ConfigResource.Type.TOPIC,
                spec.name,
                incremental_configs=[
                    ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                    for key, value in spec.config.items()
                ],
            )
            for spec in drifted
        ]
        for resource, future in admin.incremental_alter_configs(resources).items():
            future.result()
            reconfigured.append(resource.name)
    return TopicReport(
        created=tuple(sorted(created)),
        existing=tuple(sorted(spec.name for spec in present)),
        reconfigured=tuple(sorted(reconfigured)),
        warnings=tuple(warnings),
    )


def _wait_until_visible(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Wait until the broker's metadata shows every topic in `names` with a leader for each
    partition, so that a producer started right after the bootstrap finds them."""
    deadline = time.monotonic() + timeout
    while names:
        topics = admin.list_topics(timeout=timeout).topics
        if all(
            name in topics
            and topics[name].partitions
            and all(partition.leader >= 0 for partition in topics[name].partitions.values())
            for name in names
        ):
            return
        if time.monotonic() > deadline:
            raise KafkaException(f"created topics did not appear in metadata: {names}")
        time.sleep(0.1)


def _drifted(admin: AdminClient, specs: list[TopicSpec], timeout: float) -> list[TopicSpec]:
    if not specs:
        return []
    resources = [ConfigResource(ConfigResource.Type.TOPIC, spec.name) for spec in specs]
    by_name = {spec.name: spec for spec in specs}
    drifted = []
    for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
        actual = {key: entry.value for key, entry in future.result().items()}
        spec = by_name[resource.name]
        if any(actual.get(key) != value for key, value in spec.config.items()):
            drifted.append(spec)
    return drifted
