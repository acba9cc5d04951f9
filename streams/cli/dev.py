"""`credlink dev up|down|status`: the local development stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.output import console, fails_cleanly
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.clients import write_java_client_properties
from streams.settings import get_settings

app = typer.Typer(help="Run the local stack: a Kafka broker, an S3 endpoint and the topics.")


@app.command()
@fails_cleanly
def up() -> None:
    """Start the local broker and S3 endpoint (if not running) and create bucket and topics."""
    stack = LocalStack(get_settings())
    report = stack.up()
    kafka = stack.kafka
    if report.kafka_was_running:
        console.print(
            f"kafka: already running (pid {report.kafka.pid}) on {kafka.bootstrap_servers}"
        )
    else:
        console.print(
            f"kafka: started (pid {report.kafka.pid}) on {kafka.bootstrap_servers}, "
            f"ready in {report.kafka.seconds_to_ready:.1f} s"
        )
    state = "already running" if report.s3_was_running else "started"
    console.print(f"s3: {state} (pid {report.s3_pid}) on {stack.s3.endpoint_url}")
    topics = report.topics
    console.print(
        f"topics: {len(topics.created)} created, {len(topics.existing)} existing, "
        f"{len(topics.reconfigured)} reconfigured"
    )
    for warning in topics.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    client = stack.client_settings()
    console.print("To point the worker and connectors at this stack:")
    console.print(f"  export CREDLINK_KAFKA_BOOTSTRAP_SERVERS={client.kafka.bootstrap_servers}")
    console.print(f"  export CREDLINK_S3_ENDPOINT_URL={client.s3.endpoint_url}")


@app.command()
@fails_cleanly
def down(
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Also delete the broker's data directory.")
    ] = False,
) -> None:
    """Stop the local broker and S3 endpoint, by PID."""
    stopped = LocalStack(get_settings()).down(wipe=wipe)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    if wipe:
        console.print("broker data deleted")


@app.command()
@fails_cleanly
def status() -> None:
    """Say what runs, on which port, and whether it answers. Exit 1 unless all is up."""
    statuses = LocalStack(get_settings()).status()
    for service in statuses:
        console.print(service.describe())
    if not all(service.state == "running" and service.responding for service in statuses):
        raise typer.Exit(code=1)


@app.command("kafka-properties")
@fails_cleanly
def kafka_properties(
    path: Annotated[Path, typer.Argument(help="The properties file to write (mode 0600).")],
) -> None:
    """Write the CREDLINK_KAFKA_* security settings as a client properties file for Kafka's
    own tools (`deploy/local/bin/kafka-*`)."""
    write_java_client_properties(get_settings(), path)
    console.print(
        f"wrote {path} (mode 0600, it holds credentials); pass it as --command-config, "
        "--producer.config or --consumer.config"
    )
