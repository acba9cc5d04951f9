"""`credlink dev up|down|status`: the local development stack."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.output import console, fails_cleanly
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.clients import write_java_client_properties
from streams.settings import get_settings

app = typer.Typer(
    help="Run the local stack: a Kafka broker, an S3 endpoint, PostgreSQL, the topics, the "
    "proof indexer and a worker."
)


@app.command()
@fails_cleanly
def up(
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Also run a worker of the pipeline.")
    ] = True,
) -> None:
    """Start what is not running: the broker, the S3 endpoint and PostgreSQL, the topics and
    the bucket, the proof indexer and a worker (development keys are made on first use)."""
    stack = LocalStack(get_settings())
    report = stack.up(services=True, worker=worker)
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
    for service in report.services:
        state = "already running" if service.was_running else "started"
        console.print(f"{service.name}: {state} (pid {service.pid}), {service.address}")
    console.print('To use this stack from a shell: eval "$(credlink dev env)"')


@app.command()
@fails_cleanly
def env() -> None:
    """Print the `export CREDLINK_...` lines that point a shell's commands (ingest, proofs,
    verify, index) at the local stack: eval "$(credlink dev env)"."""
    stack = LocalStack(get_settings())
    for name, value in stack.shell_env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@app.command()
@fails_cleanly
def down(
    wipe: Annotated[
        bool,
        typer.Option("--wipe", help="Also delete the broker's and PostgreSQL's data directories."),
    ] = False,
) -> None:
    """Stop the worker, the indexer, PostgreSQL, the broker and the S3 endpoint, by PID."""
    stopped = LocalStack(get_settings()).down(wipe=wipe)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    if wipe:
        console.print("broker and PostgreSQL data deleted")


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
