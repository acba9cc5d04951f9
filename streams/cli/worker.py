"""`credlink worker`: run a Faust worker of the pipeline."""

from __future__ import annotations

import faust

from streams.app import create_app
from streams.cli.output import fails_cleanly
from streams.settings import get_settings


@fails_cleanly
def worker() -> None:
    """Run a worker: consume image-reference events until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    app = create_app(settings)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()
