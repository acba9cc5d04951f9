"""Specification of `streams.core.credential_verifier`: the Content Credentials a verdict
reports, the manifest an image carries or the one recovered through its proof."""

from __future__ import annotations

import pytest

from streams.core.content_credentials import CredentialIssuer, IssuedCredential, ProofLink
from streams.core.credential_verifier import ContentCredentials, CredentialVerifier
from streams.core.image_fingerprint import iscc_fingerprint
from streams.devtools.samples import cdn_copy, decoded
from tests.support.credentials import DevelopmentPki, development_pki, with_pixel_byte_changed
from tests.support.images import encode, photo

LINK = ProofLink(proof_id="0192d4e0-7c1a-7def-8000-1234567890ab", tenant="acme", event_id="ev-1")
HARD_BINDING_MISMATCH = "assertion.dataHash.mismatch"


@pytest.fixture(scope="module")
def pki() -> DevelopmentPki:
    return development_pki()


@pytest.fixture(scope="module")
def original() -> bytes:
    return encode(photo(320, 240, 7), "JPEG")


@pytest.fixture(scope="module")
def credential(pki: DevelopmentPki, original: bytes) -> IssuedCredential:
    issuer = CredentialIssuer(pki.signing_key, pki.chain_pem)
    return issuer.issue(original, LINK, embed=True, fingerprint=iscc_fingerprint(decoded(original)))


class Repository:
    """The manifest of `LINK`'s proof, counting the lookups."""

    def __init__(self, credential: IssuedCredential | None) -> None:
        self.credential = credential
        self.lookups: list[str] = []

    def __call__(self, proof_id: str) -> bytes | None:
        self.lookups.append(proof_id)
        if self.credential is None or proof_id != LINK.proof_id:
            return None
        return self.credential.manifest_store


def url(manifest_id: str) -> str:
    return f"/v1/manifests/{manifest_id}"


def test_a_valid_manifest_the_image_carries_is_the_answer_and_nothing_is_recovered(
    credential: IssuedCredential,
) -> None:
    assert credential.signed_image is not None
    repository = Repository(credential)

    found = CredentialVerifier(repository, manifest_url=url).check(
        credential.signed_image, LINK.proof_id
    )

    assert found == ContentCredentials(
        manifest_id=credential.manifest_id,
        validation_state="Valid",
        failures=("signingCredential.untrusted",),
        recovered=False,
        proof_id=LINK.proof_id,
    )
    assert repository.lookups == []


def test_the_carried_manifest_is_trusted_under_the_ca_that_certified_its_signer(
    credential: IssuedCredential, pki: DevelopmentPki
) -> None:
    assert credential.signed_image is not None
    verifier = CredentialVerifier(Repository(None), trust_anchors_pem=pki.ca_pem)

    found = verifier.check(credential.signed_image, None)

    assert found is not None
    assert (found.validation_state, found.failures) == ("Trusted", ())


def test_a_stripped_resized_copy_gets_its_proofs_manifest_recovered(
    credential: IssuedCredential, pki: DevelopmentPki
) -> None:
    assert credential.signed_image is not None
    copy = cdn_copy(credential.signed_image)
    verifier = CredentialVerifier(
        Repository(credential), trust_anchors_pem=pki.ca_pem, manifest_url=url
    )

    found = verifier.check(copy, LINK.proof_id)

    assert found is not None
    answer = found.to_json()
    # Only the hard binding fails: the signature and its trust still hold.
    assert set(answer.pop("failures")) == {HARD_BINDING_MISMATCH}
    assert answer == {
        "manifest_id": credential.manifest_id,
        "validation_state": "Invalid",
        "recovered": True,
        "proof_id": LINK.proof_id,
        "manifest_url": url(credential.manifest_id),
    }


def test_the_very_bytes_a_sidecar_was_issued_for_recover_a_manifest_that_validates(
    pki: DevelopmentPki, original: bytes
) -> None:
    issuer = CredentialIssuer(pki.signing_key, pki.chain_pem)
    sidecar = issuer.issue(
        original, LINK, embed=False, fingerprint=iscc_fingerprint(decoded(original))
    )

    found = CredentialVerifier(Repository(sidecar), trust_anchors_pem=pki.ca_pem).check(
        original, LINK.proof_id
    )

    assert found is not None
    assert (found.recovered, found.validation_state) == (True, "Trusted")


def test_a_carried_manifest_that_no_longer_matches_gives_way_to_the_recovered_one(
    credential: IssuedCredential,
) -> None:
    assert credential.signed_image is not None
    changed = with_pixel_byte_changed(credential.signed_image)
    repository = Repository(credential)

    found = CredentialVerifier(repository).check(changed, LINK.proof_id)

    assert found is not None
    assert found.recovered
    assert repository.lookups == [LINK.proof_id]


def test_a_carried_manifest_that_no_longer_matches_is_reported_when_nothing_is_recovered(
    credential: IssuedCredential,
) -> None:
    assert credential.signed_image is not None
    changed = with_pixel_byte_changed(credential.signed_image)

    found = CredentialVerifier(Repository(None)).check(changed, None)

    assert found is not None
    assert (found.recovered, found.validation_state) == (False, "Invalid")
    assert HARD_BINDING_MISMATCH in found.failures
    assert found.proof_id == LINK.proof_id


def test_an_image_without_a_manifest_or_a_proof_has_no_content_credentials(
    original: bytes, credential: IssuedCredential
) -> None:
    repository = Repository(credential)

    assert CredentialVerifier(repository).check(original, None) is None
    assert repository.lookups == []


def test_a_proof_without_a_credential_recovers_nothing(original: bytes) -> None:
    repository = Repository(None)

    assert CredentialVerifier(repository).check(original, LINK.proof_id) is None
    assert repository.lookups == [LINK.proof_id]
