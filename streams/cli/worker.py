"""`credlink worker`: run a Faust worker of the pipeline."""

from __future__ import annotations

import faust
from confluent_kafka.admin import AdminClient

from streams.cli.output import fails_cleanly, print_waiting
from streams.kafka.app import create_app, internal_topics
from streams.kafka.clients import confluent_config, wait_for_cluster
from streams.kafka.topics import ensure_topics, pipeline_topics
from streams.settings import get_settings


@fails_cleanly
def worker() -> None:
    """Run a worker: prove image-reference events until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    app = create_app(settings)
    wait_for_cluster(settings, print_waiting)
    ensure_topics(
        AdminClient(confluent_config(settings)),
        [*pipeline_topics(settings), *internal_topics(app, settings)],
    )
    faust.Worker(app, loglevel=settings.monitoring.log_level).execute_from_commandline()
