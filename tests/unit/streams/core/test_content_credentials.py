"""Specification of `streams.core.content_credentials`: C2PA manifests for proven images, read
back by the C2PA SDK's own reader."""

from __future__ import annotations

import io
import json
from typing import Any

import c2pa
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from streams.core.content_credentials import (
    ISCC_ALGORITHM,
    PROOF_ASSERTION,
    CredentialIssuer,
    IssuedCredential,
    NoManifest,
    ProofLink,
    UnreadableManifest,
    fingerprint_distance,
    iscc_fingerprint,
    manifest_id_for,
    media_type_of,
    read_credential,
)
from streams.core.errors import ImageRejected, InputRejected, SetupError, UnsupportedMediaType
from streams.devtools.samples import cdn_copy, decoded
from tests.support.credentials import DevelopmentPki, development_pki, with_pixel_byte_changed
from tests.support.images import encode, photo

FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
}
HARD_BINDING_MISMATCH = {
    "image/jpeg": "assertion.dataHash.mismatch",
    "image/png": "assertion.dataHash.mismatch",
    "image/webp": "assertion.dataHash.mismatch",
    "image/avif": "assertion.bmffHash.mismatch",
}
LINK = ProofLink(proof_id="0192d4e0-7c1a-7def-8000-1234567890ab", tenant="acme", event_id="ev-1")


@pytest.fixture(scope="module")
def pki() -> DevelopmentPki:
    return development_pki()


@pytest.fixture(scope="module")
def issuer(pki: DevelopmentPki) -> CredentialIssuer:
    return CredentialIssuer(pki.signing_key, pki.chain_pem)


def picture(media_type: str, seed: int = 1) -> tuple[Image.Image, bytes]:
    image = photo(320, 240, seed)
    return image, encode(image, FORMATS[media_type])


def issue(
    issuer: CredentialIssuer, media_type: str, *, embed: bool, link: ProofLink = LINK
) -> tuple[bytes, IssuedCredential]:
    _, data = picture(media_type)
    return data, issuer.issue(data, link, embed=embed, fingerprint=iscc_fingerprint(decoded(data)))


def sdk_report(image: bytes, manifest_store: bytes) -> dict[str, Any]:
    with c2pa.Reader(media_type_of(image), io.BytesIO(image), manifest_store) as reader:
        report: dict[str, Any] = json.loads(reader.json())
    return report


@pytest.mark.parametrize("media_type", FORMATS)
def test_a_sidecar_credential_is_valid_for_the_received_bytes_and_links_the_proof(
    issuer: CredentialIssuer, media_type: str
) -> None:
    data, credential = issue(issuer, media_type, embed=False)

    reading = read_credential(data, manifest_store=credential.manifest_store)

    assert credential.media_type == media_type
    assert credential.signed_image is None
    assert reading.validation_state == "Valid"
    assert reading.failures == ("signingCredential.untrusted",)
    assert reading.manifest_id == credential.manifest_id == manifest_id_for(LINK.proof_id)
    assert reading.link == LINK
    assert reading.fingerprint == iscc_fingerprint(decoded(data))


@pytest.mark.parametrize("media_type", FORMATS)
def test_an_embedded_credential_is_trusted_under_the_development_ca(
    issuer: CredentialIssuer, pki: DevelopmentPki, media_type: str
) -> None:
    _, credential = issue(issuer, media_type, embed=True)
    assert credential.signed_image is not None

    reading = read_credential(credential.signed_image, trust_anchors_pem=pki.ca_pem)

    assert (reading.validation_state, reading.failures) == ("Trusted", ())
    assert reading.link == LINK


def test_another_ca_as_trust_anchor_leaves_the_signer_untrusted(issuer: CredentialIssuer) -> None:
    data, credential = issue(issuer, "image/jpeg", embed=False)
    reading = read_credential(
        data, manifest_store=credential.manifest_store, trust_anchors_pem=development_pki().ca_pem
    )
    assert reading.validation_state == "Valid"
    assert "signingCredential.untrusted" in reading.failures


