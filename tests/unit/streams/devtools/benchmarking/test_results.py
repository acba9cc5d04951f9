"""The benchmark's figures: percentiles, ratios to the compute limit, the JSON and the table."""

from __future__ import annotations

import json

import pytest

from streams.devtools.benchmarking.results import (
    BenchResult,
    ComputeLimit,
    CredentialsResult,
    Latency,
    Machine,
    StoreResult,
    Throughput,
    credentials_table,
    percentile,
    summary_table,
)

LIMIT = ComputeLimit(cpu_seconds_per_event=0.05, cores=2, wall_seconds_per_event=0.08)


def throughput(
    workers: int,
    events_per_second: float,
    cpu_per_event: float,
    broker_cpu_seconds: float | None = None,
) -> Throughput:
    """A burst of 1,000 events whose CPU the workers shared equally."""
    events = 1000
    return Throughput(
        workers=workers,
        events=events,
        seconds=events / events_per_second,
        worker_cpu_seconds=tuple(cpu_per_event * events / workers for _ in range(workers)),
        peak_rss_bytes=tuple(300 * 2**20 for _ in range(workers)),
        broker_cpu_seconds=broker_cpu_seconds,
    )


def with_credentials(
    proofs_per_second: float = 17.28, manifest_bytes: tuple[int, ...] = (3650, 3660, 3700)
) -> CredentialsResult:
    return CredentialsResult(
        proofs=throughput(1, proofs_per_second, 0.0625),
        credentials=throughput(1, 16.0, 0.04),
        manifest_bytes=manifest_bytes,
    )


def store_result(
    store: str = "filesystem", credentials: CredentialsResult | None = None
) -> StoreResult:
    return StoreResult(
        store=store,
        one_worker=throughput(1, 18.0, 0.0625, broker_cpu_seconds=11.11),
        two_workers=throughput(2, 32.4, 0.0625),
        latency=Latency(rate=9.0, milliseconds=tuple(float(ms) for ms in range(1, 201))),
        with_credentials=credentials or with_credentials(),
    )


def bench_result(*stores: StoreResult) -> BenchResult:
    return BenchResult(
        date="2026-11-28T04:00:00+00:00",
        machine=Machine("a CPU", 2, 2, "3.11.7", "Linux"),
        load_average_start=(0.5, 0.4, 0.3),
        load_average_end=(1.5, 0.9, 0.6),
        parameters={"events": 1000, "seed": 1},
        corpus={"distinct_images": 24},
        limit=LIMIT,
        stores=stores or (store_result("filesystem"), store_result("s3")),
    )


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.01, 1), (0.5, 50), (0.95, 95), (0.99, 99), (1.0, 100)]
)
def test_percentile_is_the_nearest_rank_of_the_values(fraction: float, expected: float) -> None:
    values = [float(value) for value in range(100, 0, -1)]

    assert percentile(values, fraction) == expected


def test_percentile_of_a_single_value_is_that_value() -> None:
    assert percentile([42.0], 0.5) == percentile([42.0], 0.99) == 42.0


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.01])
def test_percentile_refuses_a_fraction_outside_zero_to_one(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0, 2.0], fraction)


def test_percentile_of_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_one_worker_is_compared_with_one_core_of_the_limit() -> None:
    assert throughput(1, 17.0, 0.05).ratio_to(LIMIT) == pytest.approx(0.85)


def test_two_workers_are_compared_with_two_cores_of_the_limit() -> None:
    assert throughput(2, 30.0, 0.05).ratio_to(LIMIT) == pytest.approx(0.75)


def test_more_workers_than_cores_are_compared_with_every_core() -> None:
    assert throughput(4, 30.0, 0.05).ratio_to(LIMIT) == pytest.approx(0.75)


def test_the_machine_ratio_compares_one_worker_with_every_core_of_the_limit() -> None:
    assert throughput(1, 34.0, 0.05).machine_ratio(LIMIT) == pytest.approx(0.85)


def test_the_machine_ratio_does_not_depend_on_the_number_of_workers() -> None:
    assert throughput(2, 34.0, 0.05).machine_ratio(LIMIT) == pytest.approx(0.85)


