"""A real PostgreSQL server on loopback for tests: a fresh cluster, started and stopped by PID."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from streams.core.errors import SetupError
from streams.devtools.devstack.postgres import (
    SUPERUSER,
    postgres_binaries,
    server_account,
    server_environment,
)
from tests.support.stacks import free_port

__all__ = ["PostgresServer", "postgres_binaries", "postgres_server"]


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as (see `server_account`), as a test failure if none."""
    try:
        return server_account()
    except SetupError as error:
        raise AssertionError(str(error)) from None


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1, with trust authentication for its superuser.

    The cluster lives in `cluster_dir`, which the server's account owns; `workdir` keeps the
    server log and the PID file, where a clean-up script finds servers a killed run left behind.
    """

    def __init__(self, cluster_dir: Path, workdir: Path, account: pwd.struct_passwd | None) -> None:
        self.cluster_dir = cluster_dir
        self.workdir = workdir
        self.port = free_port()
        self._account = account
        self._binaries = postgres_binaries()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / "postgres.pid"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string to database `dbname` as the superuser."""
        return make_conninfo(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname, connect_timeout=5
        )

    def initialize(self) -> None:
        """Create the cluster with `initdb`."""
        self._run(
            [
                str(self._binaries / "initdb"),
                f"--pgdata={self.cluster_dir / 'data'}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self._binaries / "postgres"),
                    "-D",
                    str(self.cluster_dir / "data"),
                    "-k",
                    str(self.cluster_dir),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    # A throwaway cluster: durability buys nothing and costs time.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cluster_dir,
                env=self._env(),
                start_new_session=True,
                user=self._uid,
                group=self._gid,
                extra_groups=self._extra_groups,
            )
        self.pid_path.write_text(f"{self._process.pid}\n")
        deadline = time.monotonic() + timeout
        while True:
            assert self._process.poll() is None, (
                f"postgres exited during start-up: {self.log_path.read_text()[-2000:]}"
            )
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=1):
                    return
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, (
                    f"postgres did not accept connections in {timeout} s: "
                    f"{self.log_path.read_text()[-2000:]}"
                )
                time.sleep(0.1)

    def stop(self, *, fast: bool = False, timeout: float = 20.0) -> None:
        """Stop the server by PID: SIGTERM, then SIGKILL after `timeout` seconds.

        SIGTERM is PostgreSQL's smart shutdown, which waits for open sessions to end; after a
        grace period they are ended with SIGINT (fast shutdown). `fast` sends SIGINT at once, as
        an outage looks to a client that is connected.
        """
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            if not fast:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                    return
                except subprocess.TimeoutExpired:
                    pass
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        finally:
            self.pid_path.unlink(missing_ok=True)

    def create_database(self, name: str | None = None) -> str:
        """Create a database (named `name`, or a fresh name); return its conninfo."""
        dbname = name or f"db_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.conninfo(dbname)

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.cluster_dir,
            env=self._env(),
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
        )
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        assert result.returncode == 0, f"{Path(argv[0]).name} failed: {output[-2000:]}"

    @property
    def _uid(self) -> int | None:
        return self._account.pw_uid if self._account else None

    @property
    def _gid(self) -> int | None:
        return self._account.pw_gid if self._account else None

    @property
    def _extra_groups(self) -> list[int] | None:
        # Drop root's supplementary groups along with its user and group ids.
        return [] if self._account else None

    @staticmethod
    def _env() -> dict[str, str]:
        return server_environment()


@contextmanager
def postgres_server(workdir: Path) -> Iterator[PostgresServer]:
    """A running PostgreSQL server on a free loopback port, stopped and deleted at the end.

    Runs as the current user, or as the `postgres` system user when the tests run as root.
    """
    account = _server_account()
    # pytest's temporary directories are private to the user running the tests, so the cluster
    # goes to a directory of its own that the server's account owns.
    cluster_dir = Path(tempfile.mkdtemp(prefix="credlink-postgres-"))
    if account is not None:
        os.chown(cluster_dir, account.pw_uid, account.pw_gid)
    server = PostgresServer(cluster_dir, workdir, account)
    try:
        server.initialize()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(cluster_dir, ignore_errors=True)
