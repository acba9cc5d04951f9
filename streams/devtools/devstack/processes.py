"""Background server processes tracked by PID files, started and stopped by PID only."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.core.errors import SetupError

__all__ = [
    "PidFile",
    "free_port",
    "port_in_use",
    "require_free_port",
    "spawn",
    "stop_pid",
    "wait_until_logged",
]

# Without a line to wait for, a process counts as started once it has stayed up this long.
SETTLE_SECONDS = 2.0


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@dataclass(frozen=True)
class PidFile:
    """A PID file of one server; `marker` is a string its command line must contain.

    The marker guards against PID reuse: a PID file whose process is gone, or whose PID now
    belongs to another program, is stale.
    """

    path: Path
    marker: str

    def read(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The PID of the live server this file names, or None."""
        pid = self.read()
        if pid is None or _is_zombie(pid) or self.marker not in _cmdline(pid):
            return None
        return pid

    def is_stale(self) -> bool:
        return self.path.exists() and self.running_pid() is None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid}\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that no process listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(host: str, port: int, setting: str) -> None:
    if port_in_use(host, port):
        raise SetupError(
            f"port {port} on {host} is already in use by another process: "
            f"stop that process or set {setting} to a free port"
        )


def spawn(
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    *,
    run_as: pwd.struct_passwd | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session, its output appended to `log_path`; as the account
    `run_as` (without the caller's supplementary groups) if given."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            user=run_as.pw_uid if run_as else None,
            group=run_as.pw_gid if run_as else None,
            extra_groups=[] if run_as else None,
        )


def wait_until_logged(
    process: subprocess.Popen[bytes],
    log_path: Path,
    offset: int,
    marker: bytes | None,
    timeout: float,
    what: str,
) -> bool:
    """Whether `marker` appeared in `log_path` past byte `offset` within `timeout` seconds
    (without a marker: whether `process` stayed up `SETTLE_SECONDS`); `SetupError` naming
    `what` if the process exits first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SetupError(f"{what} exited during start-up; see {log_path}")
        if marker is None:
            if time.monotonic() - started >= SETTLE_SECONDS:
                return True
        else:
            with log_path.open("rb") as log:
                log.seek(offset)
                if marker in log.read():
                    return True
        time.sleep(0.2)
    return False


def _gone(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: it cannot be reaped here, only observed
    else:
        return waited == pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return _is_zombie(pid)


def stop_pid(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM `pid`, then SIGKILL after `timeout` seconds. True if it had to be killed."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while not _gone(pid):
        time.sleep(0.05)
    return True
