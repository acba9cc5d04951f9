"""The Faust application of a worker: broker, tables and agents configured from settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import faust

from streams.agents import Codecs, register_agents
from streams.kafka_clients import faust_broker_url
from streams.observing import PipelineObserver
from streams.processor import EventProcessor, RetryPolicy
from streams.runtime import build_pipeline
from streams.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> faust.App:
    """A Faust app for `settings` with the pipeline's agents and tables registered."""
    app = faust.App(
        settings.app_id,
        broker=faust_broker_url(settings),
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout_seconds,
        web_enabled=True,
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
    )
    codecs = Codecs.for_settings(settings)
    retry = RetryPolicy(max_seconds=settings.transient_retry_max_seconds)
    observer = PipelineObserver()
    processor = EventProcessor(
        pipeline=build_pipeline(settings, observer),
        input_codec=codecs.submitted,
        executor=ThreadPoolExecutor(
            max_workers=settings.prove_concurrency, thread_name_prefix="prove"
        ),
        retry=retry,
        observer=observer,
    )
    register_agents(app, settings, processor, codecs, retry, observer)
    return app
