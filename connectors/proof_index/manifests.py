"""The manifest repository: the C2PA manifests of the proof index, their manifest stores read
from the proof store. What credential recovery and the Soft Binding Resolution API read."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.proof_index.store import ProofIndex
from streams.core.stores.base import ProofNotFound, ProofStore

__all__ = ["ManifestRepository"]


@dataclass(frozen=True)
class ManifestRepository:
    """Manifest stores by proof and by manifest id: `index` says where, `store` holds them."""

    index: ProofIndex
    store: ProofStore

    def of_proof(self, proof_id: str) -> bytes | None:
        """The manifest store of proof `proof_id`'s credential; None when it has none, or its
        manifest store is missing."""
        credential = self.index.credential_of_proof(proof_id)
        if credential is None:
            return None
        try:
            return self.store.get(credential.object_key)
        except ProofNotFound:
            return None

    def manifest_store(self, manifest_id: str, tenant: str) -> bytes | None:
        """The manifest store of manifest `manifest_id` of `tenant`: None when there is no such
        manifest of that tenant; `ProofNotFound` when it is indexed but not stored."""
        credential = self.index.credential(manifest_id)
        if credential is None or credential.tenant != tenant:
            return None
        return self.store.get(credential.object_key)