@pytest.mark.parametrize("embed", [False, True], ids=["sidecar", "embedded"])
@pytest.mark.parametrize("media_type", FORMATS)
def test_one_changed_pixel_byte_breaks_the_hard_binding(
    issuer: CredentialIssuer, pki: DevelopmentPki, media_type: str, embed: bool
) -> None:
    data, credential = issue(issuer, media_type, embed=embed)
    if credential.signed_image is not None:
        reading = read_credential(
            with_pixel_byte_changed(credential.signed_image), trust_anchors_pem=pki.ca_pem
        )
    else:
        reading = read_credential(
            with_pixel_byte_changed(data),
            manifest_store=credential.manifest_store,
            trust_anchors_pem=pki.ca_pem,
        )

    assert reading.validation_state == "Invalid"
    assert HARD_BINDING_MISMATCH[media_type] in reading.failures
    assert len(set(reading.failures)) == len(reading.failures)
    assert reading.link == LINK


@pytest.mark.parametrize("media_type", FORMATS)
def test_the_embedded_image_decodes_to_the_received_pixels(
    issuer: CredentialIssuer, media_type: str
) -> None:
    data, credential = issue(issuer, media_type, embed=True)
    assert credential.signed_image is not None
    assert credential.signed_image != data
    assert decoded(credential.signed_image).tobytes() == decoded(data).tobytes()


def test_the_store_of_an_embedded_credential_validates_the_signed_image_only(
    issuer: CredentialIssuer,
) -> None:
    data, embedded = issue(issuer, "image/jpeg", embed=True)
    reading = read_credential(data, manifest_store=embedded.manifest_store)
    assert reading.validation_state == "Invalid"
    assert "assertion.dataHash.mismatch" in reading.failures


def test_a_proof_has_one_manifest_id_on_every_issue_and_another_proof_another(
    issuer: CredentialIssuer,
) -> None:
    _, first = issue(issuer, "image/png", embed=False)
    _, again = issue(issuer, "image/png", embed=False)
    other_link = ProofLink(proof_id="another-proof", tenant=LINK.tenant, event_id=LINK.event_id)
    _, other = issue(issuer, "image/png", embed=False, link=other_link)

    assert first.manifest_id == again.manifest_id == manifest_id_for(LINK.proof_id)
    assert other.manifest_id == manifest_id_for("another-proof") != first.manifest_id
    assert first.manifest_id.startswith("urn:c2pa:")


def test_a_manifest_instance_id_follows_the_proof_and_store_bytes_differ_by_salts_only(
    issuer: CredentialIssuer,
) -> None:
    data, first = issue(issuer, "image/jpeg", embed=False)
    _, again = issue(issuer, "image/jpeg", embed=False)

    def manifest(credential: IssuedCredential) -> dict[str, Any]:
        report = sdk_report(data, credential.manifest_store)
        return dict(report["manifests"][report["active_manifest"]])

    def statements(credential: IssuedCredential) -> dict[str, Any]:
        # Not the actions: their reference to the ingredient carries its salted hash.
        return {
            assertion["label"]: assertion["data"]
            for assertion in manifest(credential)["assertions"]
            if assertion["label"] != "c2pa.actions.v2"
        }

    assert first.manifest_store != again.manifest_store
    assert len(first.manifest_store) == len(again.manifest_store)
    assert manifest(first)["instance_id"] == manifest(again)["instance_id"]
    assert statements(first) == statements(again)


@pytest.mark.parametrize("media_type", FORMATS)
def test_a_manifest_store_of_a_two_megapixel_image_stays_under_16_kib(
    issuer: CredentialIssuer, media_type: str
) -> None:
    image = photo(1732, 1153, 7)
    data = encode(image, FORMATS[media_type])
    credential = issuer.issue(data, LINK, embed=False, fingerprint=iscc_fingerprint(image))
    assert len(credential.manifest_store) <= 16 * 1024


