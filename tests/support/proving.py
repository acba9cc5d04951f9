"""Proofs made as the pipeline makes them, for tests that need stored, signed proofs of images.

`prove_image` runs the pipeline's own steps (`survey_image`, `ProofDocument.for_event`,
`sign_proof`, `store_proof`) without Kafka or a fetch; `WINDOWS` and `FEATURES` are a version 2
document's evidence for tests that sign documents of made-up facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from streams.core.pipeline import ImageLimits, store_proof, survey_image
from streams.core.proof_document import FeatureDigest, ProofDocument, SignedProof, sign_proof
from streams.core.signing import Signer
from streams.core.stores.base import ProofStore, StoredProof
from streams.core.window_hashes import Window, WindowHash

WINDOWS = (
    WindowHash(Window.GLOBAL, phash=0xC3E1F0B09C8C8E1F, dhash=0x0E1C3870E0C18307),
    WindowHash(Window.COVER_16_9, phash=0xC3E1F0B09C8C8E1E, dhash=0x0E1C3870E0C18306),
)
FEATURES = FeatureDigest.of(b"CLF1 the feature blob")
LIMITS = ImageLimits(max_bytes=50_000_000, max_pixels=100_000_000)


@dataclass(frozen=True)
class Proven:
    """A proof as the pipeline leaves it: the document, its signed envelope, where it is."""

    document: ProofDocument
    signed: SignedProof
    stored: StoredProof


def prove_image(
    store: ProofStore,
    image: bytes,
    *,
    event_id: str,
    tenant: str,
    signer: Signer,
    submitted_at_ms: int,
    key_prefix: str = "proofs/",
    source_uri: str | None = None,
) -> Proven:
    surveyed = survey_image(image, LIMITS, None)
    document = ProofDocument.for_event(
        event_id=event_id,
        tenant=tenant,
        submitted_at_ms=submitted_at_ms,
        source_uri=source_uri or f"https://images.example.com/{event_id}.jpg",
        image=surveyed.facts,
        windows=surveyed.windows,
        features=FeatureDigest.of(surveyed.features),
    )
    signed = sign_proof(document, signer)
    stored = store_proof(
        store,
        key_prefix=key_prefix,
        document=document,
        signed=signed,
        features=surveyed.features,
        retention=timedelta(days=1),
    )
    return Proven(document, signed, stored)
