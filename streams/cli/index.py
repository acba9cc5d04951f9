"""`credlink index run|query`: run the proof index service, and look proofs up in the index."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import psycopg
import typer

from connectors.proof_index.service import ProofIndexService
from connectors.proof_index.store import IndexUnavailable, ProofIndex
from streams.cli.output import console, fails_cleanly
from streams.core.errors import SetupError
from streams.settings import get_settings

__all__ = ["Dsn", "app", "checked_dsn", "index_setup_errors"]

app = typer.Typer(help="The downstream proof index in PostgreSQL.", no_args_is_help=True)

Dsn = Annotated[
    str,
    typer.Option(
        "--dsn",
        envvar="CREDLINK_INDEX_DSN",
        show_default=False,
        help="PostgreSQL connection string of the index: `host=... dbname=... user=...` "
        "or `postgresql://...`.",
    ),
]


@app.command()
@fails_cleanly
def run(
    dsn: Dsn,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="Consumer group of the index; unset = `{CREDLINK_APP_ID}-proof-index`.",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, help="Records written in one transaction."),
    ] = 500,
) -> None:
    """Index proof events from proofs.created until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    logging.basicConfig(
        level=settings.monitoring.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    service = ProofIndexService(
        settings,
        checked_dsn(dsn),
        group or f"{settings.kafka.app_id}-proof-index",
        batch_size=batch_size,
    )
    stats = service.run()
    console.print(
        f"consumed {stats.consumed} records: {stats.written} rows written, {stats.skipped} skipped"
    )


@app.command()
@fails_cleanly
def query(
    dsn: Dsn,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant that owns the proofs.")],
    sha256: Annotated[
        str, typer.Option("--sha256", help="SHA-256 of the image bytes, hex.", show_default=False)
    ],
) -> None:
    """Print the proofs of an image as a JSON list, oldest first ([] when there is none)."""
    with index_setup_errors(), ProofIndex(checked_dsn(dsn)) as index:
        proofs = index.by_image(tenant, sha256)
    typer.echo(json.dumps([proof.to_json() for proof in proofs], indent=2))


def checked_dsn(dsn: str) -> str:
    """`dsn` if it parses as a libpq connection string, else a `SetupError` naming `--dsn`."""
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        reason = _without_dsn(str(error).strip(), dsn)
        raise SetupError(f"--dsn is not a PostgreSQL connection string: {reason}") from None
    return dsn


def _without_dsn(message: str, dsn: str) -> str:
    """libpq's parse error without the quoted parts of `dsn`, which may hold its password."""
    return re.sub(
        r'"([^"]*)"',
        lambda quoted: '"…"' if len(quoted[1]) > 1 and quoted[1] in dsn else quoted[0],
        message,
    )


@contextmanager
def index_setup_errors() -> Iterator[None]:
    """An unreachable index, or a database without one, as a `SetupError` saying what to do."""
    try:
        yield
    except IndexUnavailable as error:
        raise SetupError(f"{error} (check --dsn or CREDLINK_INDEX_DSN)") from error
    except psycopg.errors.UndefinedTable:
        raise SetupError(
            "the database holds no proof index yet: `credlink index run` creates it"
        ) from None