def test_the_manifest_says_credlink_opened_and_published_a_received_image(
    issuer: CredentialIssuer,
) -> None:
    data, credential = issue(issuer, "image/jpeg", embed=False)
    manifest = sdk_report(data, credential.manifest_store)["manifests"][credential.manifest_id]
    assertions = {assertion["label"]: assertion["data"] for assertion in manifest["assertions"]}

    assert manifest["claim_generator_info"][0]["name"] == "credlink-streams"
    assert [action["action"] for action in assertions["c2pa.actions.v2"]["actions"]] == [
        "c2pa.opened",
        "c2pa.published",
    ]
    (ingredient,) = manifest["ingredients"]
    assert ingredient["relationship"] == "parentOf"
    assert "thumbnail" not in ingredient
    assert "thumbnail" not in manifest
    assert assertions["c2pa.soft-binding"]["alg"] == ISCC_ALGORITHM
    assert assertions[PROOF_ASSERTION] == {
        "proof_id": LINK.proof_id,
        "tenant": LINK.tenant,
        "event_id": LINK.event_id,
    }


def test_a_manifest_the_received_image_carried_stays_as_its_ingredient_manifest(
    issuer: CredentialIssuer,
) -> None:
    _, earlier = issue(issuer, "image/jpeg", embed=True)
    assert earlier.signed_image is not None
    later_link = ProofLink(proof_id="republished", tenant="acme", event_id="ev-2")
    later = issuer.issue(
        earlier.signed_image,
        later_link,
        embed=False,
        fingerprint=iscc_fingerprint(decoded(earlier.signed_image)),
    )

    report = sdk_report(earlier.signed_image, later.manifest_store)
    (ingredient,) = report["manifests"][later.manifest_id]["ingredients"]
    assert report["active_manifest"] == later.manifest_id
    assert ingredient["active_manifest"] == earlier.manifest_id
    assert earlier.manifest_id in report["manifests"]


@pytest.mark.parametrize(("media_type", "image_format"), FORMATS.items())
def test_the_media_type_is_sniffed_from_the_bytes(media_type: str, image_format: str) -> None:
    assert media_type_of(encode(photo(16, 16, 1), image_format)) == media_type


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_other_formats_get_no_credential(issuer: CredentialIssuer, image_format: str) -> None:
    data = encode(photo(16, 16, 1), image_format)
    with pytest.raises(UnsupportedMediaType, match="image/jpeg, image/png"):
        issuer.issue(data, LINK, embed=False, fingerprint=b"")
    assert issubclass(UnsupportedMediaType, InputRejected)


def test_bytes_that_only_look_like_an_image_are_rejected_as_input(
    issuer: CredentialIssuer,
) -> None:
    with pytest.raises(ImageRejected, match="cannot sign this image/jpeg image"):
        issuer.issue(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 10, LINK, embed=True, fingerprint=b"")


def test_an_issuer_refuses_a_chain_that_certifies_another_key(pki: DevelopmentPki) -> None:
    with pytest.raises(SetupError, match="not the signing key") as refused:
        CredentialIssuer(Ed25519PrivateKey.generate(), pki.chain_pem)
    assert "PRIVATE KEY" not in str(refused.value)


def test_an_issuer_shows_no_key_material(issuer: CredentialIssuer) -> None:
    assert repr(issuer) == "CredentialIssuer()"
    assert "PRIVATE" not in repr(issuer)


def test_an_image_without_a_manifest_has_none_to_read() -> None:
    _, data = picture("image/jpeg")
    with pytest.raises(NoManifest, match="no C2PA manifest"):
        read_credential(data)


def test_a_garbled_manifest_store_is_unreadable_which_is_no_manifest_either() -> None:
    _, data = picture("image/jpeg")
    with pytest.raises(UnreadableManifest):
        read_credential(data, manifest_store=b"garbage" * 20)
    assert issubclass(UnreadableManifest, NoManifest)


def test_a_stripped_copy_loses_the_embedded_manifest_but_keeps_the_fingerprint(
    issuer: CredentialIssuer,
) -> None:
    data, credential = issue(issuer, "image/jpeg", embed=True)
    assert credential.signed_image is not None
    copy = cdn_copy(credential.signed_image)

    with pytest.raises(NoManifest):
        read_credential(copy)
    assert (
        fingerprint_distance(iscc_fingerprint(decoded(copy)), iscc_fingerprint(decoded(data))) <= 16
    )
