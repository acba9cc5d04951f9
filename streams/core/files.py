"""Replacing a file atomically: readers see the old content or the new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["replace_file"]


def replace_file(
    path: Path, content: str | bytes, mode: int = 0o600, *, sync_directory: bool = False
) -> None:
    """Write `content` (text as UTF-8) to `path` with permissions `mode`, through a synced
    temporary file renamed over it. `sync_directory` also syncs the directory, so that the new
    file survives a crash of the machine, not only of the process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if sync_directory:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
