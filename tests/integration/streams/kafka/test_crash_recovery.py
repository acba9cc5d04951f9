"""A worker stopped mid-stream (SIGTERM) loses nothing once restarted.

At-least-once: every input ends as a proof or a dead letter; a stop may publish a proof twice
(same proof id, same bytes), which the tables do not count twice. A worker killed with SIGKILL
is one of the fault scenarios (test_faults.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connectors.output_topics import read_dead_letters, read_proofs
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.topics import SUBMITTED, tenant_repartition_topic
from tests.support.faults import proofs_until_every_event_is_proved
from tests.support.kafka_io import produce, wait_until_consumed
from tests.support.pipeline_scenarios import metric_samples, new_scenario, tenant_counts

pytestmark = pytest.mark.integration

VALID = 90


@pytest.mark.timeout(600)
def test_every_input_ends_as_a_proof_or_dead_letter_after_a_stop_and_restart(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    scenario = new_scenario(local_stack, tmp_path, worker={"prove_concurrency": 2})
    settings = scenario.settings
    for index in range(VALID):
        scenario.add_valid(index)
    scenario.add_bad("garbage", b"not avro", "DecodeFailed")
    scenario.add_bad_reference(VALID, "UriNotAllowed", uri="file:///etc/passwd")

    worker = WorkerProcess(settings, tmp_path)
    worker.start()
    try:
        produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
        read_proofs(settings, count=20, timeout=120)  # mid-stream: some done, most not
        worker.stop()
        stopped_at = len(read_proofs(settings, count=len(scenario.events) * 2, timeout=5))
        worker.start()
        published = proofs_until_every_event_is_proved(settings, set(scenario.valid_ids), 120)
        failures = read_dead_letters(settings, count=len(scenario.bad), timeout=60)
        wait_until_consumed(settings, settings.kafka.app_id, tenant_repartition_topic(settings))
        # Rebuilt from the table's changelog after the restart, then kept up to date.
        counted = sum(value for _, value in metric_samples(settings, "credlink_table_proofs"))
    finally:
        worker.stop()

    proofs = [item.proof for item in published]
    assert 20 <= stopped_at < VALID, "the stop did not land mid-stream"
    assert {proof.event_id for proof in proofs} == set(scenario.valid_ids), worker.log_tail()
    assert {f.original_key.decode() for f in failures if f.original_key} == set(scenario.bad)
    copies = Counter(proof.proof_id for proof in proofs)
    duplicates = sum(count - 1 for count in copies.values())
    print(f"SIGTERM: {len(proofs)} proof events, {duplicates} duplicates")
    by_id = {proof.proof_id: proof for proof in proofs}
    assert all(proof == by_id[proof.proof_id] for proof in proofs)  # duplicates are identical

    # Recovered from the changelog after the restart, and no proof counted twice.
    assert sum(tenant_counts(settings).values()) == VALID
    assert counted == VALID
