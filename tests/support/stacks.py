"""Local stacks for tests: settings on free loopback ports under a temporary directory."""

from __future__ import annotations

from pathlib import Path

from streams.devtools.devstack.processes import free_port
from streams.settings import Settings

__all__ = ["free_port", "stack_settings"]


def stack_settings(home: Path) -> Settings:
    """Settings of a local stack under `home`, on free ports, ignoring any `.env` file."""
    return Settings(_env_file=None).updated(
        dev={
            "home": home,
            "kafka_port": free_port(),
            "controller_port": free_port(),
            "s3_port": free_port(),
        }
    )
