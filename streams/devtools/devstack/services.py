"""`credlink` commands the local stack runs in the background (a worker, the proof indexer),
each with a PID file and a log under the dev home, stopped by PID."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.core.errors import SetupError
from streams.devtools.devstack.processes import PidFile, spawn, stop_pid, wait_until_logged
from streams.devtools.devstack.worker import CREDLINK

__all__ = ["BackgroundCommand"]


@dataclass(frozen=True)
class BackgroundCommand:
    """`credlink <argv>` run as service `name`; ready once its log shows `ready_marker` (or,
    without one, once it has stayed up `SETTLE_SECONDS`)."""

    name: str
    argv: tuple[str, ...]
    home: Path
    ready_marker: bytes | None = None

    @property
    def log_path(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def pid_file(self) -> PidFile:
        # The marker is the subcommand: a reused PID of another program is not taken for it.
        return PidFile(self.home / f"{self.name}.pid", marker=f"credlink {' '.join(self.argv)}")

    def running_pid(self) -> int | None:
        return self.pid_file.running_pid()

    def start(self, env: Mapping[str, str], ready_timeout: float = 120.0) -> tuple[int, bool]:
        """Start it unless it runs already; (its PID, whether it was running)."""
        pid = self.running_pid()
        if pid is not None:
            return pid, True
        self.pid_file.remove()
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        process = spawn([CREDLINK, *self.argv], self.log_path, env)
        self.pid_file.write(process.pid)
        try:
            ready = wait_until_logged(
                process, self.log_path, offset, self.ready_marker, ready_timeout, self.name
            )
        except SetupError:
            self.pid_file.remove()
            raise
        if ready:
            return process.pid, False
        self.stop()
        raise SetupError(f"{self.name} was not ready in {ready_timeout:.0f} s; see {self.log_path}")

    def stop(self) -> bool:
        pid = self.running_pid()
        self.pid_file.remove()
        if pid is None:
            return False
        stop_pid(pid, timeout=60)
        return True
