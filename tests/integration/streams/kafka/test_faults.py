"""Faults on the real stack: killed workers, a restarted broker, an S3 and a schema registry outage.

Each scenario proves a set of events, injects its fault mid-stream and checks that every event
still ends as a proof (none lost, none dead-lettered) and that the tables count each proof
once. The module prints the figures table at the end and writes it to `fault-figures.md` in
pytest's base temporary directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from connectors.output_topics import read_proofs
from streams.devtools.devstack.kafka import LocalKafka
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED
from streams.settings import Settings
from tests.support.faults import (
    FaultRun,
    figures_table,
    measure_run,
    wait_until,
    where_lost_events_are,
)
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import Scenario, metric_samples, new_scenario
from tests.support.schema_registry_stand_in import SchemaRegistryStandIn, serving_schema_registry
from tests.support.stacks import free_port
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

EVENTS = 120
PROVED_BEFORE_FAULT = 25
OUTAGE_SECONDS = 30.0

T = TypeVar("T")


@pytest.fixture(scope="module")
def fault_figures(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[FaultRun]]:
    """The runs of this module's scenarios, printed and written as a table at its end."""
    runs: list[FaultRun] = []
    yield runs
    table = figures_table(runs)
    path = tmp_path_factory.getbasetemp() / "fault-figures.md"
    path.write_text(table + "\n", encoding="utf-8")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        # Printed past output capturing, so that it shows when every scenario passed too.
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nFault figures (also in {path}):")
            for line in table.splitlines():
                reporter.write_line(line)


def _valid_events(scenario: Scenario) -> Scenario:
    for index in range(EVENTS):
        scenario.add_valid(index)
    return scenario


def _publish_and_wait_until_some_are_proved(scenario: Scenario) -> None:
    settings = scenario.settings
    produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
    read_proofs(settings, count=PROVED_BEFORE_FAULT, timeout=120)


def _held_partitions(settings: Settings) -> set[int]:
    """The input partitions a worker measures lag for: those assigned to it."""
    return {
        int(labels["partition"])
        for labels, _ in metric_samples(settings, "credlink_consumer_lag_records")
        if labels["topic"] == settings.kafka.topic(SUBMITTED)
    }


def _backlog(settings: Settings) -> float:
    return sum(
        value
        for labels, value in metric_samples(settings, "credlink_consumer_lag_records")
        if labels["topic"] == settings.kafka.topic(SUBMITTED)
    )


def _assert_recovered(run: FaultRun, *workers: WorkerProcess) -> None:
    assert PROVED_BEFORE_FAULT <= run.proved_before_fault < run.events_in, (
        "the fault did not hit mid-stream"
    )
    logs = "\n".join(worker.log_tail(2000) for worker in workers)
    if run.lost:
        where = where_lost_events_are(workers[0].settings, set(run.lost_events))
        raise AssertionError(f"{run.lost} events lost:\n{where}\n{logs}")
    assert run.dlq == 0, "\n".join(["dead-lettered:", *run.dead_letter_reasons, logs])
    assert run.proofs_out >= run.events_in
    assert run.tables_match, "the tables do not count each proof exactly once"
    assert run.duplicates_identical, "a republished proof differs from the first"


def test_a_worker_killed_mid_batch_and_restarted_loses_no_input(
    local_stack: LocalStack, tmp_path: Path, fault_figures: list[FaultRun]
) -> None:
    scenario = _valid_events(new_scenario(local_stack, tmp_path))
    settings = scenario.settings
    worker = WorkerProcess(settings, tmp_path)
    worker.start()
    try:
        _publish_and_wait_until_some_are_proved(scenario)
        worker.kill()
        killed_at = time.time()
        worker.start()
        run = measure_run(
            "SIGKILL a worker, restart it", settings, scenario.valid_ids, (killed_at, killed_at)
        )
    finally:
        worker.stop()
    fault_figures.append(run)

    _assert_recovered(run, worker)


