"""The credentials stage for one proof: refetch → check → fingerprint → issue → store →
`CredentialIssued`.

It runs after proving, on proof events, so C2PA signing (tens of times the cost of a proof)
never slows proving down. Plain synchronous Python with no Kafka in it; failures leave as the
error types of `streams.core.errors`, like the proof pipeline's.

Idempotent: the manifest id is derived from the proof id and every key from the proof's id and
date, so a replayed proof event finds its manifest stored under the same key with the same
manifest id, signs nothing, writes nothing, and announces the stored credential again.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Executor
from datetime import datetime, timedelta

from streams.core.clock import from_epoch_millis, iso_utc, to_epoch_millis, utc_now
from streams.core.codecs.records import CredentialIssued, ProofCreated, ProofLocation
from streams.core.content_credentials import (
    CredentialIssuer,
    IssuedCredential,
    ProofLink,
    iscc_fingerprint,
    manifest_id_for,
    media_type_of,
)
from streams.core.errors import FetchFailed, ImageRejected
from streams.core.fetching import ImageFetcher
from streams.core.imaging import decoded_picture
from streams.core.memory_budget import MemoryBudget
from streams.core.observing import PipelineObserver, Stage
from streams.core.pipeline import ImageLimits, timed_stage
from streams.core.proof_document import ProofDocument
from streams.core.stores.base import (
    MANIFEST_CONTENT_TYPE,
    ProofNotFound,
    ProofStore,
    StoredObject,
    StoredProof,
    manifest_key,
    signed_image_key,
)

__all__ = ["SIGNED_IMAGE_EXTENSIONS", "CredentialPipeline", "ImageChanged", "ProofUnavailable"]

#: The extension of a signed image's key, by media type.
SIGNED_IMAGE_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/avif": "avif",
}


class ImageChanged(ImageRejected):
    """The bytes fetched now are not the bytes that were proven: no credential is issued for
    them, since it would vouch for an image the proof does not cover."""


class ProofUnavailable(FetchFailed):
    """The proof document a proof event points to is not in the store, or is not a proof: the
    stage cannot tell where the image came from."""


class CredentialPipeline:
    """Turns one `ProofCreated` into a stored C2PA manifest and its `CredentialIssued` event."""

    def __init__(
        self,
        *,
        fetcher: ImageFetcher,
        issuer: CredentialIssuer,
        store: ProofStore,
        limits: ImageLimits,
        retention_days: int,
        embed: bool,
        hashing: Executor,
        observer: PipelineObserver | None = None,
        decode_budget: MemoryBudget | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._issuer = issuer
        self._store = store
        self._limits = limits
        self._retention = timedelta(days=retention_days)
        self._embed = embed
        # Decoding runs on the worker's hashing pool, like the proof pipeline's.
        self._hashing = hashing
        self._observer = observer or PipelineObserver()
        self._decode_budget = decode_budget

    def issue(self, proof: ProofCreated) -> CredentialIssued:
        manifest_id = manifest_id_for(proof.proof_id)
        key = manifest_key(proof.proof_id, proof.issued_at)
        with timed_stage(self._observer, Stage.STORE):
            stored = self._store.stat(key)
            if stored is not None and stored.metadata.get("manifest-id") == manifest_id:
                return self._replayed(proof, stored)
        with timed_stage(self._observer, Stage.FETCH):
            image = self._fetcher.fetch(self._source_uri(proof))
        with timed_stage(self._observer, Stage.HASH):
            fingerprint = self._hashing.submit(self._fingerprint, image, proof.sha256).result()
        with timed_stage(self._observer, Stage.SIGN):
            credential = self._issuer.issue(
                image,
                ProofLink(proof_id=proof.proof_id, tenant=proof.tenant, event_id=proof.event_id),
                embed=self._embed,
                fingerprint=fingerprint,
            )
        with timed_stage(self._observer, Stage.STORE):
            return self._stored(proof, credential, fingerprint, key)

    def _source_uri(self, proof: ProofCreated) -> str:
        """Where the proven image came from, as its stored proof document says."""
        try:
            envelope = json.loads(self._store.get(proof.location.key))
            return ProofDocument.from_dict(envelope["proof"]).source_uri
        except ProofNotFound:
            raise ProofUnavailable(
                f"no proof document is stored under {proof.location.key!r}"
            ) from None
        except (ValueError, TypeError, KeyError) as error:
            raise ProofUnavailable(
                f"the object under {proof.location.key!r} is not a proof document: "
                f"{type(error).__name__}"
            ) from None

    def _fingerprint(self, image: bytes, proven_sha256: str) -> bytes:
        """The soft-binding fingerprint of `image`, once it is known to be the proven bytes of a
        type credentials are issued for."""
        sha256 = hashlib.sha256(image).hexdigest()
        if sha256 != proven_sha256:
            raise ImageChanged(
                f"the image changed after it was proven: its SHA-256 is {sha256}, "
                f"the proof's {proven_sha256}"
            )
        # Refused before the decode it would waste: `UnsupportedMediaType`.
        media_type_of(image)
        with decoded_picture(
            image,
            max_bytes=self._limits.max_bytes,
            max_pixels=self._limits.max_pixels,
            reserve=self._decode_budget.reserve if self._decode_budget else None,
        ) as picture:
            return iscc_fingerprint(picture)

    def _stored(
        self, proof: ProofCreated, credential: IssuedCredential, fingerprint: bytes, key: str
    ) -> CredentialIssued:
        issued = from_epoch_millis(proof.issued_at)
        metadata = {
            "proof-id": proof.proof_id,
            "image-sha256": proof.sha256,
            "phash": proof.phash,
            "created-at": iso_utc(utc_now(), precision="milliseconds"),
            "expires-at": iso_utc(issued + self._retention, precision="milliseconds"),
            "manifest-id": credential.manifest_id,
            "media-type": credential.media_type,
            "fingerprint": fingerprint.hex(),
        }
        signed: StoredProof | None = None
        # The signed image first: a stored manifest says the whole credential is there. Both are
        # written whatever is there already (a signed image left by a run that stopped before
        # its manifest): they are a pair.
        if credential.signed_image is not None:
            signed = self._store.put(
                self._signed_image_key(proof, credential.media_type),
                credential.signed_image,
                metadata,
                content_type=credential.media_type,
            )
        manifest = StoredObject(
            location=self._store.put(
                key, credential.manifest_store, metadata, content_type=MANIFEST_CONTENT_TYPE
            ),
            size=len(credential.manifest_store),
            metadata=metadata,
        )
        return _credential_event(proof, manifest, signed)

    def _replayed(self, proof: ProofCreated, manifest: StoredObject) -> CredentialIssued:
        """The event of the credential an earlier run stored as `manifest`."""
        media_type = manifest.metadata["media-type"]
        signed = self._store.stat(self._signed_image_key(proof, media_type))
        return _credential_event(proof, manifest, signed.location if signed else None)

    @staticmethod
    def _signed_image_key(proof: ProofCreated, media_type: str) -> str:
        return signed_image_key(
            proof.proof_id, proof.issued_at, SIGNED_IMAGE_EXTENSIONS[media_type]
        )


def _credential_event(
    proof: ProofCreated, manifest: StoredObject, signed: StoredProof | None
) -> CredentialIssued:
    """The event announcing the credential of `proof` stored as `manifest` (and `signed`)."""
    return CredentialIssued(
        proof_id=proof.proof_id,
        event_id=proof.event_id,
        tenant=proof.tenant,
        manifest_id=manifest.metadata["manifest-id"],
        media_type=manifest.metadata["media-type"],
        image_sha256=proof.sha256,
        manifest_store=_location(manifest.location),
        signed_image=_location(signed) if signed is not None else None,
        manifest_bytes=manifest.size,
        issued_at=to_epoch_millis(datetime.fromisoformat(manifest.metadata["created-at"])),
        fingerprint=bytes.fromhex(manifest.metadata["fingerprint"]),
    )


def _location(stored: StoredProof) -> ProofLocation:
    return ProofLocation(bucket=stored.store, key=stored.key, version_id=stored.version_id)
