"""Measure the memory an idle proving worker holds, and how much of it its modules take.

Starts a Kafka broker on free loopback ports (the local stack's, under a temporary directory),
then `credlink worker` on the filesystem store with Content Credentials off, no Sentry DSN and
no schema registry (`MALLOC_ARENA_MAX=2`, as the container image sets it); with `--store s3`,
also the local S3 endpoint, the worker's proofs and `s3://` images in its bucket, as the
Kubernetes deployment has them. Once `/readyz` answers, it waits `--idle` seconds and reads the
worker's resident set (VmRSS, and its anonymous and file-backed parts). A fresh process then
imports what `credlink worker` imports and reads its own. Every process it started is stopped
by PID.

    .venv/bin/python bench/worker_memory.py [--idle 30] [--runs 2] [--store s3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from streams.core.signing import generate_key_pair
from streams.devtools.devstack.processes import free_port
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.settings import Settings

READY_TIMEOUT_SECONDS = 90.0
FIELDS = ("VmRSS", "RssAnon", "RssFile")

IMPORTS = """
import streams.cli.main, streams.cli.worker  # what `credlink worker` imports before it runs
from pathlib import Path
print(Path("/proc/self/status").read_text())
"""


def megabytes(status: str) -> dict[str, float]:
    """The FIELDS of a `/proc/<pid>/status` text, in MB (MiB)."""
    found = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in FIELDS:
            found[name] = int(value.split()[0]) / 1024
    return found


def answers_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def idle_worker(settings: Settings, workdir: Path, name: str, idle: float) -> dict[str, float]:
    """The memory of a worker of `settings` that has answered `/readyz` and idled `idle` s."""
    worker = WorkerProcess(settings, workdir, name=name)
    worker.start()
    try:
        started = time.monotonic()
        while not answers_ready(settings.worker.web_port):
            if time.monotonic() - started > READY_TIMEOUT_SECONDS:
                raise SystemExit(f"the worker never answered /readyz: {worker.log_tail()}")
            time.sleep(0.5)
        time.sleep(idle)
        return megabytes(Path(f"/proc/{worker.pid}/status").read_text())
    finally:
        worker.stop()


def imported() -> dict[str, float]:
    """The memory of a fresh process holding the modules `credlink worker` imports."""
    probe = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, check=True
    )
    return megabytes(probe.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30.0, help="seconds idle after /readyz")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--store", choices=("filesystem", "s3"), default="filesystem")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        generate_key_pair(home / "signing-key.pem", home / "keyset.json")
        stack = LocalStack(
            Settings(_env_file=None).updated(
                dev={
                    "home": home,
                    "kafka_port": free_port(),
                    "controller_port": free_port(),
                    "s3_port": free_port(),
                }
            )
        )
        stack.kafka.start()
        try:
            if args.store == "s3":
                stack.s3.start(stack.settings.s3.bucket)
            rows = []
            for run in range(args.runs):
                settings = stack.client_settings().updated(
                    kafka={"topic_prefix": f"run{run}.", "schema_registry_url": None},
                    signing={"key_file": home / "signing-key.pem"},
                    store={"backend": args.store, "root": home / "proofs"},
                    fetch={
                        "allowed_buckets": stack.settings.s3.bucket if args.store == "s3" else ""
                    },
                    c2pa={"enabled": False},
                    monitoring={"sentry_dsn": None},
                    worker={"web_port": free_port()},
                )
                rows.append(("idle worker", idle_worker(settings, home, f"worker{run}", args.idle)))
                rows.append(("its modules only", imported()))
        finally:
            stack.s3.stop()
            stack.kafka.stop()

    print(f"| process | {' | '.join(f'{field}, MB' for field in FIELDS)} |")
    print(f"|---|{'---:|' * len(FIELDS)}")
    for what, memory in rows:
        print(f"| {what} | {' | '.join(f'{memory[field]:.1f}' for field in FIELDS)} |")


if __name__ == "__main__":
    main()
