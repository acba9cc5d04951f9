"""The verifier over the proof index: exact, perceptual and window lookups in PostgreSQL,
proofs, their local features and manifest stores read from the configured proof store, what
`credlink verify` and the verify service both run."""

from __future__ import annotations

from collections.abc import Callable

from connectors.proof_index.manifests import ManifestRepository
from connectors.proof_index.store import ProofIndex
from streams.core.assembly import build_decode_budget, build_store, build_trust_anchors
from streams.core.credential_verifier import CredentialVerifier
from streams.core.image_verifier import StoredProofs, Verifier
from streams.core.signing import KeySet
from streams.settings import Settings

__all__ = ["build_verifier", "stored_proofs"]


def stored_proofs(settings: Settings, index: ProofIndex) -> StoredProofs:
    """Proof envelopes by proof id: the index names the storage key, the store holds the bytes."""
    return StoredProofs(build_store(settings), key_of=index.location)


def build_verifier(
    settings: Settings,
    index: ProofIndex,
    keyset: KeySet,
    proofs: StoredProofs,
    *,
    manifest_url: Callable[[str], str] | None = None,
) -> Verifier:
    """A verifier that looks images and their windows up in `index`, checks proofs against
    `keyset` and, for a copy no window matches, the local features stored next to the proofs
    of `proofs`, with the settings' image limits and decode memory budget, and reads Content
    Credentials under the settings' trust anchors, recovering manifests from the store of
    `proofs`. `manifest_url` gives the URL a recovered manifest is served at."""
    return Verifier(
        exact=index.proof_of_image,
        perceptual=index,
        proofs=proofs,
        windows=index,
        features=proofs.features,
        keyset=keyset,
        max_image_bytes=settings.fetch.max_image_bytes,
        max_image_pixels=settings.fetch.max_image_pixels,
        decode_budget=build_decode_budget(settings),
        credentials=CredentialVerifier(
            ManifestRepository(index, proofs.store).of_proof,
            trust_anchors_pem=build_trust_anchors(settings),
            manifest_url=manifest_url,
        ),
    )