def test_cores_used_are_each_worker_cpu_seconds_over_the_burst_seconds() -> None:
    run = Throughput(
        workers=2,
        events=100,
        seconds=10.0,
        worker_cpu_seconds=(9.5, 7.0),
        peak_rss_bytes=(1, 1),
    )

    assert run.cores_used_per_worker == pytest.approx((0.95, 0.7))
    assert run.cpu_seconds == pytest.approx(16.5)


def test_the_broker_share_is_its_cores_used_over_the_cores_available() -> None:
    run = throughput(1, 20.0, 0.05, broker_cpu_seconds=25.0)

    assert run.broker_cores_used == pytest.approx(0.5)
    assert run.broker_cpu_share(LIMIT) == pytest.approx(0.25)


def test_an_unread_broker_has_no_share() -> None:
    run = throughput(1, 20.0, 0.05)

    assert run.broker_cores_used is None
    assert run.broker_cpu_share(LIMIT) is None


def test_cpu_efficiency_is_the_limit_cpu_over_the_pipeline_cpu_per_event() -> None:
    assert throughput(1, 10.0, 0.1).cpu_efficiency(LIMIT) == pytest.approx(0.5)


def test_speed_up_is_two_workers_throughput_over_one() -> None:
    assert store_result().speed_up == pytest.approx(1.8)


def test_latency_summary_holds_ordered_percentiles_of_the_paced_run() -> None:
    summary = Latency(rate=9.0, milliseconds=(30.0, 10.0, 20.0, 400.0)).summary()

    assert summary == {
        "rate_events_per_second": 9.0,
        "events": 4,
        "p50_ms": 20.0,
        "p95_ms": 400.0,
        "p99_ms": 400.0,
        "max_ms": 400.0,
    }


def test_small_images_latency_is_summarised_apart_against_its_target() -> None:
    latency = Latency(
        rate=9.0,
        milliseconds=(40.0, 60.0, 900.0, 1200.0, 170.0),
        megapixels=(0.3, 1.0, 10.0, 12.0, 0.8),
    )

    summary = latency.summary()["small_images"]

    # 170 ms is a small image's: the large ones' 900 and 1200 ms are not held against it.
    assert summary == {
        "max_megapixels": 1.0,
        "events": 3,
        "p50_ms": 60.0,
        "p99_ms": 170.0,
        "target_p99_ms": 150.0,
        "met": False,
    }


def test_waiting_is_latency_less_the_images_own_compute_time() -> None:
    latency = Latency(
        rate=9.0,
        milliseconds=(40.0, 900.0, 300.0),
        megapixels=(0.3, 10.0, 2.0),
        compute_milliseconds=(10.0, 850.0, 120.0),
    )

    assert latency.waiting == (30.0, 50.0, 180.0)
    assert latency.summary()["waiting"] == {
        "p50_ms": 50.0,
        "p99_ms": 180.0,
        "target_p99_ms": 100.0,
        "met": False,
    }


def test_latency_refuses_image_figures_that_do_not_pair_with_its_events() -> None:
    with pytest.raises(ValueError, match="one image size per latency"):
        Latency(rate=1.0, milliseconds=(1.0, 2.0), megapixels=(0.5,))
    with pytest.raises(ValueError, match="one compute time per latency"):
        Latency(rate=1.0, milliseconds=(1.0, 2.0), compute_milliseconds=(0.5,))


def test_result_json_holds_every_figure_per_store() -> None:
    document = json.loads(json.dumps(bench_result().to_json()))

    assert document["machine"]["cores_available"] == 2
    assert document["load_average"] == {"start": [0.5, 0.4, 0.3], "end": [1.5, 0.9, 0.6]}
    assert document["compute_limit"] == {
        "events_per_second_per_core": 20.0,
        "cores": 2,
        "events_per_second": 40.0,
        "cpu_seconds_per_event": 0.05,
        "wall_events_per_second_per_core": 12.5,
    }
    assert set(document["stores"]) == {"filesystem", "s3"}
    filesystem = document["stores"]["filesystem"]
    assert filesystem["one_worker"] == {
        "workers": 1,
        "events": 1000,
        "seconds": 55.56,
        "events_per_second": 18.0,
        "ratio_to_limit": 0.9,
        "machine_ratio": 0.45,
        "cpu_seconds_per_event": 0.0625,
        "cpu_efficiency": 0.8,
        "cores_used_per_worker": [1.125],
        "broker_cores_used": 0.2,
        "broker_cpu_share": 0.1,
        "peak_rss_mb_per_worker": [300.0],
    }
    assert filesystem["two_workers"]["ratio_to_limit"] == 0.81
    assert filesystem["two_workers"]["machine_ratio"] == 0.81
    assert filesystem["two_workers"]["cores_used_per_worker"] == [1.012, 1.012]
    assert filesystem["two_workers"]["broker_cpu_share"] is None
    assert filesystem["two_workers"]["peak_rss_mb_per_worker"] == [300.0, 300.0]
    assert filesystem["speed_up"] == 1.8
    assert filesystem["latency_at_half_saturation"]["p99_ms"] == 198.0


