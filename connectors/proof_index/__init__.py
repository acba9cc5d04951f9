"""A downstream proof index: `proofs.created` and `credentials.created` kept queryable in
PostgreSQL.

`schema` holds the tables, `rows` maps proof and credential events to their rows and back,
`store` writes and queries them, `service` consumes the topics into them, `manifests` is the
manifest repository over the credentials, and `verifying` builds the verifier over them all.
"""

from __future__ import annotations

from connectors.proof_index.manifests import ManifestRepository
from connectors.proof_index.rows import (
    IndexedCredential,
    IndexedProof,
    SourcePosition,
    UnindexableProof,
)
from connectors.proof_index.service import IndexStats, ProofIndexService
from connectors.proof_index.store import IndexUnavailable, ProofIndex

__all__ = [
    "IndexStats",
    "IndexUnavailable",
    "IndexedCredential",
    "IndexedProof",
    "ManifestRepository",
    "ProofIndex",
    "ProofIndexService",
    "SourcePosition",
    "UnindexableProof",
]
