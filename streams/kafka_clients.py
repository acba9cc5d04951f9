"""Configuration of every Kafka client of the project (confluent-kafka and Faust), from settings."""

from __future__ import annotations

from streams.settings import Settings

__all__ = ["ClientConfig", "confluent_config", "faust_broker_url"]


ClientConfig = dict[str, str | int | float | bool]


def confluent_config(settings: Settings, extra: ClientConfig | None = None) -> ClientConfig:
    """librdkafka configuration for a producer, consumer or admin client, plus `extra`."""
    return {"bootstrap.servers": settings.kafka_bootstrap_servers, **(extra or {})}


def faust_broker_url(settings: Settings) -> str:
    """Faust's broker URL list (`kafka://h1:9092;kafka://h2:9092`)."""
    hosts = [host.strip() for host in settings.kafka_bootstrap_servers.split(",") if host.strip()]
    return ";".join(f"kafka://{host}" for host in hosts)
