"""A real Prometheus server on loopback scraping the given targets, stopped by PID."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from streams.devtools.devstack.processes import stop_pid
from tests.support.stacks import free_port


@contextmanager
def prometheus(workdir: Path, targets: Sequence[str], interval: str = "1s") -> Iterator[str]:
    """Run Prometheus scraping `targets` (host:port) as job `credlink-worker`; yield its URL."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus not found: install Debian's `prometheus` package (.ci/run does)"
    config = workdir / "prometheus.yml"
    listed = ", ".join(f"'{target}'" for target in targets)
    config.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        f"scrape_configs:\n  - job_name: credlink-worker\n"
        f"    static_configs:\n      - targets: [{listed}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    # A PID file lets the CI script find a server a killed test run left behind.
    (workdir / "prometheus.pid").write_text(f"{process.pid}\n")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (workdir / "prometheus.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        stop_pid(process.pid, timeout=20)


def query(url: str, promql: str) -> float | None:
    """The single value of an instant query, or None when it returns no series."""
    response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def wait_for(url: str, promql: str, expected: float, timeout: float = 60.0) -> float | None:
    """Poll `promql` until it returns `expected` or `timeout` passes; return the last value."""
    deadline = time.monotonic() + timeout
    last = query(url, promql)
    while last != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        last = query(url, promql)
    return last