def test_the_surviving_worker_of_a_group_takes_over_a_killed_ones_partitions(
    local_stack: LocalStack, tmp_path: Path, fault_figures: list[FaultRun]
) -> None:
    scenario = _valid_events(
        new_scenario(local_stack, tmp_path, monitoring={"lag_interval_seconds": 1.0})
    )
    settings = scenario.settings
    survivor_settings = settings.updated(worker={"web_port": free_port()})
    doomed = WorkerProcess(settings, tmp_path, "worker-a")
    survivor = WorkerProcess(survivor_settings, tmp_path, "worker-b")
    doomed.start()
    survivor.start()
    try:
        wait_until(
            "each worker holds some of the input partitions",
            lambda: _split_between(_held_partitions(settings), _held_partitions(survivor_settings)),
            timeout=90,
        )
        _publish_and_wait_until_some_are_proved(scenario)
        doomed.kill()
        killed_at = time.time()
        run = measure_run(
            "two workers, SIGKILL one", settings, scenario.valid_ids, (killed_at, killed_at)
        )
        held_at_end = _held_partitions(survivor_settings)
    finally:
        doomed.stop()
        survivor.stop()
    fault_figures.append(run)

    _assert_recovered(run, doomed, survivor)
    assert held_at_end == set(range(settings.kafka.topic_partitions))


def _split_between(first: set[int], second: set[int]) -> bool:
    return bool(first) and bool(second) and not first & second


def test_workers_recover_from_a_broker_restart_without_help(
    local_stack: LocalStack, tmp_path: Path, fault_figures: list[FaultRun]
) -> None:
    # A broker of its own: the other tests share the session's broker and must not see this.
    broker = LocalKafka(
        home=tmp_path / "kafka",
        port=free_port(),
        controller_port=free_port(),
        cache_dir=local_stack.settings.dev.kafka_cache_dir,
    )
    broker.start()
    worker: WorkerProcess | None = None
    try:
        scenario = _valid_events(
            new_scenario(
                local_stack, tmp_path, kafka={"bootstrap_servers": broker.bootstrap_servers}
            )
        )
        settings = scenario.settings
        worker = WorkerProcess(settings, tmp_path)
        worker.start()
        _publish_and_wait_until_some_are_proved(scenario)
        stopped_at = time.time()
        broker.stop()
        broker.start()
        back_at = time.time()
        run = measure_run("broker restart", settings, scenario.valid_ids, (stopped_at, back_at))
        worker_survived = worker.running
    finally:
        if worker is not None:
            worker.stop()
        broker.stop()
    fault_figures.append(run)

    assert worker_survived, "the worker exited instead of reconnecting"
    _assert_recovered(run, worker)


def _outage_scenario(
    local_stack: LocalStack, tmp_path: Path, **overrides: Mapping[str, object]
) -> Scenario:
    """Events for a worker that retries a transient failure at least every 5 s and measures its
    lag every second, with `overrides` (pointing it at an endpoint's proxy)."""
    return _valid_events(
        new_scenario(
            local_stack,
            tmp_path,
            worker={"transient_retry_max_seconds": 5.0},
            monitoring={"lag_interval_seconds": 1.0},
            **overrides,
        )
    )


