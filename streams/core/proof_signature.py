"""Checking a stored proof envelope against a key set, exactly as an outside verifier would.

The signed bytes are recomputed from the envelope's `proof` member by the documented rule
(`canonical_json`), never taken from the envelope as transmitted; see docs/proof-format.md.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from streams.core.proof_document import SIGNATURE_ALGORITHM, ProofDocument, canonical_json
from streams.core.signing import KeySet, UnknownKey, b64url_decode

__all__ = ["SignatureCheck", "VerificationResult", "verify_signed_proof"]

_ENVELOPE_KEYS = frozenset({"proof", "signature"})
_SIGNATURE_KEYS = frozenset({"algorithm", "key_id", "value"})
_ED25519_SIGNATURE_LENGTH = 64


class SignatureCheck(enum.Enum):
    """What checking a signed envelope found: a genuine proof, or what is wrong with it."""

    VALID = "valid"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome and why; `document` is set only when the outcome is `SignatureCheck.VALID`."""

    outcome: SignatureCheck
    reason: str
    document: ProofDocument | None = None
    key_id: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.outcome is SignatureCheck.VALID


def verify_signed_proof(envelope_bytes: bytes, keyset: KeySet) -> VerificationResult:
    """Check the envelope's signature with the key it names, looked up in `keyset`.

    Any change to a signed proof is `BAD_SIGNATURE`; `MALFORMED` means the bytes are not an
    envelope at all, or carry a genuine signature over something that is not a proof document.
    """
    try:
        proof, kid, signature = _parse_envelope(envelope_bytes)
        signed_bytes = canonical_json(proof)
    except ValueError as exc:
        return VerificationResult(SignatureCheck.MALFORMED, str(exc))

    try:
        genuine = keyset.verify(kid, signed_bytes, signature)
    except UnknownKey as exc:
        return VerificationResult(SignatureCheck.UNKNOWN_KEY, str(exc), key_id=kid)
    if not genuine:
        reason = f"signature does not match the proof for key {kid!r}"
        return VerificationResult(SignatureCheck.BAD_SIGNATURE, reason, key_id=kid)

    try:
        document = ProofDocument.from_dict(proof)
    except ValueError as exc:
        reason = f"signed by key {kid!r}, but not a proof document: {exc}"
        return VerificationResult(SignatureCheck.MALFORMED, reason, key_id=kid)
    return VerificationResult(SignatureCheck.VALID, f"signed by key {kid!r}", document, kid)


def _parse_envelope(envelope_bytes: bytes) -> tuple[dict[str, Any], str, bytes]:
    try:
        envelope = json.loads(
            envelope_bytes.decode("utf-8"),
            object_pairs_hook=_object_without_duplicate_keys,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
        )
    except UnicodeDecodeError:
        raise ValueError("envelope is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"envelope is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("envelope is nested too deeply") from None

    _require_object(envelope, _ENVELOPE_KEYS, "envelope")
    proof, signature = envelope["proof"], envelope["signature"]
    _require_object(proof, None, "envelope.proof")
    _require_object(signature, _SIGNATURE_KEYS, "envelope.signature")
    if signature["algorithm"] != SIGNATURE_ALGORITHM:
        raise ValueError(f"unsupported signature algorithm {signature['algorithm']!r}")
    kid, value = signature["key_id"], signature["value"]
    if not isinstance(kid, str) or not isinstance(value, str):
        raise ValueError("signature key_id and value must be strings")
    try:
        signature_bytes = b64url_decode(value)
    except ValueError as exc:
        raise ValueError(f"signature value: {exc}") from None
    if len(signature_bytes) != _ED25519_SIGNATURE_LENGTH:
        raise ValueError(f"signature is {len(signature_bytes)} bytes, not 64")
    return proof, kid, signature_bytes


def _require_object(value: object, keys: frozenset[str] | None, where: str) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a JSON object")
    if keys is not None and set(value) != keys:
        raise ValueError(f"{where} must have exactly the members {', '.join(sorted(keys))}")


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers could keep different values of a repeated key; refuse the ambiguity.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("envelope repeats a key within one object")
    return result


def _refuse_float(text: str) -> NoReturn:
    raise ValueError(f"non-integer number {text} (proofs hold integers only)")
