"""`credlink worker`: run a Faust worker of the pipeline."""

from __future__ import annotations

from typing import Annotated

import faust
import typer
from confluent_kafka.admin import AdminClient

from streams.cli.output import fails_cleanly, print_waiting
from streams.kafka.app import create_app, create_credentials_app, internal_topics
from streams.kafka.clients import confluent_config, wait_for_cluster
from streams.kafka.topics import ensure_topics, pipeline_topics
from streams.settings import get_settings


@fails_cleanly
def worker(
    credentials: Annotated[
        bool,
        typer.Option(
            "--credentials",
            help="Issue the C2PA Content Credentials of proof events (consumer group "
            "`{app id}-credentials`) instead of proving image references.",
        ),
    ] = False,
) -> None:
    """Run a worker: prove image-reference events (or, with --credentials, issue the Content
    Credentials of proof events) until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    app = create_credentials_app(settings) if credentials else create_app(settings)
    wait_for_cluster(settings, print_waiting)
    ensure_topics(
        AdminClient(confluent_config(settings)),
        [*pipeline_topics(settings), *internal_topics(app, settings)],
    )
    faust.Worker(app, loglevel=settings.monitoring.log_level).execute_from_commandline()
