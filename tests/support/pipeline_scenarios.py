"""Event sets and a running pipeline for the end-to-end tests: real broker, S3, worker."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from connectors.reader import scan_topic
from streams.core.certificates import DevelopmentCertificates, write_development_certificates
from streams.core.codecs.records import ImageReference, ProofCreated
from streams.core.signing import generate_key_pair, load_private_key
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.serde import codec_for
from streams.kafka.topics import SUBMITTED
from streams.settings import Settings
from tests.support.images import encode, photo, png_declaring
from tests.support.kafka_io import latest_by_key
from tests.support.stacks import free_port

IMAGES_BUCKET = "credlink-test-images"
SUBMITTED_AT = 1_767_225_600_000  # 2026-01-01T00:00:00Z
FORMATS = ("JPEG", "PNG", "WEBP")
TENANTS = ("acme", "globex", "Zürich-株式会社")


@dataclass
class Scenario:
    """A pipeline deployment for one test: its settings, image sources and event set."""

    settings: Settings
    workdir: Path
    stack: LocalStack
    events: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    valid_ids: list[str] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)  # event key -> expected error class

    @property
    def image_root(self) -> Path:
        return self.workdir / "images"

    def reference(self, index: int, tenant: str, uri: str, **fields: object) -> ImageReference:
        values: dict[str, object] = {
            "event_id": f"evt-{index:04d}",
            "tenant": tenant,
            "uri": uri,
            "submitted_at": SUBMITTED_AT + index * 1000,
            **fields,
        }
        return ImageReference(**values)  # type: ignore[arg-type]

    def encode(self, reference: ImageReference) -> bytes:
        codec = codec_for(
            ImageReference.SCHEMA,
            topic=self.settings.kafka.topic(SUBMITTED),
            registry_url=self.settings.kafka.schema_registry_url,
        )
        return codec.encode(reference.to_avro())

    def add_valid(self, index: int) -> None:
        """A valid event whose image is in the S3 bucket, a file or inline, by `index`."""
        image_format = FORMATS[index % 3]
        data = encode(photo(48 + index % 64, 40 + index % 48, seed=index), image_format)
        name = f"img-{index:04d}.{image_format.lower()}"
        source = (index // 3) % 3
        tenant = TENANTS[index % len(TENANTS)]
        if source == 0:
            self.stack.s3.client().put_object(Bucket=IMAGES_BUCKET, Key=name, Body=data)
            reference = self.reference(index, tenant, f"s3://{IMAGES_BUCKET}/{name}")
        elif source == 1:
            (self.image_root / name).write_bytes(data)
            reference = self.reference(index, tenant, (self.image_root / name).as_uri())
        else:
            uri = f"https://images.internal.test/{name}"
            reference = self.reference(index, tenant, uri, inline_bytes=data)
        self.events.append((reference.event_id.encode(), self.encode(reference)))
        self.valid_ids.append(reference.event_id)

    def add_bad(self, key: str, value: bytes | None, error_class: str) -> None:
        self.events.append((key.encode(), value))
        self.bad[key] = error_class

    def add_bad_reference(self, index: int, error_class: str, **fields: object) -> None:
        reference = self.reference(index, str(fields.pop("tenant", "acme")), **fields)  # type: ignore[arg-type]
        self.add_bad(reference.event_id, self.encode(reference), error_class)

    def add_hostile_inputs(self, start: int) -> None:
        """At least 20 bad events of different kinds, each with the error it must produce."""
        root = self.image_root
        (root / "notes.txt").write_bytes(b"this is not an image at all")
        full = encode(photo(64, 64, seed=start), "JPEG")
        (root / "truncated.jpg").write_bytes(full[: len(full) // 2])
        (root / "huge.jpg").write_bytes(b"\xff\xd8" + bytes(3_000_000))
        valid = self.encode(self.reference(start, "acme", "file:///nowhere.jpg"))
        proof_codec = codec_for(ProofCreated.SCHEMA, topic=self.settings.kafka.topic(SUBMITTED))
        self.add_bad("garbage", b"\x00\x01not avro at all", "DecodeFailed")
        self.add_bad("truncated-avro", valid[: len(valid) // 2], "DecodeFailed")
        self.add_bad("tombstone", None, "DecodeFailed")
        self.add_bad("wrong-schema", proof_codec.encode(_sample_proof()), "DecodeFailed")
        cases: list[tuple[str, dict[str, object]]] = [
            ("UriNotAllowed", {"uri": "http://127.0.0.1:8080/image.jpg"}),
            ("UriNotAllowed", {"uri": "http://169.254.169.254/latest/meta-data/"}),
            ("UriNotAllowed", {"uri": "https://169.254.169.254/latest/meta-data/"}),
            ("UriNotAllowed", {"uri": "file:///etc/passwd"}),
            ("UriNotAllowed", {"uri": f"{root.as_uri()}/../../../../etc/passwd"}),
            ("UriNotAllowed", {"uri": "s3://some-other-bucket/image.jpg"}),
            ("UriNotAllowed", {"uri": "https://images.example.com/cat.jpg"}),
            ("UriNotAllowed", {"uri": "ftp://files.example.com/cat.jpg"}),
            ("FetchFailed", {"uri": f"s3://{IMAGES_BUCKET}/missing.jpg"}),
            ("FetchFailed", {"uri": f"{root.as_uri()}/missing.jpg"}),
            ("ImageRejected", {"uri": f"{root.as_uri()}/notes.txt"}),
            ("ImageRejected", {"uri": f"{root.as_uri()}/truncated.jpg"}),
            ("ImageTooLarge", {"uri": f"{root.as_uri()}/huge.jpg"}),
            (
                "ImageTooLarge",
                {"uri": "inline:bomb.png", "inline_bytes": png_declaring(100_000, 100_000)},
            ),
            ("ImageRejected", {"uri": "inline:empty", "inline_bytes": b""}),
            ("InvalidEvent", {"uri": "inline:x", "tenant": "", "inline_bytes": full}),
            ("InvalidEvent", {"uri": "inline:x", "tenant": "ac\x00me", "inline_bytes": full}),
            ("InvalidEvent", {"uri": "inline:x", "event_id": "e" * 300, "inline_bytes": full}),
        ]
        for offset, (error_class, fields) in enumerate(cases):
            self.add_bad_reference(start + offset, error_class, **fields)


def _sample_proof() -> dict[str, object]:
    from streams.core.codecs.records import ProofLocation

    return ProofCreated(
        proof_id="0" * 32,
        event_id="e",
        tenant="t",
        sha256="0" * 64,
        phash="0" * 16,
        dhash="0" * 16,
        width=1,
        height=1,
        format="PNG",
        byte_size=1,
        key_id="k",
        algorithm="Ed25519",
        signature="s",
        location=ProofLocation(bucket="b", key="k"),
        issued_at=0,
    ).to_avro()


def scenario_settings(
    stack: LocalStack, workdir: Path, **overrides: Mapping[str, object]
) -> Settings:
    """Settings of a deployment of its own on `stack`: topics prefixed by the work directory's
    name, a fresh consumer group, a signing key, an image bucket and an image directory; then
    `overrides`, group by group as `Settings.updated` takes them."""
    keys = workdir / "keys"
    generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")
    (workdir / "images").mkdir(exist_ok=True)
    stack.s3.ensure_bucket(IMAGES_BUCKET)
    settings = stack.client_settings().updated(
        kafka={
            "topic_prefix": f"{workdir.name}.",
            "topic_partitions": 3,
            "app_id": f"credlink-{uuid.uuid4().hex[:8]}",
        },
        signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"},
        store={"backend": "s3"},
        fetch={
            "allowed_buckets": frozenset({IMAGES_BUCKET}),
            "file_roots": (workdir / "images",),
            "allowed_hosts": frozenset({"images.internal.test"}),
            "max_image_bytes": 2_000_000,
            "attempts": 2,
        },
        worker={"web_port": free_port(), "consumer_session_timeout_seconds": 10.0},
    )
    return settings.updated(**overrides)


def with_content_credentials(
    settings: Settings, workdir: Path, *, embed: bool
) -> tuple[Settings, DevelopmentCertificates]:
    """`settings` with Content Credentials on, the signing key certified by a development CA
    made in `workdir` (the trust anchor of the settings' verifiers)."""
    key = load_private_key(settings.signing.key_file or Path())
    certificates = write_development_certificates(key.public_key(), workdir)
    credentialed = settings.updated(
        c2pa={
            "enabled": True,
            "embed": embed,
            "certificate_chain_file": certificates.certificate_chain,
            "trust_anchors_file": certificates.ca_certificate,
        }
    )
    return credentialed, certificates


def new_scenario(stack: LocalStack, workdir: Path, **overrides: Mapping[str, object]) -> Scenario:
    """An empty scenario with `scenario_settings(stack, workdir, **overrides)`."""
    settings = scenario_settings(stack, workdir, **overrides)
    return Scenario(settings=settings, workdir=workdir, stack=stack)


@contextmanager
def running_worker(
    settings: Settings,
    workdir: Path,
    name: str = "worker",
    extra_env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(settings, workdir, name, extra_env, options)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def tenant_counts(settings: Settings, changelog: str | None = None) -> dict[str, int]:
    """The proofs counted per tenant, as the count table's changelog (or the table changelog
    topic `changelog`, the credentials workers' say) holds them now (read to the end offsets it
    has when the call starts): one entry per counted proof."""
    records = scan_topic(settings, changelog or f"{settings.kafka.app_id}-proofs-counted-changelog")
    counted = Counter(
        json.loads(json.loads(key))[0]  # the entry key: (tenant, proof id)
        for key, value in latest_by_key(records).items()
        if key is not None and value is not None
    )
    return dict(counted)


def metric_samples(settings: Settings, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric `name` on the worker's `/metrics` now: (labels, value) pairs;
    none when the worker does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{settings.worker.web_port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return []
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]
