"""Sample events and schema versions shared by the codec tests."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

from streams.core.codecs import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
    ProofLocation,
    ProofWindow,
)
from streams.core.codecs.schemas import HISTORY_DIR, NamedSchema, default_schema_dir

Record = ImageReference | ProofCreated | ProcessingFailed | CredentialIssued

IMAGE_REFERENCE = ImageReference(
    event_id="evt-0001",
    tenant="acme",
    uri="s3://uploads/cats/tabby.png",
    inline_bytes=b"\x89PNG\r\n\x1a\n\x00\xff",
    content_type="image/png",
    submitted_at=1_732_752_000_123,
    attributes={"source": "mobile", "caption": "Tabby, 2024 — naïve ✓"},
)

PROOF_CREATED = ProofCreated(
    proof_id="prf-0001",
    event_id="evt-0001",
    tenant="acme",
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    phash="c3d4e5f6a7b8c9d0",
    dhash="0f0f0f0f33333333",
    width=1024,
    height=768,
    format="PNG",
    byte_size=123_456,
    key_id="key-2024-11",
    algorithm="Ed25519",
    signature="3q2-7w",
    location=ProofLocation(bucket="credlink-proofs", key="acme/prf-0001.json", version_id="v1"),
    issued_at=1_732_752_001_456,
)

PROCESSING_FAILED = ProcessingFailed(
    original_key=b"evt-0002",
    original_value=b"\x00garbage",
    source_topic="images.submitted",
    source_partition=3,
    source_offset=2**40,
    stage="decode",
    error_class="DecodeFailed",
    message="not an Avro single-object message",
    attempts=1,
    failed_at=1_732_752_002_789,
)

CREDENTIAL_ISSUED = CredentialIssued(
    proof_id="prf-0001",
    event_id="evt-0001",
    tenant="acme",
    manifest_id="urn:c2pa:00000000-0000-4000-8000-000000000001",
    media_type="image/png",
    image_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    manifest_store=ProofLocation(
        bucket="credlink-proofs", key="manifests/2024/11/28/prf-0001.c2pa", version_id="v2"
    ),
    signed_image=ProofLocation(bucket="credlink-proofs", key="signed/2024/11/28/prf-0001.png"),
    manifest_bytes=6_144,
    issued_at=1_732_752_003_012,
    fingerprint=bytes.fromhex("cc01") + bytes(range(32)),
)

SAMPLES: list[Record] = [
    IMAGE_REFERENCE,
    PROOF_CREATED,
    dataclasses.replace(
        PROOF_CREATED,
        schema_version=2,
        windows=(
            ProofWindow(window="global", phash="c3d4e5f6a7b8c9d0", dhash="0f0f0f0f33333333"),
            ProofWindow(window="16:9", phash="c3d4e5f6a7b8c9d1", dhash="0f0f0f0f33333330"),
        ),
    ),
    PROCESSING_FAILED,
    CREDENTIAL_ISSUED,
    dataclasses.replace(CREDENTIAL_ISSUED, signed_image=None),
]

ADDED_FIELD: dict[str, Any] = {
    "name": "priority",
    "type": "int",
    "default": 5,
    "doc": "Scheduling priority, added in version 2.",
}


def image_reference_v2() -> NamedSchema:
    """`ImageReference` as the next version would be: one field added, with a default."""
    definition = json.loads((default_schema_dir() / "image_reference.avsc").read_text())
    evolved = copy.deepcopy(definition)
    evolved["fields"].append(ADDED_FIELD)
    return NamedSchema.from_definition(evolved)


def write_schema_dir(root: Path, current: list[NamedSchema], history: list[NamedSchema]) -> Path:
    """A `schemas/` directory holding `current` and, under `history/`, earlier versions."""
    (root / HISTORY_DIR).mkdir(parents=True)
    for schema in current:
        (root / f"{schema.name}.avsc").write_text(schema.to_json())
    for number, schema in enumerate(history, start=1):
        (root / HISTORY_DIR / f"{schema.name}.v{number}.avsc").write_text(schema.to_json())
    return root


def fresh_registry_url() -> str:
    """A `mock://` registry of the test's own."""
    return f"mock://{uuid.uuid4().hex}"
