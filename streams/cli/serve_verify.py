"""`credlink serve-verify`: run the verify service."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from connectors.verify_service.server import serve
from streams.cli.index import Dsn, checked_dsn, index_setup_errors
from streams.cli.output import fails_cleanly
from streams.settings import get_settings

__all__ = ["serve_verify"]


@fails_cleanly
def serve_verify(
    dsn: Dsn,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to bind (default: CREDLINK_VERIFY_WEB_HOST)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=0, max=65535, help="Port to bind (default: CREDLINK_VERIFY_WEB_PORT)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP verify API until SIGTERM or Ctrl-C.

    POST /v1/verify, GET /v1/proofs/ID, GET /v1/keys, GET /healthz, and the C2PA Soft Binding
    Resolution API (/v1/matches, /v1/manifests, /v1/services); /openapi.json describes them.
    """
    settings = get_settings()
    logging.basicConfig(
        level=settings.monitoring.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with index_setup_errors():
        serve(
            settings,
            checked_dsn(dsn),
            host=host if host is not None else settings.verify.web_host,
            port=port if port is not None else settings.verify.web_port,
        )
