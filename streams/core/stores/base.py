"""The proof store interface: where signed proof documents are kept, by key.

A backend stores opaque proof bytes plus a small string metadata map. The pipeline writes exactly
these metadata keys (`PROOF_METADATA_KEYS`), and backends store whatever map they are given:

- `proof-id`: the proof's identifier;
- `image-sha256`: hex SHA-256 of the image bytes the proof is about;
- `phash`: the image's perceptual hash;
- `created-at`, `expires-at`: RFC 3339 UTC timestamps of the proof's validity window.

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

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "PROOF_METADATA_KEYS",
    "InvalidProofKey",
    "ProofNotFound",
    "ProofStore",
    "StoreMisconfigured",
    "StoredProof",
    "validate_proof_key",
]

PROOF_METADATA_KEYS = ("proof-id", "image-sha256", "phash", "created-at", "expires-at")

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

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> StoredProof:
        """Store `data` under `key` with `metadata`.

        Idempotent: storing the same bytes under the same key again writes nothing new and
        returns the same `StoredProof`.
        """
        return self._put(validate_proof_key(key), data, metadata)

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; `ProofNotFound` if there are none."""
        return self._get(validate_proof_key(key))

    def exists(self, key: str) -> bool:
        """Whether a proof is stored under `key`."""
        return self._exists(validate_proof_key(key))

    @abstractmethod
    def _put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> StoredProof: ...

    @abstractmethod
    def _get(self, key: str) -> bytes: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...
