"""`credlink worker` started before the Kafka cluster answers: it waits, saying so once per
interval, and proves events once the cluster is there, without a restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.output_topics import read_proofs
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.topics import SUBMITTED
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import new_scenario
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DOWN_SECONDS = 15.0
EVENTS = 5


def test_a_worker_started_before_the_broker_waits_for_it_then_proves_events(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    # The worker bootstraps through the proxy; the broker's metadata then points it straight
    # at the broker. While the proxy refuses connections, the cluster does not answer.
    proxy = TcpProxy(local_stack.kafka.port)
    scenario = new_scenario(
        local_stack,
        tmp_path,
        kafka={"bootstrap_servers": f"127.0.0.1:{proxy.port}", "connect_timeout_seconds": 1.0},
    )
    for index in range(EVENTS):
        scenario.add_valid(index)
    settings = scenario.settings
    worker = WorkerProcess(settings, tmp_path)
    started: list[BaseException | None] = []

    def start() -> None:
        try:
            worker.start(ready_timeout=DOWN_SECONDS + 120)
            started.append(None)
        except BaseException as error:  # reported by the test thread below
            started.append(error)

    try:
        with proxy.outage():
            starter = threading.Thread(target=start)
            starter.start()
            time.sleep(DOWN_SECONDS)
            assert worker.running, worker.log_tail()
            waiting = [line for line in worker.log_tail().splitlines() if "waiting" in line]
        starter.join()
        assert started == [None], worker.log_tail()

        produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
        proofs = read_proofs(settings, count=EVENTS, timeout=120)
    finally:
        worker.stop()
        proxy.close()

    assert {proof.event_id for proof in proofs} == set(scenario.valid_ids)
    assert 1 <= len(waiting) <= 2, waiting
    assert "CREDLINK_KAFKA_BOOTSTRAP_SERVERS" in waiting[0]
    assert "Traceback" not in worker.log_tail(100_000)
