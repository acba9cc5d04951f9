"""`credlink bench --quick` measures everything on a stack of its own and leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.devtools.samples import encode, photo

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

CREDLINK = str(Path(sys.executable).parent / "credlink")


def test_quick_bench_writes_every_figure_for_both_stores(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    # Stand-ins for the real photographs a measured run is given: the same code path.
    photographs = tmp_path / "photographs"
    photographs.mkdir()
    for index in range(4):
        (photographs / f"photo-{index}.png").write_bytes(encode(photo(320, 240, index), "PNG"))
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")},
        "COLUMNS": "200",
        # The bench's stack lives in a temporary directory: under tmp_path, where it can be seen.
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        [
            *(CREDLINK, "bench", "--quick", "--store", "both", "--output", str(output)),
            *("--photographs", str(photographs)),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(output.read_text())
    limit = document["compute_limit"]
    assert limit["events_per_second_per_core"] > 0
    assert limit["cores"] == len(os.sched_getaffinity(0))
    assert limit["events_per_second"] == pytest.approx(
        limit["events_per_second_per_core"] * limit["cores"], rel=0.01
    )
    assert len(document["load_average"]["start"]) == len(document["load_average"]["end"]) == 3
    assert document["corpus"]["events_by_format"].keys() == {"JPEG", "PNG", "WEBP"}
    assert set(document["corpus"]["sources"]) <= {f"photo-{index}.png" for index in range(4)}
    assert set(document["stores"]) == {"filesystem", "s3"}
    for figures in document["stores"].values():
        for run, workers in (("one_worker", 1), ("two_workers", 2)):
            burst = figures[run]
            assert burst["workers"] == workers
            assert burst["events"] == document["parameters"]["events"]
            assert burst["events_per_second"] > 0
            assert burst["ratio_to_limit"] > 0
            assert burst["machine_ratio"] == pytest.approx(
                burst["events_per_second"] / limit["events_per_second"], abs=0.01
            )
            assert len(burst["cores_used_per_worker"]) == workers
            assert all(cores > 0 for cores in burst["cores_used_per_worker"])
            assert burst["broker_cpu_share"] > 0
            assert burst["cpu_seconds_per_event"] > 0
            assert len(burst["peak_rss_mb_per_worker"]) == workers
            assert all(rss > 0 for rss in burst["peak_rss_mb_per_worker"])
        assert figures["speed_up"] > 0
        latency = figures["latency_at_half_saturation"]
        assert latency["events"] > 0
        assert 0 <= latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
        # Every tiny image is a small one; each event's own compute is less than its latency.
        assert latency["small_images"]["events"] == latency["events"]
        assert latency["small_images"]["p99_ms"] == latency["p99_ms"]
        assert 0 < latency["waiting"]["p99_ms"] < latency["p99_ms"]
        credentials_on = figures["content_credentials"]
        assert credentials_on["proofs"]["events"] == document["parameters"]["events"]
        assert credentials_on["proofs_ratio_to_off"]["value"] > 0
        assert credentials_on["proofs_ratio_to_off"]["target"] == 0.95
        issued = credentials_on["credentials"]
        assert issued["events"] == document["parameters"]["events"]
        assert issued["events_per_second"] > 0
        assert issued["events_per_second_per_core"] > 0
        manifests = credentials_on["manifest_bytes"]
        assert 0 < manifests["min"] <= manifests["median"] <= manifests["max"] <= 16 * 1024
        assert manifests["met"] is True
    assert "Content Credentials on" in result.stdout
    assert f"{limit['cores']} cores available" in result.stdout
    assert "images of at most 1.0 MP p99" in result.stdout
    assert "results written to" in result.stdout
    assert running_under(tmp_path) == []


def running_under(directory: Path) -> list[str]:
    """The command lines of the processes that name `directory` (a stack the bench started)."""
    return [
        line
        for line in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if str(directory) in line
    ]


def descendants(pid: int) -> set[int]:
    """The processes started, directly or not, by process `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def command_of(pid: int) -> bytes:
    """The command line of process `pid`, or nothing once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_once_running(bench: subprocess.Popen[bytes]) -> set[int]:
    """SIGTERM `bench` once its broker and a worker run; the processes it had started."""
    try:
        deadline = time.monotonic() + 240
        started: set[int] = set()
        while time.monotonic() < deadline and bench.poll() is None:
            started = descendants(bench.pid)
            commands = [command_of(pid) for pid in started]
            if any(b"kafka.Kafka" in c for c in commands) and any(b"worker" in c for c in commands):
                break
            time.sleep(0.5)
        assert bench.poll() is None, "the bench ended before its stack was up"
        bench.send_signal(signal.SIGTERM)
        bench.wait(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    return started


def test_a_bench_stopped_by_sigterm_stops_the_servers_and_workers_it_started(
    tmp_path: Path,
) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")},
        "TMPDIR": str(tmp_path),
    }
    with (tmp_path / "stderr.txt").open("w") as stderr:
        bench = subprocess.Popen(
            [CREDLINK, "bench", "--quick", "--store", "fs", "--output", str(tmp_path / "r.json")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        started = stop_once_running(bench)
    # Stopped by SIGTERM, it failed and left nothing running.
    assert started
    assert [pid for pid in started if alive(pid)] == []
    assert running_under(tmp_path) == []
    assert bench.returncode != 0
