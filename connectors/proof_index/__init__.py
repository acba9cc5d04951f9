"""A downstream proof index: `proofs.created` kept queryable in PostgreSQL.

`schema` holds the table, `rows` maps proof events to its rows and back, `store` writes and
queries it, `service` consumes the topic into it, and `cli` runs and queries it.
"""

from __future__ import annotations

from connectors.proof_index.rows import IndexedProof, SourcePosition, UnindexableProof
from connectors.proof_index.service import IndexStats, ProofIndexService
from connectors.proof_index.store import IndexUnavailable, ProofIndex

__all__ = [
    "IndexStats",
    "IndexUnavailable",
    "IndexedProof",
    "ProofIndex",
    "ProofIndexService",
    "SourcePosition",
    "UnindexableProof",
]
