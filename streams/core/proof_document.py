"""The proof document, its canonical JSON form, and the signed envelope that is stored.

Everything here is a pure function of the event and the image facts, so replaying an event
yields a byte-identical proof. The rules are specified in docs/proof-format.md; a change to
them is a new `PROOF_VERSION`. Version 2 adds what verification after a CDN's crop, pad or
overlay relies on: the hashes of the picture's canonical windows and the digest of its local
features (kept beside the proof); version 1 documents stay readable and verifiable.
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
from streams.core.window_hashes import Window, WindowHash, hash_hex

__all__ = [
    "PROOF_VERSION",
    "SIGNATURE_ALGORITHM",
    "SUPPORTED_VERSIONS",
    "FeatureDigest",
    "ProofDocument",
    "ProofSigner",
    "SignedProof",
    "canonical_json",
    "derive_proof_id",
    "sign_proof",
    "storage_key",
]

PROOF_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
SIGNATURE_ALGORITHM = "Ed25519"

# Integers beyond 2**53 - 1 lose precision in JavaScript and other double-based verifiers.
_MAX_SAFE_INTEGER = 2**53 - 1

_PROOF_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IMAGE_HASH = re.compile(r"[0-9a-f]{16}")

_DOCUMENT_KEYS = frozenset(
    {"version", "proof_id", "event_id", "tenant", "issued_at", "source_uri", "image"}
)
_DOCUMENT_KEYS_V2 = _DOCUMENT_KEYS | {"windows", "features"}
_IMAGE_KEYS = frozenset({"sha256", "phash", "dhash", "width", "height", "format", "byte_size"})
_WINDOW_KEYS = frozenset({"window", "phash", "dhash"})
_FEATURE_KEYS = frozenset({"sha256", "byte_size"})


@dataclass(frozen=True, slots=True)
class FeatureDigest:
    """What a version 2 proof signs of its picture's local features: the SHA-256 (lowercase
    hex) and length of the feature blob stored beside it (`streams.core.local_features`)."""

    sha256: str
    byte_size: int

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"feature digest is not a SHA-256 in lowercase hex: {self.sha256!r}")
        if type(self.byte_size) is not int or self.byte_size < 1:
            raise ValueError("feature blob size must be a positive integer")

    @classmethod
    def of(cls, blob: bytes) -> FeatureDigest:
        return cls(hashlib.sha256(blob).hexdigest(), len(blob))

    def covers(self, blob: bytes) -> bool:
        """Whether `blob` is the one this digest signs."""
        return len(blob) == self.byte_size and hashlib.sha256(blob).hexdigest() == self.sha256


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
    the time of processing, so that a replay issues the same document. A version 2 document
    also holds its picture's window hashes (`streams.core.window_hashes.proof_windows`, in
    their order) and its feature blob's digest; a version 1 document holds neither.
    """

    proof_id: str
    event_id: str
    tenant: str
    issued_at: int
    source_uri: str
    image: ImageFacts
    windows: tuple[WindowHash, ...] | None = None
    features: FeatureDigest | None = None
    version: int = PROOF_VERSION

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported proof version {self.version!r}")
        has_evidence = (self.windows is not None, self.features is not None)
        if self.version == 1 and any(has_evidence):
            raise ValueError("a version 1 proof holds no window hashes or feature digest")
        if self.version >= 2 and not all(has_evidence):
            raise ValueError(f"a version {self.version} proof holds window hashes and features")
        if self.windows is not None:
            _check_windows(self.windows)
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
        windows: tuple[WindowHash, ...],
        features: FeatureDigest,
    ) -> ProofDocument:
        """The proof of `image`, fetched from `source_uri` for the event `event_id`, whose
        picture has `windows` and the local features `features` digests."""
        return cls(
            proof_id=derive_proof_id(tenant=tenant, event_id=event_id, sha256=image.sha256),
            event_id=event_id,
            tenant=tenant,
            issued_at=submitted_at_ms,
            source_uri=source_uri,
            image=image,
            windows=windows,
            features=features,
        )

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "version": self.version,
            "proof_id": self.proof_id,
            "event_id": self.event_id,
            "tenant": self.tenant,
            "issued_at": self.issued_at,
            "source_uri": self.source_uri,
            "image": self.image.to_dict(),
        }
        if self.windows is not None:
            document["windows"] = [
                {"window": str(w.window), "phash": hash_hex(w.phash), "dhash": hash_hex(w.dhash)}
                for w in self.windows
            ]
        if self.features is not None:
            document["features"] = {
                "sha256": self.features.sha256,
                "byte_size": self.features.byte_size,
            }
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ProofDocument:
        """Rebuild a document from `to_dict` output; anything else raises `ValueError`."""
        version = data.get("version")
        if type(version) is not int or version not in SUPPORTED_VERSIONS:
            raise ValueError(f"proof.version is not a supported version: {version!r}")
        _require_keys(data, _DOCUMENT_KEYS if version == 1 else _DOCUMENT_KEYS_V2, "proof")
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
            windows=_windows(data["windows"]) if "windows" in data else None,
            features=_features(data["features"]) if "features" in data else None,
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


def _check_windows(windows: tuple[WindowHash, ...]) -> None:
    names = [window.window for window in windows]
    if not names or names[0] is not Window.GLOBAL:
        raise ValueError("a proof's windows start with its global window")
    if len(set(names)) != len(names):
        raise ValueError("a proof names each window once")
    for window in windows:
        for value in (window.phash, window.dhash):
            if type(value) is not int or not 0 <= value < 1 << 64:
                raise ValueError(f"window {window.window} has a hash that is not 64 bits")


def _windows(data: object) -> tuple[WindowHash, ...]:
    if not isinstance(data, list) or len(data) > len(Window):
        raise ValueError(f"proof.windows must be a list of at most {len(Window)} windows")
    windows = []
    for index, entry in enumerate(data):
        where = f"proof.windows[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be an object")
        _require_keys(entry, _WINDOW_KEYS, where)
        name = _text(entry, "window", where)
        try:
            window = Window(name)
        except ValueError:
            raise ValueError(f"{where}.window is not a known window: {name!r}") from None
        windows.append(
            WindowHash(
                window=window,
                phash=int(_text(entry, "phash", where, _IMAGE_HASH), 16),
                dhash=int(_text(entry, "dhash", where, _IMAGE_HASH), 16),
            )
        )
    return tuple(windows)


def _features(data: object) -> FeatureDigest:
    if not isinstance(data, Mapping):
        raise ValueError("proof.features must be an object")
    _require_keys(data, _FEATURE_KEYS, "proof.features")
    return FeatureDigest(
        sha256=_text(data, "sha256", "proof.features", _SHA256),
        byte_size=_positive_int(data, "byte_size", "proof.features"),
    )


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
