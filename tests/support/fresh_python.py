"""Code run by a fresh interpreter of the repository, for what only a new process shows: the
modules it loads, the memory it holds."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO

__all__ = ["fresh_python_output"]


def fresh_python_output(code: str, *, timeout: float) -> str:
    """What `code` prints, run by a new process of this interpreter in the repository; the test
    fails when the process does."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout
