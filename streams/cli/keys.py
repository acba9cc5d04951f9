"""`credlink keys generate`: a new Ed25519 signing key and the public key set for verifiers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.output import console, fails_cleanly
from streams.settings import get_settings
from streams.signing import generate_key_pair

app = typer.Typer(help="Manage the Ed25519 keys that sign proofs.")


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
    keyset_path = keyset or get_settings().keyset_file
    kid = generate_key_pair(private_key, keyset_path)
    console.print(f"key id: {kid}")
    console.print(f"private key: {private_key} (mode 0600)")
    console.print(f"public key set: {keyset_path}")
    console.print(f"Point the worker at it: export CREDLINK_SIGNING_KEY_FILE={private_key}")
