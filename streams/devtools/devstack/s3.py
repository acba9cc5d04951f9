"""A local S3 endpoint: moto's standalone server on loopback, with the proof bucket created."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from streams.core.errors import SetupError
from streams.devtools.devstack.processes import PidFile, require_free_port, spawn, stop_pid

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["LOCAL_CREDENTIALS", "MOTO_MAIN", "LocalS3"]

MOTO_MAIN = "moto.server"
# moto accepts any credentials; these are placeholders, not secrets.
LOCAL_CREDENTIALS = ("credlink-local", "credlink-local")


@dataclass(frozen=True)
class LocalS3:
    """The local S3 endpoint whose state (PID file, log) lives under `home`."""

    home: Path
    port: int
    region: str
    host: str = "127.0.0.1"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "moto.log"

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.home / "moto.pid", marker=MOTO_MAIN)

    def running_pid(self) -> int | None:
        return self.pid_file.running_pid()

    def client(self) -> S3Client:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=LOCAL_CREDENTIALS[0],
            aws_secret_access_key=LOCAL_CREDENTIALS[1],
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )

    def start(self, bucket: str, timeout: float = 30.0) -> int:
        """Start the server unless it runs already, and make sure `bucket` exists."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.remove()
            require_free_port(self.host, self.port, "CREDLINK_DEV_S3_PORT")
            process = spawn(
                [sys.executable, "-m", MOTO_MAIN, "-H", self.host, "-p", str(self.port)],
                self.log_path,
            )
            self.pid_file.write(process.pid)
            pid = process.pid
            try:
                self._wait_ready(process, timeout)
            except BaseException:
                stop_pid(pid, timeout=10)
                self.pid_file.remove()
                raise
        self.ensure_bucket(bucket)
        return pid

    def ensure_bucket(self, bucket: str) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise SetupError(
                    f"could not create bucket {bucket!r} on {self.endpoint_url}"
                ) from error

    def stop(self) -> bool:
        pid = self.running_pid()
        self.pid_file.remove()
        if pid is None:
            return False
        stop_pid(pid, timeout=10)
        return True

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SetupError(f"the local S3 server exited during start-up; see {self.log_path}")
            try:
                client.list_buckets()
            except (BotoCoreError, ClientError):
                time.sleep(0.2)
                continue
            return
        raise SetupError(f"the local S3 server did not answer within {timeout:.0f} s")
