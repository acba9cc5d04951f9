"""`credlink keys generate`: a new Ed25519 signing key and the public key set for verifiers;
`credlink keys api-key`: a new API key of the verify service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectors.verify_service.api_keys import issue_api_key
from streams.cli.output import console, fails_cleanly
from streams.core.signing import generate_key_pair
from streams.settings import get_settings

app = typer.Typer(help="Manage the Ed25519 keys that sign proofs, and API keys.")


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
