"""Checking an image's Content Credentials: the C2PA manifest it carries, or else the one
recovered through its proof, read against the image either way.

docs/content-credentials.md ("Verifying and recovery") says what each answer means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.core.content_credentials import (
    CredentialReading,
    NoManifest,
    ProofLink,
    read_credential,
)

__all__ = ["ContentCredentials", "CredentialVerifier", "ManifestOfProof"]

# The SDK's state of a manifest that does not validate against the bytes it was read with.
_INVALID = "Invalid"


ManifestOfProof = Callable[[str], bytes | None]
"""proof id -> the stored manifest store of its credential, or None when it has none."""


@dataclass(frozen=True, slots=True)
class ContentCredentials:
    """The manifest an image's verdict reports, as the C2PA SDK reads it against the image.

    `recovered` is False for the manifest the image carries, True for one found through the
    image's proof. `validation_state` and `failures` are the SDK's: a recovered manifest read
    against a changed copy is `Invalid` with its hard-binding failure
    (`assertion.dataHash.mismatch`) while its signature and trust are still checked, and a
    failure of either is listed too. `proof_id` is the proof the manifest links (for an
    embedded manifest, as its `io.credlink.proof` assertion names it; None when it names
    none). `manifest_url` is where a recovered manifest store can be fetched, when known.
    """

    manifest_id: str
    validation_state: str
    failures: tuple[str, ...]
    recovered: bool
    proof_id: str | None
    manifest_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "manifest_id": self.manifest_id,
            "validation_state": self.validation_state,
            "failures": list(self.failures),
            "recovered": self.recovered,
            "proof_id": self.proof_id,
        }
        if self.manifest_url is not None:
            answer["manifest_url"] = self.manifest_url
        return answer


class CredentialVerifier:
    """Reads the manifest an image carries; when it carries none, or one that no longer matches
    its bytes, recovers the manifest of the proof its verdict found.

    `manifest_url` maps a manifest id to the URL it is served at, for answers that give one.
    """

    def __init__(
        self,
        manifest_of_proof: ManifestOfProof,
        *,
        trust_anchors_pem: bytes | None = None,
        manifest_url: Callable[[str], str] | None = None,
    ) -> None:
        self._manifest_of_proof = manifest_of_proof
        self._trust_anchors_pem = trust_anchors_pem
        self._manifest_url = manifest_url

    def check(self, image: bytes, proof_id: str | None) -> ContentCredentials | None:
        """The Content Credentials of `image`, whose verdict found proof `proof_id` (None when
        it found no proof it could trust); None when there are none to report.

        A manifest the image carries that validates is the answer. Otherwise the manifest of
        the proof is recovered; when there is none, an embedded manifest that does not validate
        is still reported as it is.
        """
        embedded = self._read(image)
        if embedded is not None and embedded.validation_state != _INVALID:
            return self._answer(embedded, recovered=False)
        manifest_store = self._manifest_of_proof(proof_id) if proof_id is not None else None
        recovered = self._read(image, manifest_store) if manifest_store is not None else None
        if recovered is not None:
            return self._answer(recovered, recovered=True, proof_id=proof_id)
        if embedded is not None:
            return self._answer(embedded, recovered=False)
        return None

    def _read(self, image: bytes, manifest_store: bytes | None = None) -> CredentialReading | None:
        """The SDK's reading of the manifest in `image` or `manifest_store`; None when there is
        none, or none it can parse."""
        try:
            return read_credential(
                image, manifest_store=manifest_store, trust_anchors_pem=self._trust_anchors_pem
            )
        except NoManifest:
            return None

    def _answer(
        self, reading: CredentialReading, *, recovered: bool, proof_id: str | None = None
    ) -> ContentCredentials:
        return ContentCredentials(
            manifest_id=reading.manifest_id,
            validation_state=reading.validation_state,
            failures=reading.failures,
            recovered=recovered,
            proof_id=_linked_proof(reading.link) if proof_id is None else proof_id,
            manifest_url=(
                self._manifest_url(reading.manifest_id)
                if recovered and self._manifest_url is not None
                else None
            ),
        )


def _linked_proof(link: ProofLink | None) -> str | None:
    return link.proof_id if link is not None else None
