"""Local stacks for tests: settings on free loopback ports under a temporary directory."""

from __future__ import annotations

from pathlib import Path

from streams.devtools.devstack.processes import free_port
from streams.settings import Settings

__all__ = ["free_port", "stack_settings"]


def stack_settings(home: Path, **overrides: object) -> Settings:
    """Settings of a local stack under `home`, on free ports, ignoring any `.env` file."""
    ports = {
        "dev_kafka_port": free_port(),
        "dev_controller_port": free_port(),
        "dev_s3_port": free_port(),
    }
    return Settings(_env_file=None).model_copy(update={"dev_home": home, **ports, **overrides})
