"""Content Credential test material: a signing key certified by a fresh development CA, and an
image with one byte of its pixel data changed."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streams.core.certificates import development_ca, signer_certificate
from streams.core.content_credentials import media_type_of

__all__ = ["DevelopmentPki", "development_pki", "with_pixel_byte_changed"]

# Where each format's coded pixels start: JPEG's first scan, PNG's first IDAT chunk, WebP's VP8
# or VP8L chunk, AVIF's media data box. A manifest is never inside them.
_PIXEL_DATA_MARKERS = {
    "image/jpeg": b"\xff\xda",
    "image/png": b"IDAT",
    "image/webp": b"VP8",
    "image/avif": b"mdat",
}


@dataclass(frozen=True)
class DevelopmentPki:
    """A signing key, its certificate chain (PEM, leaf only) and the CA that issued it (PEM)."""

    signing_key: Ed25519PrivateKey
    chain_pem: bytes
    ca_pem: bytes


def development_pki() -> DevelopmentPki:
    signing_key = Ed25519PrivateKey.generate()
    ca_key, ca_certificate = development_ca()
    leaf = signer_certificate(signing_key.public_key(), ca_key, ca_certificate)
    return DevelopmentPki(
        signing_key=signing_key,
        chain_pem=leaf.public_bytes(serialization.Encoding.PEM),
        ca_pem=ca_certificate.public_bytes(serialization.Encoding.PEM),
    )


def with_pixel_byte_changed(image: bytes) -> bytes:
    """`image` (JPEG, PNG, WebP or AVIF) with one bit flipped a little way into its pixel data."""
    at = image.index(_PIXEL_DATA_MARKERS[media_type_of(image)]) + 32
    return image[:at] + bytes([image[at] ^ 0x01]) + image[at + 1 :]
