"""The `credlink` command line."""

from __future__ import annotations

import typer

from streams.cli import demo, dev, keys, worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="credlink",
    help="CredLink Streams: signed provenance proofs for images, on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(dev.app, name="dev")
app.add_typer(keys.app, name="keys")
app.command("worker")(worker.worker)
app.command("demo")(demo.demo)


def main() -> None:
    app()
