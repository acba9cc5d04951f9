"""The proof document, its canonical JSON form, and the signed envelope that is stored.

Everything here is a pure function of the event and the image facts, so replaying an event
yields a byte-identical proof. The rules are specified in docs/proof-format.md; a change to
them is a new `PROOF_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.core.clock import from_epoch_millis
from streams.core.imaging import ImageFacts
from streams.core.signing import b64url_encode

__all__ = [
    "PROOF_VERSION",
    "SIGNATURE_ALGORITHM",
    "ProofDocument",
    "ProofSigner",
    "SignedProof",
    "canonical_json",
    "derive_proof_id",
    "sign_proof",
    "storage_key",
]

PROOF_VERSION = 1
SIGNATURE_ALGORITHM = "Ed25519"

# Integers beyond 2**53 - 1 lose precision in JavaScript and other double-based verifiers.
_MAX_SAFE_INTEGER = 2**53 - 1

_PROOF_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IMAGE_HASH = re.compile(r"[0-9a-f]{16}")

_DOCUMENT_KEYS = frozenset(
    {"version", "proof_id", "event_id", "tenant", "issued_at", "source_uri", "image"}
)
_IMAGE_KEYS = frozenset({"sha256", "phash", "dhash", "width", "height", "format", "byte_size"})


class ProofSigner(Protocol):
    """What building a signed proof needs from a signing key (see `streams.core.signing.Signer`)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes, /) -> bytes: ...


