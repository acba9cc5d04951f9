"""`credlink` commands the local stack runs in the background (a worker, the proof indexer),
each with a PID file and a log under the dev home, stopped by PID."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.core.errors import SetupError
from streams.devtools.devstack.processes import PidFile, spawn, stop_pid
from streams.devtools.devstack.worker import CREDLINK

__all__ = ["BackgroundCommand"]


@dataclass(frozen=True)
class BackgroundCommand:
    """`credlink <argv>` run as service `name`; ready once its log shows `ready_marker` (or,
    without one, once it has stayed up for a moment)."""

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
        settle_until = time.monotonic() + 2.0
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.remove()
                raise SetupError(f"{self.name} exited during start-up; see {self.log_path}")
            if self.ready_marker is None:
                if time.monotonic() >= settle_until:
                    return process.pid, False
            else:
                with self.log_path.open("rb") as log:
                    log.seek(offset)
                    if self.ready_marker in log.read():
                        return process.pid, False
            time.sleep(0.2)
        self.stop()
        raise SetupError(f"{self.name} was not ready in {ready_timeout:.0f} s; see {self.log_path}")

    def stop(self) -> bool:
        pid = self.running_pid()
        self.pid_file.remove()
        if pid is None:
            return False
        stop_pid(pid, timeout=60)
        return True
