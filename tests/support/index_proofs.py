"""Proof and credential events of the proof-index tests: numbered, deterministic, spread over
three tenants."""

from __future__ import annotations

import hashlib

from connectors.proof_index.rows import SourcePosition
from streams.core.codecs.records import CredentialIssued, ProofCreated, ProofLocation
from streams.core.content_credentials import manifest_id_for

ISSUED_AT = 1_767_225_600_000  # 2026-01-01T00:00:00Z


TENANTS = ("acme", "globex", "Zürich-株式会社")


def proof(number: int, tenant: str = "acme", batch: str = "a") -> ProofCreated:
    image = f"{batch}-{number}".encode()
    return ProofCreated(
        proof_id=hashlib.sha256(b"proof-" + image).hexdigest()[:32],
        event_id=f"event-{batch}-{number}",
        tenant=tenant,
        sha256=hashlib.sha256(image).hexdigest(),
        phash=f"{number:016x}",
        dhash=f"{number * 7:016x}",
        width=40 + number,
        height=30,
        format="PNG",
        byte_size=5000 + number,
        key_id="key-1",
        algorithm="Ed25519",
        signature=f"sig-{batch}-{number}",
        location=ProofLocation(bucket="credlink-proofs", key=f"proofs/2026/01/01/{number}.json"),
        issued_at=ISSUED_AT + number,
    )


def credential(
    of: ProofCreated, fingerprint: bytes | None = None, manifest_bytes: int = 3676
) -> CredentialIssued:
    """The credential event of proof `of`, with soft-binding value `fingerprint`."""
    return CredentialIssued(
        proof_id=of.proof_id,
        event_id=of.event_id,
        tenant=of.tenant,
        manifest_id=manifest_id_for(of.proof_id),
        media_type="image/png",
        image_sha256=of.sha256,
        manifest_store=ProofLocation(
            bucket="credlink-proofs", key=f"manifests/2026/01/01/{of.proof_id}.c2pa"
        ),
        manifest_bytes=manifest_bytes,
        issued_at=of.issued_at + 1000,
        fingerprint=fingerprint,
    )


def proofs(count: int, batch: str = "a") -> list[ProofCreated]:
    return [proof(number, TENANTS[number % len(TENANTS)], batch) for number in range(count)]


def at(offset: int, partition: int = 0) -> SourcePosition:
    return SourcePosition("proofs.created", partition, offset)
