"""`credlink worker` processes started by the demo and the tests, and stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from streams.core.errors import SetupError
from streams.devtools.devstack.processes import stop_pid, wait_until_logged
from streams.settings import Settings

__all__ = ["WORKER_READY", "WorkerProcess", "credlink_env", "settings_env"]

CREDLINK = str(Path(sys.executable).parent / "credlink")
# glibc's malloc arenas for a worker, unless the caller's environment says otherwise, as in the
# container image: with the default (eight per core) each thread that decodes pictures keeps
# freed buffers of its own.
WORKER_MALLOC_ARENAS = "2"
# What Faust logs once a worker has started its agents.
WORKER_READY = b"[^Worker]: Ready"


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as the `CREDLINK_*` environment variables that reproduce them."""
    env: dict[str, str] = {}
    for variable in Settings.variables():
        value = getattr(getattr(settings, variable.group), variable.field)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, frozenset | tuple):
            text = ",".join(sorted(str(item) for item in value))
        else:
            text = str(value)
        env[variable.name] = text
    return env


def credlink_env(settings: Settings) -> dict[str, str]:
    """The environment of a `credlink` process configured by `settings` alone: the caller's
    environment without what it would configure (`CREDLINK_*`, and `SENTRY_DSN`, a setting
    too), plus `settings_env(settings)`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CREDLINK_") and key != "SENTRY_DSN"
    }
    env.update(settings_env(settings))
    return env


class WorkerProcess:
    """One worker of `settings`, its output in `log_path`; `options` of `credlink worker`
    (`--credentials`) say which."""

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        name: str = "worker",
        extra_env: dict[str, str] | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.options = options
        self.extra_env = dict(extra_env or {})
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.pid_path = workdir / f"{name}.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, ready_timeout: float = 90.0) -> None:
        """Start the worker and wait until Faust reports it ready."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # The worker's configuration is `settings` (plus `extra_env`), not whatever the calling
        # shell happens to export.
        env = {**credlink_env(self.settings), **self.extra_env}
        # As the container image sets it (deploy/compose/Dockerfile): see README, Performance.
        env.setdefault("MALLOC_ARENA_MAX", WORKER_MALLOC_ARENAS)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [CREDLINK, "worker", *self.options],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid_path.write_text(f"{self._process.pid}\n")
        if wait_until_logged(
            self._process, self.log_path, offset, WORKER_READY, ready_timeout, "the worker"
        ):
            return
        self.stop()
        raise SetupError(f"the worker was not ready in {ready_timeout:.0f} s; see {self.log_path}")

    def stop(self, timeout: float = 60.0) -> None:
        """A graceful stop: SIGTERM, then SIGKILL after `timeout`."""
        if self._process is not None and self._process.poll() is None:
            stop_pid(self._process.pid, timeout=timeout)

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to commit or flush."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"
