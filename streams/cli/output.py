"""Console output of the CLI, and the one place a SetupError becomes a one-line message."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from streams.errors import SetupError

__all__ = ["console", "fails_cleanly"]

console = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def fails_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a SetupError into `error: <what and how to fix it>` and exit status 1."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SetupError as error:
            _err.print(f"[bold red]error:[/] {error}", soft_wrap=True)
            raise typer.Exit(code=1) from None

    return run