def _healthz_seconds(settings: Settings) -> float:
    """How long the worker takes to answer `/healthz`, which it serves on its event loop."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{settings.worker.web_port}/healthz"
    httpx.get(url, timeout=60).raise_for_status()
    return time.monotonic() - started


def _retries(settings: Settings) -> float:
    return sum(value for _, value in metric_samples(settings, "credlink_retries_total"))


def _through_outage(
    name: str,
    scenario: Scenario,
    worker: WorkerProcess,
    proxy: TcpProxy,
    while_down: Callable[[float], T],
) -> tuple[FaultRun, float, T]:
    """Start `worker`, prove some of `scenario`'s events, then cut `proxy` off for
    `OUTAGE_SECONDS`, calling `while_down` with the `time.monotonic()` the outage ends at; return
    the run measured as `name`, the retries the worker counted and what `while_down` returned."""
    settings = scenario.settings
    worker.start()
    try:
        _publish_and_wait_until_some_are_proved(scenario)
        down_at = time.time()
        with proxy.outage():
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            seen = while_down(outage_ends)
            time.sleep(max(0.0, outage_ends - time.monotonic()))
        back_at = time.time()
        run = measure_run(name, settings, scenario.valid_ids, (down_at, back_at))
        return run, _retries(settings), seen
    finally:
        worker.stop()


def test_an_s3_outage_delays_events_without_dead_lettering_them(
    local_stack: LocalStack, tmp_path: Path, fault_figures: list[FaultRun]
) -> None:
    proxy = TcpProxy(local_stack.s3.port)
    try:
        # Images come from the bucket too: the outage hits fetching and the proof store alike.
        scenario = _outage_scenario(local_stack, tmp_path, s3={"endpoint_url": proxy.url})
        settings = scenario.settings
        worker = WorkerProcess(settings, tmp_path)

        def sample_backlog(outage_ends: float) -> list[float]:
            backlog: list[float] = []
            while time.monotonic() < outage_ends:
                backlog.append(_backlog(settings))
                time.sleep(1)
            return backlog

        run, retries, backlog = _through_outage(
            "S3 endpoint down 30 s", scenario, worker, proxy, sample_backlog
        )
    finally:
        proxy.close()
    fault_figures.append(run)

    assert backlog[-1] > 0, "the lag metric showed no backlog at the end of the outage"
    assert retries > 0, "no transient failure was retried"
    _assert_recovered(run, worker)


@pytest.fixture
def schema_registry() -> Iterator[SchemaRegistryStandIn]:
    """A schema registry stand-in on loopback, stopped at the end of the test."""
    with serving_schema_registry() as registry:
        yield registry


def test_a_schema_registry_outage_delays_events_without_dead_lettering_them(
    local_stack: LocalStack,
    tmp_path: Path,
    fault_figures: list[FaultRun],
    schema_registry: SchemaRegistryStandIn,
) -> None:
    """Every topic in the Confluent framing, through a registry behind a proxy; the worker is
    restarted as the outage begins (a crash or a deployment while the registry is down).

    A running worker needs the registry no more once it has used each schema: the serializer
    and the client keep the ids they registered and the schemas they fetched. A fresh worker
    holds none, so the outage is a real one for the pipeline: it cannot decode an image
    reference (`GET /schemas/ids/{id}` for the writer schema) nor count the proofs its
    predecessor published (the same lookup) until the registry answers again, and then it
    registers the proof schema to publish. Its event loop stays free meanwhile: `/healthz`,
    which the liveness probe asks, answers within a second throughout.
    """
    proxy = TcpProxy(schema_registry.port)
    try:
        scenario = _outage_scenario(local_stack, tmp_path, kafka={"schema_registry_url": proxy.url})
        settings = scenario.settings
        worker = WorkerProcess(settings, tmp_path)

        def restart(outage_ends: float) -> tuple[bool, list[float]]:
            worker.stop()
            worker.start()
            restarted_in_outage = time.monotonic() < outage_ends
            answers: list[float] = []
            while time.monotonic() < outage_ends:
                answers.append(_healthz_seconds(settings))
                time.sleep(0.5)
            return restarted_in_outage, answers

        run, retries, (restarted_in_outage, answers) = _through_outage(
            "schema registry down 30 s, worker restarted", scenario, worker, proxy, restart
        )
    finally:
        proxy.close()
    fault_figures.append(run)

    assert restarted_in_outage, "the worker was ready again only after the outage"
    slowest = max(answers, default=0.0)
    assert slowest < 1.0, f"/healthz took up to {slowest:.1f} s during the outage"
    assert retries > 0, "the restarted worker retried nothing"
    _assert_recovered(run, worker)
    framed = {settings.kafka.topic(SUBMITTED), settings.kafka.topic(PROOFS_CREATED)}
    assert {f"{topic}-value" for topic in framed} <= schema_registry.subjects(), (
        "the events did not travel in the registry's framing"
    )
