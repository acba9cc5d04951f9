"""C2PA Content Credentials: a manifest for a proven image, and reading one back.

The manifest states that CredLink received and published the image (not that it made it), binds
the exact bytes (hard binding, computed by the C2PA SDK), carries an ISCC image fingerprint as
a soft binding for finding the manifest again once a copy lost it, and links the proof. It is
signed by the proof signing key under its certificate chain. docs/content-credentials.md
describes every field, and what is and is not the same when a proof is credentialed again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from streams import __version__
from streams.core.certificates import check_certificate_chain
from streams.core.errors import CredlinkError, ImageRejected, SetupError, UnsupportedMediaType
from streams.core.image_fingerprint import ISCC_ALGORITHM, fingerprint_distance, iscc_fingerprint

__all__ = [
    "ISCC_ALGORITHM",
    "MANIFEST_MEDIA_TYPE",
    "MEDIA_TYPES",
    "PROOF_ASSERTION",
    "CredentialIssuer",
    "CredentialReading",
    "IssuedCredential",
    "NoManifest",
    "ProofLink",
    "UnreadableManifest",
    "fingerprint_distance",
    "iscc_fingerprint",
    "manifest_id_for",
    "media_type_of",
    "read_credential",
]

#: Label of the assertion that links a manifest to its proof.
PROOF_ASSERTION = "io.credlink.proof"
#: Content type of a manifest store on its own (a sidecar).
MANIFEST_MEDIA_TYPE = "application/c2pa"
#: The image types a credential is issued for.
MEDIA_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "image/avif")

_SOFT_BINDING_ASSERTION = "c2pa.soft-binding"
_ACTIONS_ASSERTION = "c2pa.actions.v2"
_SOURCE_INGREDIENT = "source"
_PUBLISHED = "Received and published by CredLink Streams, which did not create the image."

# No thumbnails: the ingredient's would make a manifest of a 2 MP photograph about 1 MB instead
# of about 4 KB. Nothing is verified after signing: the SDK would hash the image a second time.
_SIGNING_SETTINGS: dict[str, Any] = {
    "builder": {"thumbnail": {"enabled": False}},
    "verify": {"verify_after_sign": False},
}
# A reader of hostile images reaches out to no server: no remote manifest, no OCSP responder.
_READING_SETTINGS: dict[str, Any] = {
    "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
}


class NoManifest(CredlinkError):
    """The image carries no C2PA manifest and none was given: a verifier's answer, not a
    failure of the pipeline."""


class UnreadableManifest(NoManifest):
    """A manifest store is there but no C2PA reader can parse it, so it tells nothing."""


@dataclass(frozen=True)
class ProofLink:
    """The proof a manifest belongs to: the `io.credlink.proof` assertion."""

    proof_id: str
    tenant: str
    event_id: str


@dataclass(frozen=True)
class IssuedCredential:
    """A signed manifest: the store validates the image it was issued for, which is the
    received bytes for a sidecar and `signed_image` when the manifest was embedded."""

    manifest_id: str
    media_type: str
    manifest_store: bytes
    signed_image: bytes | None


@dataclass(frozen=True)
class CredentialReading:
    """What a C2PA reader makes of an image and its manifest.

    `validation_state` is the SDK's: `Invalid`, `Valid` (intact, signer not trusted) or `Trusted`.
    `failures` are the validation failure codes, each once, e.g. `assertion.dataHash.mismatch`.
    """

    manifest_id: str
    validation_state: str
    failures: tuple[str, ...]
    link: ProofLink | None
    fingerprint: bytes | None


def manifest_id_for(proof_id: str) -> str:
    """The manifest id (label) of the credential of proof `proof_id`, the same on every replay.

    The SDK takes a caller's label only as `urn:c2pa:` and a version 4 UUID, so a digest of the
    proof id is shaped as one.
    """
    return f"urn:c2pa:{_derived_uuid('manifest', proof_id)}"


def media_type_of(image: bytes) -> str:
    """The media type of `image` from its leading bytes; `UnsupportedMediaType` unless it is one
    of `MEDIA_TYPES`."""
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "image/webp"
    if _is_avif(image):
        return "image/avif"
    raise UnsupportedMediaType(
        f"no Content Credential for this image type (accepted: {', '.join(MEDIA_TYPES)})"
    )


class CredentialIssuer:
    """Signs C2PA manifests with the proof signing key, under its certificate chain.

    The key's PEM exists only in this object's memory, for the SDK's signer; it is written
    nowhere and appears in no message. Safe to share between threads: each issue builds its own
    SDK objects.
    """

    __slots__ = ("_chain_pem", "_key_pem")

    def __init__(self, private_key: Ed25519PrivateKey, certificate_chain_pem: bytes) -> None:
        check_certificate_chain(
            certificate_chain_pem, private_key.public_key(), "the C2PA certificate chain"
        )
        self._chain_pem = certificate_chain_pem
        self._key_pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The SDK judges the certificate only when it signs: signing once now makes a
        # certificate it refuses an error at start, not a failure of every image.
        self.issue(
            _probe_image(), ProofLink("probe", "credlink", "probe"), embed=False, fingerprint=b""
        )

    def issue(
        self, image: bytes, link: ProofLink, *, embed: bool, fingerprint: bytes
    ) -> IssuedCredential:
        """Sign a manifest for `image`, proven as `link`, with soft-binding value `fingerprint`
        (`iscc_fingerprint` of the decoded image). With `embed`, the image with the manifest
        embedded is returned too.

        Raises `UnsupportedMediaType` for an image of another type, `ImageRejected` for bytes
        the SDK cannot sign (a container it cannot parse), and `SetupError` when the SDK refuses
        the certificate (expired, say).
        """
        media_type = media_type_of(image)
        manifest_id = manifest_id_for(link.proof_id)
        definition = _manifest_definition(manifest_id, media_type, link, fingerprint)
        signed = io.BytesIO()
        try:
            with (
                c2pa.Context.from_dict(_SIGNING_SETTINGS) as context,
                c2pa.Builder(definition, context) as builder,
                self._signer() as signer,
            ):
                builder.add_ingredient(
                    {
                        "title": "received image",
                        "relationship": "parentOf",
                        "label": _SOURCE_INGREDIENT,
                        "instance_id": f"xmp:iid:{_derived_uuid('ingredient', link.proof_id)}",
                    },
                    media_type,
                    io.BytesIO(image),
                )
                if not embed:
                    builder.set_no_embed()
                store = builder.sign(signer, media_type, io.BytesIO(image), signed)
        except c2pa.C2paError.Signature as error:
            raise SetupError(f"the C2PA SDK refuses the signing certificate: {error}") from None
        except c2pa.C2paError as error:
            raise ImageRejected(
                f"the C2PA SDK cannot sign this {media_type} image: {error}"
            ) from None
        return IssuedCredential(
            manifest_id=manifest_id,
            media_type=media_type,
            manifest_store=bytes(store),
            signed_image=signed.getvalue() if embed else None,
        )

    def _signer(self) -> c2pa.Signer:
        try:
            return c2pa.Signer.from_info(
                c2pa.C2paSignerInfo(
                    c2pa.C2paSigningAlg.ED25519, self._chain_pem, self._key_pem, None
                )
            )
        except c2pa.C2paError:
            # The SDK's message may quote the key it was given.
            raise SetupError(
                "the C2PA SDK refuses the signing key or its certificate chain"
            ) from None

    def __repr__(self) -> str:
        return "CredentialIssuer()"


def read_credential(
    image: bytes, *, manifest_store: bytes | None = None, trust_anchors_pem: bytes | None = None
) -> CredentialReading:
    """Validate the manifest embedded in `image`, or `manifest_store` against `image`.

    The signer is `Trusted` only under one of `trust_anchors_pem` (PEM CA certificates).
    Raises `NoManifest` when there is no manifest to read, `UnreadableManifest` when there is
    one no reader can parse.
    """
    settings = dict(_READING_SETTINGS)
    if trust_anchors_pem is not None:
        settings["trust"] = {"user_anchors": trust_anchors_pem.decode("ascii")}
    try:
        media_type: str | None = media_type_of(image)
    except UnsupportedMediaType:
        media_type = None  # the SDK tells the container from the bytes
    try:
        with (
            c2pa.Context.from_dict(settings) as context,
            c2pa.Reader(media_type, io.BytesIO(image), manifest_store, context=context) as reader,
        ):
            report: dict[str, Any] = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        raise NoManifest("the image carries no C2PA manifest") from None
    except c2pa.C2paError as error:
        raise UnreadableManifest(f"the C2PA manifest cannot be read: {error}") from None
    return _reading(report)


def _manifest_definition(
    manifest_id: str, media_type: str, link: ProofLink, fingerprint: bytes
) -> dict[str, Any]:
    return {
        "label": manifest_id,
        "instance_id": f"xmp:iid:{_derived_uuid('instance', link.proof_id)}",
        "claim_generator_info": [{"name": "credlink-streams", "version": __version__}],
        "title": link.proof_id,
        "format": media_type,
        # `created`: these are CredLink's own statements (the claim's created assertions),
        # where C2PA wants the actions assertion holding the opening action.
        "assertions": [
            {
                "label": _ACTIONS_ASSERTION,
                "created": True,
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.opened",
                            "parameters": {"ingredientIds": [_SOURCE_INGREDIENT]},
                        },
                        {"action": "c2pa.published", "description": _PUBLISHED},
                    ],
                    "allActionsIncluded": True,
                },
            },
            {
                "label": _SOFT_BINDING_ASSERTION,
                "created": True,
                # The SDK writes a JSON list as a CBOR array, not the byte string the spec's
                # CDDL asks for (contentauth/c2pa-rs#2689); its readers decode both.
                "data": {
                    "alg": ISCC_ALGORITHM,
                    "blocks": [{"scope": {}, "value": list(fingerprint)}],
                    "pad": [],
                },
            },
            {
                "label": PROOF_ASSERTION,
                "created": True,
                "data": {
                    "proof_id": link.proof_id,
                    "tenant": link.tenant,
                    "event_id": link.event_id,
                },
            },
        ],
    }


def _reading(report: Mapping[str, Any]) -> CredentialReading:
    manifest_id = str(report.get("active_manifest") or "")
    manifest = (report.get("manifests") or {}).get(manifest_id) or {}
    assertions = {
        assertion.get("label"): assertion.get("data")
        for assertion in manifest.get("assertions") or ()
    }
    results = (report.get("validation_results") or {}).get("activeManifest") or {}
    return CredentialReading(
        manifest_id=manifest_id,
        validation_state=str(report.get("validation_state", "Invalid")),
        # The SDK lists a code once per place it failed: a verdict needs each once.
        failures=tuple(
            dict.fromkeys(str(status.get("code")) for status in results.get("failure") or ())
        ),
        link=_proof_link(assertions.get(PROOF_ASSERTION)),
        fingerprint=_soft_binding_value(assertions.get(_SOFT_BINDING_ASSERTION)),
    )


def _proof_link(data: object) -> ProofLink | None:
    if not isinstance(data, dict):
        return None
    proof_id, tenant, event_id = data.get("proof_id"), data.get("tenant"), data.get("event_id")
    if not (isinstance(proof_id, str) and isinstance(tenant, str) and isinstance(event_id, str)):
        return None
    return ProofLink(proof_id, tenant, event_id)


def _soft_binding_value(data: object) -> bytes | None:
    """The first block's value of an `io.iscc.v0` soft binding, which the SDK renders as base64
    or, for a CBOR array, as a list of byte values."""
    if not isinstance(data, dict) or data.get("alg") != ISCC_ALGORITHM:
        return None
    blocks = data.get("blocks")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        return None
    value = blocks[0].get("value")
    try:
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
        if isinstance(value, list):
            return bytes(value)
    except (binascii.Error, ValueError, TypeError):
        return None
    return None


def _is_avif(image: bytes) -> bool:
    """Whether `image` opens with an ISO BMFF `ftyp` box naming an AVIF brand."""
    if image[4:8] != b"ftyp":
        return False
    size = int.from_bytes(image[:4], "big")
    if not 16 <= size <= len(image):
        return False
    brands = {image[8:12]} | {image[at : at + 4] for at in range(16, size - 3, 4)}
    return bool(brands & {b"avif", b"avis"})


def _probe_image() -> bytes:
    """A one-pixel PNG, to sign once when an issuer is made."""
    png = io.BytesIO()
    Image.new("L", (1, 1)).save(png, "PNG")
    return png.getvalue()


def _derived_uuid(kind: str, proof_id: str) -> uuid.UUID:
    digest = hashlib.sha256(f"credlink:{kind}:{proof_id}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)
