"""One benchmark run on a local stack of its own: the compute limit, then the pipeline.

For each proof store: one worker proves a burst of events (saturation throughput), then events
produced at half that rate (end-to-end latency), then two workers of one consumer group prove
a burst (speed-up), then one proving worker and one credentials worker take the burst with
Content Credentials on. Events reference image files under an allowed root, as real ingest does.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from connectors.ingest import ImageReferencePublisher
from connectors.output_topics import read_credentials
from connectors.reader import Record, read_topic
from streams.core.assembly import build_signer
from streams.core.certificates import DevelopmentCertificates, write_development_certificates
from streams.core.clock import now_millis, utc_now
from streams.core.codecs.records import ImageReference
from streams.core.errors import SetupError
from streams.core.pipeline import ImageLimits
from streams.core.signing import generate_key_pair, load_private_key
from streams.devtools.benchmarking.corpus import (
    BenchImage,
    build_corpus,
    describe_mix,
    event_images,
)
from streams.devtools.benchmarking.limit import available_cores, measure_limit
from streams.devtools.benchmarking.processes import cpu_seconds, peak_rss_bytes
from streams.devtools.benchmarking.results import (
    BenchResult,
    ComputeLimit,
    CredentialsResult,
    Latency,
    Machine,
    StoreResult,
    Throughput,
)
from streams.devtools.devstack.processes import free_port
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.topics import CREDENTIALS_CREATED, PROOFS_CREATED, SUBMITTED
from streams.settings import Settings

__all__ = ["BenchPlan", "Progress", "run_bench", "stack_under"]

StoreName = Literal["filesystem", "s3"]
Progress = Callable[[str, int, int], None]
"""Told (what is measured, how many done, of how many) as a run advances."""

_PARTITIONS = 4
_READY_TIMEOUT = 120.0
_LATENCY_SECONDS = 40.0
_MIN_LATENCY_EVENTS = 100


@dataclass(frozen=True)
class BenchPlan:
    events: int
    seed: int
    stores: tuple[StoreName, ...]
    distinct_images: int = 24
    tiny: bool = False
    limit_repeats: int = 3
    photographs: tuple[Path, ...] = ()
    """Real photographs the images are made of; none: synthetic pictures."""


def run_bench(base: Settings, plan: BenchPlan, progress: Progress) -> BenchResult:
    """Run `plan` on a local stack started under a temporary directory and stopped at the end."""
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="credlink-bench-") as temporary:
        home = Path(temporary)
        stack = stack_under(base, home)
        corpus = build_corpus(
            plan.seed, plan.distinct_images, tiny=plan.tiny, photographs=plan.photographs
        )
        picks = event_images(corpus, plan.events, plan.seed)
        keys = home / "keys"
        generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")
        certificates = write_development_certificates(
            load_private_key(keys / "signing-key.pem").public_key(), keys
        )
        images = home / "images"
        images.mkdir()
        for image in corpus:
            (images / image.name).write_bytes(image.data)
        settings = base.updated(
            signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"}
        )
        limits = ImageLimits(settings.fetch.max_image_bytes, settings.fetch.max_image_pixels)
        done = iter(range(1, len(corpus) + 1))
        limit = measure_limit(
            corpus,
            picks,
            build_signer(settings),
            limits,
            repeats=plan.limit_repeats,
            progress=lambda: progress("compute limit", next(done), len(corpus)),
        )
        try:
            stack.up()
            bench = _Bench(stack, settings, certificates, home, corpus, picks, limit, progress)
            stores = tuple(bench.measure_store(store) for store in plan.stores)
        finally:
            stack.down()
    return BenchResult(
        date=utc_now().isoformat(timespec="seconds"),
        machine=_machine(),
        load_average_start=load_start,
        load_average_end=os.getloadavg(),
        parameters={
            "events": plan.events,
            "seed": plan.seed,
            "prove_concurrency": settings.worker.prove_concurrency,
            "partitions": _PARTITIONS,
            "tiny_images": plan.tiny,
            "photographs_offered": len(plan.photographs),
        },
        corpus=describe_mix(corpus, picks),
        limit=limit,
        stores=stores,
    )


def stack_under(base: Settings, home: Path) -> LocalStack:
    """A local stack of its own under `home`, its servers on free loopback ports."""
    return LocalStack(
        base.updated(
            dev={
                "home": home,
                "kafka_port": free_port(),
                "controller_port": free_port(),
                "s3_port": free_port(),
            }
        )
    )


@dataclass
class _Bench:
    stack: LocalStack
    settings: Settings
    certificates: DevelopmentCertificates
    home: Path
    corpus: Sequence[BenchImage]
    picks: Sequence[int]
    limit: ComputeLimit
    progress: Progress

    def measure_store(self, store: StoreName) -> StoreResult:
        one = self._deployment(store, "one")
        with self._workers(one, 1) as workers:
            burst = self._burst(one, workers, f"{store}, 1 worker")
            rate = burst.events_per_second / 2
            count = min(len(self.picks), max(_MIN_LATENCY_EVENTS, round(rate * _LATENCY_SECONDS)))
            latency = self._paced(one, rate, count, f"{store}, latency at {rate:.1f}/s")
        two = self._deployment(store, "two")
        with self._workers(two, 2) as workers:
            burst_two = self._burst(two, workers, f"{store}, 2 workers")
        return StoreResult(store, burst, burst_two, latency, self._with_credentials(store))

    def _with_credentials(self, store: StoreName) -> CredentialsResult:
        settings = self._deployment(store, "credentials").updated(
            c2pa={
                "enabled": True,
                # Manifests as sidecars only, whatever the calling shell sets.
                "embed": False,
                "certificate_chain_file": self.certificates.certificate_chain,
                "trust_anchors_file": self.certificates.ca_certificate,
            }
        )
        with (
            self._workers(settings, 1) as provers,
            self._workers(settings, 1, credentials=True) as issuers,
        ):
            cpu_before = _cpu_seconds(issuers)
            proofs = self._burst(settings, provers, f"{store}, 1 worker, credentials on")
            issued = self._collect(
                settings, CREDENTIALS_CREATED, "burst", proofs.events, f"{store}, credentials"
            )
            credentials = Throughput(
                workers=len(issuers),
                events=len(issued),
                seconds=self._seconds_since_submitted(settings, issued, f"{store}, credentials"),
                worker_cpu_seconds=_since(cpu_before, _cpu_seconds(issuers)),
                peak_rss_bytes=_peak_rss_bytes(issuers),
            )
        manifests = read_credentials(settings, count=len(issued), timeout=60 + len(issued))
        return CredentialsResult(
            proofs=proofs,
            credentials=credentials,
            manifest_bytes=tuple(credential.manifest_bytes for credential in manifests),
        )

    def _deployment(self, store: StoreName, name: str) -> Settings:
        run = f"bench-{store}-{name}-{uuid.uuid4().hex[:6]}"
        return self.stack.client_settings().updated(
            kafka={"app_id": run, "topic_prefix": f"{run}.", "topic_partitions": _PARTITIONS},
            signing={
                "key_file": self.settings.signing.key_file,
                "keyset_file": self.settings.signing.keyset_file,
            },
            store={"backend": store, "root": self.home / run / "proofs"},
            fetch={"file_roots": (self.home / "images",)},
            worker={"consumer_session_timeout_seconds": 10.0},
        )

    @contextmanager
    def _workers(
        self, settings: Settings, count: int, *, credentials: bool = False
    ) -> Iterator[list[WorkerProcess]]:
        """`count` proving workers, or credentials workers, started and ready."""
        kind = "-credentials" if credentials else ""
        with ExitStack() as stack:
            workers = []
            for index in range(count):
                worker = WorkerProcess(
                    settings.updated(worker={"web_port": free_port()}),
                    self.home,
                    name=f"{settings.kafka.app_id}{kind}-{index}",
                    options=("--credentials",) if credentials else (),
                )
                stack.callback(worker.stop)
                worker.start(ready_timeout=_READY_TIMEOUT)
                workers.append(worker)
            _wait_until_ready(workers)
            yield workers

    def _image_of(self, index: int) -> int:
        """Which corpus image the `index`th event of a burst or paced run submits."""
        return self.picks[index % len(self.picks)]

    def _references(self, settings: Settings, prefix: str, count: int) -> Iterator[ImageReference]:
        root = self.home / "images"
        for index in range(count):
            image = self.corpus[self._image_of(index)]
            yield ImageReference(
                event_id=f"{settings.kafka.app_id}-{prefix}-{index:05d}",
                tenant="bench",
                uri=(root / image.name).as_uri(),
                submitted_at=now_millis(),
            )

    def _burst(self, settings: Settings, workers: list[WorkerProcess], label: str) -> Throughput:
        count = len(self.picks)
        cpu_before, broker_before = _cpu_seconds(workers), self._broker_cpu_seconds()
        publisher = ImageReferencePublisher(settings)
        for reference in self._references(settings, "burst", count):
            publisher.publish(reference, key=reference.event_id.encode())
        publisher.close()
        proofs = self._collect(settings, PROOFS_CREATED, "burst", count, label)
        cpu, broker = _cpu_seconds(workers), self._broker_cpu_seconds()
        return Throughput(
            workers=len(workers),
            events=count,
            seconds=self._seconds_since_submitted(settings, proofs, label),
            worker_cpu_seconds=_since(cpu_before, cpu),
            peak_rss_bytes=_peak_rss_bytes(workers),
            broker_cpu_seconds=(
                None if broker is None or broker_before is None else broker - broker_before
            ),
        )

    def _broker_cpu_seconds(self) -> float | None:
        """The CPU seconds of the broker this run started, or None if /proc does not show it."""
        pid = self.stack.kafka.running_pid()
        if pid is None:
            return None
        try:
            return cpu_seconds(pid)
        except OSError:
            return None

    def _seconds_since_submitted(
        self, settings: Settings, outputs: dict[bytes, Record], label: str
    ) -> float:
        """From the first event of the burst submitted to the last of `outputs` published."""
        submitted = self._collect(settings, SUBMITTED, "burst", len(self.picks), label)
        first_submitted = min(record.timestamp_ms for record in submitted.values())
        return (max(record.timestamp_ms for record in outputs.values()) - first_submitted) / 1000

    def _paced(self, settings: Settings, rate: float, count: int, label: str) -> Latency:
        publisher = ImageReferencePublisher(settings)
        # One event delivered before the clock starts: an ingest system's producer is long
        # connected, and the first events must not be timed waiting for this one's connection
        # and the topic's metadata (the worker is warm already, from the burst).
        for reference in self._references(settings, "warm-up", 1):
            publisher.publish(reference, key=reference.event_id.encode())
        publisher.flush()
        started = time.monotonic()
        for index, reference in enumerate(self._references(settings, "paced", count)):
            pause = started + index / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            publisher.publish(reference, key=reference.event_id.encode())
            self.progress(label + " (submitting)", index + 1, count)
        publisher.close()
        proofs = self._collect(settings, PROOFS_CREATED, "paced", count, label)
        submitted = self._collect(settings, SUBMITTED, "paced", count, label)
        # An event's key is its id, which ends in its index in the run.
        images = [self._image_of(int(key.rsplit(b"-", 1)[1])) for key in submitted]
        return Latency(
            rate=rate,
            milliseconds=tuple(
                float(proofs[key].timestamp_ms - submitted[key].timestamp_ms) for key in submitted
            ),
            megapixels=tuple(self.corpus[image].megapixels for image in images),
            compute_milliseconds=tuple(
                self.limit.cpu_seconds_by_image[image] * 1000 for image in images
            ),
        )

    def _collect(
        self, settings: Settings, topic: str, prefix: str, count: int, label: str
    ) -> dict[bytes, Record]:
        """The records of `topic` keyed `{app_id}-{prefix}-*`, by key, once all `count` are in."""
        wanted = f"{settings.kafka.app_id}-{prefix}-".encode()
        found: dict[bytes, Record] = {}
        seen = 0

        def complete(records: list[Record]) -> bool:
            nonlocal seen
            for record in records[seen:]:
                if record.key is not None and record.key.startswith(wanted):
                    found.setdefault(record.key, record)
            seen = len(records)
            if topic in (PROOFS_CREATED, CREDENTIALS_CREATED):
                self.progress(label, len(found), count)
            return len(found) >= count

        read_topic(settings, settings.kafka.topic(topic), until=complete, timeout=300 + count)
        if len(found) < count:
            raise SetupError(
                f"only {len(found)} of {count} records reached {settings.kafka.topic(topic)}; "
                f"see the worker logs under {self.home}"
            )
        return found


def _cpu_seconds(workers: Sequence[WorkerProcess]) -> tuple[float, ...]:
    return tuple(cpu_seconds(_pid(worker)) for worker in workers)


def _since(before: tuple[float, ...], after: tuple[float, ...]) -> tuple[float, ...]:
    """Each worker's CPU seconds between two readings of `_cpu_seconds`."""
    return tuple(now - then for then, now in zip(before, after, strict=True))


def _peak_rss_bytes(workers: Sequence[WorkerProcess]) -> tuple[int, ...]:
    return tuple(peak_rss_bytes(_pid(worker)) for worker in workers)


def _pid(worker: WorkerProcess) -> int:
    if worker.pid is None or not worker.running:
        raise SetupError(f"the worker is not running; see {worker.log_path}")
    return worker.pid


def _wait_until_ready(workers: Sequence[WorkerProcess]) -> None:
    """Until every worker answers /readyz: partitions assigned, rebalance over."""
    deadline = time.monotonic() + _READY_TIMEOUT
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if all(
                    client.get(
                        f"http://127.0.0.1:{worker.settings.worker.web_port}/readyz"
                    ).status_code
                    == 200
                    for worker in workers
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    raise SetupError("the workers did not become ready; see their logs")


def _machine() -> Machine:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Machine(
        cpu_model=model,
        cores_available=available_cores(),
        cores_total=os.cpu_count() or 1,
        python=platform.python_version(),
        platform=platform.platform(),
    )