def test_summary_table_has_a_row_per_store_and_worker_count() -> None:
    table = summary_table(bench_result()).splitlines()

    rows = [line for line in table[2:] if line.startswith("|")]
    assert [row.split("|")[1:3] for row in rows] == [
        [" filesystem ", " 1 "],
        [" filesystem ", " 2 "],
        [" s3 ", " 1 "],
        [" s3 ", " 2 "],
    ]
    assert "| 0.45 | 1.12 | 0.80 | 10% |" in rows[0]
    assert "| 0.81 | 1.01 / 1.01 | 0.80 | n/a |" in rows[1]
    assert "100 / 190 / 198 ms at 9.0/s" in rows[0]
    assert "1.80x" in rows[1]


def test_credentials_per_core_are_taken_from_the_credentials_worker_cpu() -> None:
    assert with_credentials().credentials_per_second_per_core == pytest.approx(25.0)


def test_proofs_with_credentials_are_compared_with_the_one_worker_burst_without() -> None:
    result = store_result(credentials=with_credentials(proofs_per_second=17.28))

    assert result.proofs_with_credentials == pytest.approx(0.96)
    assert result.proofs_with_credentials_met


def test_proofs_slower_than_the_target_share_miss_it() -> None:
    result = store_result(credentials=with_credentials(proofs_per_second=16.0))

    assert not result.proofs_with_credentials_met


@pytest.mark.parametrize(("largest", "met"), [(16 * 1024, True), (16 * 1024 + 1, False)])
def test_the_largest_manifest_decides_the_size_target(largest: int, met: bool) -> None:
    assert with_credentials(manifest_bytes=(3000, largest)).largest_manifest_met is met


def test_manifest_summary_holds_the_smallest_median_and_largest_size() -> None:
    summary = with_credentials(manifest_bytes=(3700, 3650, 3660, 9000)).manifest_summary()

    assert summary == {"min": 3650, "median": 3680, "max": 9000}


def test_result_json_holds_the_credentials_figures_with_their_targets() -> None:
    document = json.loads(json.dumps(bench_result().to_json()))

    figures = document["stores"]["s3"]["content_credentials"]
    assert figures["proofs"]["events_per_second"] == 17.28
    assert figures["proofs_ratio_to_off"] == {"value": 0.96, "target": 0.95, "met": True}
    assert figures["credentials"] == {
        "events": 1000,
        "seconds": 62.5,
        "events_per_second": 16.0,
        "cpu_seconds_per_event": 0.04,
        "events_per_second_per_core": 25.0,
        "peak_rss_mb": 300.0,
    }
    assert figures["manifest_bytes"] == {
        "min": 3650,
        "median": 3660,
        "max": 3700,
        "target_max": 16384,
        "met": True,
    }


def test_credentials_table_marks_each_target_met_or_missed_per_store() -> None:
    result = bench_result(
        store_result("filesystem"),
        store_result("s3", with_credentials(proofs_per_second=9.0, manifest_bytes=(3650, 20000))),
    )

    rows = [line for line in credentials_table(result).splitlines()[2:] if line.startswith("|")]
    assert [row.split("|")[1] for row in rows] == [" filesystem ", " s3 "]
    assert "| 0.96x (met) |" in rows[0]
    assert "| 3650 / 3660 / 3700 (met) |" in rows[0]
    assert "| 0.50x (missed) |" in rows[1]
    assert "| 3650 / 11825 / 20000 (missed) |" in rows[1]
    assert "| 25.0 |" in rows[1]
