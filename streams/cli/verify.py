"""`credlink verify`: the verdict on one image, looked up in the proof index, checked against the
key set; the exit code says which verdict (docs/verification.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from connectors.proof_index.store import ProofIndex
from connectors.proof_index.verifying import build_verifier, stored_proofs
from streams.cli.index import Dsn, checked_dsn, index_setup_errors
from streams.cli.output import print_error
from streams.core.assembly import build_fetcher
from streams.core.errors import ImageTooLarge, InputRejected, SetupError, TransientError
from streams.core.signing import load_key_set
from streams.core.stores.base import StoreMisconfigured
from streams.settings import Settings, get_settings

__all__ = ["INPUT_UNUSABLE", "SETUP_FAILED", "verify"]

# The command's own failures, below every verdict's exit code (0, 10, 2x, 3x).
INPUT_UNUSABLE = 1
SETUP_FAILED = 2


def verify(
    image: Annotated[
        str,
        typer.Argument(
            metavar="IMAGE_FILE_OR_URI",
            show_default=False,
            help="A local image file, or an s3://, https:// or file:// URI inside the fetch "
            "allow-lists (CREDLINK_FETCH_*).",
        ),
    ],
    dsn: Dsn,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="Count only this tenant's proofs (default: those of any tenant)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the verdict as a JSON object.")
    ] = False,
) -> None:
    """Verify an image against the stored proofs: exactly, or as a resized/re-encoded copy.

    Exit code: 0 verified exact, 10 verified perceptual, 20 not found, 30 signature invalid,
    31 unknown key, 32 malformed proof; 1 unusable image, 2 usage or setup error.
    """
    settings = get_settings()
    try:
        conninfo = checked_dsn(dsn)
        keyset = load_key_set(settings.signing.keyset_file)
        data = _image_bytes(image, settings)
        with index_setup_errors(), ProofIndex(conninfo) as index:
            verifier = build_verifier(settings, index, keyset, stored_proofs(settings, index))
            verdict = verifier.verify(data, tenant=tenant)
    except InputRejected as error:
        print_error(f"{image}: {error}")
        raise typer.Exit(INPUT_UNUSABLE) from None
    except (SetupError, StoreMisconfigured, TransientError) as error:
        print_error(error)
        raise typer.Exit(SETUP_FAILED) from None
    if as_json:
        typer.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        typer.echo(verdict.message)
    raise typer.Exit(verdict.exit_code)


def _image_bytes(image: str, settings: Settings) -> bytes:
    """The bytes of a local file, or of a URI fetched inside the settings' allow-lists."""
    if "://" in image:
        with build_fetcher(settings) as fetcher:
            return fetcher.fetch(image)
    try:
        with Path(image).open("rb") as file:
            data = file.read(settings.fetch.max_image_bytes + 1)
    except OSError as error:
        raise InputRejected(f"cannot be read: {error.strerror or error}") from None
    if len(data) > settings.fetch.max_image_bytes:
        raise ImageTooLarge(f"larger than {settings.fetch.max_image_bytes} bytes")
    return data
