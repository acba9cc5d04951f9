"""Specification of `streams.core.certificates`: the certificate profile C2PA requires of a claim
signer, a development CA, signing requests, and chains checked against the signing key."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID

from streams.core.certificates import (
    C2PA_CLAIM_SIGNING,
    DOCUMENT_SIGNING,
    check_certificate_chain,
    development_ca,
    load_certificate_chain,
    load_trust_anchors,
    signer_certificate,
    signing_request,
    write_development_certificates,
    write_signing_request,
)
from streams.core.errors import SetupError
from streams.core.signing import key_id

PEM = serialization.Encoding.PEM


def test_a_signer_certificate_has_the_c2pa_claim_signer_profile() -> None:
    key = Ed25519PrivateKey.generate()
    ca_key, ca = development_ca()
    leaf = signer_certificate(key.public_key(), ca_key, ca)

    leaf.verify_directly_issued_by(ca)
    assert leaf.public_key() == key.public_key()
    basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (basic.critical, basic.value.ca) == (True, False)
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == {
        C2PA_CLAIM_SIGNING,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        DOCUMENT_SIGNING,
    }
    subject_id = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert subject_id == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    authority_id = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority_id.key_identifier == ca_id.digest


def test_the_development_ca_is_a_self_signed_certificate_authority() -> None:
    _, ca = development_ca()
    ca.verify_directly_issued_by(ca)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (basic.critical, basic.value.ca) == (True, True)
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_a_signer_certificate_expires_with_its_ca_at_the_latest() -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca = development_ca(now=now - datetime.timedelta(days=3650 - 30))
    leaf = signer_certificate(Ed25519PrivateKey.generate().public_key(), ca_key, ca, now=now)
    assert leaf.not_valid_after_utc == ca.not_valid_after_utc


def test_a_signing_request_asks_for_the_claim_signer_profile_for_the_key() -> None:
    key = Ed25519PrivateKey.generate()
    request = signing_request(key)
    assert request.is_signature_valid
    assert request.public_key() == key.public_key()
    assert request.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert (
        C2PA_CLAIM_SIGNING
        in request.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )


def test_a_chain_is_accepted_when_its_first_certificate_is_the_signing_key() -> None:
    key = Ed25519PrivateKey.generate()
    ca_key, ca = development_ca()
    leaf = signer_certificate(key.public_key(), ca_key, ca)
    check_certificate_chain(
        leaf.public_bytes(PEM) + ca.public_bytes(PEM), key.public_key(), "chain.pem"
    )


def test_a_chain_of_another_key_is_refused_naming_both_key_ids() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ca_key, ca = development_ca()
    chain = signer_certificate(other.public_key(), ca_key, ca).public_bytes(PEM)
    with pytest.raises(SetupError, match="not the signing key") as refused:
        check_certificate_chain(chain, key.public_key(), "chain.pem")
    assert key_id(other.public_key()) in str(refused.value)
    assert key_id(key.public_key()) in str(refused.value)


def test_a_chain_whose_leaf_is_the_ca_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    _, ca = development_ca()
    with pytest.raises(SetupError, match=r"first certificate of chain\.pem certifies key"):
        check_certificate_chain(ca.public_bytes(PEM), key.public_key(), "chain.pem")


def test_a_chain_certifying_a_key_of_another_type_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ecdsa")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    with pytest.raises(SetupError, match="not the Ed25519 signing key"):
        check_certificate_chain(
            certificate.public_bytes(PEM), Ed25519PrivateKey.generate().public_key(), "chain.pem"
        )


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN PRIVATE KEY-----"])
def test_a_chain_file_without_certificates_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(content)
    with pytest.raises(SetupError, match="holds no PEM certificates"):
        load_certificate_chain(path, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SetupError, match="holds no PEM certificates"):
        load_trust_anchors(path)


def test_a_missing_chain_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"certificate chain file .*chain.pem does not exist"):
        load_certificate_chain(tmp_path / "chain.pem", Ed25519PrivateKey.generate().public_key())


def test_development_certificates_are_written_with_the_ca_key_private(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    written = write_development_certificates(key.public_key(), tmp_path / "keys")

    assert stat.S_IMODE(written.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.ca_certificate.stat().st_mode) == 0o644
    assert stat.S_IMODE(written.certificate_chain.stat().st_mode) == 0o644
    chain = load_certificate_chain(written.certificate_chain, key.public_key())
    (leaf,) = x509.load_pem_x509_certificates(chain)
    leaf.verify_directly_issued_by(
        x509.load_pem_x509_certificate(load_trust_anchors(written.ca_certificate))
    )
    ca_key = serialization.load_pem_private_key(written.ca_key.read_bytes(), None)
    assert isinstance(ca_key, Ed25519PrivateKey)


def test_development_certificates_never_replace_an_existing_file(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    first = write_development_certificates(key.public_key(), tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.iterdir()}

    with pytest.raises(SetupError, match="already exists"):
        write_development_certificates(key.public_key(), tmp_path)

    assert {path: path.read_bytes() for path in tmp_path.iterdir()} == before
    assert first.ca_key in before


def test_a_signing_request_is_written_once(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "signer.csr.pem"
    write_signing_request(key, path)
    request = x509.load_pem_x509_csr(path.read_bytes())
    assert request.public_key() == key.public_key()

    with pytest.raises(SetupError, match="already exists"):
        write_signing_request(Ed25519PrivateKey.generate(), path)
    assert x509.load_pem_x509_csr(path.read_bytes()).public_key() == key.public_key()