def canonical_json(obj: object) -> bytes:
    """The one byte sequence that represents `obj`, which any verifier can recompute.

    Object keys sorted, no whitespace, UTF-8 without `\\u` escapes for non-ASCII. Only
    objects with string keys, arrays (lists), strings, integers within +-(2**53 - 1), booleans
    and null are allowed: floats and other types raise `TypeError`, out-of-range integers and
    strings that are not valid Unicode raise `ValueError`.
    """
    _check_canonical(obj, "$")
    text = json.dumps(
        obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return text.encode("utf-8")


def derive_proof_id(*, tenant: str, event_id: str, sha256: str) -> str:
    """The proof id: 32 hex digits of SHA-256 over the canonical JSON of these three fields."""
    digest = hashlib.sha256(
        canonical_json({"tenant": tenant, "event_id": event_id, "sha256": sha256})
    )
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ProofDocument:
    """What a proof asserts: these bytes, with these hashes, were submitted by this event.

    `issued_at` is the event's `submitted_at` in milliseconds since the Unix epoch (UTC), never
    the time of processing, so that a replay issues the same document.
    """

    proof_id: str
    event_id: str
    tenant: str
    issued_at: int
    source_uri: str
    image: ImageFacts
    version: int = PROOF_VERSION

    def __post_init__(self) -> None:
        if self.version != PROOF_VERSION:
            raise ValueError(f"unsupported proof version {self.version!r}")
        if type(self.issued_at) is not int or not 0 <= self.issued_at <= _MAX_SAFE_INTEGER:
            raise ValueError("issued_at must be non-negative integer milliseconds")
        expected = derive_proof_id(
            tenant=self.tenant, event_id=self.event_id, sha256=self.image.sha256
        )
        if self.proof_id != expected:
            raise ValueError(f"proof_id {self.proof_id!r} is not the derived id {expected!r}")

    @classmethod
    def for_event(
        cls,
        *,
        event_id: str,
        tenant: str,
        submitted_at_ms: int,
        source_uri: str,
        image: ImageFacts,
    ) -> ProofDocument:
        """The proof of `image`, fetched from `source_uri` for the event `event_id`."""
        return cls(
            proof_id=derive_proof_id(tenant=tenant, event_id=event_id, sha256=image.sha256),
            event_id=event_id,
            tenant=tenant,
            issued_at=submitted_at_ms,
            source_uri=source_uri,
            image=image,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "proof_id": self.proof_id,
            "event_id": self.event_id,
            "tenant": self.tenant,
            "issued_at": self.issued_at,
            "source_uri": self.source_uri,
            "image": self.image.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ProofDocument:
        """Rebuild a document from `to_dict` output; anything else raises `ValueError`."""
        _require_keys(data, _DOCUMENT_KEYS, "proof")
        image = data["image"]
        if not isinstance(image, Mapping):
            raise ValueError("proof.image must be an object")
        _require_keys(image, _IMAGE_KEYS, "proof.image")
        facts = ImageFacts(
            sha256=_text(image, "sha256", "proof.image", _SHA256),
            phash=_text(image, "phash", "proof.image", _IMAGE_HASH),
            dhash=_text(image, "dhash", "proof.image", _IMAGE_HASH),
            width=_positive_int(image, "width", "proof.image"),
            height=_positive_int(image, "height", "proof.image"),
            format=_text(image, "format", "proof.image"),
            byte_size=_positive_int(image, "byte_size", "proof.image"),
        )
        version = data["version"]
        if type(version) is not int:
            raise ValueError("proof.version must be an integer")
        issued_at = data["issued_at"]
        if type(issued_at) is not int:
            raise ValueError("proof.issued_at must be an integer")
        return cls(
            version=version,
            proof_id=_text(data, "proof_id", "proof", _PROOF_ID),
            event_id=_text(data, "event_id", "proof"),
            tenant=_text(data, "tenant", "proof"),
            issued_at=issued_at,
            source_uri=_text(data, "source_uri", "proof"),
            image=facts,
        )


@dataclass(frozen=True, slots=True)
class SignedProof:
    """A stored proof's bytes, and the signature fields a proof event repeats."""

    body: bytes
    algorithm: str
    key_id: str
    signature: str


def sign_proof(document: ProofDocument, signer: ProofSigner) -> SignedProof:
    """The stored proof: canonical JSON of the document and its Ed25519 signature.

    The signature is over `canonical_json(document.to_dict())`. Ed25519 signatures are
    deterministic, so the same document and key always give the same bytes.
    """
    proof = document.to_dict()
    signature = b64url_encode(signer.sign(canonical_json(proof)))
    envelope = {
        "proof": proof,
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "key_id": signer.key_id,
            "value": signature,
        },
    }
    return SignedProof(
        body=canonical_json(envelope),
        algorithm=SIGNATURE_ALGORITHM,
        key_id=signer.key_id,
        signature=signature,
    )


def storage_key(prefix: str, proof_id: str, issued_at_ms: int, *, extension: str = "json") -> str:
    """Where a proof is stored: `{prefix}{YYYY}/{MM}/{DD}/{proof_id}.{extension}`, dated in UTC
    (the objects that belong to a proof use the proof's own date and other prefixes).

    `prefix` is used verbatim, so it normally ends with `/` (or is empty).
    """
    if not _PROOF_ID.fullmatch(proof_id):
        raise ValueError(f"not a proof id: {proof_id!r}")
    if issued_at_ms < 0:
        raise ValueError(f"issued_at_ms must be non-negative, not {issued_at_ms}")
    issued = from_epoch_millis(issued_at_ms)
    return f"{prefix}{issued:%Y/%m/%d}/{proof_id}.{extension}"


def _check_canonical(value: object, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer {value} is outside +-(2**53 - 1)")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: object key {key!r} is not a string")
            _check_canonical(item, f"{path}.{key}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_canonical(item, f"{path}[{index}]")
        return
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not allowed in canonical JSON, got {value!r}")
    raise TypeError(f"{path}: {type(value).__name__} is not a canonical JSON value")


def _require_keys(data: Mapping[str, object], expected: frozenset[str], where: str) -> None:
    keys = set(data)
    if missing := sorted(expected - keys):
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    if unexpected := sorted(keys - expected):
        raise ValueError(f"{where} has unexpected {', '.join(unexpected)}")


def _text(
    data: Mapping[str, object], key: str, where: str, pattern: re.Pattern[str] | None = None
) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key} must be a non-empty string")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"{where}.{key} is not in the expected format: {value!r}")
    return value


def _positive_int(data: Mapping[str, object], key: str, where: str) -> int:
    value = data[key]
    if type(value) is not int or value < 1:
        raise ValueError(f"{where}.{key} must be a positive integer")
    return value
