"""Local stacks for tests: settings on free loopback ports under a temporary directory."""

from __future__ import annotations

import socket
from pathlib import Path

from streams.settings import Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stack_settings(home: Path, **overrides: object) -> Settings:
    """Settings of a local stack under `home`, on free ports, ignoring any `.env` file."""
    ports = {
        "dev_kafka_port": free_port(),
        "dev_controller_port": free_port(),
        "dev_s3_port": free_port(),
    }
    return Settings(_env_file=None).model_copy(update={"dev_home": home, **ports, **overrides})
