"""Proof stores: one interface (`base`), with S3, filesystem and in-memory cache backends."""

from streams.core.stores.base import (
    PROOF_METADATA_KEYS,
    InvalidProofKey,
    ProofNotFound,
    ProofStore,
    StoredProof,
    StoreMisconfigured,
    validate_proof_key,
)

__all__ = [
    "PROOF_METADATA_KEYS",
    "InvalidProofKey",
    "ProofNotFound",
    "ProofStore",
    "StoreMisconfigured",
    "StoredProof",
    "validate_proof_key",
]
