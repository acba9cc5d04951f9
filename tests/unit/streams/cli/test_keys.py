"""`credlink keys generate`: a private key only its owner can read, and a public key set;
`credlink keys certificate` and `credlink keys csr`: certificates for that key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from streams.cli.main import app
from streams.core.content_credentials import (
    CredentialIssuer,
    ProofLink,
    iscc_fingerprint,
    read_credential,
)
from streams.core.signing import load_private_key
from tests.support.images import encode, photo


def test_generate_writes_a_0600_private_key_and_adds_its_public_key_to_the_set(
    tmp_path: Path,
) -> None:
    keyset = tmp_path / "keyset.json"
    runner = CliRunner()
    first = runner.invoke(
        app, ["keys", "generate", "--private-key", str(tmp_path / "a.pem"), "--keyset", str(keyset)]
    )
    second = runner.invoke(
        app, ["keys", "generate", "--private-key", str(tmp_path / "b.pem"), "--keyset", str(keyset)]
    )

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert stat.S_IMODE((tmp_path / "a.pem").stat().st_mode) == 0o600
    kids = [key["kid"] for key in json.loads(keyset.read_text())["keys"]]
    assert len(kids) == 2
    assert f"key id: {kids[0]}" in first.output or f"key id: {kids[1]}" in first.output
    assert "PRIVATE KEY" not in first.output


def test_generate_never_overwrites_an_existing_private_key(tmp_path: Path) -> None:
    existing = tmp_path / "signing-key.pem"
    existing.write_text("keep me")
    existing.chmod(0o600)
    result = CliRunner().invoke(
        app,
        ["keys", "generate", "--private-key", str(existing), "--keyset", str(tmp_path / "k.json")],
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert existing.read_text() == "keep me"


def generated_key(tmp_path: Path) -> Path:
    private_key = tmp_path / "signing-key.pem"
    result = CliRunner().invoke(
        app,
        [
            "keys",
            "generate",
            "--private-key",
            str(private_key),
            "--keyset",
            str(tmp_path / "keyset.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    return private_key


def test_certificate_certifies_the_signing_key_under_a_new_development_ca(tmp_path: Path) -> None:
    private_key = generated_key(tmp_path)
    directory = tmp_path / "pki"

    result = CliRunner().invoke(
        app,
        ["keys", "certificate", "--private-key", str(private_key), "--directory", str(directory)],
    )

    assert result.exit_code == 0, result.output
    chain, anchor = directory / "c2pa-signer-chain.pem", directory / "c2pa-dev-ca.pem"
    assert f"export CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE={chain}" in result.output
    assert f"export CREDLINK_C2PA_TRUST_ANCHORS_FILE={anchor}" in result.output
    assert stat.S_IMODE((directory / "c2pa-dev-ca-key.pem").stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in result.output
    signing_key = load_private_key(private_key)
    issuer = CredentialIssuer(signing_key, chain.read_bytes())
    image = photo(64, 48, 1)
    signed = issuer.issue(
        encode(image, "JPEG"),
        ProofLink("proof", "tenant", "event"),
        embed=True,
        fingerprint=iscc_fingerprint(image),
    ).signed_image
    assert signed is not None
    assert read_credential(signed, trust_anchors_pem=anchor.read_bytes()).validation_state == (
        "Trusted"
    )


def test_certificate_never_overwrites_an_existing_development_ca(tmp_path: Path) -> None:
    private_key = generated_key(tmp_path)
    ca_key = tmp_path / "c2pa-dev-ca-key.pem"
    ca_key.write_text("keep me")
    result = CliRunner().invoke(
        app,
        ["keys", "certificate", "--private-key", str(private_key), "--directory", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert ca_key.read_text() == "keep me"
    assert not (tmp_path / "c2pa-signer-chain.pem").exists()


def test_csr_writes_a_signing_request_for_the_signing_key(tmp_path: Path) -> None:
    private_key = generated_key(tmp_path)
    output = tmp_path / "signer.csr.pem"
    runner = CliRunner()

    first = runner.invoke(
        app, ["keys", "csr", "--private-key", str(private_key), "--output", str(output)]
    )
    second = runner.invoke(
        app, ["keys", "csr", "--private-key", str(private_key), "--output", str(output)]
    )

    assert first.exit_code == 0, first.output
    request = x509.load_pem_x509_csr(output.read_bytes())
    assert request.public_key() == load_private_key(private_key).public_key()
    assert second.exit_code == 1
    assert "already exists" in second.output
