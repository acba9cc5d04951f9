"""The worker's HTTP endpoints on its Faust web server: `/metrics`, `/healthz`, `/readyz`."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CollectorRegistry, generate_latest

__all__ = ["TEXT_FORMAT", "is_ready", "register_endpoints"]

TEXT_FORMAT = "text/plain; version=0.0.4"


def is_ready(app: faust.App) -> bool:
    """Partitions assigned and tables recovered: not rebalancing, recovery completed."""
    tables: Any = app.tables  # the recovery service is not part of Faust's typed interface
    return bool(tables.recovery.completed.is_set() and not getattr(app, "rebalancing", False))


def register_endpoints(app: faust.App, registry: CollectorRegistry) -> None:
    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # The classic text format that generate_latest writes, which every Prometheus parses;
        # aiohttp takes the charset separately (the default, UTF-8).
        return web.bytes(generate_latest(registry), content_type=TEXT_FORMAT)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        if is_ready(app):
            return web.json({"status": "ready"})
        return web.json({"status": "not ready"}, status=503)
