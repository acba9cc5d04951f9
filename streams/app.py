"""The Faust application: broker, state store and web server configured from settings."""

from __future__ import annotations

import faust

from streams.kafka_clients import faust_broker_url
from streams.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> faust.App:
    """A Faust app for `settings`; agents are registered on it by the pipeline wiring."""
    return faust.App(
        settings.app_id,
        broker=faust_broker_url(settings),
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=True,
        web_enabled=True,
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
    )
