"""X.509 certificates for the signing key, so that it signs C2PA manifests as well as proofs.

A C2PA manifest names its signer by a certificate chain, and a reader trusts the signer when
the chain leads to a trust anchor it holds. For development, a local CA issues the signing key a
certificate; in production a CA on the C2PA trust list does, from a signing request. The
certificate profile is the one C2PA 2.2 section 14.5.1 requires of a claim signer.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from streams.core.errors import SetupError
from streams.core.files import replace_file
from streams.core.signing import key_id

__all__ = [
    "C2PA_CLAIM_SIGNING",
    "DOCUMENT_SIGNING",
    "DevelopmentCertificates",
    "check_certificate_chain",
    "development_ca",
    "load_certificate_chain",
    "load_trust_anchors",
    "signer_certificate",
    "signing_request",
    "write_development_certificates",
    "write_signing_request",
]

#: id-kp of C2PA claim signers (c2pa-kp-claimSigning).
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
#: id-kp-documentSigning (RFC 9336).
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

# C2PA validators accept a claim signer whose certificate names c2pa-kp-claimSigning; older ones
# look for emailProtection or documentSigning instead, so all three are named (spec 14.4.1).
_SIGNER_USAGES = x509.ExtendedKeyUsage(
    [C2PA_CLAIM_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]
)
_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
_SIGNER_KEY_USAGE = x509.KeyUsage(**{usage: usage == "digital_signature" for usage in _KEY_USAGES})
_CA_KEY_USAGE = x509.KeyUsage(
    **{usage: usage in ("key_cert_sign", "crl_sign") for usage in _KEY_USAGES}
)

_ORGANIZATION = "CredLink Streams"
_CA_NAME = "CredLink Streams Development CA"
_SIGNER_NAME = "CredLink Streams Signer"
_CA_DAYS = 3650
_SIGNER_DAYS = 365
# A verifier whose clock is slightly behind still accepts a certificate made a moment ago.
_CLOCK_SKEW = datetime.timedelta(minutes=5)
_PUBLIC_MODE = 0o644
_PRIVATE_MODE = 0o600


@dataclass(frozen=True)
class DevelopmentCertificates:
    """Where `write_development_certificates` put its files."""

    ca_key: Path
    ca_certificate: Path
    certificate_chain: Path

    @classmethod
    def in_directory(cls, directory: Path) -> DevelopmentCertificates:
        """The files `write_development_certificates` writes into `directory`."""
        return cls(
            ca_key=directory / "c2pa-dev-ca-key.pem",
            ca_certificate=directory / "c2pa-dev-ca.pem",
            certificate_chain=directory / "c2pa-signer-chain.pem",
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
        ]
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def development_ca(
    now: datetime.datetime | None = None,
) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    """A new self-signed Ed25519 root CA, for development and tests only."""
    now = now or _now()
    ca_key = Ed25519PrivateKey.generate()
    public_key = ca_key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(_CA_NAME))
        .issuer_name(_name(_CA_NAME))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(ca_key, None)
    )
    return ca_key, certificate


def signer_certificate(
    public_key: Ed25519PublicKey,
    ca_key: Ed25519PrivateKey,
    ca_certificate: x509.Certificate,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """A C2PA claim-signing certificate for `public_key`, issued by the CA.

    It expires with the CA at the latest: a chain outliving its root would fail validation.
    """
    now = now or _now()
    ca_identifier = ca_certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name(_SIGNER_NAME))
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(
            min(now + datetime.timedelta(days=_SIGNER_DAYS), ca_certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_SIGNER_KEY_USAGE, critical=True)
        .add_extension(_SIGNER_USAGES, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier),
            critical=False,
        )
        .sign(ca_key, None)
    )


def signing_request(private_key: Ed25519PrivateKey) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for a claim-signing certificate of `private_key`, for a real CA."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(_SIGNER_NAME))
        .add_extension(_SIGNER_KEY_USAGE, critical=True)
        .add_extension(_SIGNER_USAGES, critical=False)
        .sign(private_key, None)
    )


def check_certificate_chain(pem: bytes, signing_key: Ed25519PublicKey, source: str) -> None:
    """Refuse a chain that is no PEM certificate list or whose leaf (the first certificate)
    certifies another key than `signing_key`: manifests signed with it would not validate."""
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SetupError(f"{source} holds no PEM certificates") from None
    leaf_key = chain[0].public_key()
    if not isinstance(leaf_key, Ed25519PublicKey):
        raise SetupError(
            f"the first certificate of {source} certifies a {type(leaf_key).__name__}, not the "
            "Ed25519 signing key"
        )
    if leaf_key != signing_key:
        raise SetupError(
            f"the first certificate of {source} certifies key {key_id(leaf_key)}, not the "
            f"signing key {key_id(signing_key)}; put the signing key's certificate first "
            "(`credlink keys certificate` makes one)"
        )


def load_certificate_chain(path: Path, signing_key: Ed25519PublicKey) -> bytes:
    """The PEM chain at `path` (leaf first), checked to certify `signing_key`."""
    pem = _read_pem(path, "certificate chain file")
    check_certificate_chain(pem, signing_key, f"certificate chain file {path}")
    return pem


def load_trust_anchors(path: Path) -> bytes:
    """The PEM CA certificates at `path` that verifiers trust manifest signers under."""
    pem = _read_pem(path, "trust anchors file")
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SetupError(f"trust anchors file {path} holds no PEM certificates") from None
    return pem


def write_development_certificates(
    signing_key: Ed25519PublicKey, directory: Path
) -> DevelopmentCertificates:
    """Make a development CA in `directory` and certify `signing_key` with it.

    Writes the CA's key (mode 0600), the CA's certificate (the trust anchor verifiers are given)
    and the signer's chain (its certificate alone: a chain carries the leaf and intermediates,
    never the root). Refuses to run when any of the files exists, so no key is ever replaced.
    """
    written = DevelopmentCertificates.in_directory(directory)
    _refuse_existing(written.ca_key, written.ca_certificate, written.certificate_chain)
    ca_key, ca_certificate = development_ca()
    leaf = signer_certificate(signing_key, ca_key, ca_certificate)
    replace_file(
        written.ca_key,
        ca_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        _PRIVATE_MODE,
    )
    for path, certificate in (
        (written.ca_certificate, ca_certificate),
        (written.certificate_chain, leaf),
    ):
        replace_file(path, certificate.public_bytes(serialization.Encoding.PEM), _PUBLIC_MODE)
    return written


def write_signing_request(private_key: Ed25519PrivateKey, path: Path) -> None:
    """Write the signing request of `private_key` to `path`, which must not exist yet."""
    _refuse_existing(path)
    replace_file(
        path, signing_request(private_key).public_bytes(serialization.Encoding.PEM), _PUBLIC_MODE
    )


def _refuse_existing(*paths: Path) -> None:
    for path in paths:
        if path.exists():
            raise SetupError(f"{path} already exists; move it away to make a new one")


def _read_pem(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SetupError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise SetupError(f"{what} {path} cannot be read: {exc.strerror}") from None
