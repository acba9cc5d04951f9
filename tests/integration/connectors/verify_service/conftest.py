"""A deployment to verify against: real signed proofs in a filesystem proof store, their proof
events in a real PostgreSQL proof index, the key set and API keys in files, and settings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.proof_index import ProofIndex, SourcePosition
from connectors.verify_service.api_keys import issue_api_key
from streams.core.codecs.records import ProofCreated
from streams.core.pipeline import proof_event
from streams.core.proof_document import ProofDocument, storage_key
from streams.core.signing import KeySet, Signer
from streams.core.stores.filesystem import FilesystemProofStore
from streams.devtools.devstack.worker import settings_env
from streams.devtools.samples import camera_jpeg
from streams.settings import Settings
from tests.support.postgres_server import PostgresServer
from tests.support.proving import prove_image

SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
OUTSIDER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
SUBMITTED_AT_MS = 1_718_000_000_000
KEY_PREFIX = "proofs/"
MAX_REQUEST_BYTES = 2 * 1024 * 1024

# name: (seed, tenant, signer). Seeds far apart: unrelated pictures.
PROVEN = {
    "acme": (101, "acme", SIGNER),
    "acme-tampered": (102, "acme", SIGNER),
    "acme-outsider": (103, "acme", OUTSIDER),
    "acme-malformed": (104, "acme", SIGNER),
    "globex": (105, "globex", SIGNER),
}
FILLERS = range(200, 230)
UNRELATED_SEED = 999


def picture(seed: int) -> bytes:
    return camera_jpeg(480, 360, seed)


@dataclass
class Deployment:
    """What the verify command and the verify service run against."""

    settings: Settings
    dsn: str
    images: Path
    documents: dict[str, ProofDocument] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """The environment of a `credlink` process of this deployment."""
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("CREDLINK_", "PG", "SENTRY_"))
        }
        return {**inherited, **settings_env(self.settings), "CREDLINK_INDEX_DSN": self.dsn}

    def image(self, name: str) -> Path:
        return self.images / f"{name}.jpg"


def prove(
    store: FilesystemProofStore, image: bytes, *, event_id: str, tenant: str, signer: Signer
) -> tuple[ProofDocument, ProofCreated]:
    """Sign, store and describe a proof as the pipeline does: the document and its event."""
    proven = prove_image(
        store,
        image,
        event_id=event_id,
        tenant=tenant,
        signer=signer,
        submitted_at_ms=SUBMITTED_AT_MS,
        key_prefix=KEY_PREFIX,
    )
    return proven.document, proof_event(proven.document, proven.signed, proven.stored)


@pytest.fixture(scope="module")
def deployment(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    root = tmp_path_factory.mktemp("verify")
    images = root / "images"
    images.mkdir()
    keyset_file = root / "keyset.json"
    keyset_file.write_text(KeySet([SIGNER.public_key]).to_json())
    settings = Settings(_env_file=None).updated(
        signing={"keyset_file": keyset_file},
        store={"backend": "filesystem", "root": root / "store", "cache_entries": 0},
        fetch={"file_roots": (images,)},
        verify={
            "api_keys_file": root / "api-keys.json",
            "max_request_bytes": MAX_REQUEST_BYTES,
            "concurrency": 2,
        },
        dev={"home": root / "dev"},
    )
    deployment = Deployment(settings=settings, dsn=postgres.create_database(), images=images)
    store = FilesystemProofStore(settings.store.root)
    events = []
    for name, (seed, tenant, signer) in PROVEN.items():
        image = picture(seed)
        deployment.image(name).write_bytes(image)
        document, event = prove(store, image, event_id=name, tenant=tenant, signer=signer)
        deployment.documents[name] = document
        events.append(event)
    for seed in FILLERS:
        tenant = ("acme", "globex", "initech")[seed % 3]
        events.append(
            prove(store, picture(seed), event_id=f"filler-{seed}", tenant=tenant, signer=SIGNER)[1]
        )
    deployment.image("unrelated").write_bytes(picture(UNRELATED_SEED))

    tampered = storage_key(
        KEY_PREFIX, deployment.documents["acme-tampered"].proof_id, SUBMITTED_AT_MS
    )
    envelope = json.loads(store.get(tampered))
    envelope["proof"]["source_uri"] = "https://attacker.example/mine.jpg"
    store.put(tampered, json.dumps(envelope).encode(), {})
    malformed = deployment.documents["acme-malformed"].proof_id
    store.put(storage_key(KEY_PREFIX, malformed, SUBMITTED_AT_MS), b"{", {})

    with ProofIndex(deployment.dsn) as index:
        index.create_schema()
        index.upsert_many(
            events, [SourcePosition("proofs.created", 0, offset) for offset in range(len(events))]
        )
    for tenant in ("acme", "globex"):
        deployment.tokens[tenant] = issue_api_key(settings.verify.api_keys_file, tenant).token
    return deployment
