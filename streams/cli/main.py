"""The `credlink` command: every subcommand registered on one typer app."""

from __future__ import annotations

import typer

from streams.cli import (
    bench,
    demo,
    dev,
    index,
    ingest,
    keys,
    proofs,
    replay,
    serve_verify,
    verify,
    worker,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="credlink",
    help="CredLink Streams: signed provenance proofs for images, on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(dev.app, name="dev")
app.add_typer(keys.app, name="keys")
app.add_typer(ingest.app, name="ingest")
app.add_typer(proofs.app, name="proofs")
app.command("replay")(replay.replay)
app.add_typer(index.app, name="index", help="The downstream proof index in PostgreSQL.")
app.command("worker")(worker.worker)
app.command("demo")(demo.demo)
app.command("verify")(verify.verify)
app.command("serve-verify")(serve_verify.serve_verify)
app.command("bench")(bench.bench)


def main() -> None:
    app()
