"""A real Prometheus server scrapes a worker while it proves events; the worker serves its
metrics and health, and none of Faust's own pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connectors.output_topics import read_dead_letters, read_proofs
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.topics import SUBMITTED
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import new_scenario, running_worker
from tests.support.prometheus_server import prometheus, wait_for

pytestmark = pytest.mark.integration

VALID = 30


def test_prometheus_counts_every_proof_and_sees_the_lag_return_to_zero(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    scenario = new_scenario(local_stack, tmp_path, monitoring={"lag_interval_seconds": 1.0})
    settings = scenario.settings
    for index in range(VALID):
        scenario.add_valid(index)
    scenario.add_bad("garbage", b"not avro", "DecodeFailed")
    scenario.add_bad_reference(VALID, "UriNotAllowed", uri="file:///etc/passwd")
    worker_address = f"127.0.0.1:{settings.worker.web_port}"

    with running_worker(settings, tmp_path), prometheus(tmp_path, [worker_address]) as url:
        web = f"http://{worker_address}"
        assert httpx.get(f"{web}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{web}/readyz", timeout=5).status_code == 200
        assert wait_for(url, 'up{job="credlink-worker"}', 1) == 1
        produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
        proofs = read_proofs(settings, count=VALID, timeout=120)
        read_dead_letters(settings, count=2, timeout=60)

        created = wait_for(url, "sum(credlink_proofs_created_total)", len(proofs))
        dead = wait_for(url, "sum(credlink_dead_letters_total)", 2)
        lag = wait_for(url, "sum(credlink_consumer_lag_records)", 0)
        peak = wait_for(url, "max_over_time(sum(credlink_consumer_lag_records)[5m:1s]) > bool 0", 1)
        ready = wait_for(url, "credlink_worker_ready", 1)
        counted = wait_for(url, "sum(credlink_table_proofs)", VALID)
        # Faust's own pages would serve any tenant's table entries and the partition map to
        # whoever reaches the port.
        pages = {
            page: httpx.get(f"{web}{page}", timeout=5).status_code
            for page in ("/table/proofs-counted/", "/router/", "/graph/", "/stats/")
        }

    assert len(proofs) == VALID
    assert created == VALID
    assert dead == 2
    assert lag == 0
    assert ready == 1
    assert counted == VALID  # the count table, one per distinct proof
    assert peak == 1  # the backlog was visible while the events were pending
    assert pages == dict.fromkeys(pages, 404)
