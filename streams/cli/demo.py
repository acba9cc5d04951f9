"""`credlink demo`: bring the local stack up, check it, and stop it again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streams.cli.output import console, fails_cleanly
from streams.devstack.stack import LocalStack
from streams.settings import get_settings


@fails_cleanly
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the local stack running afterwards.")
    ] = False,
) -> None:
    """Start the local stack, check every service answers, print a table, then stop it."""
    stack = LocalStack(get_settings())
    try:
        report = stack.up()
        table = Table(title="CredLink Streams local stack")
        for column in ("service", "state", "address", "answers"):
            table.add_column(column)
        for service in stack.status():
            table.add_row(
                service.name, service.state, service.address, "yes" if service.responding else "no"
            )
        console.print(table)
        if report.kafka.seconds_to_ready is not None:
            console.print(f"broker ready in {report.kafka.seconds_to_ready:.1f} s")
        console.print(
            "The proof pipeline's agents are not part of this build yet: no image events were sent."
        )
    finally:
        if not keep:
            stack.down()
            console.print("local stack stopped")
