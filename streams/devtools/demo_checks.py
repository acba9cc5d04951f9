"""The verdicts `credlink demo` ends with: what a reader of the demo's images would see.

Two proved images as a CDN serves them (half size, WebP, metadata gone) verify by similarity,
with their distances, and their Content Credentials are recovered from the store; a photo
nobody proved is not found; and an image whose stored proof was altered afterwards does not
verify. The verifier is the one `credlink verify` uses, over the
demo's own proofs held in memory, so the demo needs no proof index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.credential_verifier import CredentialVerifier
from streams.core.image_verifier import StoredProofs, Verdict, Verifier
from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.core.signing import KeySet
from streams.core.stores.base import ProofStore
from streams.devtools.samples import cdn_copy, encode, photo

__all__ = ["DemoCheck", "demo_checks", "in_memory_verifier", "tamper_with"]

CDN_WEBP_QUALITY = 70


@dataclass(frozen=True)
class DemoCheck:
    """One image the demo verifies, what it is, and the verdict on it."""

    what: str
    verdict: Verdict


def in_memory_verifier(
    proofs: Sequence[ProofCreated],
    credentials: Sequence[CredentialIssued],
    store: ProofStore,
    keyset: KeySet,
    *,
    trust_anchors_pem: bytes | None,
    max_image_bytes: int,
    max_image_pixels: int,
) -> Verifier:
    """A verifier whose lookups are `proofs` and `credentials` (their events), reading the
    signed proofs and manifest stores from `store`."""
    manifests = {credential.proof_id: credential.manifest_store.key for credential in credentials}

    def manifest_of_proof(proof_id: str) -> bytes | None:
        key = manifests.get(proof_id)
        return store.get(key) if key is not None else None

    by_image = {(proof.tenant, proof.sha256): proof.proof_id for proof in proofs}
    by_bytes = {proof.sha256: proof.proof_id for proof in proofs}
    keys = {proof.proof_id: proof.location.key for proof in proofs}
    index = PerceptualIndex()
    for proof in proofs:
        index.add(IndexEntry(proof.proof_id, proof.tenant, proof.phash, proof.dhash))

    def exact(tenant: str | None, sha256: str) -> str | None:
        return by_bytes.get(sha256) if tenant is None else by_image.get((tenant, sha256))

    return Verifier(
        exact=exact,
        perceptual=index,
        proofs=StoredProofs(store, keys.get),
        keyset=keyset,
        max_image_bytes=max_image_bytes,
        max_image_pixels=max_image_pixels,
        credentials=CredentialVerifier(manifest_of_proof, trust_anchors_pem=trust_anchors_pem),
    )


def tamper_with(store: ProofStore, proof: ProofCreated) -> None:
    """Alter the stored proof of `proof` as an attacker with write access to the store would:
    the image it names is changed, the signature left as it was."""
    envelope = json.loads(store.get(proof.location.key))
    envelope["proof"]["source_uri"] = "https://attacker.example/another-picture.jpg"
    store.put(proof.location.key, json.dumps(envelope).encode(), {"proof-id": proof.proof_id})


def demo_checks(
    originals: Mapping[str, bytes],
    proofs: Sequence[ProofCreated],
    store: ProofStore,
    verifier: Verifier,
) -> list[DemoCheck]:
    """`verifier`'s verdicts on CDN copies of the first two proved images (with their recovered
    Content Credentials), on a photo nobody proved, and on the third image after its proof in
    `store` was tampered with. `originals` are the images by event id; needs three proofs."""
    first, second, third = sorted(proofs, key=lambda proof: proof.event_id)[:3]
    tamper_with(store, third)
    stranger = encode(photo(480, 360, seed=1_000_003), "JPEG")
    images = [
        (
            f"CDN copy of {_name(first)} (half size, WebP, no metadata)",
            cdn_copy(originals[first.event_id], "WEBP", CDN_WEBP_QUALITY),
        ),
        (
            f"CDN copy of {_name(second)} (half size, WebP, no metadata)",
            cdn_copy(originals[second.event_id], "WEBP", CDN_WEBP_QUALITY),
        ),
        ("a photo nobody proved", stranger),
        (f"{_name(third)}, its stored proof altered", originals[third.event_id]),
    ]
    return [DemoCheck(what, verifier.verify(image)) for what, image in images]


def _name(proof: ProofCreated) -> str:
    return f"sample {proof.event_id.rsplit('-', 1)[-1]}"
