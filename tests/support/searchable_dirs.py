"""Temporary directories other accounts can reach: PostgreSQL, started by root, runs as the
`postgres` account, which cannot enter pytest's private (0700) temporary directories."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["searchable_temporary_directory"]


@contextmanager
def searchable_temporary_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory under the system's temporary directory, mode 0755, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
