"""The `credlink` command: every subcommand on one typer app, each one's module imported only
when that subcommand runs (or a help page lists it), so a worker loads no other command's
dependencies."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command

__all__ = ["SUBCOMMANDS", "app", "main"]

# Every subcommand, in the order help lists them: the module that defines it, and its function
# or typer app there.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "replay": ("streams.cli.replay", "replay"),
    "worker": ("streams.cli.worker", "worker"),
    "demo": ("streams.cli.demo", "demo"),
    "verify": ("streams.cli.verify", "verify"),
    "serve-verify": ("streams.cli.serve_verify", "serve_verify"),
    "bench": ("streams.cli.bench", "bench"),
    "dev": ("streams.cli.dev", "app"),
    "keys": ("streams.cli.keys", "app"),
    "ingest": ("streams.cli.ingest", "app"),
    "proofs": ("streams.cli.proofs", "app"),
    "index": ("streams.cli.index", "app"),
}


class _Subcommands(MutableMapping[str, "Command"]):
    """The subcommands by name, each built from its module when first looked up."""

    def __init__(self, modules: dict[str, tuple[str, str]]) -> None:
        self._modules = modules
        self._commands: dict[str, Command | None] = dict.fromkeys(modules)

    def __getitem__(self, name: str) -> Command:
        command = self._commands[name]
        if command is None:
            module, attribute = self._modules[name]
            command = _built(name, getattr(import_module(module), attribute))
            self._commands[name] = command
        return command

    def __setitem__(self, name: str, command: Command) -> None:
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        del self._commands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)


def _built(name: str, target: typer.Typer | Callable[..., None]) -> Command:
    """The click command of a typer app or command function, registered under `name`."""
    registry = typer.Typer()
    if isinstance(target, typer.Typer):
        registry.add_typer(target, name=name)
    else:
        registry.command(name)(target)
    return typer.main.get_group(registry).commands[name]


class _CredlinkGroup(TyperGroup):
    """The `credlink` group: the subcommands of SUBCOMMANDS, each built when first used."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Subcommands(SUBCOMMANDS)


app = typer.Typer(
    cls=_CredlinkGroup,
    name="credlink",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


# Typer makes a group only of an app with a callback or commands of its own.
@app.callback()
def credlink() -> None:
    """CredLink Streams: signed provenance proofs for images, on Apache Kafka."""


def main() -> None:
    app()
