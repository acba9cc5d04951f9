"""The worker's metrics: what each pipeline event counts, and bounded label values."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from prometheus_client import CollectorRegistry

from streams.core.codecs.records import ProcessingFailed, ProofCreated, ProofLocation
from streams.core.errors import ImageRejected, TransientError
from streams.core.observing import Stage
from streams.ops.metrics import OTHER, PipelineMetrics, TableMetrics, WorkerMetrics, new_registry
from tests.support.codec_samples import CREDENTIAL_ISSUED


def proof(image_format: str = "PNG", width: int = 40, height: int = 30) -> ProofCreated:
    return ProofCreated(
        proof_id="0" * 32,
        event_id="e",
        tenant="acme",
        sha256="0" * 64,
        phash="0" * 16,
        dhash="0" * 16,
        width=width,
        height=height,
        format=image_format,
        byte_size=5000,
        key_id="k",
        algorithm="Ed25519",
        signature="s",
        location=ProofLocation(bucket="b", key="k"),
        issued_at=0,
    )


def failure(stage: str = "hash", error_class: str = "ImageRejected") -> ProcessingFailed:
    return ProcessingFailed(
        original_key=b"k",
        original_value=b"v",
        source_topic="images.submitted",
        source_partition=0,
        source_offset=1,
        stage=stage,
        error_class=error_class,
        message="m",
        attempts=1,
        failed_at=0,
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_proved_event_counts_its_format_size_and_pixels(registry: CollectorRegistry) -> None:
    observer = PipelineMetrics(WorkerMetrics(registry), "prove")
    observer.consumed()
    observer.proved(proof("WEBP", 100, 50))
    observer.finished()

    assert value(registry, "credlink_events_consumed_total", agent="prove") == 1
    assert value(registry, "credlink_events_in_flight", agent="prove") == 0
    assert value(registry, "credlink_proofs_created_total", agent="prove", format="WEBP") == 1
    assert value(registry, "credlink_image_bytes_sum", agent="prove") == 5000
    assert value(registry, "credlink_image_pixels_sum", agent="prove") == 5000


def test_an_issued_credential_is_counted_by_media_type(registry: CollectorRegistry) -> None:
    observer = PipelineMetrics(WorkerMetrics(registry), "credentials")

    observer.credential_issued(CREDENTIAL_ISSUED)
    observer.published("prod.credentials.created", 1.5)

    issued = "credlink_credentials_issued_total"
    assert value(registry, issued, agent="credentials", media_type="image/png") == 1
    count = "credlink_event_duration_seconds_count"
    assert value(registry, count, agent="credentials", outcome="credential") == 1


def test_in_flight_counts_events_between_consumed_and_finished(registry: CollectorRegistry) -> None:
    observer = PipelineMetrics(WorkerMetrics(registry), "prove")
    observer.consumed()
    observer.consumed()
    assert value(registry, "credlink_events_in_flight", agent="prove") == 2
    observer.finished()
    assert value(registry, "credlink_events_in_flight", agent="prove") == 1


def test_failed_stages_dead_letters_and_retries_are_counted_apart(
    registry: CollectorRegistry,
) -> None:
    observer = PipelineMetrics(WorkerMetrics(registry), "prove")
    observer.stage_finished(Stage.STORE, 0.2, TransientError("s3 down"))
    observer.retrying(TransientError("s3 down"), attempt=1, delay=0.5)
    observer.stage_finished(Stage.HASH, 0.1, ImageRejected("not an image"))
    observer.dead_lettered(failure("hash", "ImageRejected"), ImageRejected("x"), None)
    observer.stage_finished(Stage.FETCH, 0.05, None)

    labels = {"agent": "prove"}
    assert (
        value(
            registry,
            "credlink_failures_total",
            stage="store",
            error_class="TransientError",
            **labels,
        )
        == 1
    )
    assert value(registry, "credlink_retries_total", error_class="TransientError", **labels) == 1
    assert (
        value(
            registry,
            "credlink_dead_letters_total",
            stage="hash",
            error_class="ImageRejected",
            **labels,
        )
        == 1
    )
    assert value(registry, "credlink_stage_duration_seconds_count", stage="fetch", **labels) == 1
    assert (
        value(registry, "credlink_failures_total", stage="fetch", error_class="None", **labels)
        is None
    )


def test_end_to_end_latency_is_split_by_outcome(registry: CollectorRegistry) -> None:
    observer = PipelineMetrics(WorkerMetrics(registry), "prove")
    observer.published("prod.proofs.created", 0.25)
    observer.published("prod.images.dlq", 0.5)
    observer.published("prod.proofs.created", None)  # no input timestamp: nothing to measure

    count = "credlink_event_duration_seconds_count"
    assert value(registry, count, agent="prove", outcome="proof") == 1
    assert value(registry, count, agent="prove", outcome="dead_letter") == 1


def test_tenants_not_listed_share_one_label(registry: CollectorRegistry) -> None:
    tables = TableMetrics(
        by_tenant=lambda: [("acme", 3), ("globex", 2), ("initech", 4)],
        by_format=lambda: [("JPEG", 6), ("PNG", 3)],
        tenants=frozenset({"acme"}),
    )
    registry.register(tables)

    assert value(registry, "credlink_table_proofs", tenant="acme") == 3
    assert value(registry, "credlink_table_proofs", tenant=OTHER) == 6
    assert value(registry, "credlink_table_proofs", tenant="globex") is None
    assert value(registry, "credlink_table_proofs_by_format", format="JPEG") == 6


def test_lag_series_are_replaced_not_accumulated(registry: CollectorRegistry) -> None:
    metrics = WorkerMetrics(registry)
    metrics.set_lag("g", {("t", 0): 5, ("t", 1): 0})
    metrics.set_lag("g", {("t", 1): 2})

    assert (
        value(registry, "credlink_consumer_lag_records", group="g", topic="t", partition="0")
        is None
    )
    assert (
        value(registry, "credlink_consumer_lag_records", group="g", topic="t", partition="1") == 2
    )


def test_s3_requests_are_timed_and_their_errors_counted(registry: CollectorRegistry) -> None:
    metrics = WorkerMetrics(registry)
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    metrics.instrument_s3(client)
    with Stubber(client) as stub:
        stub.add_response("put_object", {})
        stub.add_client_error("get_object", "SlowDown", http_status_code=503)
        client.put_object(Bucket="b", Key="k", Body=io.BytesIO(b"x"))
        with pytest.raises(client.exceptions.ClientError):
            client.get_object(Bucket="b", Key="k")

    assert value(registry, "credlink_s3_request_duration_seconds_count", operation="PutObject") == 1
    assert value(registry, "credlink_s3_errors_total", operation="GetObject", error="SlowDown") == 1
    assert (
        value(registry, "credlink_s3_errors_total", operation="PutObject", error="SlowDown") is None
    )


def test_an_s3_request_that_never_reached_the_endpoint_fails_with_its_own_error(
    registry: CollectorRegistry,
) -> None:
    metrics = WorkerMetrics(registry)
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1}),
    )
    metrics.instrument_s3(client)

    def refuse(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    client.meta.events.register("before-send.s3", refuse)
    with pytest.raises(EndpointConnectionError):
        client.put_object(Bucket="b", Key="k", Body=io.BytesIO(b"x"))

    assert (
        value(
            registry,
            "credlink_s3_errors_total",
            operation="PutObject",
            error="EndpointConnectionError",
        )
        == 1
    )


def test_a_worker_registry_exposes_memory_and_cpu() -> None:
    registry = new_registry()
    assert (value(registry, "process_resident_memory_bytes") or 0) > 0
    assert value(registry, "process_cpu_seconds_total") is not None


def test_a_read_of_a_key_not_there_yet_is_not_an_s3_error(registry: CollectorRegistry) -> None:
    metrics = WorkerMetrics(registry)
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    metrics.instrument_s3(client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        with pytest.raises(client.exceptions.NoSuchKey):
            client.get_object(Bucket="b", Key="new-proof.json")

    assert value(registry, "credlink_s3_request_duration_seconds_count", operation="GetObject") == 1
    assert (
        value(registry, "credlink_s3_errors_total", operation="GetObject", error="NoSuchKey")
        is None
    )
