"""The proof store interface: where signed proof documents are kept, by key.

A backend stores opaque proof bytes plus a small string metadata map. The pipeline writes exactly
these metadata keys (`PROOF_METADATA_KEYS`), and backends store whatever map they are given:

- `proof-id`: the proof's identifier;
- `image-sha256`: hex SHA-256 of the image bytes the proof is about;
- `phash`: the image's perceptual hash;
- `created-at`, `expires-at`: RFC 3339 UTC timestamps of the proof's validity window.

A version 2 proof's local features (`streams.core.local_features`) live beside it at
`features/YYYY/MM/DD/{proof-id}.orb` (`application/octet-stream`), dated like the proof, with the
proof's metadata; the proof signs their digest, so the blob needs no signature of its own.

The Content Credentials of a proof live in the same store, dated like the proof so that a
replay addresses the same keys: the C2PA manifest store at `manifests/YYYY/MM/DD/{proof-id}.c2pa`
(`application/c2pa`) and, when embedding, the signed image at `signed/YYYY/MM/DD/{proof-id}.{ext}`
(the image's media type). Their metadata (`CREDENTIAL_METADATA_KEYS`) is the proof's plus
`manifest-id`, `media-type` (the image's) and `fingerprint` (the manifest's soft-binding value,
hex), with `created-at` the time the manifest was signed. `stat` reads it back without the
bytes: the credentials stage looks for a stored manifest id before it signs anything.

Keys are relative, `/`-separated paths and are validated the same way by every backend, so a key
that would escape a filesystem root or address an unexpected S3 object is refused up front.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from streams.core.errors import CredlinkError, InputRejected
from streams.core.observing import Stage
from streams.core.proof_document import storage_key

__all__ = [
    "CREDENTIAL_METADATA_KEYS",
    "FEATURES_CONTENT_TYPE",
    "MANIFEST_CONTENT_TYPE",
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "PROOF_CONTENT_TYPE",
    "PROOF_METADATA_KEYS",
    "InvalidProofKey",
    "ProofNotFound",
    "ProofStore",
    "StoreMisconfigured",
    "StoredObject",
    "StoredProof",
    "features_key",
    "manifest_key",
    "signed_image_key",
    "validate_proof_key",
]

PROOF_METADATA_KEYS = ("proof-id", "image-sha256", "phash", "created-at", "expires-at")
CREDENTIAL_METADATA_KEYS = (*PROOF_METADATA_KEYS, "manifest-id", "media-type", "fingerprint")

PROOF_CONTENT_TYPE = "application/json"
MANIFEST_CONTENT_TYPE = "application/c2pa"
FEATURES_CONTENT_TYPE = "application/octet-stream"

MAX_KEY_BYTES = 512
MAX_SEGMENT_BYTES = 255


class InvalidProofKey(InputRejected):
    """The proof key is not a safe relative path (traversal, control characters, too long)."""

    stage = Stage.STORE


class ProofNotFound(CredlinkError):
    """No proof is stored under the requested key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no proof stored under key {key!r}")
        self.key = key


class StoreMisconfigured(CredlinkError):
    """The store refuses the operation for a reason retrying cannot fix.

    Missing bucket, denied access, a bucket without the object lock that retention needs: the
    deployment is wrong, not the event, so this is neither dead-lettered nor retried blindly.
    """


@dataclass(frozen=True, slots=True)
class StoredProof:
    """Where a proof ended up: the store (the bucket, for S3), its key and object version."""

    store: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object found in (or just written to) a store: where it is, its size and metadata."""

    location: StoredProof
    size: int
    metadata: Mapping[str, str]


def features_key(proof_id: str, proof_issued_at_ms: int) -> str:
    """Where a version 2 proof's feature blob is kept: `features/YYYY/MM/DD/{id}.orb`."""
    return storage_key("features/", proof_id, proof_issued_at_ms, extension="orb")


def manifest_key(proof_id: str, proof_issued_at_ms: int) -> str:
    """Where the C2PA manifest store of a proof is kept: `manifests/YYYY/MM/DD/{id}.c2pa`."""
    return storage_key("manifests/", proof_id, proof_issued_at_ms, extension="c2pa")


def signed_image_key(proof_id: str, proof_issued_at_ms: int, extension: str) -> str:
    """Where a proof's image with its manifest embedded is kept: `signed/YYYY/MM/DD/{id}.{ext}`."""
    return storage_key("signed/", proof_id, proof_issued_at_ms, extension=extension)


def validate_proof_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative path, else raise `InvalidProofKey`."""
    if not key:
        raise InvalidProofKey("proof key is empty")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidProofKey(f"proof key is longer than {MAX_KEY_BYTES} bytes")
    if "\\" in key:
        raise InvalidProofKey(f"proof key contains a backslash: {key!r}")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in key):
        raise InvalidProofKey(f"proof key contains a control character: {key!r}")
    if key.startswith("/"):
        raise InvalidProofKey(f"proof key must be relative, not start with '/': {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidProofKey(f"proof key has an empty, '.' or '..' segment: {key!r}")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidProofKey(f"proof key has a segment longer than {MAX_SEGMENT_BYTES} bytes")
    return key


class ProofStore(ABC):
    """Keeps proof documents by key. Every backend validates keys through these methods."""

    def put(
        self,
        key: str,
        data: bytes,
        metadata: Mapping[str, str],
        *,
        content_type: str = PROOF_CONTENT_TYPE,
    ) -> StoredProof:
        """Store `data` under `key` with `metadata` (and `content_type`, where the backend
        keeps one).

        Idempotent: storing the same bytes under the same key again writes nothing new and
        returns the same `StoredProof`.
        """
        return self._put(validate_proof_key(key), data, metadata, content_type)

    def stat(self, key: str) -> StoredObject | None:
        """The object under `key` without its bytes; None if there is none."""
        return self._stat(validate_proof_key(key))

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; `ProofNotFound` if there are none."""
        return self._get(validate_proof_key(key))

    def exists(self, key: str) -> bool:
        """Whether a proof is stored under `key`."""
        return self._exists(validate_proof_key(key))

    @abstractmethod
    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof: ...

    @abstractmethod
    def _get(self, key: str) -> bytes: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _stat(self, key: str) -> StoredObject | None: ...
