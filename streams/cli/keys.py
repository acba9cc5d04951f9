"""`credlink keys generate`: a new Ed25519 signing key and the public key set for verifiers;
`credlink keys certificate` and `credlink keys csr`: a certificate for that key, so that it signs
C2PA manifests too; `credlink keys api-key`: a new API key of the verify service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.verify_service.api_keys import issue_api_key
from streams.cli.output import console, fails_cleanly
from streams.core.assembly import load_signing_key
from streams.core.certificates import write_development_certificates, write_signing_request
from streams.core.signing import generate_key_pair, load_private_key
from streams.settings import get_settings

app = typer.Typer(
    help="Manage the Ed25519 keys that sign proofs and C2PA manifests, their certificates, "
    "and API keys."
)


@app.command()
@fails_cleanly
def generate(
    private_key: Annotated[
        Path,
        typer.Option(
            "--private-key",
            help="Where to write the private key (created with mode 0600, never overwritten).",
        ),
    ] = Path(".credlink/keys/signing-key.pem"),
    keyset: Annotated[
        Path | None,
        typer.Option(
            "--keyset", help="Public key set to create or add to [default: CREDLINK_KEYSET_FILE]."
        ),
    ] = None,
) -> None:
    """Generate a signing key pair; add its public key to the key set verifiers use."""
    keyset_path = keyset or get_settings().signing.keyset_file
    kid = generate_key_pair(private_key, keyset_path)
    console.print(f"key id: {kid}")
    console.print(f"private key: {private_key} (mode 0600)")
    console.print(f"public key set: {keyset_path}")
    console.print(f"Point the worker at it: export CREDLINK_SIGNING_KEY_FILE={private_key}")


SigningKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--private-key",
        help="The signing key [default: CREDLINK_SIGNING_KEY_FILE or CREDLINK_SIGNING_KEY_PEM].",
    ),
]


def _say(line: str) -> None:
    # Unwrapped and literal: the paths and `export` lines are for copying.
    console.print(line, markup=False, soft_wrap=True)


def _signing_key(private_key: Path | None) -> Ed25519PrivateKey:
    if private_key is not None:
        return load_private_key(private_key)
    return load_signing_key(get_settings())


@app.command()
@fails_cleanly
def certificate(
    private_key: SigningKeyOption = None,
    directory: Annotated[
        Path,
        typer.Option(
            "--directory",
            help="Where to write the CA's key (mode 0600), the CA's certificate and the signing "
            "key's chain; existing files are never overwritten.",
        ),
    ] = Path(".credlink/keys"),
) -> None:
    """Make a development CA and certify the signing key with it, for C2PA manifests.

    For development and tests only: readers trust this CA only when given it as an anchor.
    Production needs a certificate from a CA on the C2PA trust list (`credlink keys csr`).
    """
    written = write_development_certificates(_signing_key(private_key).public_key(), directory)
    _say(f"development CA key: {written.ca_key} (mode 0600)")
    _say(f"development CA certificate (the trust anchor): {written.ca_certificate}")
    _say(f"signing key's certificate chain: {written.certificate_chain}")
    _say("Point the worker and the verifiers at them:")
    _say(f"export CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE={written.certificate_chain}")
    _say(f"export CREDLINK_C2PA_TRUST_ANCHORS_FILE={written.ca_certificate}")


@app.command()
@fails_cleanly
def csr(
    private_key: SigningKeyOption = None,
    output: Annotated[
        Path,
        typer.Option("--output", help="Where to write the request (never overwritten)."),
    ] = Path(".credlink/keys/c2pa-signer.csr.pem"),
) -> None:
    """Write a certificate signing request for the signing key, for a CA on the C2PA trust list."""
    write_signing_request(_signing_key(private_key), output)
    _say(f"certificate signing request: {output}")
    _say(
        "Send it to the CA; put the certificate it returns first, then its intermediates, in "
        "the file CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE names."
    )


@app.command("api-key")
@fails_cleanly
def api_key(
    tenant: Annotated[
        str, typer.Option("--tenant", help="Tenant whose proofs the key may verify and read.")
    ],
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="API keys file to add to (default: CREDLINK_VERIFY_API_KEYS_FILE)."
        ),
    ] = None,
) -> None:
    """Make an API key of the verify service; print it once, keep only its hash."""
    path = keys_file or get_settings().verify.api_keys_file
    issued = issue_api_key(path, tenant)
    typer.echo(issued.token)
    typer.echo(
        f"key {issued.key_id} for tenant {tenant!r} added to {path} (only its hash is kept: "
        "this is the one time the key is shown)",
        err=True,
    )
