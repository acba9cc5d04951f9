"""A local PostgreSQL for the proof index: Debian's server binaries, a cluster under the dev
home, started and stopped by PID.

PostgreSQL refuses to run as root; started by root, the cluster is created and run as the
`postgres` system account (which Debian's package creates), like a packaged server.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from streams.core.errors import SetupError
from streams.devtools.devstack.processes import PidFile, require_free_port, spawn, stop_pid

__all__ = ["INDEX_DATABASE", "SUPERUSER", "LocalPostgres", "postgres_binaries", "server_account"]

SERVER_USER = "postgres"
SUPERUSER = "postgres"
INDEX_DATABASE = "credlink_index"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")


def postgres_binaries() -> Path:
    """The `bin` directory of the newest PostgreSQL installed (`/usr/lib/postgresql/*/bin`,
    else wherever `initdb` is on PATH)."""
    versions = [
        directory
        for directory in _DEBIAN_ROOT.glob("*/bin")
        if re.fullmatch(r"\d+", directory.parent.name)
        and (directory / "initdb").is_file()
        and (directory / "postgres").is_file()
    ]
    if versions:
        return max(versions, key=lambda directory: int(directory.parent.name))
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SetupError(
            f"no PostgreSQL server under {_DEBIAN_ROOT}/*/bin or on PATH: install Debian's "
            "`postgresql` package (deploy/local/install-test-tools does)"
        )
    return Path(initdb).parent


def server_account() -> pwd.struct_passwd | None:
    """The account to run the server as: None for the current one, unless that is root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise SetupError(
            f"PostgreSQL refuses to run as root, and there is no {SERVER_USER!r} system user to "
            "run it as: install Debian's `postgresql` package (it creates the user) or run as "
            "a non-root user"
        ) from None


def server_environment() -> dict[str, str]:
    """The server's environment: libpq variables of the caller (PGHOST, PGPORT, ...) left out."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


@dataclass(frozen=True)
class LocalPostgres:
    """The local PostgreSQL whose cluster, PID file and log live under `home`."""

    home: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.home / "postgres.log"

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.home / "postgres.pid", marker=str(self.data_dir.resolve()))

    def conninfo(self, dbname: str = INDEX_DATABASE) -> str:
        """A libpq connection string to `dbname` as the superuser (trust authentication on
        loopback: a development server)."""
        return make_conninfo(
            host=self.host, port=self.port, user=SUPERUSER, dbname=dbname, connect_timeout=5
        )

    def running_pid(self) -> int | None:
        return self.pid_file.running_pid()

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.conninfo("postgres"), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def start(self, timeout: float = 60.0) -> int:
        """Start the server unless it runs already (creating the cluster on first use) and
        make sure the index database exists."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.remove()
            require_free_port(self.host, self.port, "CREDLINK_DEV_POSTGRES_PORT")
            account = server_account()
            self._prepare_home(account)
            binaries = postgres_binaries()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(binaries, account)
            process = spawn(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(self.data_dir.resolve()),
                    "-k",
                    str(self.home.resolve()),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                ],
                self.log_path,
                env=server_environment(),
                run_as=account,
            )
            self.pid_file.write(process.pid)
            pid = process.pid
            try:
                self._wait_ready(process, timeout)
            except BaseException:
                stop_pid(pid, timeout=20)
                self.pid_file.remove()
                raise
        self._ensure_database(INDEX_DATABASE)
        return pid

    def stop(self) -> bool:
        """SIGTERM (a smart shutdown: the indexer is stopped first), then SIGKILL."""
        pid = self.running_pid()
        self.pid_file.remove()
        if pid is None:
            return False
        stop_pid(pid, timeout=30)
        return True

    def _prepare_home(self, account: pwd.struct_passwd | None) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if account is None:
            return
        os.chown(self.home, account.pw_uid, account.pw_gid)
        for parent in self.home.resolve().parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                raise SetupError(
                    f"the {account.pw_name!r} account PostgreSQL runs as cannot reach "
                    f"{self.home}: {parent} is not searchable by others (chmod o+x it, or set "
                    "CREDLINK_DEV_HOME to a directory elsewhere)"
                )

    def _initdb(self, binaries: Path, account: pwd.struct_passwd | None) -> None:
        result = subprocess.run(
            [
                str(binaries / "initdb"),
                f"--pgdata={self.data_dir.resolve()}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.home,
            env=server_environment(),
            check=False,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode("utf-8", "replace")
            raise SetupError(f"initdb failed: {' '.join(output.split())[-500:]}")

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SetupError(f"PostgreSQL exited during start-up; see {self.log_path}")
            if self.answers():
                return
            time.sleep(0.2)
        raise SetupError(f"PostgreSQL did not accept connections within {timeout:.0f} s")

    def _ensure_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
