"""Content Credential test material: a signing key certified by a fresh development CA, and an
image with one byte of its pixel data changed."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streams.core.certificates import development_ca, signer_certificate
from streams.core.content_credentials import media_type_of

__all__ = ["DevelopmentPki", "development_pki", "with_pixel_byte_changed"]

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
    at = _pixel_data_offset(image) + 32
    return image[:at] + bytes([image[at] ^ 0x01]) + image[at + 1 :]


def _pixel_data_offset(image: bytes) -> int:
    """Where the coded pixels start: JPEG's first scan, PNG's first IDAT chunk, WebP's VP8 or
    VP8L chunk, AVIF's media data box. Found by walking the file's segments, chunks or boxes:
    an embedded manifest (binary, excluded from the hard binding) may hold any byte sequence."""
    media_type = media_type_of(image)
    if media_type == "image/jpeg":
        at = 2  # after SOI; each segment is FF, its marker and a length counting itself
        while image[at + 1] != 0xDA:
            at += 2 + int.from_bytes(image[at + 2 : at + 4], "big")
        return at
    if media_type == "image/png":
        at = 8  # after the signature; each chunk is its length, type, data and CRC
        while image[at + 4 : at + 8] != b"IDAT":
            at += 12 + int.from_bytes(image[at : at + 4], "big")
        return at
    if media_type == "image/webp":
        at = 12  # after RIFF, the size and WEBP; each chunk is its type, size and even data
        while image[at : at + 4] not in (b"VP8 ", b"VP8L"):
            size = int.from_bytes(image[at + 4 : at + 8], "little")
            at += 8 + size + size % 2
        return at
    at = 0  # AVIF: top-level boxes, each its size (1: a 64-bit size follows the type) and type
    while image[at + 4 : at + 8] != b"mdat":
        size = int.from_bytes(image[at : at + 4], "big")
        at += int.from_bytes(image[at + 8 : at + 16], "big") if size == 1 else size
    return at
