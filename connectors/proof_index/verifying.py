"""The verifier over the proof index: exact and perceptual lookups in PostgreSQL, proofs read
from the configured proof store, what `credlink verify` and the verify service both run."""

from __future__ import annotations

from connectors.proof_index.store import ProofIndex
from streams.core.assembly import build_decode_budget, build_store
from streams.core.image_verifier import StoredProofs, Verifier
from streams.core.signing import KeySet
from streams.settings import Settings

__all__ = ["build_verifier", "stored_proofs"]


def stored_proofs(settings: Settings, index: ProofIndex) -> StoredProofs:
    """Proof envelopes by proof id: the index names the storage key, the store holds the bytes."""
    return StoredProofs(build_store(settings), key_of=index.location)


def build_verifier(
    settings: Settings, index: ProofIndex, keyset: KeySet, proofs: StoredProofs
) -> Verifier:
    """A verifier that looks images up in `index` and checks proofs against `keyset`, with the
    settings' image limits and decode memory budget."""
    return Verifier(
        exact=index.proof_of_image,
        perceptual=index,
        proofs=proofs,
        keyset=keyset,
        max_image_bytes=settings.fetch.max_image_bytes,
        max_image_pixels=settings.fetch.max_image_pixels,
        decode_budget=build_decode_budget(settings),
    )
