"""`credlink demo`: the whole flow on generated sample images, on the local stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connectors.ingest import ImageReferencePublisher
from connectors.output_topics import read_credentials, read_dead_letters, read_proofs
from streams.cli.output import console, fails_cleanly
from streams.core.assembly import build_store, build_trust_anchors
from streams.core.certificates import DevelopmentCertificates, write_development_certificates
from streams.core.clock import now_millis
from streams.core.codecs.records import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
)
from streams.core.content_credentials import read_credential
from streams.core.credential_verifier import ContentCredentials
from streams.core.errors import SetupError
from streams.core.proof_signature import verify_signed_proof
from streams.core.signing import generate_key_pair, load_key_set, load_private_key
from streams.devtools.demo_checks import demo_checks, in_memory_verifier
from streams.devtools.devstack.processes import free_port
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.devtools.samples import encode, photo
from streams.settings import Settings, get_settings

SAMPLE_BUCKET = "credlink-demo-images"
FORMATS = ("JPEG", "PNG", "WEBP")


@fails_cleanly
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the local broker and S3 endpoint running.")
    ] = False,
    images: Annotated[int, typer.Option("--images", min=1, max=500, help="Sample images.")] = 9,
) -> None:
    """Start the local stack and a worker, prove sample images, print the proofs, stop."""
    stack = LocalStack(get_settings())
    try:
        report = stack.up()
        if report.kafka.seconds_to_ready is not None:
            console.print(f"broker ready in {report.kafka.seconds_to_ready:.1f} s")
        settings = _demo_settings(stack)
        references, originals = _sample_references(stack, settings, images)
        home, run = settings.dev.home, settings.kafka.app_id
        workers = [
            WorkerProcess(settings, home, name=f"{run}-worker"),
            WorkerProcess(
                # A worker of its own, so a web port of its own.
                settings.updated(worker={"web_port": free_port()}),
                home,
                name=f"{run}-credentials",
                options=("--credentials",),
            ),
        ]
        fetched = sum(1 for reference in references[:images] if reference.inline_bytes is None)
        try:
            for worker in workers:
                kind = "a credentials worker" if worker.options else "a worker"
                console.print(f"starting {kind} (log: {worker.log_path}) ...")
                worker.start()
            delivery = ImageReferencePublisher(settings).publish_all(references)
            console.print(f"published {delivery.sent} image references ({delivery.failed} failed)")
            proofs = read_proofs(settings, count=images, timeout=120)
            credentials = read_credentials(settings, count=fetched, timeout=120)
            failures = read_dead_letters(settings, count=2 + images - fetched, timeout=30)
            for worker in workers:
                if not worker.running:
                    raise SetupError(f"a worker stopped unexpectedly; see {worker.log_path}")
        finally:
            for worker in workers:
                worker.stop()
        _print_results(settings, proofs, failures)
        _print_credentials(settings, originals, proofs, credentials)
        if len(proofs) != images or len(credentials) != fetched:
            raise typer.Exit(code=1)
        if images >= 3:
            _print_checks(settings, originals, proofs, credentials)
    finally:
        if not keep:
            stack.down()
            console.print("local stack stopped")


def _demo_settings(stack: LocalStack) -> Settings:
    """A run of its own: fresh topics and consumer groups, a demo signing key certified by a
    demo CA for Content Credentials."""
    run = f"demo-{int(time.time())}"
    home = stack.settings.dev.home.resolve()
    keys = home / "demo" / "keys"
    if not (keys / "signing-key.pem").exists():
        generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")
    certificates = DevelopmentCertificates.in_directory(keys)
    if not certificates.certificate_chain.exists():
        signing_key = load_private_key(keys / "signing-key.pem").public_key()
        certificates = write_development_certificates(signing_key, keys)
    (home / "demo" / "images").mkdir(parents=True, exist_ok=True)
    return stack.client_settings().updated(
        dev={"home": home},
        kafka={"app_id": run, "topic_prefix": f"{run}.", "topic_partitions": 3},
        signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"},
        store={"backend": "filesystem", "root": home / "demo" / "proofs"},
        fetch={
            "allowed_buckets": frozenset({SAMPLE_BUCKET}),
            "file_roots": (home / "demo" / "images",),
        },
        c2pa={
            "enabled": True,
            "certificate_chain_file": certificates.certificate_chain,
            "trust_anchors_file": certificates.ca_certificate,
        },
    )


def _sample_references(
    stack: LocalStack, settings: Settings, count: int
) -> tuple[list[ImageReference], dict[str, bytes]]:
    """`count` sample images, from S3, from files and inline, plus two bad references; and the
    images by event id."""
    s3 = stack.s3.client()
    stack.s3.ensure_bucket(SAMPLE_BUCKET)
    image_dir = Path(settings.fetch.file_roots[0])
    now = now_millis()
    references = []
    originals: dict[str, bytes] = {}
    for index in range(count):
        image_format = FORMATS[index % len(FORMATS)]
        data = encode(photo(320 + 40 * index, 240 + 30 * index, seed=index), image_format)
        name = f"sample-{index:03d}.{image_format.lower()}"
        fields: dict[str, object] = {}
        if index % 3 == 0:
            s3.put_object(Bucket=SAMPLE_BUCKET, Key=name, Body=data)
            uri = f"s3://{SAMPLE_BUCKET}/{name}"
        elif index % 3 == 1:
            (image_dir / name).write_bytes(data)
            uri = (image_dir / name).as_uri()
        else:
            uri, fields = f"https://cdn.example.com/{name}", {"inline_bytes": data}
        originals[f"{settings.kafka.app_id}-{index:03d}"] = data
        references.append(
            ImageReference(
                event_id=f"{settings.kafka.app_id}-{index:03d}",
                tenant=("newsroom", "archive")[index % 2],
                uri=uri,
                submitted_at=now + index,
                **fields,  # type: ignore[arg-type]
            )
        )
    for index, uri in enumerate(("file:///etc/passwd", "http://169.254.169.254/latest/")):
        references.append(
            ImageReference(
                event_id=f"{settings.kafka.app_id}-bad-{index}",
                tenant="newsroom",
                uri=uri,
                submitted_at=now,
            )
        )
    return references, originals


def _print_results(
    settings: Settings, proofs: list[ProofCreated], failures: list[ProcessingFailed]
) -> None:
    store = build_store(settings)
    keyset = load_key_set(settings.signing.keyset_file)
    table = Table(title="Proofs")
    for column in ("event", "tenant", "format", "size", "sha256", "pHash", "proof id", "signature"):
        table.add_column(column, overflow="fold")
    for proof in sorted(proofs, key=lambda proof: proof.event_id):
        verdict = verify_signed_proof(store.get(proof.location.key), keyset)
        table.add_row(
            proof.event_id.rsplit("-", 1)[-1],
            proof.tenant,
            proof.format,
            f"{proof.width}x{proof.height}",
            proof.sha256[:12] + "…",
            proof.phash,
            proof.proof_id[:12] + "…",
            verdict.outcome.name.lower(),
        )
    console.print(table)
    dead = Table(title="Dead letters")
    for column in ("event", "from", "stage", "error", "reason"):
        dead.add_column(column, overflow="fold")
    for failure in failures:
        dead.add_row(
            failure.event_id or "?",
            failure.source_topic.removeprefix(settings.kafka.topic_prefix),
            failure.stage,
            failure.error_class,
            failure.message,
        )
    console.print(dead)
    console.print(f"proofs stored under {settings.store.root}")


def _print_credentials(
    settings: Settings,
    originals: dict[str, bytes],
    proofs: list[ProofCreated],
    credentials: list[CredentialIssued],
) -> None:
    store = build_store(settings)
    anchors = build_trust_anchors(settings)
    issued = {credential.proof_id: credential for credential in credentials}
    table = Table(title="Content Credentials (C2PA manifests, read back with the C2PA SDK)")
    for column in ("event", "manifest id", "size", "state"):
        table.add_column(column, overflow="fold")
    for proof in sorted(proofs, key=lambda proof: proof.event_id):
        credential = issued.get(proof.proof_id)
        event = proof.event_id.rsplit("-", 1)[-1]
        if credential is None:
            table.add_row(event, "none: submitted inline, its bytes were not kept to sign", "", "")
            continue
        reading = read_credential(
            originals[proof.event_id],
            manifest_store=store.get(credential.manifest_store.key),
            trust_anchors_pem=anchors,
        )
        table.add_row(
            event,
            credential.manifest_id,
            f"{credential.manifest_bytes:,} B",
            reading.validation_state,
        )
    console.print(table)


def _print_checks(
    settings: Settings,
    originals: dict[str, bytes],
    proofs: list[ProofCreated],
    credentials: list[CredentialIssued],
) -> None:
    store = build_store(settings)
    verifier = in_memory_verifier(
        proofs,
        credentials,
        store,
        load_key_set(settings.signing.keyset_file),
        trust_anchors_pem=build_trust_anchors(settings),
        max_image_bytes=settings.fetch.max_image_bytes,
        max_image_pixels=settings.fetch.max_image_pixels,
    )
    checks = demo_checks(originals, proofs, store, verifier)
    table = Table(title="Verifying copies (credlink verify's verdicts and exit codes)")
    for column in ("image", "verdict", "exit", "why", "content credentials"):
        table.add_column(column, overflow="fold")
    for check in checks:
        verdict = check.verdict
        table.add_row(
            check.what,
            verdict.outcome.value,
            str(verdict.exit_code),
            verdict.message,
            _describe(verdict.content_credentials),
        )
    console.print(table)


def _describe(credentials: ContentCredentials | None) -> str:
    if credentials is None:
        return "none"
    how = "recovered" if credentials.recovered else "embedded"
    failures = f" ({', '.join(credentials.failures)})" if credentials.failures else ""
    return f"{how} {credentials.manifest_id}: {credentials.validation_state}{failures}"
