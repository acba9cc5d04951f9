"""Proof events of the proof-index tests: numbered, deterministic, spread over three tenants."""

from __future__ import annotations

import hashlib

from connectors.proof_index.rows import SourcePosition
from streams.core.codecs.records import ProofCreated, ProofLocation

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


def proofs(count: int, batch: str = "a") -> list[ProofCreated]:
    return [proof(number, TENANTS[number % len(TENANTS)], batch) for number in range(count)]


def at(offset: int, partition: int = 0) -> SourcePosition:
    return SourcePosition("proofs.created", partition, offset)
