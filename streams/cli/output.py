"""Console output of the CLI, and the one place a SetupError becomes a one-line message."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from streams.core.errors import SetupError

__all__ = ["console", "fails_cleanly", "print_error", "print_waiting"]

console = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def print_error(message: object) -> None:
    """`error: <message>` on standard error, on one line (libpq, for one, writes several)."""
    _err.print("[bold red]error:[/]", escape(" ".join(str(message).split())), soft_wrap=True)


def print_waiting(problem: object, waited_seconds: float) -> None:
    """`waiting (N s): <problem>` on standard error, on one line: a service waiting for a
    dependency rather than giving up."""
    _err.print(
        f"[bold yellow]waiting ({waited_seconds:.0f} s):[/]",
        escape(" ".join(str(problem).split())),
        soft_wrap=True,
    )


def fails_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a SetupError into `error: <what and how to fix it>` and its exit status (1, or 69
    when a service the command needs did not answer)."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SetupError as error:
            print_error(error)
            raise typer.Exit(code=error.exit_status) from None

    return run
